"""The text CNN learns a real signal on a small sample and follows the estimator contract."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.exceptions import NotFittedError
from crmlens.text.sentiment import canonical_labels


@pytest.mark.neural
def test_text_cnn_beats_the_majority_class_on_waimai(shared_data) -> None:
    pytest.importorskip("torch", reason="the [neural] extra (torch) is not installed")
    from crmlens.text.neural import TextCNNClassifier

    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(1000, random_state=2)
    train, test = frame.iloc[:800], frame.iloc[800:]
    y_train, y_test = canonical_labels(train["label"]), canonical_labels(test["label"])
    model = TextCNNClassifier(max_len=40, epochs=3, n_filters=32, embedding_dim=32, random_state=0)
    with pytest.raises(NotFittedError):
        model.predict(["x"])
    model.fit(train["review"].tolist(), y_train)
    lengths = train["review"].str.len()
    assert model.seq_len_ == min(40, int(lengths.quantile(0.95)))  # short reviews pad to their own length
    accuracy = (model.predict(test["review"].tolist()) == y_test).mean()
    majority = pd.Series(y_test).value_counts(normalize=True).max()
    assert accuracy >= majority + 0.1, (accuracy, majority)
    small = train.iloc[:200]
    first, second = (
        TextCNNClassifier(max_len=40, epochs=1, n_filters=16, embedding_dim=16, random_state=0)
        .fit(small["review"].tolist(), canonical_labels(small["label"]))
        .predict_proba(test["review"].tolist()[:50])
        for _ in range(2)
    )
    assert abs(first - second).max() < 1e-5  # deterministic under the seed
    loaded = TextCNNClassifier.from_arrays(*model.to_arrays())
    probe = test["review"].tolist()[:50]
    assert abs(loaded.predict_proba(probe) - model.predict_proba(probe)).max() < 1e-6
    assert loaded.get_params() == model.get_params()

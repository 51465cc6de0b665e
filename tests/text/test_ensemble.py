"""Soft-voting ensemble: the weight grid, weights chosen on the inner split, and the neural members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.ensemble import SoftVoteSentiment, weight_grid
from crmlens.text.sentiment import SentimentClassifier, canonical_labels, load_model


class _Fixed(ClassifierMixin, BaseEstimator):
    """A member that returns the same probabilities for every text (or the truth, when ``oracle``)."""

    def __init__(self, proba: tuple[float, float] = (0.5, 0.5), oracle: bool = False) -> None:
        self.proba = proba
        self.oracle = oracle

    def fit(self, X, y):  # noqa: ANN001, ANN201 - test double
        self.classes_ = np.array(sorted(set(map(str, y))), dtype=object)
        return self

    def predict_proba(self, X):  # noqa: ANN001, ANN201 - test double
        if self.oracle:  # texts are "pos..." / "neg...": certain and right
            return np.array([[0.0, 1.0] if str(t).startswith("pos") else [1.0, 0.0] for t in X])
        return np.tile(np.asarray(self.proba, dtype=float), (len(X), 1))


TEXTS = [f"pos {i}" for i in range(20)] + [f"neg {i}" for i in range(20)]
LABELS = ["positive"] * 20 + ["negative"] * 20


def test_weight_grid_by_hand() -> None:
    assert weight_grid(1, 4) == [(1.0,)]
    assert weight_grid(2, 4) == [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)]
    grid = weight_grid(3, 2)
    assert len(grid) == 6 and all(abs(sum(w) - 1) < 1e-12 for w in grid)
    with pytest.raises(ConfigError):
        weight_grid(0, 4)


def test_weights_go_to_the_member_that_validates_and_a_zero_drops_a_member() -> None:
    vote = SoftVoteSentiment([("useless", _Fixed((0.9, 0.1))), ("oracle", _Fixed(oracle=True))], steps=4)
    assert clone(vote).get_params()["steps"] == 4
    vote.fit(TEXTS, LABELS)
    # every weight giving the oracle more than 0.4 is perfect on the split; log-loss breaks the tie
    assert vote.weights_.tolist() == [0.0, 1.0]
    assert vote.models_[0] is None  # not refitted: it has no weight
    assert vote.validation_score_ == 1.0
    assert len(vote.validation_table_) == 5
    assert vote.predict(["pos x", "neg y"]).tolist() == ["positive", "negative"]
    np.testing.assert_allclose(vote.predict_proba(["pos x"]), [[0.0, 1.0]])


def test_probabilities_are_the_weighted_average_of_the_members() -> None:
    vote = SoftVoteSentiment([("a", _Fixed((0.8, 0.2))), ("b", _Fixed((0.2, 0.8)))], steps=1)
    vote.fit(TEXTS, LABELS)
    assert vote.weights_.sum() == 1.0
    single = SoftVoteSentiment([("a", _Fixed((0.8, 0.2)))]).fit(TEXTS, LABELS)
    assert single.weights_.tolist() == [1.0]  # one member: no inner split needed
    np.testing.assert_allclose(single.predict_proba(["x"]), [[0.8, 0.2]])


def test_errors_name_the_problem() -> None:
    with pytest.raises(NotFittedError):
        SoftVoteSentiment([("a", _Fixed())]).predict(["x"])
    with pytest.raises(ConfigError, match="member"):
        SoftVoteSentiment().fit(TEXTS, LABELS)
    with pytest.raises(ConfigError, match="scoring"):
        SoftVoteSentiment([("a", _Fixed())], scoring="auc").fit(TEXTS, LABELS)
    with pytest.raises(ValidationError, match="single class"):
        SoftVoteSentiment([("a", _Fixed())]).fit(TEXTS, ["positive"] * 40)


def test_ensemble_of_two_tfidf_views_on_a_waimai_sample(shared_data) -> None:
    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(1500, random_state=3)
    train, test = frame.iloc[:1200], frame.iloc[1200:]
    y_train, y_test = canonical_labels(train["label"]), canonical_labels(test["label"])
    vote = SoftVoteSentiment(
        [("char", SentimentClassifier(word_ngram=None)), ("word", SentimentClassifier(char_ngram=None))],
        scoring="macro_f1",
    ).fit(train["review"], y_train)
    accuracy = (vote.predict(test["review"]) == y_test).mean()
    assert accuracy >= 0.82, accuracy
    assert vote.weights_.sum() == pytest.approx(1.0)


@pytest.mark.neural
def test_minilm_head_learns_english_sentiment(shared_data) -> None:
    pytest.importorskip("sentence_transformers", reason="the [neural] extra is not installed")
    from crmlens.text.neural import EmbeddingSentiment, embed_texts

    frame = pd.read_csv(shared_data / "airline_tweets" / "Tweets.csv").sample(900, random_state=4)
    train, test = frame.iloc[:700], frame.iloc[700:]
    model = EmbeddingSentiment()
    with pytest.raises(NotFittedError):
        model.predict(["x"])
    model.fit(train["text"], train["airline_sentiment"])
    accuracy = (model.predict(test["text"]) == test["airline_sentiment"].to_numpy()).mean()
    majority = test["airline_sentiment"].value_counts(normalize=True).max()
    assert accuracy >= majority + 0.08, (accuracy, majority)
    vectors = embed_texts(["on time", "on time", "lost my bag"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    loaded = EmbeddingSentiment.from_arrays(*model.to_arrays())
    np.testing.assert_allclose(
        loaded.predict_proba(test["text"]), model.predict_proba(test["text"]), atol=1e-6
    )


def test_save_load_round_trip_keeps_weights_and_probabilities(tmp_path) -> None:
    texts = ["great service", "awful delay", "really great", "so awful", "great staff", "awful food"] * 4
    labels = ["positive", "negative"] * 12
    vote = SoftVoteSentiment(
        [("char", SentimentClassifier(min_df=1, word_ngram=None)), ("word", SentimentClassifier(min_df=1))],
        steps=2,
    ).fit(texts, labels)
    path = vote.save(tmp_path / "vote", metadata={"why": "test"})
    assert path.suffix == ".npz"
    loaded = load_model(path)
    assert isinstance(loaded, SoftVoteSentiment)
    np.testing.assert_array_equal(loaded.weights_, vote.weights_)
    probe = ["great", "awful late", "words never seen", ""]
    np.testing.assert_allclose(loaded.predict_proba(probe), vote.predict_proba(probe), atol=2e-3)
    assert loaded.metadata_ == {"why": "test"}
    with pytest.raises(NotFittedError):
        SoftVoteSentiment([("a", _Fixed())]).save(tmp_path / "x")
    with pytest.raises(ConfigError, match="cannot be saved"):
        SoftVoteSentiment([("a", _Fixed()), ("b", _Fixed(oracle=True))], steps=1).fit(TEXTS, LABELS).save(
            tmp_path / "y"
        )

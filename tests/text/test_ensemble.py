"""Stacked ensemble: the stacker's features, what it learns from held-out predictions, saving, members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.ensemble import StackedSentiment, stacking_features
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


class _Lookup(ClassifierMixin, BaseEstimator):
    """A member that says what a table holds for each text, whatever it was fitted on."""

    def __init__(self, table: dict[str, tuple[float, float]] | None = None) -> None:
        self.table = table

    def fit(self, X, y):  # noqa: ANN001, ANN201 - test double
        self.classes_ = np.array(["negative", "positive"], dtype=object)
        return self

    def predict_proba(self, X):  # noqa: ANN001, ANN201 - test double
        return np.array([self.table[str(t)] for t in X])


TEXTS = [f"pos {i}" for i in range(20)] + [f"neg {i}" for i in range(20)]
LABELS = ["positive"] * 20 + ["negative"] * 20


def test_stacking_features_by_hand() -> None:
    binary = stacking_features([np.array([[0.2, 0.8], [0.5, 0.5]])])
    np.testing.assert_allclose(binary, [[np.log(4.0)], [0.0]])
    three = stacking_features([np.array([[0.5, 0.25, 0.25]]), np.array([[0.0, 0.0, 1.0]])])
    assert three.shape == (1, 6)
    np.testing.assert_allclose(three[0, :3], np.log([0.5, 0.25, 0.25]))
    assert np.isfinite(three).all()  # certainties are clipped, not infinite


def test_stacker_trusts_the_member_that_is_right_on_held_out_texts() -> None:
    stack = StackedSentiment([("useless", _Fixed((0.9, 0.1))), ("oracle", _Fixed(oracle=True))], folds=4)
    assert clone(stack).get_params()["folds"] == 4
    stack.fit(TEXTS, LABELS)
    described = stack.describe()
    assert described["oracle"]["inner_accuracy"] == 1.0
    assert described["useless"]["inner_accuracy"] == 0.5
    assert described["oracle"]["coefficients"][0][0] > 0.2  # it follows the oracle's log-odds (about ±14)
    assert described["useless"]["coefficients"][0][0] == pytest.approx(0.0, abs=1e-6)  # constant: no weight
    assert stack.predict(["pos x", "neg y"]).tolist() == ["positive", "negative"]
    proba = stack.predict_proba(["pos x"])
    assert proba.shape == (1, 2) and proba[0, 1] > 0.95 and proba.sum() == pytest.approx(1.0)


def test_stacking_rescales_an_overconfident_member() -> None:
    """A member right 3 times in 4 but 99% sure of itself comes out near 75%, not 99%."""
    texts = [f"t{i}" for i in range(400)]
    labels = np.array(["positive", "negative"] * 200, dtype=object)
    rng = np.random.default_rng(0)
    right = rng.random(400) < 0.75
    said = np.where(right, labels, np.where(labels == "positive", "negative", "positive"))
    table = {t: (0.01, 0.99) if s == "positive" else (0.99, 0.01) for t, s in zip(texts, said, strict=True)}
    overconfident = _Lookup(table)
    stack = StackedSentiment([("loud", overconfident)]).fit(texts, labels)
    p = stack.predict_proba(texts)[:, 1]
    assert 0.65 < p[said == "positive"].mean() < 0.85
    assert (stack.predict(texts) == said).all()  # rescaled, same decisions


def test_errors_name_the_problem() -> None:
    with pytest.raises(NotFittedError):
        StackedSentiment([("a", _Fixed())]).predict(["x"])
    with pytest.raises(NotFittedError):
        StackedSentiment([("a", _Fixed())]).describe()
    with pytest.raises(ConfigError, match="member"):
        StackedSentiment().fit(TEXTS, LABELS)
    with pytest.raises(ConfigError, match="folds"):
        StackedSentiment([("a", _Fixed())], folds=1).fit(TEXTS, LABELS)
    with pytest.raises(ValidationError, match="single class"):
        StackedSentiment([("a", _Fixed())]).fit(TEXTS, ["positive"] * 40)
    with pytest.raises(ValidationError, match="labels"):
        StackedSentiment([("a", _Fixed())]).fit(TEXTS, LABELS[:3])


def test_stack_of_two_tfidf_views_on_a_waimai_sample(shared_data) -> None:
    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(1500, random_state=3)
    train, test = frame.iloc[:1200], frame.iloc[1200:]
    y_train, y_test = canonical_labels(train["label"]), canonical_labels(test["label"])
    members = [("char", SentimentClassifier(word_ngram=None)), ("word", SentimentClassifier(char_ngram=None))]
    stack = StackedSentiment(members).fit(train["review"], y_train)
    accuracy = (stack.predict(test["review"]) == y_test).mean()
    assert accuracy >= 0.85, accuracy
    alone = (clone(members[1][1]).fit(train["review"], y_train).predict(test["review"]) == y_test).mean()
    assert accuracy >= alone - 0.01, (accuracy, alone)


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


def test_save_load_round_trip_keeps_the_stacker_and_probabilities(tmp_path) -> None:
    texts = ["great service", "awful delay", "really great", "so awful", "great staff", "awful food"] * 4
    labels = ["positive", "negative"] * 12
    stack = StackedSentiment(
        [("char", SentimentClassifier(min_df=1, word_ngram=None)), ("word", SentimentClassifier(min_df=1))],
        folds=3,
    ).fit(texts, labels)
    path = stack.save(tmp_path / "stack", metadata={"why": "test"})
    assert path.suffix == ".npz"
    loaded = load_model(path)
    assert isinstance(loaded, StackedSentiment)
    np.testing.assert_array_equal(loaded.coef_, stack.coef_)
    assert loaded.describe() == stack.describe()
    probe = ["great", "awful late", "words never seen", ""]
    np.testing.assert_allclose(loaded.predict_proba(probe), stack.predict_proba(probe), atol=2e-3)
    assert loaded.metadata_ == {"why": "test"}
    assert loaded.get_params()["folds"] == 3
    with pytest.raises(NotFittedError):
        StackedSentiment([("a", _Fixed())]).save(tmp_path / "x")
    with pytest.raises(ConfigError, match="cannot be saved"):
        StackedSentiment([("a", _Fixed()), ("b", _Fixed(oracle=True))]).fit(TEXTS, LABELS).save(
            tmp_path / "y"
        )


def test_an_ensemble_saved_by_the_earlier_soft_vote_asks_to_be_retrained(tmp_path) -> None:
    from crmlens.text.sentiment import write_npz

    old = write_npz(tmp_path / "old", {"weights": np.ones(2)}, {"format": "crmlens-sentiment-ensemble/1"})
    with pytest.raises(ConfigError, match="retrain it"):
        load_model(old)
    unknown = write_npz(tmp_path / "other", {"x": np.ones(1)}, {"format": "something-else/3"})
    with pytest.raises(ConfigError, match="not a crmlens sentiment model"):
        load_model(unknown)

"""Sentiment estimator: behaviour on tiny inputs, persistence, and quality floors on real samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.sentiment import (
    MultilingualSentiment,
    SentimentClassifier,
    canonical_labels,
    default_model,
    load_model,
)

TINY = ["great service", "awful delay", "really great staff", "so awful and late", "great", "awful"]
TINY_Y = ["positive", "negative"] * 3


def test_canonical_labels() -> None:
    assert canonical_labels([0, 1, 1]).tolist() == ["negative", "positive", "positive"]
    assert canonical_labels([-1, 0, 1]).tolist() == ["negative", "neutral", "positive"]
    assert canonical_labels(["Positive", "NEG", "neutral", "1.0"]).tolist() == [
        "positive", "negative", "neutral", "positive",
    ]  # fmt: skip
    assert canonical_labels(["refund", "thanks"]).tolist() == ["refund", "thanks"]


def test_fit_predict_tiny_and_estimator_contract() -> None:
    model = SentimentClassifier(min_df=1)
    assert clone(model).get_params() == model.get_params()
    fitted = model.fit(TINY, TINY_Y)
    assert fitted is model
    assert model.classes_.tolist() == ["negative", "positive"]
    assert model.predict(["great staff", "awful"]).tolist() == ["positive", "negative"]
    proba = model.predict_proba(["great", "awful late"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert proba[0, 1] > 0.5 > proba[1, 1]


def test_three_classes_and_no_nb_weighting() -> None:
    texts = TINY + ["it is a flight", "a flight today", "flight on monday"]
    labels = TINY_Y + ["neutral"] * 3
    for nb in (True, False):
        model = SentimentClassifier(min_df=1, nb_weight=nb, word_ngram=(1, 1)).fit(texts, labels)
        assert model.classes_.tolist() == ["negative", "neutral", "positive"]
        assert model.predict(["flight monday"]).tolist() == ["neutral"]
        np.testing.assert_allclose(model.predict_proba(texts).sum(axis=1), 1.0, rtol=1e-6)


def test_errors_name_the_problem() -> None:
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict(["x"])
    with pytest.raises(ValidationError, match="single class"):
        SentimentClassifier(min_df=1).fit(["a", "b"], ["positive", "positive"])
    with pytest.raises(ValidationError, match="2 texts but 1 labels"):
        SentimentClassifier(min_df=1).fit(["a", "b"], ["positive"])
    with pytest.raises(ConfigError, match="char_ngram or word_ngram"):
        SentimentClassifier(char_ngram=None, word_ngram=None).fit(TINY, TINY_Y)
    with pytest.raises(ConfigError, match="not found"):
        load_model("no/such/model.npz")


def test_save_load_round_trip(tmp_path) -> None:
    model = SentimentClassifier(min_df=1).fit(TINY, TINY_Y)
    path = model.save(tmp_path / "m", metadata={"why": "test"})
    assert path.suffix == ".npz"
    loaded = load_model(path)
    texts = ["great", "awful late", "unknown words", ""]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=2e-3)
    assert loaded.get_params() == model.get_params()
    assert loaded.metadata_ == {"why": "test"}
    (tmp_path / "zh.npz").write_bytes(path.read_bytes())
    assert isinstance(load_model(tmp_path), MultilingualSentiment)


def test_quality_floor_on_waimai_sample(shared_data) -> None:
    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(2400, random_state=1)
    train, test = frame.iloc[:1800], frame.iloc[1800:]
    model = SentimentClassifier(language="zh").fit(train["review"], canonical_labels(train["label"]))
    accuracy = (model.predict(test["review"]) == canonical_labels(test["label"])).mean()
    assert accuracy >= 0.84, accuracy


def test_shipped_models_route_by_language_and_hold_up_on_unseen_domains() -> None:
    from pathlib import Path

    model = default_model()
    assert set(model.models) == {"zh", "en"}
    assert model.classes_.tolist() == ["negative", "neutral", "positive"]
    ood = pd.read_csv(Path(__file__).parent / "data" / "ood_reviews.csv")
    predicted = model.predict(ood["text"].tolist())
    for language, part in ood.groupby("language"):
        accuracy = (predicted[part.index] == part["label"].to_numpy()).mean()
        assert accuracy >= 0.8, (language, accuracy)
    proba = model.predict_proba(["物流很快，很满意", "The flight was delayed for hours, awful"])
    assert proba[0, 1] == 0.0  # the Chinese model is binary: no neutral mass
    assert proba[0].argmax() == 2 and proba[1].argmax() == 0

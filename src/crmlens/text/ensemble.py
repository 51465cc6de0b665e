"""A stacked sentiment ensemble: a logistic regression over the members' out-of-fold log-odds.

Diverse members (TF-IDF n-grams with a linear model, sentence embeddings with a linear head, a
character CNN) make different errors. Stacking (Wolpert 1992) learns how far to trust each one
from predictions on texts the member did not see: inside :meth:`StackedSentiment.fit`, every
member is cross-fitted on the training texts, a logistic regression learns from its held-out
log-odds, and the members are then refitted on all texts. Unlike a fixed average of
probabilities it also rescales members whose probabilities are over- or under-confident (the
NB-weighted TF-IDF model is), which is where most of its gain over averaging comes from
(README, text bench).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.neural import linear_head_proba
from crmlens.text.sentiment import _as_texts, open_npz, write_npz

__all__ = ["ENSEMBLE_FORMAT", "StackedSentiment", "stacking_features"]

ENSEMBLE_FORMAT = "crmlens-sentiment-stack/1"
_EPS = 1e-6


def _member_types() -> dict[str, Any]:
    """Saved-member format -> class with ``from_arrays`` (imported here: neural needs torch only to run)."""
    from crmlens.text.e5 import E5_FORMAT, E5Sentiment
    from crmlens.text.neural import CNN_FORMAT, EMBEDDING_FORMAT, EmbeddingSentiment, TextCNNClassifier
    from crmlens.text.sentiment import _FORMAT, SentimentClassifier

    return {
        _FORMAT: SentimentClassifier,
        CNN_FORMAT: TextCNNClassifier,
        EMBEDDING_FORMAT: EmbeddingSentiment,
        E5_FORMAT: E5Sentiment,
    }


def stacking_features(probas: Sequence[np.ndarray]) -> np.ndarray:
    """What the stacker reads: per member, the log-odds of the second class (binary) or log-probabilities.

    Examples
    --------
    >>> stacking_features([np.array([[0.2, 0.8]]), np.array([[0.5, 0.5]])]).round(3).tolist()
    [[1.386, 0.0]]
    """
    blocks = []
    for proba in probas:
        clipped = np.clip(np.asarray(proba, dtype=float), _EPS, 1.0 - _EPS)
        if clipped.shape[1] == 2:
            blocks.append(np.log(clipped[:, 1:] / clipped[:, :1]))
        else:
            blocks.append(np.log(clipped))
    return np.hstack(blocks)


def _aligned(model: Any, texts: list[str], classes: np.ndarray) -> np.ndarray:
    """A member's probabilities with columns in the ensemble's class order (absent classes get 0)."""
    proba = np.asarray(model.predict_proba(texts), dtype=float)
    position = {str(c): j for j, c in enumerate(model.classes_)}
    out = np.zeros((len(texts), len(classes)))
    for k, cls in enumerate(classes):
        if str(cls) in position:
            out[:, k] = proba[:, position[str(cls)]]
    return out


class StackedSentiment(ClassifierMixin, BaseEstimator):
    """Members cross-fitted on the training texts; a logistic regression on their held-out log-odds.

    Parameters
    ----------
    members : list of (name, estimator)
        Classifiers with ``fit`` / ``predict_proba`` / ``classes_`` (cloned, never fitted in place).
    folds : int
        Inner stratified folds that give every training text a prediction from members that did
        not see it (each member is fitted ``folds + 1`` times).
    C : float
        Inverse regularisation of the stacker.
    random_state : int

    Examples
    --------
    >>> from crmlens.text.sentiment import SentimentClassifier
    >>> texts = ["great service", "awful delay", "really great", "so awful"] * 5
    >>> stack = StackedSentiment([("char", SentimentClassifier(min_df=1, word_ngram=None)),
    ...                           ("word", SentimentClassifier(min_df=1, char_ngram=None))], folds=2)
    >>> stack.fit(texts, ["positive", "negative"] * 10).predict(["great"]).tolist()
    ['positive']
    """

    def __init__(
        self,
        members: Sequence[tuple[str, Any]] = (),
        folds: int = 5,
        C: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.members = members
        self.folds = folds
        self.C = C
        self.random_state = random_state

    @property
    def member_names(self) -> list[str]:
        """The members' names, in the order of the stacker's feature blocks."""
        return [name for name, _ in self.members]

    def fit(self, X: Any, y: Any) -> StackedSentiment:
        """Cross-fit the members, learn the stacker from their held-out log-odds, refit on all texts."""
        if not self.members:
            raise ConfigError("StackedSentiment: give at least one (name, estimator) member")
        if self.folds < 2:
            raise ConfigError(f"StackedSentiment: folds must be at least 2, not {self.folds}")
        texts = _as_texts(X)
        labels = np.asarray(list(y), dtype=object).astype(str)
        if len(texts) != len(labels):
            raise ValidationError(f"StackedSentiment: {len(texts)} texts but {len(labels)} labels")
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ValidationError("StackedSentiment: the labels hold a single class; need at least two")
        held_out = [np.zeros((len(texts), len(self.classes_))) for _ in self.members]
        splitter = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        for inner, held in splitter.split(np.zeros(len(labels)), labels):
            inner_texts, held_texts = [texts[i] for i in inner], [texts[i] for i in held]
            for k, (_, estimator) in enumerate(self.members):
                model = clone(estimator).fit(inner_texts, labels[inner])
                held_out[k][held] = _aligned(model, held_texts, self.classes_)
        stacker = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        stacker.fit(stacking_features(held_out), labels)
        self.coef_ = stacker.coef_.astype(np.float64)
        self.intercept_ = stacker.intercept_.astype(np.float64)
        self.member_scores_ = {
            name: float(np.mean(self.classes_[np.argmax(p, axis=1)] == labels))
            for name, p in zip(self.member_names, held_out, strict=True)
        }
        self.models_ = [clone(estimator).fit(texts, labels) for _, estimator in self.members]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError("StackedSentiment is not fitted: call fit first")

    def predict_proba(self, X: Any) -> np.ndarray:
        """The stacker's probabilities, columns in the order of ``classes_``."""
        self._check_fitted()
        texts = _as_texts(X)
        probas = [_aligned(model, texts, self.classes_) for model in self.models_]
        return linear_head_proba(stacking_features(probas), self.coef_, self.intercept_)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def describe(self) -> dict[str, Any]:
        """Each member's held-out accuracy inside ``fit`` and its stacker coefficients."""
        self._check_fitted()
        width = self.coef_.shape[1] // len(self.members)
        return {
            name: {
                "inner_accuracy": round(self.member_scores_[name], 4),
                "coefficients": np.round(self.coef_[:, k * width : (k + 1) * width], 3).tolist(),
            }
            for k, name in enumerate(self.member_names)
        }

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the stacker and every member to one ``.npz`` file (no pickle)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"coef": self.coef_, "intercept": self.intercept_}
        members = []
        for k, ((name, _), model) in enumerate(zip(self.members, self.models_, strict=True)):
            if not hasattr(model, "to_arrays"):
                raise ConfigError(f"StackedSentiment.save: member {name!r} cannot be saved (no to_arrays)")
            member_arrays, header = model.to_arrays()
            arrays.update({f"m{k}:{key}": value for key, value in member_arrays.items()})
            members.append({"name": name, "header": header})
        header = {"format": ENSEMBLE_FORMAT, "classes": [str(c) for c in self.classes_],
                  "members": members, "member_scores": self.member_scores_, "metadata": metadata or {},
                  "params": {"folds": self.folds, "C": self.C, "random_state": self.random_state}}  # fmt: skip
        return write_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | Path) -> StackedSentiment:
        """Read an ensemble written by :meth:`save`."""
        types = _member_types()
        with open_npz(path) as (data, header):
            if header.get("format") != ENSEMBLE_FORMAT:
                raise ConfigError(
                    f"{path}: not a crmlens sentiment ensemble (format {header.get('format')!r})"
                )
            models = []
            for k, member in enumerate(header["members"]):
                kind = member["header"].get("format")
                if kind not in types:
                    raise ConfigError(f"{path}: unknown member format {kind!r}")
                prefix = f"m{k}:"
                arrays = {key[len(prefix) :]: data[key] for key in data.files if key.startswith(prefix)}
                models.append(types[kind].from_arrays(arrays, member["header"]))
            coef, intercept = np.array(data["coef"]), np.array(data["intercept"])
        model = cls([(m["name"], fitted) for m, fitted in zip(header["members"], models, strict=True)],
                    **header["params"])  # fmt: skip
        model.models_ = models
        model.coef_, model.intercept_ = coef, intercept
        model.classes_ = np.array(header["classes"], dtype=object)
        model.member_scores_ = header["member_scores"]
        model.metadata_ = header.get("metadata", {})
        return model

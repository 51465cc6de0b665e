"""A soft-voting ensemble whose weights are chosen on an inner validation split of the training data.

Averaging the probabilities of diverse models (TF-IDF n-grams with a linear model, a character
CNN, sentence embeddings with a linear head) corrects errors that only one of them makes. The
weights are picked inside :meth:`SoftVoteSentiment.fit` on a stratified split of the texts it is
given, never on the texts it is later scored on; a weight of zero drops a member, so the same
search picks one model per language when that validates best.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.text.sentiment import _as_texts, open_npz, write_npz

__all__ = ["ENSEMBLE_FORMAT", "SoftVoteSentiment", "weight_grid"]

ENSEMBLE_FORMAT = "crmlens-sentiment-ensemble/1"


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


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


_SCORERS = {
    "accuracy": accuracy_score,
    "macro_f1": lambda truth, predicted: f1_score(truth, predicted, average="macro", zero_division=0),
}


def weight_grid(n_members: int, steps: int) -> list[tuple[float, ...]]:
    """Every weight vector of ``n_members`` non-negative multiples of ``1/steps`` that sum to one.

    Examples
    --------
    >>> weight_grid(2, 2)
    [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    """
    if n_members < 1 or steps < 1:
        raise ConfigError("weight_grid: need at least one member and one step")
    return [
        tuple(k / steps for k in combo)
        for combo in itertools.product(range(steps + 1), repeat=n_members)
        if sum(combo) == steps
    ]


class SoftVoteSentiment(ClassifierMixin, BaseEstimator):
    """Weighted average of member probabilities, weights chosen on an inner validation split.

    Parameters
    ----------
    members : list of (name, estimator)
        Classifiers with ``fit`` / ``predict_proba`` / ``classes_`` (cloned, never fitted in place).
    steps : int
        Resolution of the weight search: weights are multiples of ``1/steps``.
    validation_size : float
        Share of the training texts held out to choose the weights; the members are then refitted
        on all training texts.
    scoring : {"accuracy", "macro_f1"}
        What the weights maximise on the validation split (ties go to the lower log-loss).
    random_state : int

    Examples
    --------
    >>> from crmlens.text.sentiment import SentimentClassifier
    >>> texts = ["great service", "awful delay", "really great", "so awful"] * 5
    >>> vote = SoftVoteSentiment([("char", SentimentClassifier(min_df=1, word_ngram=None)),
    ...                           ("word", SentimentClassifier(min_df=1, char_ngram=None))], steps=2)
    >>> vote.fit(texts, ["positive", "negative"] * 10).predict(["great"]).tolist()
    ['positive']
    """

    def __init__(
        self,
        members: Sequence[tuple[str, Any]] = (),
        steps: int = 4,
        validation_size: float = 0.2,
        scoring: str = "accuracy",
        random_state: int = 0,
    ) -> None:
        self.members = members
        self.steps = steps
        self.validation_size = validation_size
        self.scoring = scoring
        self.random_state = random_state

    def _fit_members(self, texts: list[str], labels: np.ndarray, keep: Sequence[bool]) -> list[Any]:
        fitted = []
        for (_, estimator), use in zip(self.members, keep, strict=True):
            fitted.append(clone(estimator).fit(texts, labels) if use else None)
        return fitted

    @staticmethod
    def _aligned(model: Any, texts: list[str], classes: np.ndarray) -> np.ndarray:
        """A member's probabilities with columns in the ensemble's class order."""
        proba = np.asarray(model.predict_proba(texts), dtype=float)
        position = {str(c): j for j, c in enumerate(model.classes_)}
        out = np.zeros((len(texts), len(classes)))
        for k, cls in enumerate(classes):
            if str(cls) in position:
                out[:, k] = proba[:, position[str(cls)]]
        return out

    def fit(self, X: Any, y: Any) -> SoftVoteSentiment:
        """Choose the weights on an inner split, then refit the members that got weight on all texts."""
        if not self.members:
            raise ConfigError("SoftVoteSentiment: give at least one (name, estimator) member")
        if self.scoring not in _SCORERS:
            raise ConfigError(f"SoftVoteSentiment: scoring must be one of {sorted(_SCORERS)}")
        texts = _as_texts(X)
        labels = np.asarray(list(y), dtype=object).astype(str)
        if len(texts) != len(labels):
            raise ValidationError(f"SoftVoteSentiment: {len(texts)} texts but {len(labels)} labels")
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ValidationError("SoftVoteSentiment: the labels hold a single class; need at least two")
        grid = weight_grid(len(self.members), self.steps)
        if len(grid) > 1:
            inner, held = train_test_split(
                np.arange(len(texts)),
                test_size=self.validation_size,
                stratify=labels,
                random_state=self.random_state,
            )
            train_texts, held_texts = [texts[i] for i in inner], [texts[i] for i in held]
            models = self._fit_members(train_texts, labels[inner], [True] * len(self.members))
            probas = [self._aligned(m, held_texts, self.classes_) for m in models]
            truth = labels[held]
            scorer = _SCORERS[self.scoring]
            results = []
            for weights in grid:
                mixed = sum(w * p for w, p in zip(weights, probas, strict=True))
                predicted = self.classes_[np.argmax(mixed, axis=1)]
                clipped = np.clip(mixed, 1e-9, 1.0)
                loss = log_loss(truth, clipped / clipped.sum(axis=1, keepdims=True), labels=self.classes_)
                results.append((scorer(truth, predicted.astype(str)), -loss, weights))
            best = max(results, key=lambda r: (r[0], r[1]))
            self.weights_ = np.asarray(best[2])
            self.validation_score_ = float(best[0])
            self.validation_table_ = [
                {"weights": dict(zip(self.member_names, w, strict=True)), self.scoring: s, "log_loss": -nl}
                for s, nl, w in results
            ]
        else:
            self.weights_ = np.ones(1)
        self.models_ = self._fit_members(texts, labels, self.weights_ > 0)
        return self

    @property
    def member_names(self) -> list[str]:
        """The members' names, in the order of ``weights_``."""
        return [name for name, _ in self.members]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted average of the members' probabilities, columns in the order of ``classes_``."""
        if not hasattr(self, "models_"):
            raise NotFittedError("SoftVoteSentiment is not fitted: call fit first")
        texts = _as_texts(X)
        out = np.zeros((len(texts), len(self.classes_)))
        for weight, model in zip(self.weights_, self.models_, strict=True):
            if weight > 0:
                out += weight * self._aligned(model, texts, self.classes_)
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the weights and every member with weight to one ``.npz`` file (no pickle)."""
        if not hasattr(self, "models_"):
            raise NotFittedError("SoftVoteSentiment is not fitted: call fit first")
        arrays: dict[str, np.ndarray] = {}
        members = []
        for k, ((name, _), model) in enumerate(zip(self.members, self.models_, strict=True)):
            if model is None:
                members.append({"name": name, "header": None})
                continue
            if not hasattr(model, "to_arrays"):
                raise ConfigError(f"SoftVoteSentiment.save: member {name!r} cannot be saved (no to_arrays)")
            member_arrays, header = model.to_arrays()
            arrays.update({f"m{k}:{key}": value for key, value in member_arrays.items()})
            members.append({"name": name, "header": header})
        header = {"format": ENSEMBLE_FORMAT, "classes": [str(c) for c in self.classes_],
                  "weights": self.weights_.tolist(), "members": members, "metadata": metadata or {},
                  "params": _jsonable({k: v for k, v in self.get_params(deep=False).items() if k != "members"})}  # fmt: skip
        return write_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | Path) -> SoftVoteSentiment:
        """Read an ensemble written by :meth:`save` (members without weight come back as ``None``)."""
        types = _member_types()
        with open_npz(path) as (data, header):
            if header.get("format") != ENSEMBLE_FORMAT:
                raise ConfigError(
                    f"{path}: not a crmlens sentiment ensemble (format {header.get('format')!r})"
                )
            models = []
            for k, member in enumerate(header["members"]):
                if member["header"] is None:
                    models.append(None)
                    continue
                kind = member["header"].get("format")
                if kind not in types:
                    raise ConfigError(f"{path}: unknown member format {kind!r}")
                prefix = f"m{k}:"
                arrays = {key[len(prefix) :]: data[key] for key in data.files if key.startswith(prefix)}
                models.append(types[kind].from_arrays(arrays, member["header"]))
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in header["params"].items()}
        model = cls(
            [(m["name"], fitted) for m, fitted in zip(header["members"], models, strict=True)], **params
        )
        model.models_ = models
        model.weights_ = np.asarray(header["weights"], dtype=float)
        model.classes_ = np.array(header["classes"], dtype=object)
        model.metadata_ = header.get("metadata", {})
        return model

"""Intent classification for support messages, in English and Chinese.

Three models behind one scikit-learn estimator:

- ``tfidf``: word uni/bigrams (jieba words for Chinese) and character 2-5-grams, linear SVM. Fast
  (well under a millisecond a message), no extra needed.
- ``embed``: all-MiniLM-L6-v2 sentence embeddings (bundled, offline) with the same linear head.
- ``ensemble``: both feature sets side by side in one linear model, plus random-feature (Nystroem)
  coordinates of an RBF kernel on the embeddings, so that the linear model can also draw curved
  boundaries in embedding space; the most accurate.
- ``auto`` (default): ``ensemble`` when the ``[neural]`` extra is installed, else ``tfidf``.

Confidence is calibrated: the SVM margins go through a softmax whose temperature is fitted on
out-of-fold margins, and the same out-of-fold predictions choose ``threshold_``, the confidence
above which predictions reach ``target_precision`` (the automation threshold used by routing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.kernel_approximation import Nystroem
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.support.embeddings import ENCODER, encode, neural_available
from crmlens.support.routing import threshold_for_precision
from crmlens.text.preprocess import normalize, tokenize

__all__ = ["MODELS", "IntentClassifier", "load_intent_model"]

MODELS = ("auto", "tfidf", "embed", "ensemble")
_FORMAT = "crmlens-intent-1"


@lru_cache(maxsize=200_000)
def _word_ngrams(text: str) -> tuple[str, ...]:
    """Unigrams and bigrams of the shared tokenizer (jieba for Chinese); stop words kept, they carry intent."""
    words = tokenize(text, stop_words=False, negation=False)
    return tuple(words) + tuple(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))


def _as_texts(X: Iterable[Any]) -> list[str]:
    if isinstance(X, str):
        raise ValidationError("intent model: pass a list of texts, not one string")
    if hasattr(X, "ndim") and getattr(X, "ndim", 1) > 1:
        X = np.asarray(X).ravel()
    return [normalize(x) for x in X]


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """Intent of a support message, with a calibrated confidence and an automation threshold.

    Parameters
    ----------
    model : {"auto", "tfidf", "embed", "ensemble"}
        Feature set; see the module docstring.
    C : float
        Inverse regularisation of the linear SVM. This value and the ``ensemble`` weights, width and
        landmark count below were chosen by 3-fold cross-validation inside the BANKING77 training part
        (the benchmark's 75%), never on the holdout it reports.
    embedding_weight : float
        Scale of the embedding block beside the TF-IDF block in ``ensemble``.
    kernel_components : int
        Landmarks of the Nystroem map of an RBF kernel on the embeddings in ``ensemble`` (0: none).
    kernel_gamma : float
        Its RBF width: ``exp(-gamma * |a - b|^2)`` on unit-length embeddings.
    kernel_weight : float
        Scale of the kernel block beside the others.
    calibration_cv : int
        Folds for the out-of-fold margins that fit the temperature and the threshold (0 skips).
    target_precision : float
        Precision the automation threshold ``threshold_`` must reach on out-of-fold predictions.
    random_state : int
        Seed of the folds and the solver.

    Examples
    --------
    >>> texts = ["where is my card", "my card has not arrived", "card still not here",
    ...          "i want a refund", "refund my payment please", "give me my money back"]
    >>> clf = IntentClassifier(model="tfidf", calibration_cv=0).fit(texts, ["card"] * 3 + ["refund"] * 3)
    >>> clf.predict(["has my new card arrived yet"]).tolist()
    ['card']
    """

    def __init__(
        self,
        model: str = "auto",
        C: float = 0.5,
        embedding_weight: float = 1.0,
        kernel_components: int = 4000,
        kernel_gamma: float = 1.0,
        kernel_weight: float = 2.0,
        calibration_cv: int = 3,
        target_precision: float = 0.95,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.C = C
        self.embedding_weight = embedding_weight
        self.kernel_components = kernel_components
        self.kernel_gamma = kernel_gamma
        self.kernel_weight = kernel_weight
        self.calibration_cv = calibration_cv
        self.target_precision = target_precision
        self.random_state = random_state

    # -- features -------------------------------------------------------------------------------
    def _resolve_model(self) -> str:
        if self.model not in MODELS:
            raise ConfigError(f"intent model {self.model!r} is unknown; choose one of {', '.join(MODELS)}")
        if self.model == "auto":
            return "ensemble" if neural_available() else "tfidf"
        return self.model

    @staticmethod
    def _new_vectorizers() -> list[TfidfVectorizer]:
        return [
            TfidfVectorizer(analyzer=_word_ngrams, sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, dtype=np.float32
            ),
        ]

    def _kernel_map(self, kind: str, emb: np.ndarray | None) -> Nystroem | None:
        """The Nystroem map of the RBF kernel, fitted on these embeddings (``ensemble`` only)."""
        if kind != "ensemble" or self.kernel_components <= 0 or emb is None:
            return None
        n = min(int(self.kernel_components), emb.shape[0])
        return Nystroem(gamma=self.kernel_gamma, n_components=n, random_state=self.random_state).fit(emb)

    def _features(
        self,
        texts: list[str],
        vectorizers: list[TfidfVectorizer],
        kind: str,
        fit: bool,
        emb: np.ndarray | None,
        kernel_map: Nystroem | None = None,
    ) -> sp.csr_matrix:
        blocks = []
        if kind in ("tfidf", "ensemble"):
            for vec in vectorizers:
                blocks.append(vec.fit_transform(texts) if fit else vec.transform(texts))
        if kind in ("embed", "ensemble"):
            assert emb is not None
            weight = self.embedding_weight if kind == "ensemble" else 1.0
            blocks.append(sp.csr_matrix(emb * np.float32(weight)))
        if kernel_map is not None:
            assert emb is not None
            mapped = kernel_map.transform(emb).astype(np.float32) * np.float32(self.kernel_weight)
            blocks.append(sp.csr_matrix(mapped))
        return sp.hstack(blocks, format="csr")

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.C, random_state=self.random_state)

    @staticmethod
    def _margins(svm: LinearSVC, Z: sp.csr_matrix) -> np.ndarray:
        margins = svm.decision_function(Z)
        if margins.ndim == 1:  # two classes: one margin, split symmetrically
            margins = np.column_stack([-margins / 2, margins / 2])
        return margins

    # -- learning -------------------------------------------------------------------------------
    def fit(self, X: Iterable[Any], y: Sequence[Any]) -> IntentClassifier:
        """Learn intents from labelled texts; also fits the confidence temperature and threshold."""
        texts = _as_texts(X)
        labels = np.asarray([str(v) for v in y], dtype=object)
        if len(texts) != len(labels):
            raise ValidationError(f"intent model: {len(texts)} texts but {len(labels)} labels")
        classes, counts = np.unique(labels, return_counts=True)
        if classes.size < 2:
            raise ValidationError("intent model: the label column needs at least two different intents")
        kind = self._resolve_model()
        emb = encode(texts) if kind in ("embed", "ensemble") else None

        self.temperature_ = 1.0
        self.threshold_ = 1.01
        self.oof_confidence_ = np.zeros(0)
        self.oof_correct_ = np.zeros(0, dtype=bool)
        self.oof_pred_ = np.zeros(0, dtype=object)
        self.oof_automation_rate_ = float("nan")
        folds = min(int(self.calibration_cv), int(counts.min()))
        if folds >= 2:
            oof = np.zeros((len(texts), classes.size), dtype=np.float64)
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            for train, test in splitter.split(np.zeros(len(labels)), labels):
                vecs = self._new_vectorizers()
                part = [texts[i] for i in train]
                kmap = self._kernel_map(kind, None if emb is None else emb[train])
                Z = self._features(part, vecs, kind, True, None if emb is None else emb[train], kmap)
                svm = self._svm().fit(Z, labels[train])
                Zt = self._features(
                    [texts[i] for i in test], vecs, kind, False, None if emb is None else emb[test], kmap
                )
                cols = np.searchsorted(classes, svm.classes_)
                oof[np.ix_(test, cols)] = self._margins(svm, Zt)
            truth = np.searchsorted(classes, labels)
            self.temperature_ = _fit_temperature(oof, truth)
            proba = softmax(oof / self.temperature_, axis=1)
            self.oof_confidence_ = proba.max(axis=1)
            self.oof_pred_ = classes[proba.argmax(axis=1)]
            self.oof_correct_ = proba.argmax(axis=1) == truth
            self.threshold_, self.oof_automation_rate_, _ = threshold_for_precision(
                self.oof_confidence_, self.oof_correct_, self.target_precision
            )

        self.vectorizers_ = self._new_vectorizers()
        kernel_map = self._kernel_map(kind, emb)
        Z = self._features(texts, self.vectorizers_, kind, True, emb, kernel_map)
        self.svm_ = self._svm().fit(Z, labels)
        self.classes_ = self.svm_.classes_
        self.model_ = kind
        self._fold_weights(kernel_map)
        self.encoder_ = ENCODER if kind in ("embed", "ensemble") else None
        self.n_train_ = len(texts)
        return self

    # -- prediction -----------------------------------------------------------------------------
    def _check(self) -> None:
        try:
            check_is_fitted(self, "svm_")
        except Exception as exc:  # sklearn raises its own NotFittedError
            raise NotFittedError("intent model is not trained: call fit or load a saved model") from exc

    def _fold_weights(self, kernel_map: Nystroem | None = None) -> None:
        """Lay the SVM's weights out for one-message prediction, block by block.

        The weights are kept in column-major order, so that each block's transposed slice is a
        contiguous view (a sparse row times a strided view would copy the whole weight matrix per
        call). The kernel coordinates of a text are ``k(x, landmarks) @ N.T``; their margins,
        ``coords @ W.T``, equal ``k(x, landmarks) @ (N.T @ W.T)``, so prediction computes the kernel
        row and one small product, never the coordinates.
        """
        self.svm_.coef_ = np.asfortranarray(self.svm_.coef_, dtype=np.float64)
        sizes = (
            [len(v.vocabulary_) for v in self.vectorizers_] if self.model_ in ("tfidf", "ensemble") else []
        )
        n_kernel = 0 if kernel_map is None else kernel_map.components_.shape[0]
        n_emb = self.svm_.coef_.shape[1] - sum(sizes) - n_kernel
        self.block_sizes_ = [*sizes, n_emb]
        self.kernel_coef_ = self.landmarks_ = None
        if kernel_map is not None:
            kernel = self.svm_.coef_[:, self.svm_.coef_.shape[1] - n_kernel :]
            self.kernel_coef_ = np.ascontiguousarray(
                kernel_map.normalization_.T @ kernel.T * self.kernel_weight
            )
            self.landmarks_ = np.ascontiguousarray(kernel_map.components_, dtype=np.float64)
            self.landmark_norms_ = (self.landmarks_ * self.landmarks_).sum(axis=1)

    def _rbf(self, emb: np.ndarray) -> np.ndarray:
        """RBF kernel between texts and landmarks (sklearn's ``rbf_kernel``, without its per-call checks)."""
        assert self.landmarks_ is not None
        sq = emb @ self.landmarks_.T
        sq *= -2.0
        sq += (emb * emb).sum(axis=1)[:, None]
        sq += self.landmark_norms_[None, :]
        np.maximum(sq, 0.0, out=sq)
        sq *= -self.kernel_gamma
        return np.exp(sq, out=sq)

    def decision_function(self, X: Iterable[Any]) -> np.ndarray:
        self._check()
        if not hasattr(self, "block_sizes_"):  # saved by an earlier version: no kernel block
            self._fold_weights()
        texts = _as_texts(X)
        if len(texts) > _SMALL_BATCH:
            return self._margins_of(texts)
        # a few rows: BLAS threads only hand the small products around (on a busy machine their
        # spinning cost 2-3 ms of CPU a message, against 0.2 ms on one thread)
        with _blas().limit(limits=1, user_api="blas"):
            return self._margins_of(texts)

    def _margins_of(self, texts: list[str]) -> np.ndarray:
        intercept = self.svm_.intercept_
        margins = np.tile(intercept, (len(texts), 1)).astype(np.float64)
        coef, start = self.svm_.coef_, 0
        if self.model_ in ("tfidf", "ensemble"):
            for vec, size in zip(self.vectorizers_, self.block_sizes_, strict=False):
                margins += vec.transform(texts).astype(np.float64) @ coef[:, start : start + size].T
                start += size
        if self.model_ in ("embed", "ensemble"):
            emb = encode(texts).astype(np.float64)
            weight = self.embedding_weight if self.model_ == "ensemble" else 1.0
            margins += (emb * weight) @ coef[:, start : start + self.block_sizes_[-1]].T
            if self.kernel_coef_ is not None:
                margins += self._rbf(emb) @ self.kernel_coef_
        if margins.shape[1] == 1:  # two classes: one margin, split symmetrically
            margins = np.column_stack([-margins[:, 0] / 2, margins[:, 0] / 2])
        return margins

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        """Calibrated probabilities, one column per entry of ``classes_``."""
        return softmax(self.decision_function(X) / self.temperature_, axis=1)

    def predict(self, X: Iterable[Any]) -> np.ndarray:
        margins = self.decision_function(X)
        return self.classes_[np.argmax(margins, axis=1)]

    def predict_with_confidence(self, X: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Intent and calibrated confidence of each text (one pass)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)], proba.max(axis=1)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model and a JSON card (format, hash, parameters, classes) beside it."""
        self._check()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        card = {
            "format": _FORMAT,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "model": self.model_,
            "encoder": self.encoder_,
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "threshold": self.threshold_,
            "temperature": self.temperature_,
            "n_train": self.n_train_,
        }
        _card_path(path).write_text(json.dumps(card, indent=2), encoding="utf-8")
        return path


_SMALL_BATCH = 32


@lru_cache(maxsize=1)
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _card_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def load_intent_model(path: str | Path) -> IntentClassifier:
    """Load a saved model after checking its card's hash, so a tampered file is never unpickled."""
    path = Path(path)
    card_path = _card_path(path)
    if not path.exists():
        raise ConfigError(f"{path}: intent model not found; train one with `crmlens intent train`")
    if not card_path.exists():
        raise ConfigError(f"{card_path}: model card missing; retrain with `crmlens intent train`")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("format") != _FORMAT:
        raise ConfigError(f"{path}: not a crmlens intent model (format {card.get('format')!r})")
    if hashlib.sha256(path.read_bytes()).hexdigest() != card.get("sha256"):
        raise ConfigError(f"{path}: file does not match the hash in {card_path.name}; refusing to load it")
    model = joblib.load(path)
    if not isinstance(model, IntentClassifier):
        raise ConfigError(f"{path}: holds {type(model).__name__}, not an intent model")
    if model.model_ in ("embed", "ensemble") and getattr(model, "encoder_", None) != ENCODER:
        # its linear head was fitted on other vectors than this version computes: predictions would drift
        raise ConfigError(
            f"{path}: trained on {getattr(model, 'encoder_', None) or 'older'} sentence embeddings, this "
            f"version computes {ENCODER}; retrain with `crmlens intent train`"
        )
    return model


def _fit_temperature(margins: np.ndarray, truth: np.ndarray) -> float:
    """Softmax temperature minimising the negative log-likelihood of held-out margins."""

    def nll(log_t: float) -> float:
        logp = log_softmax(margins / np.exp(log_t), axis=1)
        return float(-logp[np.arange(truth.size), truth].mean())

    result = minimize_scalar(nll, bounds=(-6.0, 3.0), method="bounded")
    return float(np.exp(result.x))

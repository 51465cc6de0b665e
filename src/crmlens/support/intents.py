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
from joblib import effective_n_jobs
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.parallel import Parallel, delayed
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
    n_jobs : int or None
        Processes for training: the final model and the ``calibration_cv`` fold models are
        independent fits, run this many side by side (-1: one per CPU core; None or 1: one after
        the other). The result does not depend on it; time and memory do. Training on the full
        BANKING77 train split (10,003 messages) on a shared 2-core machine: 2 processes 147 s with
        the whole process tree at 5.2 GB resident, 1 process 227 s at 2.9 GB.
    tol : float
        Stopping tolerance of the linear SVM's solver.

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
        n_jobs: int | None = 2,
        tol: float = 1e-4,
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
        self.n_jobs = n_jobs
        self.tol = tol

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

    def _kernel_map(self, kind: str, emb: np.ndarray | None) -> _KernelMap | None:
        """The Nystroem map of the RBF kernel, fitted on these embeddings (``ensemble`` only)."""
        if kind != "ensemble" or self.kernel_components <= 0 or emb is None:
            return None
        n = min(int(self.kernel_components), emb.shape[0])
        return _KernelMap(self.kernel_gamma, n, self.random_state).fit(emb)

    def _features(
        self,
        texts: list[str],
        vectorizers: list[TfidfVectorizer],
        kind: str,
        fit: bool,
        emb: np.ndarray | None,
        kernel_map: _KernelMap | None = None,
    ) -> sp.csr_matrix:
        # float32 values (as the vectorizers give them), held in float64: the type the SVM solver
        # reads, so it does not copy the matrix again
        blocks = []
        if kind in ("tfidf", "ensemble"):
            for vec in vectorizers:
                block = vec.fit_transform(texts) if fit else vec.transform(texts)
                blocks.append(block.astype(np.float64))
        if kind in ("embed", "ensemble"):
            assert emb is not None
            weight = self.embedding_weight if kind == "ensemble" else 1.0
            blocks.append(_dense_csr(emb * np.float32(weight)))
        if kernel_map is not None:
            assert emb is not None
            mapped = kernel_map.transform(emb).astype(np.float32) * np.float32(self.kernel_weight)
            blocks.append(_dense_csr(mapped))
        return sp.hstack(blocks, format="csr")

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.C, tol=self.tol, random_state=self.random_state)

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
        splits: list[tuple[np.ndarray, np.ndarray | None]] = [(np.arange(len(texts)), None)]
        if folds >= 2:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            splits += list(splitter.split(np.zeros(len(labels)), labels))
        # the final model and the fold models are independent fits: run them side by side, the
        # biggest first. Processes, not threads: liblinear draws its coordinate order from one global
        # generator, which threads would share; in its own process each fit is computed exactly as
        # it would be alone.
        workers = min(len(splits), effective_n_jobs(self.n_jobs))
        fresh = clone(self)  # the workers get the parameters, never a previous fit's arrays
        fitted = Parallel(n_jobs=workers, backend="loky" if workers > 1 else "sequential")(
            delayed(_fit_part)(fresh, texts, labels, emb, kind, train, test) for train, test in splits
        )
        (self.vectorizers_, kernel_map, self.svm_, _), *fold_fits = fitted
        if fold_fits:
            oof = np.zeros((len(texts), classes.size), dtype=np.float64)
            for (_, test), (_, _, svm, margins) in zip(splits[1:], fold_fits, strict=True):
                assert test is not None  # folds always have a test part
                cols = np.searchsorted(classes, svm.classes_)
                oof[np.ix_(test, cols)] = margins
            truth = np.searchsorted(classes, labels)
            self.temperature_ = _fit_temperature(oof, truth)
            proba = softmax(oof / self.temperature_, axis=1)
            self.oof_confidence_ = proba.max(axis=1)
            self.oof_pred_ = classes[proba.argmax(axis=1)]
            self.oof_correct_ = proba.argmax(axis=1) == truth
            self.threshold_, self.oof_automation_rate_, _ = threshold_for_precision(
                self.oof_confidence_, self.oof_correct_, self.target_precision
            )
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

    def _fold_weights(self, kernel_map: _KernelMap | None = None) -> None:
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
        n_kernel = 0 if kernel_map is None else kernel_map.normalization_.shape[0]
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
_MIN_PIVOT = 1e-6


def _dense_csr(block: np.ndarray) -> sp.csr_matrix:
    """A dense block as a CSR matrix in float64, built directly (``csr_matrix(dense)`` goes through
    int64 coordinate arrays three times its size). Zeros are kept as entries; they add nothing."""
    rows, cols = block.shape
    indptr = np.arange(0, rows * cols + 1, cols, dtype=np.int64 if rows * cols >= 2**31 else np.int32)
    indices = np.tile(np.arange(cols, dtype=indptr.dtype), rows)
    data = np.ascontiguousarray(block, dtype=np.float64).ravel()
    return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))


def _rbf_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    sq = a @ b.T
    sq *= -2.0
    sq += (a * a).sum(axis=1)[:, None]
    sq += (b * b).sum(axis=1)[None, :]
    np.maximum(sq, 0.0, out=sq)
    sq *= -gamma
    return np.exp(sq, out=sq)


class _KernelMap:
    """Nystroem coordinates of an RBF kernel: ``rbf(x, landmarks) @ normalization_.T``.

    The landmarks are the ones scikit-learn's ``Nystroem`` draws with the same seed, and the
    coordinates have the same inner products, ``k(x, L) K_LL^+ k(L, y)``: the map differs from
    scikit-learn's only by a rotation, which a linear SVM (L2 penalty, dual solver working on inner
    products) cannot see. Scikit-learn takes the symmetric root of ``K_LL^+`` from a full SVD; here
    the Cholesky factor ``K_LL = C C^T`` gives ``normalization_ = C^-1`` at a fraction of the cost
    (4,000 BANKING77 landmarks on a 2-core machine: about 3 s instead of 18-61 s). A landmark drawn
    twice (the same text twice in the data) adds nothing to ``k(x, L) K_LL^+ k(L, y)``, so repeats
    get zero coordinates and the factor is taken over distinct landmarks; if those are still
    (nearly) linearly dependent, the eigenvalue root with scikit-learn's clipping is used instead.
    """

    def __init__(self, gamma: float, n_components: int, random_state: int) -> None:
        self.gamma = float(gamma)
        self.n_components = int(n_components)
        self.random_state = random_state

    def fit(self, emb: np.ndarray) -> _KernelMap:
        rnd = np.random.RandomState(self.random_state)
        basis = rnd.permutation(emb.shape[0])[: self.n_components]
        self.components_ = np.asarray(emb[basis], dtype=np.float64)
        first = np.sort(np.unique(self.components_, axis=0, return_index=True)[1])
        gram = _rbf_kernel(self.components_[first], self.components_[first], self.gamma)
        self.lower_: np.ndarray | None = None
        self.distinct_ = first
        try:
            lower = cholesky(gram, lower=True, check_finite=False)
        except LinAlgError:
            lower = None
        # a tiny pivot: a landmark (nearly) repeats others, and the triangular inverse would blow up
        if lower is not None and float(np.diag(lower).min()) ** 2 > _MIN_PIVOT:
            self.lower_ = lower
            inverse = solve_triangular(lower, np.eye(lower.shape[0]), lower=True, check_finite=False)
        else:
            values, vectors = np.linalg.eigh(gram)
            inverse = (vectors / np.sqrt(np.maximum(np.abs(values), 1e-12))).T
        self.normalization_ = np.zeros((len(first), len(basis)))
        self.normalization_[:, first] = inverse
        return self

    def transform(self, emb: np.ndarray) -> np.ndarray:
        kernel = _rbf_kernel(np.asarray(emb, dtype=np.float64), self.components_[self.distinct_], self.gamma)
        if self.lower_ is not None:  # k C^-T by a triangular solve: half the work of the product
            return solve_triangular(self.lower_, kernel.T, lower=True, check_finite=False).T
        return kernel @ self.normalization_[:, self.distinct_].T


@lru_cache(maxsize=1)
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _fit_part(
    model: IntentClassifier,
    texts: list[str],
    labels: np.ndarray,
    emb: np.ndarray | None,
    kind: str,
    train: np.ndarray,
    test: np.ndarray | None,
) -> tuple[list[TfidfVectorizer], _KernelMap | None, LinearSVC, np.ndarray | None]:
    """Vectorizers, kernel map and SVM fitted on ``train``; for a fold (``test`` given), the margins
    of ``test`` instead of the kernel map (a fold's map is not needed after it)."""
    vecs = model._new_vectorizers()
    part_emb = None if emb is None else emb[train]
    kmap = model._kernel_map(kind, part_emb)
    Z = model._features([texts[i] for i in train], vecs, kind, True, part_emb, kmap)
    svm = model._svm().fit(Z, labels[train])
    del Z
    if test is None:
        if kmap is not None:
            kmap.lower_ = None  # only the prediction weights (normalization_) travel back
        return vecs, kmap, svm, None
    Zt = model._features(
        [texts[i] for i in test], vecs, kind, False, None if emb is None else emb[test], kmap
    )
    return vecs, None, svm, model._margins(svm, Zt)


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

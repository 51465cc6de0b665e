"""The collaborative recommenders: popularity, item-kNN, user-kNN, ALS, BPR and EASE.

Neighbourhoods and matrix factorisation come from the ``implicit`` library (kept to one or two
threads); EASE is its closed form (Steck, 2019), a ridge regression of each item on all others.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.recommend.base import BaseRecommender, register_model
from crmlens.recommend.data import Interactions


@contextmanager
def quiet() -> Iterator[None]:
    """implicit warns about input formats and BLAS threads it has just been given; keep logs clean."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(CSR input|OpenBLAS|threadpool|GPU).*")
        yield


def _binary(X: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(X, dtype=np.float32, copy=True)
    out.data[:] = 1.0
    return out


def _dense(block: Any) -> np.ndarray:
    return block.toarray() if sp.issparse(block) else np.asarray(block)


@register_model("popularity")
class PopularityRecommender(BaseRecommender):
    """Bestsellers (distinct customers per item), globally or within the customer's segment.

    A segment's counts are shrunk towards the global ones by ``shrinkage`` pseudo-customers, so a
    small segment does not recommend its few accidents.
    """

    _state = ("segment_of_user_", "segment_popularity_")

    def __init__(self, shrinkage: float = 50.0) -> None:
        self.shrinkage = shrinkage

    def fit(
        self, X: Interactions | sp.spmatrix, y: Any = None, segments: Any = None
    ) -> PopularityRecommender:
        """``segments``: one label per customer row, or a mapping customer id -> segment."""
        self._segments = segments
        super().fit(X)
        del self._segments
        return self

    def _fit(self, X: sp.csr_matrix) -> None:
        binary = (X > 0).astype(np.float32)
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.popularity_ = counts / max(X.shape[0], 1)
        segments = self._segments
        if segments is None:
            self.segment_of_user_ = np.full(X.shape[0], -1)
            self.segment_popularity_ = np.zeros((0, X.shape[1]), np.float32)
            return
        if isinstance(segments, dict):
            labels = pd.Series(self.user_ids_).map(segments)
        else:
            labels = pd.Series(np.asarray(segments))
            if len(labels) != X.shape[0]:
                raise ValidationError(f"popularity: {len(labels)} segment labels for {X.shape[0]} customers")
        codes, _ = pd.factorize(labels.astype("string"), use_na_sentinel=True)
        self.segment_of_user_ = codes
        n_seg = int(codes.max()) + 1 if len(codes) else 0
        member = sp.csr_matrix(
            (np.ones((codes >= 0).sum(), np.float32), (codes[codes >= 0], np.flatnonzero(codes >= 0))),
            shape=(n_seg, X.shape[0]),
        )
        seg_counts = _dense(member @ binary)
        sizes = np.asarray(member.sum(axis=1)).ravel()[:, None]
        self.segment_popularity_ = (
            (seg_counts + self.shrinkage * self.popularity_) / (sizes + self.shrinkage)
        ).astype(np.float32)

    def _restore(self) -> None:
        binary = (self.user_items_ > 0).astype(np.float32)
        self.popularity_ = np.asarray(binary.sum(axis=0)).ravel() / max(self.user_items_.shape[0], 1)

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        shared = self.popularity_.astype(np.float32)[None, :]
        if not len(self.segment_popularity_):
            return np.broadcast_to(shared, (len(rows), len(self.popularity_)))  # a view: no copy per customer
        scores = np.tile(shared, (len(rows), 1))
        if len(self.segment_popularity_):
            seg = np.where(rows >= 0, self.segment_of_user_[np.where(rows >= 0, rows, 0)], -1)
            has = seg >= 0
            scores[has] = self.segment_popularity_[seg[has]]
        return scores


@register_model("item_knn")
class ItemKNNRecommender(BaseRecommender):
    """Item-based collaborative filtering: items bought by the same customers (implicit's kNN).

    ``similarity``: ``cosine``, ``bm25`` or ``tfidf``; ``k`` neighbours per item are kept.
    """

    _state = ("similarity_",)

    def __init__(
        self, k: int = 100, similarity: str = "cosine", binary: bool = True, num_threads: int = 1
    ) -> None:
        self.k = k
        self.similarity = similarity
        self.binary = binary
        self.num_threads = num_threads

    def _fit(self, X: sp.csr_matrix) -> None:
        from implicit import nearest_neighbours as nn

        kinds = {"cosine": nn.CosineRecommender, "bm25": nn.BM25Recommender, "tfidf": nn.TFIDFRecommender}
        if self.similarity not in kinds:
            raise ConfigError(f"item_knn similarity {self.similarity!r}: choose one of {', '.join(kinds)}")
        model = kinds[self.similarity](K=self.k, num_threads=self.num_threads)
        with quiet():
            model.fit(_binary(X) if self.binary else X, show_progress=False)
        self.similarity_ = sp.csr_matrix(model.similarity, dtype=np.float32)

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        return _dense(X_rows @ self.similarity_)

    def item_matrix(self) -> sp.csr_matrix:
        return self.similarity_


@register_model("user_knn")
class UserKNNRecommender(BaseRecommender):
    """User-based collaborative filtering: what the ``k`` most similar customers bought."""

    _state = ("similarity_",)

    def __init__(self, k: int = 50, num_threads: int = 1) -> None:
        self.k = k
        self.num_threads = num_threads

    def _fit(self, X: sp.csr_matrix) -> None:
        from implicit.nearest_neighbours import CosineRecommender

        model = CosineRecommender(K=self.k + 1, num_threads=self.num_threads)
        with quiet():
            model.fit(
                sp.csr_matrix(_binary(X).T), show_progress=False
            )  # customers as the "items": customer-customer cosine
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.setdiag(0)
        sim.eliminate_zeros()
        self.similarity_ = sim

    def _item_similarity(self, positions: np.ndarray) -> np.ndarray:
        """Items are alike when the same customers take them (cosine of the item columns)."""
        from sklearn.preprocessing import normalize

        columns = normalize(sp.csc_matrix(_binary(self.user_items_)), axis=0)
        return _dense(columns[:, positions].T @ columns).astype(np.float64)

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        known = np.where(rows >= 0, rows, 0)
        neighbours = self.similarity_[known]
        neighbours = sp.diags((rows >= 0).astype(np.float32)) @ neighbours
        return _dense(neighbours @ (self.user_items_ > 0).astype(np.float32))


class _FactorModel(BaseRecommender):
    _state = ("user_factors_", "item_factors_")

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        known = np.where(rows >= 0, rows, 0)
        scores = self.user_factors_[known] @ self.item_factors_.T
        scores[rows < 0] = 0.0
        return scores

    def _item_similarity(self, positions: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1) + 1e-9
        unit = self.item_factors_ / norms[:, None]
        return unit[positions] @ unit.T

    def _store(self, model: Any) -> None:
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)


@register_model("als")
class ALSRecommender(_FactorModel):
    """Matrix factorisation for implicit feedback (Hu, Koren & Volinsky), by implicit's ALS.

    ``binary`` fits on presence (confidence ``1 + alpha``); on both shared data sets that beat
    using the recency/quantity weights as confidences.
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        binary: bool = True,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.binary = binary
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, X: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"), quiet():
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
            )
            model.fit(_binary(X) if self.binary else X, show_progress=False)
        self._store(model)


@register_model("bpr")
class BPRRecommender(_FactorModel):
    """Bayesian personalised ranking (Rendle et al.), by implicit's BPR; learns to rank pairs."""

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, X: sp.csr_matrix) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        with threadpool_limits(1, "blas"), quiet():
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
            )
            model.fit(X, show_progress=False)
        self._store(model)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky in float32 (LAPACK potrf/potri).

    A third of the work of a general inverse in half the memory traffic; the ridge on the
    diagonal keeps the Gram matrix well conditioned enough for single precision.
    """
    from scipy.linalg import lapack

    factor, info = lapack.spotrf(np.asarray(matrix, dtype=np.float32), lower=False, overwrite_a=True)
    if info != 0:
        raise ValidationError(
            f"EASE: the Gram matrix is not positive definite (LAPACK info {info}); raise l2"
        )
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValidationError(f"EASE: inverting the Gram matrix failed (LAPACK info {info}); raise l2")
    upper = np.triu(inverse)
    return upper + np.triu(upper, 1).T


@register_model("ease")
class EASERecommender(BaseRecommender):
    """EASE (Steck, 2019): item-item weights in closed form, ``B = I - P / diag(P)``.

    ``P = (X'X + l2 I)^-1`` over binary interactions. Cost grows with the cube of the catalogue,
    so only the ``max_items`` most popular items are modelled (the rest score zero here and
    are left to the hybrid's other parts). ``binary`` fits on presence; scoring always uses the
    customer's weights, so recent interactions count more when the weighting says so.
    """

    _state = ("weights_", "modelled_items_")

    def __init__(self, l2: float = 500.0, max_items: int = 8000, binary: bool = True) -> None:
        self.l2 = l2
        self.max_items = max_items
        self.binary = binary

    def _fit(self, X: sp.csr_matrix) -> None:
        counts = np.asarray((X > 0).sum(axis=0)).ravel()
        keep = np.flatnonzero(counts > 0)
        if len(keep) > self.max_items:
            keep = np.sort(keep[np.argsort(-counts[keep], kind="stable")[: self.max_items]])
        Xk = sp.csr_matrix(_binary(X[:, keep]) if self.binary else X[:, keep], dtype=np.float32)
        gram = _dense(Xk.T @ Xk).astype(np.float32)
        gram[np.diag_indices_from(gram)] += self.l2
        with threadpool_limits(2, "blas"):
            precision = _spd_inverse(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights_ = weights.astype(np.float32)
        self.modelled_items_ = keep

    def item_matrix(self) -> np.ndarray | None:
        return self.weights_ if len(self.modelled_items_) == self.user_items_.shape[1] else None

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        if len(self.modelled_items_) == X_rows.shape[1]:
            return np.asarray(X_rows @ self.weights_)
        scores = np.zeros((X_rows.shape[0], X_rows.shape[1]), np.float32)
        scores[:, self.modelled_items_] = _dense(X_rows[:, self.modelled_items_] @ self.weights_)
        return scores

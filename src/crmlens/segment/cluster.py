"""Clustering customers: k-means, Ward, density methods, Gaussian mixtures, a neural two-stage
path, and an automatic choice of method and k that is reported as a table.

The automatic choice runs every candidate (method, k) on a sample, scores it by silhouette,
Davies-Bouldin and Calinski-Harabasz, and checks it is stable (adjusted Rand index between the
sample's clustering and re-clusterings of random 80% subsamples). Degenerate solutions (a
segment under ``min_segment_share`` of customers) and solutions clearly less stable than the
most stable one are not chosen, whatever their scores. The final model is then fitted on
everyone: mini-batch k-means for large N, and methods that cannot scale (Ward, DBSCAN) are
fitted on the sample and extended by nearest centroid.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from crmlens.exceptions import ConfigError
from crmlens.segment.preprocess import CustomerPreprocessor

__all__ = ["METHODS", "AUTO_METHODS", "SegmentClusterer", "cluster_quality", "dp_kmeans"]

METHODS = ("auto", "kmeans", "agglomerative", "gmm", "dbscan", "hdbscan", "neural")
AUTO_METHODS = ("kmeans", "agglomerative", "gmm", "hdbscan")
_DENSITY = ("dbscan", "hdbscan")


def _nearest(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest center for each point, in chunks (memory stays flat for 1M rows)."""
    out = np.empty(len(points), dtype=np.int64)
    c2 = (centers**2).sum(1)
    for start in range(0, len(points), 200_000):
        block = points[start : start + 200_000]
        d = c2[None, :] - 2.0 * block @ centers.T
        out[start : start + 200_000] = d.argmin(1)
    return out


def _centers(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(labels[labels >= 0])
    return ids, np.vstack([Z[labels == i].mean(0) for i in ids])


def _absorb_noise(Z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Density methods leave noise (-1); every customer needs a segment, so noise joins the nearest one."""
    if (labels >= 0).sum() == 0:
        return np.zeros(len(labels), dtype=np.int64)
    ids, centers = _centers(Z, labels)
    out = labels.copy()
    noise = labels < 0
    if noise.any():
        out[noise] = ids[_nearest(Z[noise], centers)]
    return out


def _density_labels(method: str, Z: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    n, d = Z.shape
    if method == "hdbscan":
        raw = HDBSCAN(min_cluster_size=max(10, int(0.02 * n)), min_samples=10, copy=True).fit_predict(Z)
    else:
        min_samples = max(5, 2 * d)
        dist, _ = NearestNeighbors(n_neighbors=min(min_samples, n - 1)).fit(Z).kneighbors(Z)
        eps = float(np.median(dist[:, -1])) or 1e-6
        raw = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(Z)
    noise = float((raw < 0).mean())
    return _absorb_noise(Z, raw), noise


def _labels_for_ks(method: str, Z: np.ndarray, ks: list[int], seed: int) -> dict[int | None, tuple]:
    """Labels (and noise share) for each k; one Ward tree serves every k."""
    out: dict[int | None, tuple] = {}
    if method in _DENSITY:
        labels, noise = _density_labels(method, Z, seed)
        out[None] = (labels, noise)
        return out
    if method == "agglomerative":
        tree = linkage(Z, method="ward")
        for k in ks:
            out[k] = (fcluster(tree, t=k, criterion="maxclust") - 1, 0.0)
        return out
    for k in ks:
        if method == "kmeans":
            model = KMeans(n_clusters=k, n_init=3, random_state=seed)
        elif method == "gmm":
            model = GaussianMixture(n_components=k, covariance_type="full", random_state=seed, reg_covar=1e-4)
        else:
            raise ConfigError(f"segment: unknown method {method!r}; choose one of {', '.join(METHODS)}")
        out[k] = (model.fit(Z).predict(Z), 0.0)
    return out


def cluster_quality(Z: np.ndarray, labels: np.ndarray, sample: int = 3000, seed: int = 0) -> dict[str, float]:
    """Silhouette (higher is better), Davies-Bouldin (lower), Calinski-Harabasz (higher) on a sample."""
    rng = np.random.default_rng(seed)
    if len(Z) > sample:
        idx = rng.choice(len(Z), sample, replace=False)
        Z, labels = Z[idx], labels[idx]
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(Z):
        return {"silhouette": float("nan"), "davies_bouldin": float("nan"), "calinski_harabasz": float("nan")}
    return {
        "silhouette": float(silhouette_score(Z, labels)),
        "davies_bouldin": float(davies_bouldin_score(Z, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(Z, labels)),
    }


def dp_kmeans(Z: np.ndarray, n_clusters: int, epsilon: float, bound: float, seed: int) -> Any:
    """Differentially private k-means (diffprivlib) on data clipped to ``[-bound, bound]``.

    The bounds are fixed by the preprocessing (robust scaling then clipping), not read from the
    data, as diffprivlib asks; centroids (and so segment statistics) carry epsilon-DP.
    """
    from crmlens._compat import diffprivlib

    DPKMeans = diffprivlib().models.KMeans  # noqa: N806 - a class

    d = Z.shape[1]
    bounds = (np.full(d, -bound), np.full(d, bound))
    return DPKMeans(n_clusters=n_clusters, epsilon=epsilon, bounds=bounds, random_state=seed).fit(Z)


class SegmentClusterer(ClusterMixin, BaseEstimator):
    """Segment customers from a profile frame; ``method='auto'`` picks method and k and says why.

    Parameters
    ----------
    method : str
        ``auto``, ``kmeans``, ``agglomerative`` (Ward), ``dbscan``, ``hdbscan``, ``gmm`` or ``neural``
        (autoencoder embedding then k-means; needs the ``[neural]`` extra).
    n_clusters : int, optional
        Number of segments; chosen from ``k_range`` when not given (density methods find their own).
    k_range : tuple of int
        Smallest and largest k tried by the automatic choice (from 3: two groups rarely call for
        different actions).
    auto_methods : tuple of str
        Methods the automatic choice compares.
    columns, exclude : optional
        Profile columns to use, or to leave out (ids, dates of the cutoff, labels).
    selection_sample : int
        Customers sampled for the choice and the stability check.
    n_bootstrap : int
        Subsamples (80% each) for the stability check.
    min_segment_share : float
        Solutions with a smaller segment are not chosen: a marketer cannot act on it.
    stability_margin : float
        Solutions whose stability (adjusted Rand index) is more than this below the most stable
        valid solution are not chosen; among the rest, silhouette, Davies-Bouldin and
        Calinski-Harabasz ranks decide. The indices alone favour few, coarse segments, and a k
        whose segments reshuffle under resampling is a k the data does not support.
    minibatch_threshold : int
        From this many customers, k-means runs mini-batch.
    dp_epsilon : float, optional
        Differentially private k-means (diffprivlib) with this epsilon; needs ``n_clusters``.
    embedder_params : dict, optional
        Parameters of :class:`~crmlens.segment.embed.AutoencoderEmbedder` for ``method='neural'``.
    preprocessor_params : dict, optional
        Parameters of :class:`~crmlens.segment.preprocess.CustomerPreprocessor` (``scaling``,
        ``winsor``, ``group_shares`` ...).
    n_threads : int
        BLAS / OpenMP threads. One is fastest on a busy or small machine (spinning threads fight
        for cores); raise it on a quiet many-core machine for millions of customers.
    random_state : int
        Seed: the same seed gives the same segments.
    """

    def __init__(
        self,
        method: str = "auto",
        n_clusters: int | None = None,
        k_range: tuple[int, int] = (3, 8),
        auto_methods: tuple[str, ...] = AUTO_METHODS,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] = (),
        selection_sample: int = 3000,
        n_bootstrap: int = 3,
        min_segment_share: float = 0.02,
        stability_margin: float = 0.05,
        minibatch_threshold: int = 50_000,
        sample_fit_max: int = 10_000,
        dp_epsilon: float | None = None,
        embedder_params: dict[str, Any] | None = None,
        preprocessor_params: dict[str, Any] | None = None,
        n_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.auto_methods = auto_methods
        self.columns = columns
        self.exclude = exclude
        self.selection_sample = selection_sample
        self.n_bootstrap = n_bootstrap
        self.min_segment_share = min_segment_share
        self.stability_margin = stability_margin
        self.minibatch_threshold = minibatch_threshold
        self.sample_fit_max = sample_fit_max
        self.dp_epsilon = dp_epsilon
        self.embedder_params = embedder_params
        self.preprocessor_params = preprocessor_params
        self.n_threads = n_threads
        self.random_state = random_state

    # -- selection ---------------------------------------------------------------------------
    def _check(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"segment: unknown --method {self.method!r}; choose one of {', '.join(METHODS)}"
            )
        bad = [m for m in self.auto_methods if m not in METHODS or m == "auto"]
        if bad:
            raise ConfigError(f"segment: unknown auto method(s) {bad}; choose from {', '.join(METHODS[1:])}")
        if self.n_clusters is not None and self.n_clusters < 2:
            raise ConfigError(f"segment: --k must be at least 2, got {self.n_clusters}")
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ConfigError(f"segment: k_range must satisfy 2 <= low <= high, got {self.k_range}")
        if self.dp_epsilon is not None:
            if self.dp_epsilon <= 0:
                raise ConfigError(f"segment: --dp-epsilon must be > 0, got {self.dp_epsilon}")
            if self.n_clusters is None:
                raise ConfigError(
                    "segment: differentially private k-means needs --k (choosing k would spend budget)"
                )
            if self.method not in ("auto", "kmeans"):
                raise ConfigError("segment: --dp-epsilon works with --method kmeans only")

    def _select(self, Z: np.ndarray, methods: tuple[str, ...], ks: list[int]) -> pd.DataFrame:
        rng = np.random.default_rng(self.random_state)
        n = len(Z)
        idx = (
            rng.choice(n, self.selection_sample, replace=False) if n > self.selection_sample else np.arange(n)
        )
        Zs = Z[idx]
        subsamples = [
            np.sort(rng.choice(len(Zs), int(0.8 * len(Zs)), replace=False)) for _ in range(self.n_bootstrap)
        ]
        rows = []
        for method in methods:
            start = time.perf_counter()
            reference = _labels_for_ks(method, Zs, ks, self.random_state)
            boots = [
                _labels_for_ks(method, Zs[sub], ks, self.random_state + 1 + b)
                for b, sub in enumerate(subsamples)
            ]
            seconds = (time.perf_counter() - start) / max(len(reference), 1)
            for k, (labels, noise) in reference.items():
                found = len(np.unique(labels))
                stability = [
                    adjusted_rand_score(labels[sub], boot[k][0])
                    for sub, boot in zip(subsamples, boots, strict=True)
                ]
                shares = np.bincount(labels) / len(labels)
                quality = cluster_quality(Zs, labels, seed=self.random_state)
                rows.append(
                    {
                        "method": method,
                        "k": found,
                        **quality,
                        "stability": float(np.mean(stability)) if stability else float("nan"),
                        "min_share": float(shares[shares > 0].min()),
                        "noise_share": noise,
                        "seconds": seconds,
                        "_k_param": k,
                    }
                )
        table = pd.DataFrame(rows)
        smallest = 2 if self.n_clusters else max(2, self.k_range[0])
        table["valid"] = (
            (table["k"] >= smallest)
            & (table["min_share"] >= self.min_segment_share)
            & (table["noise_share"] <= 0.5)
            & table["silhouette"].notna()
        )
        valid = table[table["valid"]]
        floor = float(valid["stability"].max()) - self.stability_margin if len(valid) else 0.0
        table["stable"] = table["stability"] >= floor
        pool = table[table["valid"] & table["stable"]]
        score = pd.Series(np.nan, index=table.index)
        if len(pool):
            ranks = (
                pool["silhouette"].rank(ascending=False)
                + pool["davies_bouldin"].rank(ascending=True)
                + pool["calinski_harabasz"].rank(ascending=False)
            ) / 3.0
            score.loc[pool.index] = ranks
        table["rank_score"] = score
        table["chosen"] = False
        if len(pool):
            best = score.loc[pool.index].sort_values(kind="stable").index[0]
            table.loc[best, "chosen"] = True
        return table

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> SegmentClusterer:
        with threadpool_limits(self.n_threads):
            return self._fit(X)

    def _fit(self, X: Any) -> SegmentClusterer:
        self._check()
        self.preprocessor_ = CustomerPreprocessor(
            columns=self.columns, exclude=self.exclude, **(self.preprocessor_params or {})
        ).fit(X)
        Z = self.preprocessor_.transform(X)
        if len(Z) < 10:
            raise ConfigError(f"segment: need at least 10 customers to segment, got {len(Z)}")
        self.feature_names_ = list(self.preprocessor_.get_feature_names_out())
        lo, hi = self.k_range
        ks = [self.n_clusters] if self.n_clusters else list(range(lo, min(hi, len(Z) - 1) + 1))
        space = Z
        self.embedder_ = None
        if self.method == "neural":
            from crmlens.segment.embed import AutoencoderEmbedder

            params = {"random_state": self.random_state, **(self.embedder_params or {})}
            self.embedder_ = AutoencoderEmbedder(**params).fit(Z)
            space = self.embedder_.transform(Z)
            methods: tuple[str, ...] = ("kmeans",)
        elif self.method == "auto":
            methods = ("kmeans",) if self.dp_epsilon is not None else tuple(self.auto_methods)
        else:
            methods = (self.method,)
        self.selection_ = self._select(space, methods, ks)
        chosen = self.selection_[self.selection_["chosen"]]
        if chosen.empty:  # nothing valid: fall back to the best silhouette, and say so
            chosen = self.selection_.sort_values("silhouette", ascending=False, na_position="last").head(1)
            self.selection_.loc[chosen.index, "chosen"] = True
        row = chosen.iloc[0]
        self.method_ = "neural" if self.method == "neural" else str(row["method"])
        base = "kmeans" if self.method_ == "neural" else self.method_
        k_param = row["_k_param"]
        k = None if pd.isna(k_param) else int(k_param)
        labels = self._fit_final(space, base, k)
        # segments numbered by size, largest first, so numbering is stable across runs
        ids, counts = np.unique(labels, return_counts=True)
        order = ids[np.lexsort((ids, -counts))]
        self.label_map_ = {int(old): new for new, old in enumerate(order)}
        lookup = np.vectorize(self.label_map_.get, otypes=[np.int64]) if len(labels) else None
        self.labels_ = lookup(labels) if lookup is not None else labels
        self.n_clusters_ = len(order)
        _, self.cluster_centers_ = _centers(Z, self.labels_)
        _, self.space_centers_ = _centers(space, self.labels_)
        self.metrics_ = {
            **cluster_quality(Z, self.labels_, seed=self.random_state),
            "stability": float(row["stability"]),
            "n_segments": int(self.n_clusters_),
        }
        if self.embedder_ is not None:
            self.metrics_["silhouette_embedding"] = cluster_quality(
                space, self.labels_, seed=self.random_state
            )["silhouette"]
        return self

    def _fit_final(self, space: np.ndarray, method: str, k: int | None) -> np.ndarray:
        n = len(space)
        seed = self.random_state
        self.model_ = None
        if self.dp_epsilon is not None:
            clip = self.preprocessor_.clip
            self.model_ = dp_kmeans(space, int(k or self.n_clusters), self.dp_epsilon, clip, seed)
            return self.model_.predict(space)
        if method == "kmeans":
            if n >= self.minibatch_threshold:
                self.model_ = MiniBatchKMeans(
                    n_clusters=k, batch_size=8192, n_init=3, random_state=seed, max_no_improvement=20
                )
            else:
                self.model_ = KMeans(n_clusters=k, n_init=4, random_state=seed)
            return self.model_.fit_predict(space)
        rng = np.random.default_rng(seed)
        if method == "gmm":
            fit_rows = space if n <= 200_000 else space[rng.choice(n, 200_000, replace=False)]
            self.model_ = GaussianMixture(
                n_components=k, covariance_type="full", random_state=seed, reg_covar=1e-4
            )
            self.model_.fit(fit_rows)
            return self.model_.predict(space)
        # Ward and density methods: fit on a sample, extend to everyone by nearest centroid
        idx = rng.choice(n, self.sample_fit_max, replace=False) if n > self.sample_fit_max else np.arange(n)
        labels_sample = _labels_for_ks(method, space[idx], [k] if k else [], seed)
        sample_labels = next(iter(labels_sample.values()))[0]
        if len(idx) == n:
            return sample_labels
        ids, centers = _centers(space[idx], sample_labels)
        return ids[_nearest(space, centers)]

    # -- using -------------------------------------------------------------------------------
    def embed(self, X: Any) -> np.ndarray:
        """The space clustering ran in: preprocessed features, or the autoencoder embedding."""
        check_is_fitted(self, "labels_")
        Z = self.preprocessor_.transform(X)
        return self.embedder_.transform(Z) if self.embedder_ is not None else Z

    def predict(self, X: Any) -> np.ndarray:
        """Score new customers into the fitted segments."""
        with threadpool_limits(self.n_threads):
            return self._predict(X)

    def _predict(self, X: Any) -> np.ndarray:
        space = self.embed(X)
        if self.model_ is not None:
            raw = np.asarray(self.model_.predict(space))
            return np.array([self.label_map_.get(int(v), 0) for v in raw], dtype=np.int64)
        return _nearest(space, self.space_centers_)

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X).labels_

    def selection_table(self) -> list[dict[str, Any]]:
        """The automatic choice as rows for people: every candidate, its scores, and which was chosen."""
        check_is_fitted(self, "selection_")
        cols = ["method", "k", "silhouette", "davies_bouldin", "calinski_harabasz", "stability", "min_share"]
        cols += ["noise_share", "valid", "stable", "chosen"]
        return self.selection_[cols].to_dict(orient="records")

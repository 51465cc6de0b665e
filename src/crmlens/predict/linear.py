"""The regularised logistic (or ridge) model on the encoder's matrix, with exact additive reasons.

Training builds a one-hot design once; afterwards every feature is a small lookup (a weight per category,
a slope per number), so a score and its per-feature contributions cost one pass over the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits


@dataclass
class _Numeric:
    log: bool
    lo: float
    hi: float
    median: float
    mu: float
    sd: float
    coef: float = 0.0
    coef_missing: float = 0.0
    mean: float = 0.0
    edges: np.ndarray | None = None  # quantile bins: a step function beside the slope (a small GAM)
    bin_weights: np.ndarray | None = None


@dataclass
class _Categorical:
    n_levels: int  # kept levels + other + missing
    weights: np.ndarray | None = None
    mean: float = 0.0


class LinearScorer:
    """Logistic regression (``kind="logistic"``) or ridge (``kind="ridge"``) with lookup scoring."""

    def __init__(self, C: float = 1.0, kind: str = "logistic", random_state: int = 0) -> None:
        self.C = C
        self.kind = kind
        self.random_state = random_state

    def _plan(self, M: np.ndarray, categorical: dict[int, int]) -> None:
        self.parts_: list[_Numeric | _Categorical] = []
        for j in range(M.shape[1]):
            if j in categorical:
                self.parts_.append(_Categorical(n_levels=categorical[j] + 2))
                continue
            x = M[:, j].astype(np.float64)
            ok = x[~np.isnan(x)]
            if ok.size == 0:
                ok = np.zeros(1)
            lo, hi = np.quantile(ok, [0.001, 0.999])
            skew = (np.mean((ok - ok.mean()) ** 3) / (ok.std() ** 3 + 1e-12)) if ok.size > 2 else 0.0
            log = bool(lo >= 0 and skew > 2.0)
            part = _Numeric(log=log, lo=float(lo), hi=float(hi), median=float(np.median(ok)), mu=0.0, sd=1.0)
            z = self._num(part, x)
            part.mu, part.sd = float(z.mean()), float(z.std() or 1.0)
            if np.unique(ok).size >= 10:
                part.edges = np.unique(np.quantile(ok, np.linspace(0, 1, 9)[1:-1]))
            self.parts_.append(part)

    @staticmethod
    def _num(part: _Numeric, x: np.ndarray) -> np.ndarray:
        z = np.where(np.isnan(x), part.median, x)
        z = np.clip(z, part.lo, part.hi)
        return np.log1p(z) if part.log else z

    def _design(self, M: np.ndarray) -> np.ndarray:
        blocks = []
        for j, part in enumerate(self.parts_):
            x = M[:, j].astype(np.float64)
            if isinstance(part, _Numeric):
                blocks.append(((self._num(part, x) - part.mu) / part.sd)[:, None])
                blocks.append(np.isnan(x).astype(np.float64)[:, None])
                if part.edges is not None:
                    bins = self._bin(part, x)
                    onehot = np.zeros((len(x), len(part.edges) + 1))
                    onehot[np.arange(len(x)), bins] = 1.0
                    blocks.append(onehot)
            else:
                codes = self._codes(part, x)
                onehot = np.zeros((len(x), part.n_levels))
                onehot[np.arange(len(x)), codes] = 1.0
                blocks.append(onehot)
        return np.hstack(blocks)

    @staticmethod
    def _bin(part: _Numeric, x: np.ndarray) -> np.ndarray:
        assert part.edges is not None
        return np.searchsorted(part.edges, np.where(np.isnan(x), part.median, x), side="right")

    @staticmethod
    def _codes(part: _Categorical, x: np.ndarray) -> np.ndarray:
        codes = np.where(np.isnan(x), part.n_levels - 1, x).astype(np.int64)
        return np.clip(codes, 0, part.n_levels - 1)

    def fit(
        self,
        M: np.ndarray,
        y: np.ndarray,
        categorical: dict[int, int],
        sample_weight: np.ndarray | None = None,
    ) -> LinearScorer:
        """Fit on the encoded matrix; ``categorical`` maps column index to its number of kept levels."""
        self._plan(M, categorical)
        D = self._design(M)
        # One BLAS thread: the design is small, and on a busy machine threads that wait on each other
        # made each solver step ten times slower than one thread.
        with threadpool_limits(limits=1, user_api="blas"):
            if self.kind == "logistic":
                model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
                model.fit(D, y, sample_weight=sample_weight)
                coef, intercept = model.coef_[0], float(model.intercept_[0])
            else:
                model = Ridge(alpha=1.0 / self.C, random_state=self.random_state)
                model.fit(D, y, sample_weight=sample_weight)
                coef, intercept = np.asarray(model.coef_).ravel(), float(model.intercept_)
        pos = 0
        for part in self.parts_:
            if isinstance(part, _Numeric):
                part.coef, part.coef_missing = float(coef[pos]), float(coef[pos + 1])
                pos += 2
                if part.edges is not None:
                    part.bin_weights = coef[pos : pos + len(part.edges) + 1].copy()
                    pos += len(part.edges) + 1
            else:
                part.weights = coef[pos : pos + part.n_levels].copy()
                pos += part.n_levels
        raw = self._raw(M)
        means = raw.mean(axis=0)
        for part, mean in zip(self.parts_, means, strict=True):
            part.mean = float(mean)
        self.base_ = intercept + float(means.sum())
        return self

    def _raw(self, M: np.ndarray) -> np.ndarray:
        out = np.empty(M.shape, dtype=np.float64)
        for j, part in enumerate(self.parts_):
            x = M[:, j].astype(np.float64)
            if isinstance(part, _Numeric):
                z = (self._num(part, x) - part.mu) / part.sd
                out[:, j] = part.coef * z + part.coef_missing * np.isnan(x)
                if part.bin_weights is not None:
                    out[:, j] += part.bin_weights[self._bin(part, x)]
            else:
                assert part.weights is not None
                out[:, j] = part.weights[self._codes(part, x)]
        return out

    def contributions(self, M: np.ndarray) -> np.ndarray:
        """Per-feature additive contributions to the logit (or prediction), centred on the training mean."""
        means = np.array([p.mean for p in self.parts_])
        return self._raw(M) - means

    def decision_function(self, M: np.ndarray) -> np.ndarray:
        return self.base_ + self.contributions(M).sum(axis=1)

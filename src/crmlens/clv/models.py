"""Buy-till-you-die models fitted by maximum likelihood: BG/NBD, MBG/NBD and Gamma-Gamma.

Why written here with scipy rather than wrapped: ``lifetimes`` (last release 2020) still fits
under pandas 3 / numpy 2, but its data helpers break there (``calibration_and_holdout_data``
without a monetary column raises ``ValueError: No objects to concatenate``), it needs the
unmaintained ``autograd``, and its Pareto/NBD takes seconds on 23k customers. PyMC-Marketing is
well kept but pulls PyMC and a compiler toolchain for what are four-parameter likelihoods. The
likelihoods below are the published closed forms (Fader, Hardie & Lee 2005; Batislam, Denizel &
Filiztekin 2007; Fader & Hardie 2013), vectorised with numpy, fitted on the *distinct* summary
rows with counts as weights, so a million customers cost what a few hundred thousand rows cost.

All models take the summary frame of :func:`crmlens.clv.summary_from_transactions` (columns
``frequency``, ``recency``, ``T`` and, for Gamma-Gamma, ``monetary_value``) or an array with
those columns in that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.base import BaseEstimator

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel", "GammaGammaModel", "MODELS", "make_model"]

_RFT = ("frequency", "recency", "T")


def _columns(X: Any, names: tuple[str, ...]) -> list[np.ndarray]:
    """The named columns of a frame (or the first columns of an array), as float arrays."""
    if isinstance(X, pd.DataFrame):
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise ValidationError(
                f"CLV summary is missing column(s) {missing}; it needs {list(names)} "
                "(build it with crmlens.clv.summary_from_transactions or summary_sql)"
            )
        return [X[n].to_numpy(dtype=float) for n in names]
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < len(names):
        raise ValidationError(f"CLV summary must have columns {list(names)}; got shape {arr.shape}")
    return [arr[:, i] for i in range(len(names))]


def _rft(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = _columns(X, _RFT)
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValidationError("CLV summary has missing or infinite frequency/recency/T values")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise ValidationError("CLV summary needs frequency >= 0 and 0 <= recency <= T for every customer")
    return x, t_x, T


def _compress(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows and how often each occurs: the likelihood only needs each pattern once."""
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def _maximise(nll, n_params: int, x0: np.ndarray | None = None) -> optimize.OptimizeResult:
    """Minimise a negative log-likelihood over log-parameters (keeps them positive)."""
    start = np.zeros(n_params) if x0 is None else x0
    best = None
    for method in ("L-BFGS-B", "Nelder-Mead"):
        res = optimize.minimize(nll, start, method=method, options={"maxiter": 5000})
        if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
            best = res
        if res.success:
            break
        start = res.x
    assert best is not None
    return best


def _nbd_loglik(params: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of a customer who never drops out (NBD: Poisson with gamma rates)."""
    r, alpha = params[0], params[1]
    return special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)


class _BaseNBD(BaseEstimator):
    """Shared parts of BG/NBD and MBG/NBD: fitting on scaled time, business-named predictions.

    ``hardcore=True`` adds one parameter, ``pi``: the share of customers who never drop out (a
    zero-inflated dropout probability). Data with a flat tail of loyal buyers favour it; compare
    fits by ``aic_``, which is measured on the calibration data only.
    """

    def __init__(self, penalizer: float = 0.0, hardcore: bool = False) -> None:
        self.penalizer = penalizer
        self.hardcore = hardcore

    # subclasses: _loglik(params, x, t_x, T), _p_alive, _conditional
    def _full_loglik(self, params: np.ndarray, pi: float, x, t_x, T) -> np.ndarray:
        ll = self._loglik(params, x, t_x, T)
        if not self.hardcore:
            return ll
        return np.logaddexp(np.log(pi) + _nbd_loglik(params, x, T), np.log1p(-pi) + ll)

    def fit(self, X: Any, y: Any = None) -> _BaseNBD:
        """Maximum-likelihood fit on the calibration summary."""
        x, t_x, T = _rft(X)
        if len(x) < 2:
            raise ValidationError("CLV: need at least two customers to fit a purchase model")
        if float(x.sum()) <= 0:
            raise ValidationError("CLV: nobody bought twice in the calibration period; nothing to learn from")
        scale = 10.0 / float(T.max()) if T.max() > 0 else 1.0  # time rescaled so T <= 10: stable optimiser
        (ux, ut, uT), w = _compress(x, t_x * scale, T * scale)
        penalizer = float(self.penalizer)
        n_params = 5 if self.hardcore else 4

        def nll(theta: np.ndarray) -> float:
            params = np.exp(np.clip(theta[:4], -30, 30))
            pi = float(special.expit(theta[4])) if self.hardcore else 0.0
            ll = self._full_loglik(params, pi, ux, ut, uT)
            value = -(w * ll).sum() / w.sum() + penalizer * float((params**2).sum())
            return value if np.isfinite(value) else 1e300

        start = np.array([0.0, 0.0, 0.0, 0.0, -2.0])[:n_params]
        res = _maximise(nll, n_params, start)
        r, alpha, a, b = np.exp(res.x[:4])
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "a": float(a), "b": float(b)}
        if self.hardcore:
            self.params_["pi"] = float(special.expit(res.x[4]))
        # in the data's own time unit (not the rescaled one), so it compares with published fits
        params = np.array(self._params())
        ll = self._full_loglik(params, self.params_.get("pi", 0.0), ux, ut / scale, uT / scale)
        self.log_likelihood_ = float((w * ll).sum())
        self.aic_ = 2 * n_params - 2 * self.log_likelihood_
        self.n_customers_ = int(w.sum())
        self.converged_ = bool(res.success)
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(summary) first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _hardcore_share(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(customer belongs to the never-dropping share | history); zero without ``hardcore``."""
        if not self.hardcore:
            return np.zeros_like(x)
        params, pi = np.array(self._params()), self.params_["pi"]
        return special.expit(
            np.log(pi) + _nbd_loglik(params, x, T) - np.log1p(-pi) - self._loglik(params, x, t_x, T)
        )

    def probability_alive(self, X: Any) -> np.ndarray:
        """P(customer still active at the end of calibration), given their history."""
        x, t_x, T = _rft(X)
        share = self._hardcore_share(x, t_x, T)
        return share + (1 - share) * self._p_alive(self._params(), x, t_x, T)

    def expected_purchases(self, X: Any, t: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units, given each customer's history."""
        x, t_x, T = _rft(X)
        t_arr = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
        params = self._params()
        share = self._hardcore_share(x, t_x, T)
        never_drop = (params[0] + x) / (params[1] + T) * t_arr
        return share * never_drop + (1 - share) * self._conditional(params, t_arr, x, t_x, T)

    def predict(self, X: Any, t: float = 1.0) -> np.ndarray:
        """Same as :meth:`expected_purchases` (scikit-learn verb)."""
        return self.expected_purchases(X, t)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per customer (higher is better)."""
        x, t_x, T = _rft(X)
        pi = self.params_.get("pi", 0.0) if hasattr(self, "params_") else 0.0
        return float(self._full_loglik(np.array(self._params()), pi, x, t_x, T).mean())


class BetaGeoModel(_BaseNBD):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchasing, dropout possible after each purchase.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5, 1], "recency": [0, 10, 30, 4], "T": [40, 38, 35, 39]})
    >>> m = BetaGeoModel().fit(s)
    >>> bool((m.probability_alive(s) <= 1).all())
    True
    """

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        return a1 + a2 + np.logaddexp(a3, a4)

    @staticmethod
    def _p_alive(params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        with np.errstate(divide="ignore", over="ignore"):
            log_ratio = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * np.log((alpha + T) / (alpha + t_x))
            )
        return np.where(x > 0, special.expit(-log_ratio), 1.0)

    @staticmethod
    def _conditional(params, t, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return first * BetaGeoModel._p_alive(params, x, t_x, T)


class ModifiedBetaGeoModel(_BaseNBD):
    """MBG/NBD (Batislam et al. 2007): like BG/NBD, but a customer may also drop out at the first purchase.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5, 1], "recency": [0, 10, 30, 4], "T": [40, 38, 35, 39]})
    >>> bool((ModifiedBetaGeoModel().fit(s).probability_alive(s) < 1).all())
    True
    """

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = (
            special.gammaln(a + b)
            + special.gammaln(b + x + 1)
            - special.gammaln(b)
            - special.gammaln(a + b + x + 1)
        )
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
        return a1 + a2 + np.logaddexp(a3, a4)

    @staticmethod
    def _p_alive(params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        with np.errstate(over="ignore"):
            log_ratio = np.log(a) - np.log(b + x) + (r + x) * np.log((alpha + T) / (alpha + t_x))
        return special.expit(-log_ratio)

    @staticmethod
    def _conditional(params, t, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
        first = (a + b + x) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return first * ModifiedBetaGeoModel._p_alive(params, x, t_x, T)


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend model (Fader & Hardie 2013): average order value per customer.

    Fitted on customers with at least one repeat purchase (``frequency > 0``); assumes spend is
    independent of purchase frequency, which :meth:`fit` measures (``frequency_spend_corr_``).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [1, 2, 5, 3, 1], "monetary_value": [20.0, 35.0, 18.0, 50.0, 22.0]})
    >>> m = GammaGammaModel().fit(s)
    >>> float(m.expected_spend(s)[0]) > 0
    True
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @staticmethod
    def _loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = params
        return (
            special.gammaln(p * x + q)
            - special.gammaln(p * x)
            - special.gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(x * m + v)
        )

    def fit(self, X: Any, y: Any = None) -> GammaGammaModel:
        """Maximum-likelihood fit on repeat buyers with a positive average spend."""
        x, m = _columns(X, ("frequency", "monetary_value"))
        keep = (x > 0) & np.isfinite(m) & (m > 0)
        if keep.sum() < 2:
            raise ValidationError(
                "CLV spend model: need at least two customers with repeat purchases of value > 0"
            )
        x, m = x[keep], m[keep]
        scale = 1.0 / float(np.median(m))  # money rescaled to ~1 for a stable optimiser
        (ux, um), w = _compress(x, m * scale)
        penalizer = float(self.penalizer)

        def nll(log_params: np.ndarray) -> float:
            params = np.exp(np.clip(log_params, -30, 30))
            value = -(w * self._loglik(params, ux, um)).sum() / w.sum() + penalizer * float((params**2).sum())
            return value if np.isfinite(value) else 1e300

        res = _maximise(nll, 3, x0=np.array([0.0, 1.0, 0.0]))
        p, q, v = np.exp(res.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v / scale)}
        self.frequency_spend_corr_ = float(np.corrcoef(x, m)[0, 1]) if len(x) > 2 else float("nan")
        self.converged_ = bool(res.success)
        return self

    def expected_spend(self, X: Any) -> np.ndarray:
        """Expected average value of a customer's future purchases (shrunk towards the population mean)."""
        if not hasattr(self, "params_"):
            raise NotFittedError("GammaGammaModel is not fitted; call fit(summary) first")
        x, m = _columns(X, ("frequency", "monetary_value"))
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        population = p * v / (q - 1) if q > 1 else np.nan
        m = np.where(np.isfinite(m) & (m > 0), m, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            individual = p * (v + x * m) / (p * x + q - 1)
        return np.where(x > 0, individual, population)

    def predict(self, X: Any) -> np.ndarray:
        return self.expected_spend(X)


# name -> (class, hardcore)
MODELS: dict[str, tuple[type[_BaseNBD], bool]] = {
    "bgnbd": (BetaGeoModel, False),
    "mbgnbd": (ModifiedBetaGeoModel, False),
    "bgnbd_hc": (BetaGeoModel, True),
    "mbgnbd_hc": (ModifiedBetaGeoModel, True),
}


def make_model(name: str, penalizer: float = 0.0) -> _BaseNBD:
    """A purchase model by name (``bgnbd``, ``mbgnbd``, ``bgnbd_hc``, ``mbgnbd_hc``)."""
    if name not in MODELS:
        raise ConfigError(f"clv: unknown model {name!r}; choose one of {sorted(MODELS)} or 'auto'")
    cls, hardcore = MODELS[name]
    return cls(penalizer=penalizer, hardcore=hardcore)

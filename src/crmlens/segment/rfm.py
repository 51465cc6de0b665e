"""RFM: recency, frequency and monetary value, scored in quintiles and named in marketing words.

The named segments follow the usual R x FM grid (champions, loyal, potential loyalists, new,
promising, need attention, about to sleep, at risk, can't lose, hibernating, lost). The grid is
a parameter, so a project can rename or redraw it. Quintile edges are learned in ``fit``, so new
customers are scored against the same edges (``predict``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from crmlens.exceptions import ConfigError, ValidationError

__all__ = ["RFM_SEGMENTS", "RFMSegmenter", "rfm_table"]

# (name, recency score low..high, frequency-monetary score low..high); the first match wins.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential loyalists", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need attention", (3, 3), (3, 3)),
    ("about to sleep", (3, 3), (1, 2)),
    ("can't lose", (1, 2), (5, 5)),
    ("at risk", (1, 2), (3, 4)),
    ("lost", (1, 1), (1, 1)),
    ("hibernating", (1, 2), (1, 2)),
)


def rfm_table(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str,
    invoice_col: str | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """One row per customer: ``recency_days``, ``frequency``, ``monetary``, ``tenure_days``.

    Frequency counts distinct invoices when ``invoice_col`` is given, else distinct purchase days.
    Only transactions up to ``as_of`` (default: the last date seen) count; recency is measured to
    ``as_of``.
    """
    missing = [c for c in (customer_col, date_col, amount_col, invoice_col) if c and c not in transactions]
    if missing:
        raise ValidationError(
            f"rfm: column(s) {missing} not found; available: {list(transactions.columns)[:30]}"
        )
    frame = transactions[[c for c in (customer_col, date_col, amount_col, invoice_col) if c]].copy()
    frame[date_col] = pd.to_datetime(frame[date_col], errors="coerce")
    frame = frame.dropna(subset=[customer_col, date_col])
    cutoff = pd.Timestamp(as_of) if as_of is not None else frame[date_col].max()
    frame = frame[frame[date_col] <= cutoff]
    key = invoice_col or "_day"
    if invoice_col is None:
        frame["_day"] = frame[date_col].dt.normalize()
    grouped = frame.groupby(customer_col, sort=True)
    out = pd.DataFrame(
        {
            "last": grouped[date_col].max(),
            "first": grouped[date_col].min(),
            "frequency": grouped[key].nunique(),
            "monetary": grouped[amount_col].sum(),
        }
    )
    out["recency_days"] = (cutoff - out["last"]).dt.total_seconds() / 86400.0
    out["tenure_days"] = (cutoff - out["first"]).dt.total_seconds() / 86400.0
    out = out.reset_index().rename(columns={customer_col: customer_col})
    return out[[customer_col, "recency_days", "frequency", "monetary", "tenure_days"]]


class RFMSegmenter(BaseEstimator):
    """Quintile R, F and M scores (1-5, 5 best) and a named segment per customer.

    Parameters
    ----------
    recency_col, frequency_col, monetary_col : str
        Columns of the profile frame.
    n_bins : int
        Score levels (5: quintiles).
    segments : tuple, optional
        ``(name, (r_low, r_high), (fm_low, fm_high))`` rules, first match wins; default
        :data:`RFM_SEGMENTS`. FM is the rounded mean of the F and M scores.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"recency_days": [1, 5, 30, 90, 300], "frequency": [20, 8, 4, 2, 1],
    ...                       "monetary": [900.0, 300, 120, 60, 20]})
    >>> RFMSegmenter().fit(frame).predict(frame).tolist()
    ['champions', 'loyal', 'need attention', 'hibernating', 'lost']
    """

    def __init__(
        self,
        recency_col: str = "recency_days",
        frequency_col: str = "frequency",
        monetary_col: str = "monetary",
        n_bins: int = 5,
        segments: tuple | None = None,
    ) -> None:
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.monetary_col = monetary_col
        self.n_bins = n_bins
        self.segments = segments

    def _values(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        cols = {"r": self.recency_col, "f": self.frequency_col, "m": self.monetary_col}
        missing = [c for c in cols.values() if c not in X.columns]
        if missing:
            raise ValidationError(
                f"rfm: column(s) {missing} not found; name them with recency_col / frequency_col / monetary_col"
            )
        return {k: pd.to_numeric(X[c], errors="coerce").astype(float).to_numpy() for k, c in cols.items()}

    def fit(self, X: pd.DataFrame, y: Any = None) -> RFMSegmenter:
        if self.n_bins < 2:
            raise ConfigError(f"rfm: n_bins must be at least 2, got {self.n_bins}")
        values = self._values(X)
        qs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
        self.edges_ = {k: np.nanquantile(v, qs) for k, v in values.items()}
        self.segments_ = tuple(self.segments) if self.segments is not None else RFM_SEGMENTS
        return self

    def scores(self, X: pd.DataFrame) -> pd.DataFrame:
        """``r_score``, ``f_score``, ``m_score``, ``fm_score`` and the ``rfm_cell`` (e.g. ``"545"``)."""
        check_is_fitted(self, "edges_")
        values = self._values(X)
        # side="left" puts ties at an edge in the lower bin; recency is reversed (recent = 5)
        r = self.n_bins - np.searchsorted(
            self.edges_["r"], np.nan_to_num(values["r"], nan=np.inf), side="left"
        )
        f = 1 + np.searchsorted(self.edges_["f"], np.nan_to_num(values["f"], nan=0.0), side="left")
        m = 1 + np.searchsorted(self.edges_["m"], np.nan_to_num(values["m"], nan=0.0), side="left")
        fm = np.floor((f + m) / 2 + 0.5).astype(int)
        out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m, "fm_score": fm}, index=X.index)
        out["rfm_cell"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The named segment of each customer."""
        s = self.scores(X)
        names = np.full(len(s), "other", dtype=object)
        done = np.zeros(len(s), dtype=bool)
        for name, (r_lo, r_hi), (fm_lo, fm_hi) in self.segments_:
            hit = (
                ~done
                & s["r_score"].between(r_lo, r_hi).to_numpy()
                & s["fm_score"].between(fm_lo, fm_hi).to_numpy()
            )
            names[hit] = name
            done |= hit
        return names

    def fit_predict(self, X: pd.DataFrame, y: Any = None) -> np.ndarray:
        return self.fit(X).predict(X)

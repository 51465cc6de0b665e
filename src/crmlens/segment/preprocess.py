"""Turn a customer profile frame into numbers that clustering can use fairly.

Customer data is skewed (a few customers spend a hundred times the median), mixes counts,
money, shares, dates and categories, and has holes. Distance-based clustering on it as-is groups
customers by their largest column. So: dates become "days ago", skewed non-negative columns get
``log1p`` (shares in [0, 1] do not: they are bounded already), every column is winsorised at
its 1st and 99th percentiles and scaled to unit variance, categoricals become a few down-weighted
one-hot columns, and missing values take the median (or a ``missing`` level).

Two choices matter on real profiles. Median / IQR scaling (``scaling="robust"``) gives a
zero-inflated column (a category share most customers never buy, a rare flag) a tiny IQR and
so many times the weight of a well-spread one; winsorising then scaling to unit variance is
just as robust to outliers and gives every column the same weight. And a family of shares of
one whole (``cat_share_tea``, ``cat_share_snacks`` ...) describes one aspect of a customer:
each of its ``m`` columns is scaled by ``1/sqrt(m)`` so the family weighs as much as one column,
not ``m`` (the block weighting of multiple factor analysis, with the block size as its weight).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from crmlens.exceptions import ValidationError

__all__ = ["CustomerPreprocessor", "to_frame"]


def to_frame(X: Any) -> pd.DataFrame:
    """A DataFrame view of ``X`` (arrays get columns ``x0, x1, ...``)."""
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValidationError(f"segment: expected a 2-D table of customers, got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
)


def _parse_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    if fmt is None:
        return pd.to_datetime(values, errors="coerce", format="mixed")
    return pd.to_datetime(values, errors="coerce", format=fmt)


def _as_datetime(values: pd.Series) -> tuple[pd.Series, str | None] | None:
    """Parse a text column as dates when nearly all values are dates, with the one format that fits best.

    Formats are tried strictly, so ``13/09/2012`` rules out month-first; an all-ambiguous column
    (every day <= 12) reads day-first.
    """
    sample = values.dropna().astype(str).head(1000)
    if sample.empty or not sample.str.match(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").all():
        return None
    best_fmt: str | None = None
    best_ok = -1
    for fmt in _DATE_FORMATS:
        ok = int(_parse_dates(sample, fmt).notna().sum())
        if ok > best_ok:
            best_ok, best_fmt = ok, fmt
    if best_ok < 0.95 * len(sample):
        best_fmt = None
        if _parse_dates(sample, None).notna().sum() < 0.95 * len(sample):
            return None
    return _parse_dates(values, best_fmt), best_fmt


class CustomerPreprocessor(TransformerMixin, BaseEstimator):
    """Log-scale skewed columns, robust-scale, clip, one-hot a few categories, fill holes.

    Parameters
    ----------
    columns : list of str, optional
        Columns to use; default every column except ``exclude``.
    exclude : tuple of str
        Columns never used as features (ids, cutoff dates, labels).
    skew_threshold : float
        Non-negative columns with a larger sample skewness get ``log1p`` (shares in [0, 1] never).
    scaling : str
        ``winsorized`` (default): clip at the ``winsor`` and ``1 - winsor`` quantiles, then mean 0
        and variance 1. ``robust``: median and IQR (a zero-inflated column then outweighs the rest).
    winsor : float
        Quantile at which each tail is clipped before scaling (``winsorized`` only).
    group_shares : bool
        Scale each family of share columns (names that differ only after the last ``_``, values
        in [0, 1], two or more columns) by ``1/sqrt(size)``, so a family weighs as one column.
    clip : float
        Scaled values are clipped to ``[-clip, clip]`` so one outlier cannot own a cluster; it also
        gives the fixed data bounds that differentially private k-means needs.
    max_categories : int
        Most frequent levels kept per categorical column; the rest become ``other``.
    categorical_weight : float
        Scale of one-hot columns, below 1 so demographics do not outvote behaviour.
    max_cardinality_share : float
        Text columns with more distinct values than this share of rows are identifiers or free
        text and are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"spend": [1.0, 10.0, 100.0, 1000.0], "channel": ["web", "web", "shop", None]})
    >>> pre = CustomerPreprocessor().fit(frame)
    >>> list(pre.get_feature_names_out())
    ['spend', 'channel=web', 'channel=shop', 'channel=missing', 'channel=other']
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] = (),
        skew_threshold: float = 1.0,
        scaling: str = "winsorized",
        winsor: float = 0.01,
        group_shares: bool = True,
        clip: float = 5.0,
        max_categories: int = 8,
        categorical_weight: float = 0.5,
        max_cardinality_share: float = 0.5,
    ) -> None:
        self.columns = columns
        self.exclude = exclude
        self.skew_threshold = skew_threshold
        self.scaling = scaling
        self.winsor = winsor
        self.group_shares = group_shares
        self.clip = clip
        self.max_categories = max_categories
        self.categorical_weight = categorical_weight
        self.max_cardinality_share = max_cardinality_share

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> CustomerPreprocessor:
        frame = to_frame(X)
        if self.columns is not None:
            missing = [c for c in self.columns if c not in frame.columns]
            if missing:
                raise ValidationError(
                    f"segment: column(s) {missing} not found; available: {list(frame.columns)[:30]}"
                )
            candidates = list(self.columns)
        else:
            candidates = [c for c in frame.columns if c not in set(self.exclude)]
        numeric: dict[str, dict[str, float | bool]] = {}
        categorical: dict[str, list[str]] = {}
        dates: dict[str, Any] = {}
        dropped: dict[str, str] = {}
        n = max(len(frame), 1)
        for name in candidates:
            values = self._coerce(frame[name], name, dates)
            if values is None:
                raw = frame[name]
                if raw.nunique(dropna=True) > self.max_cardinality_share * n and n > 20:
                    dropped[name] = "identifier or free text"
                    continue
                levels = raw.astype("string").fillna("missing").value_counts().index[: self.max_categories]
                if len(levels) < 2:
                    dropped[name] = "constant"
                    continue
                categorical[name] = [str(v) for v in levels]
                continue
            finite = values[np.isfinite(values)]
            if finite.size == 0 or np.nanmax(finite) == np.nanmin(finite):
                dropped[name] = "constant"
                dates.pop(name, None)
                continue
            median = float(np.median(finite))
            low, high = float(finite.min()), float(finite.max())
            if np.unique(finite).size == 2:  # a flag: 0/1 scaled like a one-hot column
                scale = (high - low) / self.categorical_weight
                bounds = {"lo": low, "hi": high, "center": low, "scale": scale}
                numeric[name] = {"median": median, "log": False, "share": False, **bounds}
                continue
            share = bool(low >= 0 and high <= 1)
            skew = float(pd.Series(finite).skew()) if finite.size > 2 else 0.0
            log = bool(low >= 0 and not share and skew > self.skew_threshold)
            scaled = np.log1p(finite) if log else finite
            numeric[name] = {"median": median, "log": log, "share": share, **self._scale(scaled)}
        if not numeric and not categorical:
            raise ValidationError(
                "segment: no usable feature columns (all constant, identifiers or free text); "
                "pass --columns with numeric or categorical profile columns"
            )
        for cols in self._share_groups(numeric).values():
            for col in cols:
                numeric[col]["scale"] *= np.sqrt(len(cols))
        self.numeric_ = numeric
        self.categorical_ = categorical
        self.dates_ = dates
        self.dropped_ = dropped
        names = list(numeric)
        for name, levels in categorical.items():
            names += [f"{name}={level}" for level in levels] + [f"{name}=other"]
        self.feature_names_out_ = np.array(names, dtype=object)
        self.numeric_features_ = list(numeric)
        self.n_features_out_ = len(names)
        return self

    def _scale(self, values: np.ndarray) -> dict[str, float]:
        """Bounds, center and scale of one (logged) column, by the chosen scaling."""
        if self.scaling == "robust":
            q25, q50, q75 = np.percentile(values, [25, 50, 75])
            scale = float(q75 - q25) or float(np.std(values)) or 1.0
            return {"lo": -np.inf, "hi": np.inf, "center": float(q50), "scale": scale}
        if self.scaling != "winsorized":
            raise ValidationError(f"segment: scaling must be 'winsorized' or 'robust', got {self.scaling!r}")
        lo, hi = np.quantile(values, [self.winsor, 1.0 - self.winsor])
        if hi <= lo:  # a lumpy column whose tails meet: keep its whole range
            lo, hi = float(values.min()), float(values.max())
        kept = np.clip(values, lo, hi)
        return {
            "lo": float(lo),
            "hi": float(hi),
            "center": float(kept.mean()),
            "scale": float(kept.std()) or 1.0,
        }

    def _share_groups(self, numeric: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
        """Families of share columns: same name up to the last ``_``, values in [0, 1], two or more."""
        if not self.group_shares:
            return {}
        groups: dict[str, list[str]] = {}
        for name, p in numeric.items():
            stem = re.sub(r"_[^_]+$", "", str(name))
            if p["share"] and stem != str(name):
                groups.setdefault(stem, []).append(name)
        return {stem: cols for stem, cols in groups.items() if len(cols) > 1}

    @staticmethod
    def _numbers(series: pd.Series) -> np.ndarray | None:
        """Numbers as float (booleans and numeric text too), or None when the column is not numeric."""
        if pd.api.types.is_bool_dtype(series):
            return series.astype(float).to_numpy()
        if pd.api.types.is_numeric_dtype(series):
            return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        if pd.api.types.is_datetime64_any_dtype(series):
            return None
        as_number = pd.to_numeric(series, errors="coerce")
        present = int(series.notna().sum())
        if present and as_number.notna().sum() >= 0.95 * present:
            return as_number.astype(float).to_numpy()
        return None

    @staticmethod
    def _days_ago(parsed: pd.Series, reference: pd.Timestamp) -> np.ndarray:
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        return ((reference - parsed).dt.total_seconds() / 86400.0).astype(float).to_numpy()

    def _coerce(self, series: pd.Series, name: str, dates: dict[str, Any]) -> np.ndarray | None:
        """Fit time: numbers as float, dates as days before the latest date; None for categories."""
        numbers = self._numbers(series)
        if numbers is not None:
            return numbers
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed, fmt = series, None
        else:
            found = _as_datetime(series)
            if found is None:
                return None
            parsed, fmt = found
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        dates[name] = {"reference": parsed.max(), "format": fmt}
        return self._days_ago(parsed, parsed.max())

    def _coerce_seen(self, series: pd.Series, name: str) -> np.ndarray | None:
        """Transform time: the same conversion fit chose for this column."""
        if name not in self.dates_:
            return self._numbers(series)
        info = self.dates_[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed = series
        else:
            parsed = _parse_dates(series, info["format"])
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        return self._days_ago(parsed, info["reference"])

    # -- transforming ------------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "numeric_")
        frame = to_frame(X)
        needed = [*self.numeric_, *self.categorical_]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValidationError(f"segment: the data lacks column(s) {missing} that the model was fitted on")
        blocks: list[np.ndarray] = []
        for name, p in self.numeric_.items():
            values = self._coerce_seen(frame[name], name)
            if values is None:
                raise ValidationError(f"segment: column {name!r} is no longer numeric; fix the input file")
            values = np.where(np.isfinite(values), values, p["median"])
            if p["log"]:
                values = np.log1p(np.clip(values, 0, None))
            values = np.clip(values, p["lo"], p["hi"])
            blocks.append(np.clip((values - p["center"]) / p["scale"], -self.clip, self.clip))
        for name, levels in self.categorical_.items():
            raw = frame[name].astype("string").fillna("missing").to_numpy()
            for level in levels:
                blocks.append((raw == level).astype(float) * self.categorical_weight)
            blocks.append((~np.isin(raw, levels)).astype(float) * self.categorical_weight)
        return np.column_stack(blocks).astype(np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "numeric_")
        return self.feature_names_out_

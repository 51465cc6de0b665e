"""Differentially private aggregates for statistics that leave the company, and k-anonymity on exports.

A thin layer over IBM's diffprivlib: counts (geometric mechanism, sensitivity 1), bounded sums
and means (Laplace), histograms, each by segment. Segments are disjoint, so one statistic over
all segments costs its epsilon once (parallel composition); asking for several statistics splits
the budget between them. Every released figure comes with its stated error: the half-width that
the noise stays within with probability ``confidence`` (for Laplace noise of scale ``b``,
``b * ln(1 / (1 - confidence))``; for the geometric mechanism, the exact integer quantile).
Means follow diffprivlib's bounded model, where the size of each group is public.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError

__all__ = [
    "dp_by_segment",
    "dp_count",
    "dp_histogram",
    "dp_mean",
    "dp_sum",
    "k_anonymity",
    "safe_export",
    "suppress_small_groups",
]


def _tools() -> Any:
    from crmlens._compat import diffprivlib

    return diffprivlib().tools


def _check(epsilon: float, confidence: float) -> float:
    if not epsilon > 0:
        raise ConfigError(f"differential privacy: epsilon must be > 0, got {epsilon}")
    if not 0 < confidence < 1:
        raise ConfigError(f"differential privacy: confidence must be in (0, 1), got {confidence}")
    return math.log(1.0 / (1.0 - confidence))


def _geometric_error(epsilon: float, confidence: float) -> float:
    """The smallest integer m with P(|noise| > m) <= 1 - confidence for the two-sided geometric
    mechanism of sensitivity 1: P(|X| > m) = 2 a^(m+1) / (1 + a), a = exp(-epsilon)."""
    a = math.exp(-epsilon)
    return float(max(0, math.ceil(math.log((1 - confidence) * (1 + a) / 2) / math.log(a) - 1)))


def _rng(random_state: int | np.random.RandomState | None) -> np.random.RandomState | None:
    return np.random.RandomState(random_state) if isinstance(random_state, int) else random_state


def dp_count(
    values: Sequence[Any] | np.ndarray | int,
    epsilon: float,
    confidence: float = 0.95,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[int, float]:
    """A private count (of rows, or of an integer given as the count) and its stated error."""
    _check(epsilon, confidence)
    array = np.ones(values) if isinstance(values, (int, np.integer)) else np.ones(len(values))
    value = _tools().count_nonzero(array, epsilon=epsilon, random_state=_rng(random_state))
    return int(value), _geometric_error(epsilon, confidence)


def dp_sum(
    values: Sequence[float] | np.ndarray,
    epsilon: float,
    bounds: tuple[float, float],
    confidence: float = 0.95,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[float, float]:
    """A private sum of values clipped to ``bounds`` (known in advance, never read from the data)."""
    tail = _check(epsilon, confidence)
    lo, hi = bounds
    value = _tools().sum(
        np.asarray(values, float), epsilon=epsilon, bounds=bounds, random_state=_rng(random_state)
    )
    return float(value), (hi - lo) * tail / epsilon


def dp_mean(
    values: Sequence[float] | np.ndarray,
    epsilon: float,
    bounds: tuple[float, float],
    confidence: float = 0.95,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[float, float]:
    """A private mean of values clipped to ``bounds``; error shrinks as 1/n."""
    tail = _check(epsilon, confidence)
    array = np.asarray(values, float)
    if array.size == 0:
        raise ConfigError("differential privacy: mean of an empty group")
    lo, hi = bounds
    value = _tools().mean(array, epsilon=epsilon, bounds=bounds, random_state=_rng(random_state))
    return float(value), (hi - lo) / array.size * tail / epsilon


def dp_histogram(
    values: Sequence[float] | np.ndarray,
    epsilon: float,
    bins: int | Sequence[float],
    range: tuple[float, float] | None = None,  # noqa: A002 - numpy's name
    confidence: float = 0.95,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Private bin counts, bin edges and the stated error of each count."""
    _check(epsilon, confidence)
    if range is None and isinstance(bins, int):
        raise ConfigError("differential privacy: histogram needs range=(lo, hi) or explicit bin edges")
    counts, edges = _tools().histogram(
        np.asarray(values, float), epsilon=epsilon, bins=bins, range=range, random_state=_rng(random_state)
    )
    return counts, edges, _geometric_error(epsilon, confidence)


def dp_by_segment(
    frame: pd.DataFrame,
    by: str,
    epsilon: float,
    value: str | None = None,
    bounds: tuple[float, float] | None = None,
    stats: Sequence[str] = ("count",),
    segments: Sequence[Any] | None = None,
    k: int = 0,
    confidence: float = 0.95,
    random_state: int | None = None,
) -> pd.DataFrame:
    """Count, sum and/or mean of ``value`` per segment, private at ``epsilon`` in total.

    ``segments`` is the public list of segments (so that which segments exist is not itself
    learnt from the data); a segment whose private count is below ``k`` is suppressed. Each row
    carries the figure and its ``*_error`` at ``confidence``.
    """
    unknown = set(stats) - {"count", "sum", "mean"}
    if unknown:
        raise ConfigError(f"differential privacy: unknown stats {sorted(unknown)}; use count, sum, mean")
    if {"sum", "mean"} & set(stats) and (value is None or bounds is None):
        raise ConfigError("differential privacy: sum and mean need value= and bounds=(lo, hi)")
    if by not in frame.columns:
        raise ConfigError(f"differential privacy: no column {by!r}")
    stats = list(dict.fromkeys(["count", *stats])) if k else list(stats)
    eps = epsilon / len(stats)
    lo_hi: tuple[float, float] = bounds if bounds is not None else (0.0, 0.0)
    rng = np.random.RandomState(random_state)
    groups = dict(tuple(frame.groupby(by, sort=True)))
    names = list(segments) if segments is not None else sorted(groups)
    rows = []
    for name in names:
        part = groups.get(name, frame.iloc[0:0])
        row: dict[str, Any] = {by: name, "epsilon": epsilon}
        if "count" in stats:
            row["count"], row["count_error"] = dp_count(len(part), eps, confidence, rng)
        if "sum" in stats:
            row["sum"], row["sum_error"] = dp_sum(part[value].to_numpy(float), eps, lo_hi, confidence, rng)
        if "mean" in stats:
            if len(part):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row["mean"], row["mean_error"] = dp_mean(
                        part[value].to_numpy(float), eps, lo_hi, confidence, rng
                    )
            else:
                row["mean"], row["mean_error"] = float("nan"), float("nan")
        row["suppressed"] = bool(k and row["count"] < k)
        if row["suppressed"]:
            for stat in stats:
                row[stat] = None
        rows.append(row)
    return pd.DataFrame(rows)


def k_anonymity(frame: pd.DataFrame, quasi_identifiers: Sequence[str]) -> int:
    """The k of ``frame``: the size of its smallest group of rows sharing all quasi-identifiers."""
    if frame.empty:
        return 0
    missing = [c for c in quasi_identifiers if c not in frame.columns]
    if missing:
        raise ConfigError(f"k-anonymity: no column(s) {missing}")
    return int(frame.groupby(list(quasi_identifiers), dropna=False).size().min())


def suppress_small_groups(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int, count_col: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Drop the rows in groups of fewer than ``k`` (or, for an aggregate, rows whose ``count_col`` < k).

    Returns the kept frame and how many rows were suppressed; every export goes through this.
    """
    if k <= 1 or frame.empty:
        return frame.copy(), 0
    if count_col is not None:
        keep = frame[count_col] >= k
    else:
        sizes = frame.groupby(list(quasi_identifiers), dropna=False)[quasi_identifiers[0]].transform("size")
        keep = sizes >= k
    return frame[keep].copy(), int((~keep).sum())


def safe_export(
    frame: pd.DataFrame,
    path: str | Any,
    *,
    k: int = 5,
    quasi_identifiers: Sequence[str] | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """Write ``frame`` as CSV for use outside the company: no direct identifiers, k-anonymous, optionally encrypted.

    Columns whose name marks a direct identifier are dropped unless they hold only tokens;
    rows in groups smaller than ``k`` over the quasi-identifiers (by default the columns whose
    name marks one: birth date, postcode, gender, city) are suppressed. Returns what was done.
    """
    from pathlib import Path

    from crmlens.privacy.crypto import encrypt_bytes
    from crmlens.privacy.pii import column_hint, is_token

    dropped = []
    for column in frame.columns:
        hint = column_hint(str(column))
        if hint and hint[1] == "direct" and not frame[column].dropna().map(is_token).all():
            dropped.append(str(column))
    out = frame.drop(columns=dropped)
    if quasi_identifiers is None:
        quasi_identifiers = [c for c in out.columns if (h := column_hint(str(c))) and h[1] == "quasi"]
    suppressed = 0
    if quasi_identifiers and k > 1:
        out, suppressed = suppress_small_groups(out, list(quasi_identifiers), k)
    body = out.to_csv(index=False).encode("utf-8")
    target = Path(path)
    target.write_bytes(encrypt_bytes(body, passphrase) if passphrase else body)
    return {
        "file": str(target),
        "rows": len(out),
        "dropped_columns": dropped,
        "quasi_identifiers": list(quasi_identifiers),
        "k": k,
        "rows_suppressed": suppressed,
        "k_achieved": k_anonymity(out, list(quasi_identifiers)) if quasi_identifiers and len(out) else None,
        "encrypted": bool(passphrase),
    }

"""Segment profiles and business names.

A profile says what sets a segment apart: size, share, feature means against the population,
the features with the largest effect size (Cohen's d of the segment against everyone else),
revenue share, churn rate and CLV where the profile has them. Names come from rules over those
effect sizes on recognised roles (recency, frequency, money, tenure, discount use, regularity of
the gaps between orders, engagement), so "at risk" means "spends like a good customer, has not
bought for long", and can be overridden per segment.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ROLE_PATTERNS", "detect_roles", "name_segments", "profile_segments"]

# role -> column-name pattern (first matching role wins, in this order)
ROLE_PATTERNS: dict[str, str] = {
    "churn": r"churn",
    "clv": r"(^|_)clv|lifetime_value|predicted_value",
    "discount": r"discount|deal|coupon|promo|voucher",
    "recency": r"recen|days_since_last|since_last|last_(order|purchase|seen)",
    "tenure": r"tenure|signup|sign_up|first_(order|purchase)|customer_since|dt_customer|account_age|created",
    "regularity": r"gap_cv|regularity|interpurchase_cv|ipd_cv",
    "frequency": r"frequen|n_orders|num_orders|order_count|orders$|orders_per|order_rate|purchases|transactions",
    "monetary": r"monetary|revenue|spend|spent|amount|^mnt|sales|total_value|order_value|aov",
    "engagement": r"visit|session|event|click|view|login|open",
    "sentiment": r"sentiment|rating|satisf|nps",
    "returns": r"return|refund|complain|ticket",
}


def detect_roles(columns: list[str]) -> dict[str, list[str]]:
    """Which columns play which business role, from their names (``MntWines`` is money)."""
    roles: dict[str, list[str]] = {}
    for col in columns:
        low = str(col).lower()
        for role, pattern in ROLE_PATTERNS.items():
            if re.search(pattern, low):
                roles.setdefault(role, []).append(col)
                break
    return roles


def _effect_sizes(values: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Cohen's d of each segment against the rest, per numeric column (rows: segments)."""
    out = {}
    X = values.to_numpy(dtype=float)
    for seg in np.unique(labels):
        inside = labels == seg
        a, b = X[inside], X[~inside]
        if len(b) == 0:
            out[seg] = np.zeros(X.shape[1])
            continue
        with warnings.catch_warnings():  # a column empty in a segment (non-buyers' rhythm) gives NaN, then 0
            warnings.simplefilter("ignore", RuntimeWarning)
            ma, mb = np.nanmean(a, 0), np.nanmean(b, 0)
            va, vb = (
                np.nanvar(a, 0, ddof=1) if len(a) > 1 else 0.0,
                np.nanvar(b, 0, ddof=1) if len(b) > 1 else 0.0,
            )
        pooled = np.sqrt(((len(a) - 1) * va + (len(b) - 1) * vb) / max(len(a) + len(b) - 2, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(pooled > 0, (ma - mb) / pooled, 0.0)
        out[seg] = np.nan_to_num(d)
    return pd.DataFrame(out, index=values.columns).T


def profile_segments(
    frame: pd.DataFrame,
    labels: Any,
    features: list[str] | None = None,
    value_col: str | None = None,
    churn_col: str | None = None,
    clv_col: str | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """One row per segment: size, share, means, effect sizes, revenue share, churn rate, CLV.

    Numeric features are compared on ``log1p`` of non-negative skewed columns, so one whale does
    not make a segment "high spend". Columns ``mean_<f>`` are in the data's own units; ``d_<f>``
    are effect sizes; ``distinguishing`` lists the ``top`` features with the largest ``|d|``.
    """
    labels = np.asarray(labels)
    numeric = frame.select_dtypes(include=["number", "bool"]).astype(float)
    if features is not None:
        numeric = numeric[[c for c in features if c in numeric.columns]]
    numeric = numeric.loc[:, numeric.nunique(dropna=True) > 1]
    roles = detect_roles(list(numeric.columns))
    value_col = value_col or next(iter(roles.get("monetary", [])), None)
    churn_col = churn_col or next(iter(roles.get("churn", [])), None)
    clv_col = clv_col or next(iter(roles.get("clv", [])), None)
    compared = numeric.copy()
    for col in compared.columns:
        v = compared[col]
        if v.min() >= 0 and v.skew() > 1.0:
            compared[col] = np.log1p(v)
    d = _effect_sizes(compared, labels)
    population = numeric.mean()
    total_value = float(frame[value_col].sum()) if value_col and value_col in frame else 0.0
    rows = []
    for seg in d.index:
        inside = labels == seg
        row: dict[str, Any] = {"segment": seg, "size": int(inside.sum()), "share": float(inside.mean())}
        if value_col and value_col in frame and total_value:
            row["revenue_share"] = float(frame.loc[inside, value_col].sum()) / total_value
        if churn_col and churn_col in frame:
            row["churn_rate"] = float(pd.to_numeric(frame.loc[inside, churn_col], errors="coerce").mean())
        if clv_col and clv_col in frame:
            row["mean_clv"] = float(pd.to_numeric(frame.loc[inside, clv_col], errors="coerce").mean())
        order = d.loc[seg].abs().sort_values(ascending=False).index[:top]
        row["distinguishing"] = ", ".join(
            f"{c} {'high' if d.loc[seg, c] > 0 else 'low'} (d={d.loc[seg, c]:+.1f})" for c in order
        )
        for col in numeric.columns:
            row[f"mean_{col}"] = float(numeric.loc[inside, col].mean())
        for col in numeric.columns:
            row[f"d_{col}"] = float(d.loc[seg, col])
        rows.append(row)
    profiles = pd.DataFrame(rows)
    profiles.attrs["population_means"] = population.to_dict()
    profiles.attrs["roles"] = roles
    return profiles


def _role_effect(profile: pd.Series, roles: Mapping[str, list[str]], role: str) -> float | None:
    cols = [f"d_{c}" for c in roles.get(role, []) if f"d_{c}" in profile.index]
    if not cols:
        return None
    return float(np.mean([profile[c] for c in cols]))


def _rule_name(p: pd.Series, roles: Mapping[str, list[str]]) -> str | None:
    get = lambda role: _role_effect(p, roles, role)  # noqa: E731
    r, f, m, t, disc, eng, gap_cv = (
        get(x) for x in ("recency", "frequency", "monetary", "tenure", "discount", "engagement", "regularity")
    )
    value = np.nanmean([x for x in (f, m) if x is not None]) if (f is not None or m is not None) else None
    lapsed = r is not None and r >= 0.5
    fresh = r is not None and r <= -0.3
    if t is not None and t <= -0.8 and not lapsed:
        return "new"
    if disc is not None and disc >= 0.8:
        return "discount-sensitive"
    if gap_cv is not None and gap_cv <= -0.8 and not lapsed:  # buys like clockwork
        return "loyal regulars"
    if value is not None and value >= 0.5 and not lapsed and (r is None or r <= 0.2):
        return "high-value loyal"
    if lapsed and value is not None and value >= -0.2:
        return "at risk"
    if lapsed:
        return "hibernating"
    if t is None and fresh and value is not None and value <= -0.5:
        return "new"
    if fresh and value is not None and value < 0:
        return "promising"
    if value is not None and value >= 0.5:
        return "big spenders"
    if eng is not None and eng >= 0.8:
        return "engaged browsers"
    if value is not None and value <= -0.5:
        return "low-value occasional"
    return None


def name_segments(profiles: pd.DataFrame, overrides: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """A business name per segment, from rules over the profile; ``overrides`` win.

    Two segments that earn the same name keep it apart by their most distinguishing feature
    (``"at risk · high MntWines"``); a segment no rule fits is named by that feature alone.
    """
    roles = profiles.attrs.get("roles") or detect_roles(
        [c[2:] for c in profiles.columns if c.startswith("d_")]
    )
    overrides = {str(k): v for k, v in (overrides or {}).items()}
    d_cols = [c for c in profiles.columns if c.startswith("d_")]
    names: dict[Any, str] = {}
    for _, p in profiles.iterrows():
        top = max(d_cols, key=lambda c: abs(p[c])) if d_cols else None
        hint = f"{'high' if p[top] > 0 else 'low'} {top[2:]}" if top else f"segment {p['segment']}"
        names[p["segment"]] = _rule_name(p, roles) or hint
    counts = pd.Series(list(names.values())).value_counts()
    for _, p in profiles.iterrows():
        seg = p["segment"]
        if counts.get(names[seg], 0) > 1 and d_cols:
            ranked = sorted(d_cols, key=lambda c: -abs(p[c]))
            names[seg] = f"{names[seg]} · {'high' if p[ranked[0]] > 0 else 'low'} {ranked[0][2:]}"
    seen: dict[str, int] = {}
    for seg in list(names):
        base = names[seg]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[seg] = f"{base} ({seen[base]})"
    for seg in names:
        if str(seg) in overrides:
            names[seg] = overrides[str(seg)]
    return names

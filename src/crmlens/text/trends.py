"""Trends and alerts: sentiment over time per product, channel or segment, and spikes of negativity.

An alert is a binomial control chart (p-chart): the negative share of a period is compared with the
pooled share of the ``baseline_periods`` before it; when it exceeds the baseline by more than
``sigma`` binomial standard errors, the period is flagged with the negative texts that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crmlens.exceptions import ValidationError

__all__ = ["sentiment_alerts", "sentiment_trend"]


def _check(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"sentiment trends: missing column(s) {missing}; have {list(frame.columns)} "
            "(score the texts first with crmlens.text.annotate)"
        )


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def sentiment_trend(
    frame: pd.DataFrame,
    time_col: str = "ts",
    by: str | Sequence[str] | None = None,
    freq: str = "W",
    label_col: str = "sentiment_label",
    score_col: str = "sentiment_score",
) -> pd.DataFrame:
    """Per period (``freq``: ``D``, ``W``, ``M``) and group: ``n``, ``negative``, ``negative_share``,
    ``positive_share`` and ``mean_score``."""
    groups = _by_list(by)
    _check(frame, [time_col, label_col, score_col, *groups])
    data = frame[[time_col, label_col, score_col, *groups]].copy()
    stamps = pd.to_datetime(data[time_col], errors="coerce", utc=True).dt.tz_localize(None)
    data["period"] = stamps.dt.to_period(freq).dt.start_time
    data = data[data["period"].notna()]
    data["negative"] = data[label_col].eq("negative").astype(int)
    data["positive"] = data[label_col].eq("positive").astype(int)
    out = (
        data.groupby([*groups, "period"], dropna=False)
        .agg(n=("negative", "size"), negative=("negative", "sum"), positive=("positive", "sum"),
             mean_score=(score_col, "mean"))
        .reset_index()
    )  # fmt: skip
    out["negative_share"] = out["negative"] / out["n"]
    out["positive_share"] = out["positive"] / out["n"]
    return out.drop(columns="positive").sort_values([*groups, "period"], ignore_index=True)


def sentiment_alerts(
    frame: pd.DataFrame,
    time_col: str = "ts",
    by: str | Sequence[str] | None = None,
    freq: str = "W",
    text_col: str | None = "text",
    label_col: str = "sentiment_label",
    score_col: str = "sentiment_score",
    sigma: float = 3.0,
    baseline_periods: int = 8,
    min_count: int = 10,
    n_examples: int = 3,
) -> pd.DataFrame:
    """Periods whose negative share rises above the control limit of their own recent past.

    Returns one row per alert: the group columns, ``period``, ``n``, ``negative``,
    ``negative_share``, ``baseline_share``, ``upper_limit``, ``z`` and ``examples`` (negative texts
    of that period). A period needs ``min_count`` texts and a baseline of at least ``min_count``.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=70, freq="D")
    >>> labels = ["negative" if i % 10 == 0 or i >= 63 else "positive" for i in range(70)]
    >>> frame = pd.DataFrame({"ts": days, "sentiment_label": labels, "text": "x",
    ...                       "sentiment_score": [-1.0 if x == "negative" else 1.0 for x in labels]})
    >>> sentiment_alerts(frame, freq="W", min_count=5)["period"].dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-04']
    """
    groups = _by_list(by)
    trend = sentiment_trend(frame, time_col, groups or None, freq, label_col, score_col)
    columns = [*groups, "period", "n", "negative", "negative_share", "baseline_share", "upper_limit", "z",
               "examples"]  # fmt: skip
    alerts = []
    for _, part in trend.groupby(groups, dropna=False, sort=True) if groups else [((), trend)]:
        part = part.sort_values("period")
        n_prev = part["n"].rolling(baseline_periods, min_periods=1).sum().shift(1)
        neg_prev = part["negative"].rolling(baseline_periods, min_periods=1).sum().shift(1)
        base = neg_prev / n_prev
        # a baseline of zero negatives would make any single complaint an alert: floor it at 1/(n+1)
        base_floor = np.maximum(base, 1.0 / (n_prev + 1))
        se = np.sqrt(base_floor * (1 - base_floor) / part["n"])
        upper = base + sigma * se
        z = (part["negative_share"] - base) / se
        flag = (part["n"] >= min_count) & (n_prev >= min_count) & (part["negative_share"] > upper)
        flagged = part.assign(baseline_share=base, upper_limit=upper, z=z)[flag]
        alerts.append(flagged)
    result = pd.concat(alerts, ignore_index=True) if alerts else pd.DataFrame()
    if result.empty:
        return pd.DataFrame(columns=columns)
    examples = []
    stamps = pd.to_datetime(frame[time_col], errors="coerce", utc=True).dt.tz_localize(None)
    periods = stamps.dt.to_period(freq).dt.start_time
    negative = frame[label_col].eq("negative")
    for _, alert in result.iterrows():
        mask = negative & periods.eq(alert["period"])
        for g in groups:
            mask &= frame[g].eq(alert[g])
        if text_col and text_col in frame.columns:
            ranked = frame.loc[mask].sort_values(score_col, kind="stable")[text_col].astype(str)
            chosen = ranked.drop_duplicates().head(n_examples).tolist()  # each distinct text once
        else:
            chosen = []
        examples.append(chosen)
    result["examples"] = examples
    return result[columns].sort_values(["period", *groups], ignore_index=True)

"""Holdout validation: metrics, the two classic plots' data, and their Plotly figures.

The plots are those of Fader, Hardie & Lee (2005): cumulative repeat purchases over the holdout
periods, actual against predicted; and mean holdout purchases by calibration frequency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from crmlens.clv.ml import NextPeriodModel
from crmlens.clv.summary import UNITS, holdout_period_counts, summary_sql, to_cutoff
from crmlens.clv.value import CLVResult, assign_tiers, customer_value, fit_clv
from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, ValidationError

__all__ = [
    "holdout_metrics",
    "validation_data",
    "validation_figures",
    "HoldoutValidation",
    "validate_holdout",
    "ml_holdout",
]


def holdout_metrics(actual: np.ndarray | pd.Series, predicted: np.ndarray | pd.Series) -> dict[str, float]:
    """Totals, relative error of the total, MAE, RMSE and correlation per customer."""
    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    total_y, total_p = float(y.sum()), float(p.sum())
    corr = float(np.corrcoef(y, p)[0, 1]) if len(y) > 1 and y.std() > 0 and p.std() > 0 else float("nan")
    return {
        "actual_total": total_y,
        "predicted_total": total_p,
        "holdout_total_error_pct": 100.0 * (total_p - total_y) / total_y if total_y else float("nan"),
        "mae": float(np.abs(p - y).mean()),
        "rmse": float(np.sqrt(((p - y) ** 2).mean())),
        "correlation": corr,
    }


def validation_data(
    model: Any, summary: pd.DataFrame, period_counts: pd.DataFrame, max_frequency: int = 7
) -> dict[str, pd.DataFrame]:
    """Data of the two validation plots for a fitted purchase model.

    ``tracking``: ``offset, actual_cumulative, predicted_cumulative`` over the holdout periods;
    ``by_frequency``: ``frequency`` (capped at ``max_frequency``, shown as e.g. "7+"),
    ``customers, actual_mean, predicted_mean``.
    """
    duration = int(summary["duration_holdout"].max())
    offsets = np.arange(1, duration + 1)
    predicted = [float(model.expected_purchases(summary, float(k)).sum()) for k in offsets]
    actual = period_counts.set_index("offset")["purchases"].reindex(offsets, fill_value=0).cumsum()
    tracking = pd.DataFrame(
        {
            "offset": offsets,
            "actual_cumulative": actual.to_numpy(dtype=float),
            "predicted_cumulative": predicted,
        }
    )
    capped = summary["frequency"].clip(upper=max_frequency).astype(int)
    frame = pd.DataFrame(
        {
            "frequency": capped,
            "actual": summary["frequency_holdout"].astype(float),
            "predicted": model.expected_purchases(summary, summary["duration_holdout"].to_numpy(dtype=float)),
        }
    )
    by_freq = (
        frame.groupby("frequency")
        .agg(
            customers=("actual", "size"), actual_mean=("actual", "mean"), predicted_mean=("predicted", "mean")
        )
        .reset_index()
    )
    by_freq["frequency"] = [f"{f}+" if f == max_frequency else str(f) for f in by_freq["frequency"]]
    return {"tracking": tracking, "by_frequency": by_freq}


def validation_figures(data: dict[str, pd.DataFrame], unit: str = "W") -> dict[str, Any]:
    """Plotly figures of :func:`validation_data` (for the HTML report): ``tracking`` and ``by_frequency``."""
    import plotly.graph_objects as go

    unit_name = {"D": "day", "W": "week"}.get(unit.upper()[:1], "period")
    tracking = data["tracking"]
    fig_t = go.Figure()
    fig_t.add_scatter(x=tracking["offset"], y=tracking["actual_cumulative"], mode="lines", name="actual")
    fig_t.add_scatter(
        x=tracking["offset"],
        y=tracking["predicted_cumulative"],
        mode="lines",
        name="predicted",
        line={"dash": "dash"},
    )
    fig_t.update_layout(
        title="Cumulative repeat purchases in the holdout",
        xaxis_title=f"{unit_name}s after calibration",
        yaxis_title="repeat purchases",
    )
    by_freq = data["by_frequency"]
    fig_f = go.Figure()
    fig_f.add_bar(x=by_freq["frequency"], y=by_freq["actual_mean"], name="actual")
    fig_f.add_bar(x=by_freq["frequency"], y=by_freq["predicted_mean"], name="predicted")
    fig_f.update_layout(
        title="Holdout purchases by calibration-period frequency",
        xaxis_title="repeat purchases in calibration",
        yaxis_title="mean purchases in holdout",
        barmode="group",
    )
    return {"tracking": fig_t, "by_frequency": fig_f}


@dataclass
class HoldoutValidation:
    """Everything a calibration/holdout run produced."""

    metrics: dict[str, float]
    result: CLVResult
    summary: pd.DataFrame
    customers: pd.DataFrame
    plots: dict[str, pd.DataFrame]
    spend_metrics: dict[str, float] = field(default_factory=dict)


def validate_holdout(
    engine: Engine,
    calibration_end: str | date | datetime,
    holdout_end: str | date | datetime,
    unit: str = "W",
    model: str = "auto",
    *,
    table: str = "orders",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str | None = "amount",
    horizon_days: float | None = None,
    margin: float = 1.0,
    discount_rate: float = 0.0,
) -> HoldoutValidation:
    """Fit on calibration, predict the holdout, and return metrics, per-customer values and plot data.

    ``customers`` holds ``customer_id, p_alive, expected_purchases, expected_spend, clv, tier``
    over ``horizon_days`` (default: the holdout length) plus the actual holdout purchases.
    """
    cols = {"table": table, "customer_col": customer_col, "ts_col": ts_col, "amount_col": amount_col}
    summary = summary_sql(engine, calibration_end, holdout_end, unit, **cols)
    if summary.empty:
        raise ValidationError(f"clv: no purchases on or before the calibration end {calibration_end}")
    result = fit_clv(summary, unit=unit, model=model)
    result.calibration_end = to_cutoff(calibration_end, "calibration_end")
    predicted = result.purchase_model.expected_purchases(
        summary, summary["duration_holdout"].to_numpy(dtype=float)
    )
    metrics = holdout_metrics(summary["frequency_holdout"], predicted)
    counts = holdout_period_counts(engine, calibration_end, holdout_end, unit, **cols)
    plots = validation_data(result.purchase_model, summary, counts)
    days = (
        float(summary["duration_holdout"].max()) * UNITS[result.unit]
        if horizon_days is None
        else horizon_days
    )
    customers = customer_value(result, summary, days, margin, discount_rate)
    customers["tier"] = assign_tiers(customers["clv"].fillna(customers["expected_purchases"]))
    customers["holdout_predicted_purchases"] = predicted
    customers["holdout_actual_purchases"] = summary["frequency_holdout"].to_numpy()
    spend_metrics: dict[str, float] = {}
    if amount_col and result.spend_model is not None:
        spend_pred = predicted * result.spend_model.expected_spend(summary)
        spend_metrics = holdout_metrics(summary["amount_holdout"], spend_pred)
    return HoldoutValidation(metrics, result, summary, customers, plots, spend_metrics)


def ml_holdout(
    engine: Engine,
    calibration_end: str | date | datetime,
    holdout_end: str | date | datetime,
    unit: str = "W",
    *,
    seed: int = 0,
    table: str = "orders",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str | None = "amount",
) -> tuple[dict[str, float], dict[str, float], pd.DataFrame]:
    """The gradient-boosting alternative on the same holdout: purchase and spend metrics, predictions.

    Raises :class:`ConfigError` when calibration is too short to hold a training window as long
    as the holdout (the model must learn from a past period of the same length).
    """
    cols = {"table": table, "customer_col": customer_col, "ts_col": ts_col, "amount_col": amount_col}
    cal_cut = to_cutoff(calibration_end, "calibration_end")
    hold_cut = to_cutoff(holdout_end, "holdout_end")
    span = hold_cut - cal_cut
    train_end = cal_cut - span - pd.Timedelta(days=1)
    first = engine.query(f'SELECT min(CAST("{ts_col}" AS TIMESTAMP)) FROM "{table}"').scalar()
    if first is None or pd.Timestamp(first) + span / 2 > train_end:
        raise ConfigError(
            f"clv ML: calibration from {first} to {calibration_end} is too short to learn a "
            f"{span.days}-day horizon from its own past; use a shorter holdout or the BG/NBD model"
        )
    train = summary_sql(engine, train_end.date(), (cal_cut - pd.Timedelta(days=1)).date(), unit, **cols)
    test = summary_sql(engine, calibration_end, holdout_end, unit, **cols)
    model = NextPeriodModel(random_state=seed).fit(train)
    purchases = model.predict(test)
    spend = model.predict_spend(test)
    metrics = holdout_metrics(test["frequency_holdout"], purchases)
    spend_metrics = holdout_metrics(test["amount_holdout"], spend) if amount_col else {}
    out = pd.DataFrame(
        {"customer_id": test["customer_id"], "expected_purchases": purchases, "expected_spend": spend}
    )
    return metrics, spend_metrics, out

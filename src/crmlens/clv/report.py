"""The report's CLV section: holdout validation plots on the warehouse orders, and the value tiers."""

from __future__ import annotations

import pandas as pd

from crmlens.clv.validation import validate_holdout, validation_figures
from crmlens.engine.base import Engine
from crmlens.exceptions import CrmlensError

__all__ = ["clv_section", "holdout_split"]


def holdout_split(engine: Engine, table: str = "orders", holdout_days: int = 90) -> tuple[str, str] | None:
    """A calibration end and holdout end over ``table``: the last ``holdout_days`` (at most a third of it)."""
    span = engine.query(f'SELECT min(ts), max(ts) FROM "{table}" WHERE customer_id IS NOT NULL').to_pandas()
    if span.empty or pd.isna(span.iat[0, 0]):
        return None
    first, last = pd.Timestamp(span.iat[0, 0]).normalize(), pd.Timestamp(span.iat[0, 1]).normalize()
    days = min(holdout_days, (last - first).days // 3)
    if days < 14:
        return None
    return str((last - pd.Timedelta(days=days)).date()), str(last.date())


def clv_section(engine: Engine, unit: str = "W", model: str = "auto"):  # noqa: ANN201 - report Section
    """Report section: predicted vs actual holdout purchases (two plots), metrics and CLV tiers.

    Returns ``None`` when the warehouse has no orders with customers (the report skips it).
    """
    from crmlens.report.builder import Section

    if not engine.has_table("orders"):
        return None
    split = holdout_split(engine)
    if split is None:
        return None
    calibration_end, holdout_end = split
    try:
        v = validate_holdout(engine, calibration_end, holdout_end, unit, model)
    except CrmlensError:
        return None
    m = v.metrics
    unit_name = {"D": "days", "W": "weeks"}[unit.upper()[:1]]
    intro = (
        f"Lifetime value: {v.result.model} purchase model (lowest AIC) and Gamma-Gamma spend model, fitted on orders up to "
        f"{calibration_end} and checked on the {int(v.summary['duration_holdout'].max())} {unit_name} after it "
        f"(to {holdout_end}). Holdout repeat purchases: actual {m['actual_total']:,.0f}, predicted "
        f"{m['predicted_total']:,.0f} ({m['holdout_total_error_pct']:+.1f}%); per customer MAE {m['mae']:.2f}, "
        f"correlation {m['correlation']:.2f}."
    )
    metrics = pd.DataFrame([{k: round(val, 4) for k, val in m.items()}])
    tables = [
        ("Holdout validation", metrics),
        ("Holdout purchases by calibration frequency", v.plots["by_frequency"]),
    ]
    if engine.has_table("scores"):
        tiers = engine.query(
            "SELECT label AS tier, count(*) AS customers, round(sum(score), 2) AS total_clv, "
            "round(avg(score), 2) AS mean_clv FROM scores WHERE task = 'clv' GROUP BY 1 ORDER BY mean_clv DESC"
        ).to_pandas()
        if len(tiers):
            tables.append(("CLV tiers (scores table)", tiers))
    figures = validation_figures(v.plots, unit)
    section = Section("Customer lifetime value", intro, tables=tables)
    for fig in figures.values():
        fig.update_layout(height=340)
        section.figures.append(fig)
    return section

"""From fitted models to per-customer value: expected purchases, spend, discounted CLV and tiers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from crmlens.clv.models import MODELS, GammaGammaModel, make_model
from crmlens.clv.summary import UNITS, summary_sql
from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, ValidationError

__all__ = [
    "CLVResult",
    "fit_clv",
    "customer_value",
    "assign_tiers",
    "score_customers",
    "scores_frame",
    "TIERS",
]

# Tier cut points on the CLV rank: top 20% "high", next 30% "medium", the rest "low".
TIERS = (("high", 0.20), ("medium", 0.50))


@dataclass
class CLVResult:
    """Fitted purchase and spend models, with the settings they were fitted under."""

    purchase_model: Any
    spend_model: GammaGammaModel | None
    unit: str
    model: str
    calibration_end: pd.Timestamp | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _check_finance(horizon_days: float, margin: float, discount_rate: float) -> None:
    if not horizon_days or horizon_days <= 0:
        raise ConfigError(f"clv: horizon_days must be > 0 (got {horizon_days})")
    if not 0 < margin <= 1:
        raise ConfigError(f"clv: margin is a fraction of spend in (0, 1] (got {margin}); e.g. 0.3 for 30%")
    if not 0 <= discount_rate < 1:
        raise ConfigError(f"clv: discount_rate is an annual rate in [0, 1) (got {discount_rate}); e.g. 0.1")


def fit_clv(
    summary: pd.DataFrame, unit: str = "D", model: str = "bgnbd", penalizer: float = 0.0
) -> CLVResult:
    """Fit the purchase model and, where spend is known, Gamma-Gamma.

    ``model`` is ``bgnbd``, ``mbgnbd``, ``bgnbd_hc``, ``mbgnbd_hc`` (with a never-dropping
    share), or ``auto``: all four, keeping the lowest AIC on the calibration data (no holdout
    is looked at).
    """
    names = sorted(MODELS) if model == "auto" else [model]
    fitted = {name: make_model(name, penalizer).fit(summary) for name in names}
    chosen = min(fitted, key=lambda name: fitted[name].aic_)
    spend = None
    if (
        "monetary_value" in summary
        and ((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum() >= 2
    ):
        spend = GammaGammaModel(penalizer=penalizer).fit(summary)
    info = {"aic": {name: m.aic_ for name, m in fitted.items()}}
    return CLVResult(fitted[chosen], spend, unit.upper()[:1], chosen, info=info)


def customer_value(
    result: CLVResult,
    summary: pd.DataFrame,
    horizon_days: float = 365.0,
    margin: float = 1.0,
    discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Per customer: ``p_alive, expected_purchases, expected_spend, clv`` over ``horizon_days``.

    CLV is margin x expected spend per purchase x expected purchases, with each month's
    purchases discounted at the annual ``discount_rate`` (monthly steps, as in Fader & Hardie).
    """
    _check_finance(horizon_days, margin, discount_rate)
    step_days = UNITS[result.unit]
    horizon = horizon_days / step_days
    model = result.purchase_model
    purchases = model.expected_purchases(summary, horizon)
    per_order = (
        result.spend_model.expected_spend(summary)
        if result.spend_model is not None
        else np.full(len(summary), np.nan)
    )
    n_steps = max(1, int(np.ceil(horizon_days / 30.4375)))
    edges = np.minimum(np.arange(1, n_steps + 1) * 30.4375, horizon_days)
    discounted = np.zeros(len(summary))
    previous = np.zeros(len(summary))
    for edge in edges:
        cumulative = model.expected_purchases(summary, edge / step_days)
        discounted += (cumulative - previous) / (1 + discount_rate) ** (edge / 365.25)
        previous = cumulative
    out = pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy()
            if "customer_id" in summary
            else np.arange(len(summary)),
            "p_alive": model.probability_alive(summary),
            "expected_purchases": purchases,
            "expected_spend": purchases * per_order,
            "clv": margin * per_order * discounted,
        }
    )
    return out


def assign_tiers(values: pd.Series | np.ndarray, tiers: tuple[tuple[str, float], ...] = TIERS) -> np.ndarray:
    """Value tier by rank: ``high`` for the top 20%, ``medium`` to 50%, ``low`` for the rest."""
    v = pd.Series(np.asarray(values, dtype=float))
    share_above = v.rank(ascending=False, method="first", na_option="bottom") / max(len(v), 1)
    labels = np.full(len(v), "low", dtype=object)
    for name, cut in reversed(tiers):
        labels[share_above.to_numpy() <= cut] = name
    return labels


def score_customers(
    engine: Engine,
    horizon_days: float = 365.0,
    margin: float = 0.3,
    discount_rate: float = 0.1,
    *,
    as_of: str | date | datetime | None = None,
    unit: str = "W",
    model: str = "auto",
    table: str = "orders",
    consent: bool = True,
) -> pd.DataFrame:
    """CLV for every customer in the warehouse ``orders`` table, as of its last order (or ``as_of``).

    Returns ``customer_id, p_alive, expected_purchases, expected_spend, clv, tier``; write it to
    ``scores`` with :func:`scores_frame`. CLV is profiling: with ``consent`` (the default) the
    models are fitted on, and score, only customers with profiling consent.
    """
    from crmlens.privacy.consent import enforce_consent

    _check_finance(horizon_days, margin, discount_rate)
    if as_of is None:
        last = engine.query(f'SELECT max(ts) FROM "{table}" WHERE customer_id IS NOT NULL').scalar()
        if last is None or pd.isna(last):
            raise ValidationError(
                f"clv: table {table!r} has no orders with a customer_id; run ingest and identity"
            )
        as_of = pd.Timestamp(last).normalize()
    summary = summary_sql(engine, as_of, None, unit, table=table)
    summary = enforce_consent(engine, summary, "profiling", "clv", enforce=consent).reset_index(drop=True)
    if summary.empty:
        raise ValidationError("clv: no customer with orders has consented to profiling")
    result = fit_clv(summary, unit=unit, model=model)
    values = customer_value(result, summary, horizon_days, margin, discount_rate)
    values["tier"] = assign_tiers(values["clv"].fillna(values["expected_purchases"]))
    values.attrs["params"] = {
        **result.purchase_model.params_,
        **(result.spend_model.params_ if result.spend_model else {}),
    }
    values.attrs["as_of"] = pd.Timestamp(as_of)
    return values


def scores_frame(values: pd.DataFrame, model_version: str = "clv-bgnbd-gg-1") -> pd.DataFrame:
    """The ``scores`` table rows for :func:`score_customers` output (task ``clv``, score = CLV)."""
    reasons = [
        json.dumps(
            {
                "p_alive": round(float(p), 4),
                "expected_purchases": round(float(e), 4),
                "expected_spend": None if pd.isna(s) else round(float(s), 2),
            }
        )
        for p, e, s in zip(
            values["p_alive"], values["expected_purchases"], values["expected_spend"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            "customer_id": values["customer_id"],
            "task": "clv",
            "model_version": model_version,
            "score": values["clv"].astype(float),
            "label": values["tier"],
            "reasons": reasons,
            "scored_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
        }
    )

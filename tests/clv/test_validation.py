"""Holdout validation on real data (CDNOW sample, 2,357 customers) and agreement with lifetimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmlens.clv import (
    BetaGeoModel,
    HoldoutValidation,
    summary_from_transactions,
    validate_holdout,
    validation_figures,
)
from crmlens.engine import DuckDBEngine


@pytest.fixture(scope="module")
def cdnow_sample(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "cdnow" / "CDNOW_sample.txt"
    raw = pd.read_csv(
        path, sep=r"\s+", header=None, names=["master", "customer_id", "date", "cds", "dollar_value"]
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ts": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["dollar_value"],
        }
    )


def _validate(tx: pd.DataFrame, model: str = "bgnbd") -> HoldoutValidation:
    with DuckDBEngine(":memory:") as engine:
        engine.register("tx", tx)
        return validate_holdout(engine, "1997-09-30", "1998-06-30", "W", model, table="tx")


@pytest.fixture(scope="module")
def bgnbd(cdnow_sample: pd.DataFrame) -> HoldoutValidation:
    return _validate(cdnow_sample)


def test_cdnow_holdout_quality(bgnbd: HoldoutValidation) -> None:
    m = bgnbd.metrics
    assert len(bgnbd.summary) == 2357
    assert m["actual_total"] == bgnbd.summary["frequency_holdout"].sum() > 1500
    # BG/NBD on the classic split: total within 15%, per-customer error and ranking well above chance
    assert abs(m["holdout_total_error_pct"]) < 15
    assert m["correlation"] > 0.55
    naive_mae = np.abs(bgnbd.summary["frequency_holdout"] - bgnbd.summary["frequency_holdout"].mean()).mean()
    assert m["mae"] < 0.9 * naive_mae
    # tiers: the "high" tier buys much more in the holdout than the "low" tier
    c = bgnbd.customers
    by_tier = c.groupby("tier")["holdout_actual_purchases"].mean()
    assert by_tier["high"] > 3 * by_tier["low"]


def test_same_fit_as_lifetimes(bgnbd: HoldoutValidation) -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the anchor of the [dev] extra")
    s = bgnbd.summary
    anchor = lifetimes.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    for name in ("r", "alpha", "a", "b"):
        assert bgnbd.result.purchase_model.params_[name] == pytest.approx(
            float(anchor.params_[name]), rel=2e-3
        )
    theirs = anchor.conditional_expected_number_of_purchases_up_to_time(
        39.0, s["frequency"], s["recency"], s["T"]
    )
    ours = bgnbd.result.purchase_model.expected_purchases(s, 39.0)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=5e-3)


def test_validation_plots(bgnbd: HoldoutValidation) -> None:
    tracking, by_freq = bgnbd.plots["tracking"], bgnbd.plots["by_frequency"]
    assert len(tracking) == 39
    assert tracking["actual_cumulative"].iloc[-1] == bgnbd.metrics["actual_total"]
    assert tracking["predicted_cumulative"].iloc[-1] == pytest.approx(bgnbd.metrics["predicted_total"])
    assert tracking["predicted_cumulative"].is_monotonic_increasing
    assert by_freq["customers"].sum() == 2357 and by_freq["frequency"].iloc[-1] == "7+"
    # more calibration purchases, more holdout purchases: actual and predicted
    assert by_freq["actual_mean"].iloc[-1] > 5 * by_freq["actual_mean"].iloc[0]
    assert by_freq["predicted_mean"].is_monotonic_increasing
    figures = validation_figures(bgnbd.plots, unit="W")
    assert set(figures) == {"tracking", "by_frequency"}
    assert [t.name for t in figures["tracking"].data] == ["actual", "predicted"]
    assert "weeks after calibration" in figures["tracking"].layout.xaxis.title.text


def test_mbgnbd_also_validates(cdnow_sample: pd.DataFrame, bgnbd: HoldoutValidation) -> None:
    mbg = _validate(cdnow_sample, "mbgnbd")
    assert mbg.result.purchase_model.log_likelihood_ > bgnbd.result.purchase_model.log_likelihood_ - 50
    assert mbg.metrics["correlation"] > 0.55
    assert abs(mbg.metrics["holdout_total_error_pct"]) < 25


def test_literature_preparation_reproduces_fhl_2005(cdnow_sample: pd.DataFrame, shared_data: Path) -> None:
    # Fader, Hardie & Lee (2005): same-day purchases are one transaction, time in (fractional) weeks
    s = summary_from_transactions(cdnow_sample, "customer_id", "ts", "amount", "1997-09-30", unit="D")
    assert len(s) == 2357 and s["frequency"].sum() == 2457
    assert (s["T"].max(), s["T"].min()) == (272.0, 189.0)  # first purchases 1997-01-01 .. 1997-03-25
    weeks = s.assign(recency=s["recency"] / 7, T=s["T"] / 7)
    shipped = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv")  # lifetimes' copy
    assert (weeks["frequency"].to_numpy() == shipped["frequency"].to_numpy()).all()
    np.testing.assert_allclose(weeks[["recency", "T"]], shipped[["recency", "T"]], atol=0.005)
    model = BetaGeoModel().fit(weeks)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, abs=6e-4)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    # days instead of weeks: same forecast; the likelihood differs by the time unit's Jacobian
    days = BetaGeoModel().fit(s)
    np.testing.assert_allclose(
        days.expected_purchases(s, 273.0), model.expected_purchases(weeks, 39.0), rtol=1e-3
    )
    assert days.log_likelihood_ == pytest.approx(model.log_likelihood_ - 2457 * np.log(7), abs=0.1)

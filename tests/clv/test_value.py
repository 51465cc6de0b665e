"""CLV arithmetic, tiers, and the warehouse entry point the pipeline calls."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmlens.clv import assign_tiers, customer_value, fit_clv, score_customers, scores_frame
from crmlens.clv.simulate import simulate_bgnbd
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import ConfigError, ValidationError


@pytest.fixture(scope="module")
def fitted() -> tuple:
    summary = simulate_bgnbd(1500, T=39.0, seed=4)
    rng = np.random.default_rng(4)
    summary["monetary_value"] = np.where(summary["frequency"] > 0, rng.gamma(5.0, 6.0, len(summary)), 0.0)
    return summary, fit_clv(summary, unit="W")


def test_clv_is_margin_times_discounted_spend(fitted: tuple) -> None:
    summary, result = fitted
    plain = customer_value(result, summary, horizon_days=365, margin=1.0, discount_rate=0.0)
    # no discount: CLV equals expected spend over the horizon
    np.testing.assert_allclose(plain["clv"], plain["expected_spend"], rtol=1e-9)
    half = customer_value(result, summary, horizon_days=365, margin=0.5, discount_rate=0.0)
    np.testing.assert_allclose(half["clv"], 0.5 * plain["clv"], rtol=1e-12)
    discounted = customer_value(result, summary, horizon_days=365, margin=1.0, discount_rate=0.2)
    ratio = discounted["clv"] / plain["clv"]
    # purchases spread over a year, discounted at 20%/year: between 1/1.2 and 1
    assert ((ratio > 1 / 1.2) & (ratio < 1)).all()
    assert plain["p_alive"].between(0, 1).all()


def test_tiers_split_by_rank() -> None:
    values = np.arange(100, dtype=float)
    tiers = pd.Series(assign_tiers(values))
    assert tiers.value_counts().to_dict() == {"low": 50, "medium": 30, "high": 20}
    assert set(tiers[values >= 80]) == {"high"}


def test_finance_options_are_checked(fitted: tuple) -> None:
    summary, result = fitted
    with pytest.raises(ConfigError, match="margin"):
        customer_value(result, summary, margin=30)
    with pytest.raises(ConfigError, match="discount_rate"):
        customer_value(result, summary, discount_rate=10)


def _orders(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Orders of customers who buy at their own rate; a third stop buying halfway."""
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, n + 1):
        rate = rng.gamma(2.0, 1 / 60)  # purchases per day
        stop = 180 if cid % 3 == 0 else 365
        day = int(rng.integers(0, 60))
        while day < stop:
            rows.append(
                (f"o{cid}-{day}", cid, pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), 20 + cid % 7)
            )
            day += 1 + int(rng.exponential(1 / rate))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ts", "amount"])


def test_score_customers_on_warehouse_orders(engine: DuckDBEngine) -> None:
    orders = _orders()
    engine.write_table("orders", orders)
    scores = score_customers(engine, horizon_days=180, margin=0.3, discount_rate=0.1)
    assert list(scores.columns) == [
        "customer_id",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
        "tier",
    ]
    assert len(scores) == orders["customer_id"].nunique()
    assert scores["clv"].notna().all() and (scores["clv"] >= 0).all()
    # customers who stopped halfway are less likely alive than those still buying
    stopped = scores["customer_id"] % 3 == 0
    assert scores.loc[stopped, "p_alive"].mean() < scores.loc[~stopped, "p_alive"].mean() - 0.2
    rows = scores_frame(scores)
    assert list(rows.columns) == [
        "customer_id",
        "task",
        "model_version",
        "score",
        "label",
        "reasons",
        "scored_at",
    ]
    assert json.loads(rows["reasons"].iloc[0]).keys() == {"p_alive", "expected_purchases", "expected_spend"}
    engine.execute(
        "CREATE TABLE scores (customer_id BIGINT, task VARCHAR, model_version VARCHAR, score DOUBLE, "
        "label VARCHAR, reasons JSON, scored_at TIMESTAMP)"
    )
    engine.write_table("scores", rows, mode="append")
    assert engine.count("scores") == len(scores)


def test_score_customers_needs_orders() -> None:
    with DuckDBEngine(":memory:") as e:
        e.write_table(
            "orders",
            pd.DataFrame(
                {
                    "customer_id": pd.Series([], dtype="int64"),
                    "ts": pd.Series([], dtype="datetime64[us]"),
                    "amount": pd.Series([], dtype=float),
                }
            ),
        )
        with pytest.raises(ValidationError, match="customer_id"):
            score_customers(e, 365, 0.3, 0.1)

"""The gradient-boosting alternative: learns next-period purchases from its own past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.clv import ml_holdout
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import ConfigError


def _orders(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(n):
        rate = rng.gamma(1.5, 1 / 40)
        life = rng.exponential(400)
        day = int(rng.integers(0, 90))
        while day < min(life, 540):
            rows.append((cid, pd.Timestamp("2023-01-01") + pd.Timedelta(days=day), float(rng.gamma(3, 10))))
            day += 1 + int(rng.exponential(1 / rate))
    return pd.DataFrame(rows, columns=["customer_id", "ts", "amount"])


def test_ml_learns_from_the_past(engine: DuckDBEngine) -> None:
    engine.write_table("orders", _orders())
    metrics, spend, preds = ml_holdout(engine, "2024-03-31", "2024-06-30", "W", seed=0)
    assert metrics["correlation"] > 0.4
    assert abs(metrics["holdout_total_error_pct"]) < 35
    assert spend["correlation"] > 0.3
    assert (preds["expected_purchases"] >= 0).all()
    again, _, _ = ml_holdout(engine, "2024-03-31", "2024-06-30", "W", seed=0)
    assert again == metrics  # deterministic under a seed


def test_ml_refuses_a_horizon_longer_than_its_past(engine: DuckDBEngine) -> None:
    engine.write_table("orders", _orders(100))
    with pytest.raises(ConfigError, match="too short"):
        ml_holdout(engine, "2023-03-31", "2024-06-30", "W")

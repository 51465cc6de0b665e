import json

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.predict.registry import ModelRegistry
from crmlens.predict.tasks import build_labels, score_task, train_task

FEATURES_SQL = """
CREATE OR REPLACE TABLE customer_360 AS
SELECT customer_id, CAST(d.as_of AS DATE) AS as_of,
       date_diff('day', max(ts), d.as_of) AS recency_days,
       count(*) AS n_orders,
       sum(amount) AS monetary,
       date_diff('day', min(ts), max(ts)) / greatest(count(*) - 1, 1) AS avg_days_between_orders
FROM orders, (SELECT unnest([TIMESTAMP '2024-03-31', TIMESTAMP '2024-06-30']) AS as_of) d
WHERE ts <= d.as_of
GROUP BY customer_id, d.as_of
"""


def _orders(rows):
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ts", "amount"]).assign(
        ts=lambda f: pd.to_datetime(f.ts)
    )


def test_churn_and_spend_labels_by_hand(engine):
    engine.write_table(
        "orders",
        _orders(
            [
                ("o1", 1, "2024-05-01", 10.0),
                ("o2", 1, "2024-07-15", 20.0),  # active, buys again: not churned, spend 20
                ("o3", 2, "2024-02-01", 5.0),  # active, no later order: churned
                ("o4", 3, "2023-01-01", 5.0),
                ("o5", 3, "2024-07-01", 7.0),  # inactive before (>365 days): not labelled
                ("o6", 4, "2024-06-01", 9.0),
                ("o7", 4, "2024-10-15", 9.0),  # buys after the horizon only: churned
            ]
        ),
    )
    churn = build_labels(engine, "churn", "2024-06-30", 90).set_index("customer_id")["label"].to_dict()
    assert churn == {1: 0, 2: 1, 4: 1}
    spend = build_labels(engine, "spend", "2024-06-30", 90).set_index("customer_id")["label"].to_dict()
    assert spend == {1: 20.0, 2: 0.0, 4: 0.0}
    with pytest.raises(ConfigError, match="--category"):
        build_labels(engine, "purchase", "2024-06-30", 90)
    with pytest.raises(ConfigError, match="file mode"):
        build_labels(engine, "credit_default", "2024-06-30", 90)


def _simulated_orders(n=500, seed=0):
    """Customers buy at their own rate until their own (hidden) churn date."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-09-30")
    rows = []
    for c in range(1, n + 1):
        gap = rng.uniform(10, 60)
        stop = start + pd.Timedelta(days=float(rng.uniform(200, 900)))
        t = start + pd.Timedelta(days=float(rng.uniform(0, 60)))
        while t <= min(stop, end):
            rows.append((f"o{len(rows)}", c, t, float(rng.gamma(2, 20))))
            t += pd.Timedelta(days=float(rng.exponential(gap)))
    return _orders(rows)


@pytest.fixture(scope="module")
def warehouse():
    from crmlens.engine import DuckDBEngine

    with DuckDBEngine(":memory:") as e:
        e.write_table("orders", _simulated_orders())
        e.execute(FEATURES_SQL)
        yield e


def test_train_and_score_churn_on_the_warehouse(warehouse, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    result = train_task(warehouse, "churn", "2024-06-30", 90, registry=registry, n_trials=3)
    assert result["split"] == "time"  # trained on the March snapshot, tested on June
    assert result["metrics"]["roc_auc"] >= 0.75
    assert set(result["anchors"]) == {"lightgbm_default", "logistic_baseline"}
    assert result["manifest"]["version"] == "churn-v1" and result["manifest"]["as_of"] == "2024-06-30"
    scored = score_task(warehouse, "churn", result["model"], "churn-v1")
    scores = warehouse.query("SELECT * FROM scores").to_pandas()
    assert (
        len(scores)
        == scored["rows"]
        == warehouse.query("SELECT count(*) FROM customer_360 WHERE as_of = DATE '2024-06-30'").scalar()
    )
    assert set(scores["label"]) <= {"at_risk", "watch", "safe"} and scores["task"].eq("churn").all()
    worst = json.loads(scores.sort_values("score").iloc[-1]["reasons"])
    assert worst["reasons"] and worst["action"]
    assert any(
        r["feature"] == "recency_days" and r["text"].startswith("no purchase for")
        for row in scores["reasons"]
        for r in json.loads(row)["reasons"]
    )
    # scoring again replaces this task's rows instead of adding to them
    score_task(warehouse, "churn", result["model"], "churn-v1")
    assert warehouse.count("scores") == len(scores)


def test_warehouse_errors_name_the_fix(warehouse, engine):
    with pytest.raises(ValidationError, match="after the last order"):
        train_task(warehouse, "churn", "2024-09-01", 90)
    with pytest.raises(NotFittedError, match="customer_360"):
        train_task(engine, "churn", "2024-06-30", 90)

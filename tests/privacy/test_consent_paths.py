"""Consent enforced at every warehouse entry point: an opted-out customer never appears in that path's output.

Profiling gates segments, churn training and scoring, CLV and recommendations; marketing gates the
next best action, target lists, up-sell offers and the recommendations sent.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.predict.tasks import build_labels, score_task, target_list, train_task
from crmlens.privacy import consent_exclusions, enforce_consent

N = 160
AS_OF = "2024-06-30"
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
NO_PROFILING = {c for c in range(1, N + 1) if c % 5 == 0} | {7}  # 7 never answered: opt-in means no
NO_MARKETING = {c for c in range(1, N + 1) if c % 4 == 0} | {7}


def _warehouse(engine: DuckDBEngine, with_consent: bool = True) -> None:
    rng = np.random.default_rng(0)
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-09-30")
    rows = []
    for c in range(1, N + 1):
        favourite = c % 4
        stop = start + pd.Timedelta(days=float(rng.uniform(200, 900)))
        t = start + pd.Timedelta(days=float(rng.uniform(0, 60)))
        while t <= min(stop, end):
            cat = favourite if rng.random() < 0.7 else int(rng.integers(4))
            product = f"P{cat}{int(rng.integers(5))}"
            rows.append((f"o{len(rows)}", 1, c, f"k{c}", t, product, 1.0, float(rng.gamma(2, 20))))
            t += pd.Timedelta(days=float(rng.exponential(rng.uniform(10, 50))))
    orders = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "line_no",
            "customer_id",
            "customer_key",
            "ts",
            "product_id",
            "quantity",
            "amount",
        ],
    )
    engine.write_table("orders", orders)
    products = pd.DataFrame(
        [(f"P{c}{i}", f"Item {c}{i}", f"cat{c}", 10.0 * (i + 1), f"category {c} item {i}") for c in range(4) for i in range(5)],
        columns=["product_id", "name", "category", "price", "description"],
    )  # fmt: skip
    engine.write_table("products", products)
    engine.execute(FEATURES_SQL)
    if with_consent:
        ids = np.arange(1, N + 1)
        customers = pd.DataFrame(
            {
                "customer_id": ids,
                "consent_profiling": [None if c == 7 else c not in NO_PROFILING for c in ids],
                "consent_marketing": [None if c == 7 else c not in NO_MARKETING for c in ids],
            }
        )
        engine.write_table("customers", customers)


@pytest.fixture(scope="module")
def warehouse():
    with DuckDBEngine(":memory:") as engine:
        _warehouse(engine)
        yield engine


def _ids(frame: pd.DataFrame) -> set[int]:
    return {int(c) for c in frame["customer_id"]}


def _excluded(engine: DuckDBEngine, stage: str, purpose: str) -> int:
    log = consent_exclusions(engine)
    row = log[(log["stage"] == stage) & (log["purpose"] == purpose)]
    assert len(row) == 1, (stage, purpose, log)
    return int(row["excluded"].iloc[0])


def test_segments_leave_out_profiling_refusals(warehouse) -> None:
    from crmlens.segment import run_on_warehouse

    run_on_warehouse(warehouse, selection_sample=400, n_bootstrap=2, k_range=(3, 4), random_state=0)
    segmented = _ids(warehouse.query("SELECT DISTINCT customer_id FROM segments").to_pandas())
    present = _ids(
        warehouse.query(f"SELECT customer_id FROM customer_360 WHERE as_of = '{AS_OF}'").to_pandas()
    )
    assert segmented and not segmented & NO_PROFILING
    assert segmented == present - NO_PROFILING
    assert _excluded(warehouse, "segments", "profiling") == len(present & NO_PROFILING)


def test_churn_training_scoring_actions_and_targets(warehouse, tmp_path) -> None:
    result = train_task(warehouse, "churn", AS_OF, 90, n_trials=2)
    labelled = {d: _ids(build_labels(warehouse, "churn", d, 90)) for d in ("2024-03-31", AS_OF)}
    snapshot = {
        d: _ids(warehouse.query(f"SELECT customer_id FROM customer_360 WHERE as_of = '{d}'").to_pandas())
        for d in labelled
    }
    expected = {d: (labelled[d] & snapshot[d]) - NO_PROFILING for d in labelled}
    assert result["split"] == "time"
    assert result["rows_train"] == len(expected["2024-03-31"]) and result["rows_test"] == len(expected[AS_OF])

    score_task(warehouse, "churn", result["model"], "churn-v1")
    scores = warehouse.query("SELECT * FROM scores WHERE task = 'churn'").to_pandas()
    assert _ids(scores) == snapshot[AS_OF] - NO_PROFILING
    actions = {
        int(c): json.loads(r).get("action")
        for c, r in zip(scores["customer_id"], scores["reasons"], strict=True)
    }
    withheld = {c for c, a in actions.items() if a is None}
    assert withheld >= (set(actions) & NO_MARKETING)  # a next best action is marketing
    assert any(actions[c] for c in set(actions) - NO_MARKETING)

    targets = target_list(warehouse, "churn", labels=("at_risk", "watch", "safe"))
    assert len(targets) and not _ids(targets) & NO_MARKETING
    assert _ids(targets) == _ids(scores) - NO_MARKETING
    assert _excluded(warehouse, "churn target list", "marketing") == len(_ids(scores) & NO_MARKETING)


def test_clv_scores_only_profiling_consent(warehouse) -> None:
    from crmlens.clv import score_customers

    values = score_customers(warehouse, horizon_days=180, margin=0.3, discount_rate=0.1)
    buyers = _ids(warehouse.query("SELECT DISTINCT customer_id FROM orders").to_pandas())
    assert _ids(values) == buyers - NO_PROFILING


def test_recommendations_offers_and_sends(warehouse) -> None:
    from crmlens.recommend.warehouse import (
        evaluate_warehouse,
        load_interactions,
        recommend_from_warehouse,
        recommendations_to_send,
        upsell_from_warehouse,
    )

    data = load_interactions(warehouse, consent=True, stage="probe")
    assert not {int(c) for c in data.rows["customer_id"]} & NO_PROFILING  # not even learnt from
    recs = recommend_from_warehouse(warehouse, n=3, model="popularity")
    assert len(recs) and not _ids(recs) & NO_PROFILING
    warehouse.write_table("recommendations", recs)
    sent = recommendations_to_send(warehouse, n=1)
    assert len(sent) and not _ids(sent) & (NO_PROFILING | NO_MARKETING)
    offers = upsell_from_warehouse(warehouse, n=2, model="popularity")
    assert len(offers) and not _ids(offers) & (NO_PROFILING | NO_MARKETING)
    table = evaluate_warehouse(warehouse, k=5, models=("popularity",))
    assert table["users"].iloc[0] > 0
    assert _excluded(warehouse, "recommendation evaluation", "profiling") == len(NO_PROFILING)


def test_consent_off_includes_everyone_and_says_so(warehouse) -> None:
    frame = pd.DataFrame({"customer_id": list(range(1, N + 1))})
    assert len(enforce_consent(warehouse, frame, "marketing", "audit probe", enforce=False)) == N
    row = consent_exclusions(warehouse).query("stage == 'audit probe'").iloc[0]
    assert not row["enforced"] and row["excluded"] == 0 and "off" in row["note"]
    both = enforce_consent(warehouse, frame, ("profiling", "marketing"), "both probe")
    assert _ids(both) == set(range(1, N + 1)) - NO_PROFILING - NO_MARKETING


def test_no_consent_records_excludes_nobody_and_logs_why() -> None:
    with DuckDBEngine(":memory:") as engine:
        _warehouse(engine, with_consent=False)
        frame = pd.DataFrame({"customer_id": [1, 2, 3]})
        assert len(enforce_consent(engine, frame, "profiling", "bare")) == 3
        row = consent_exclusions(engine).iloc[0]
        assert not row["enforced"] and "no consent flags" in row["note"]

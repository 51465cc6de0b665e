"""customer_360: hand-checked values, no leakage from after the cutoff, same table on Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.features import FAMILIES, FeatureBuilder, load_family
from crmlens.ingest import ensure_schema
from crmlens.text.warehouse import ensure_text_sentiment

AS_OF = "2024-04-01"


def small_warehouse(engine: DuckDBEngine, seed: int = 0, n_customers: int = 40) -> None:
    """A warehouse with every source-fed table, customer ids resolved, activity both sides of AS_OF."""
    ensure_schema(engine)
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    span = (pd.Timestamp("2024-07-01") - start).days
    products = pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(8)],
            "category": ["tea", "snacks"] * 4,
            "price": np.arange(8) * 5.0 + 10,
        }
    )
    lines = []
    for c in range(n_customers):
        for o in range(int(rng.integers(1, 12))):
            ts = start + pd.Timedelta(days=int(rng.integers(0, span)), hours=int(rng.integers(0, 24)))
            for line in range(int(rng.integers(1, 3))):
                p = int(rng.integers(0, 8))
                qty = int(rng.integers(1, 4))
                lines.append(
                    {
                        "order_id": f"o{c}_{o}",
                        "line_no": line + 1,
                        "customer_id": c,
                        "customer_key": f"k{c}",
                        "ts": ts,
                        "product_id": f"p{p}",
                        "quantity": qty,
                        "unit_price": 10.0 + 5 * p,
                        "discount": float(rng.choice([0, 0, 2.0])),
                        "amount": qty * (10.0 + 5 * p),
                        "channel": rng.choice(["web", "app", "store"]),
                    }
                )
    orders = pd.DataFrame(lines)
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, 600),
            "customer_key": "k",
            "ts": [start + pd.Timedelta(hours=int(h)) for h in rng.integers(0, span * 24, 600)],
            "event_type": rng.choice(["view", "cart", "purchase"], 600),
            "product_id": "p1",
            "session_id": [f"s{i // 3}" for i in range(600)],
        }
    )
    created = [start + pd.Timedelta(hours=int(h)) for h in rng.integers(0, span * 24, 60)]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(60)],
            "customer_id": rng.integers(0, n_customers, 60),
            "ts": created,
            "resolved_at": [
                c + pd.Timedelta(hours=int(h)) for c, h in zip(created, rng.integers(1, 400, 60), strict=True)
            ],
            "priority": rng.choice(["low", "high", "urgent"], 60),
        }
    )
    feedback = pd.DataFrame(
        {
            "feedback_id": [f"f{i}" for i in range(50)],
            "customer_id": rng.integers(0, n_customers, 50),
            "ts": [start + pd.Timedelta(days=int(d)) for d in rng.integers(0, span, 50)],
            "text": "ok",
            "rating": rng.integers(1, 6, 50).astype(float),
        }
    )
    contacts = pd.DataFrame(
        {
            "campaign_id": "c1",
            "customer_id": np.arange(n_customers),
            "customer_key": "k",
            "ts": [start + pd.Timedelta(days=int(d)) for d in rng.integers(0, span, n_customers)],
            "treatment": rng.integers(0, 2, n_customers),
            "responded": rng.integers(0, 2, n_customers),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n_customers),
            "birth_date": pd.to_datetime("1980-06-15").date(),
            "gender": "f",
            "city": "上海",
            "signup_at": start,
        }
    )
    for name, frame in [
        ("products", products),
        ("orders", orders),
        ("events", events),
        ("tickets", tickets),
        ("feedback", feedback),
        ("campaign_contacts", contacts),
        ("customers", customers),
    ]:
        engine.register("__frame", frame)
        engine.execute(f"INSERT INTO {name} BY NAME SELECT * FROM __frame")
        engine.con.unregister("__frame")
    # what the text models wrote about the reviews and tickets (text_sentiment, scored at build)
    ensure_text_sentiment(engine)
    texts = pd.concat(
        [
            feedback.assign(source_table="feedback", text_id=feedback["feedback_id"]),
            tickets.assign(source_table="tickets", text_id=tickets["ticket_id"]),
        ],
        ignore_index=True,
    )[["source_table", "text_id", "customer_id", "ts"]]
    score = np.round(rng.uniform(-1, 1, len(texts)), 3)
    texts = texts.assign(
        source="s",
        sentiment_score=score,
        sentiment_label=np.where(score < -0.2, "negative", np.where(score > 0.2, "positive", "neutral")),
    )
    engine.register("__frame", texts)
    engine.execute("INSERT INTO text_sentiment BY NAME SELECT * FROM __frame")
    engine.con.unregister("__frame")


@pytest.fixture
def warehouse(engine: DuckDBEngine) -> DuckDBEngine:
    small_warehouse(engine)
    return engine


def test_every_family_declares_grain_and_inputs() -> None:
    for name in FAMILIES:
        family = load_family(name)
        assert family.reads and family.description


def test_rfm_by_hand(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    engine.execute("""INSERT INTO orders (order_id, line_no, customer_id, ts, amount) VALUES
        ('a', 1, 1, TIMESTAMP '2024-03-01 10:00', 10), ('a', 2, 1, TIMESTAMP '2024-03-01 10:00', 5),
        ('b', 1, 1, TIMESTAMP '2024-03-21 23:59', 20), ('c', 1, 1, TIMESTAMP '2024-04-02', 999),
        ('d', 1, 2, TIMESTAMP '2024-01-01', 7)""")
    frame = FeatureBuilder().build(engine, AS_OF, write=False).set_index("customer_id")
    one = frame.loc[1]
    assert (one.recency_days, one.frequency, one.monetary, one.tenure_days) == (11, 2, 35.0, 31)
    assert one.ipd_mean_days == 20 and one.order_lines == 3 and one.avg_order_value == 17.5
    assert frame.loc[2].recency_days == 91 and np.isnan(frame.loc[2].ipd_mean_days)


def test_written_and_replaced_per_cutoff(warehouse: DuckDBEngine) -> None:
    builder = FeatureBuilder()
    first = builder.build(warehouse, AS_OF)
    builder.build(warehouse, "2024-05-01")
    builder.build(warehouse, AS_OF)
    counts = dict(
        warehouse.con.execute("SELECT as_of::DATE::VARCHAR, count(*) FROM customer_360 GROUP BY 1").fetchall()
    )
    assert counts[AS_OF] == len(first) and set(counts) == {AS_OF, "2024-05-01"}
    assert first["customer_id"].is_unique


@pytest.mark.parametrize("family", FAMILIES)
def test_no_leakage(engine: DuckDBEngine, family: str) -> None:
    """Changing, adding or deleting anything dated after the cutoff leaves the family's output unchanged."""
    small_warehouse(engine)
    builder = FeatureBuilder(families=[family])
    before = builder.build(engine, AS_OF, write=False)
    cutoff = f"TIMESTAMP '{AS_OF}'"
    engine.execute(
        f"UPDATE orders SET amount = amount * 100, discount = 50, channel = 'web' WHERE ts >= {cutoff}"
    )
    engine.execute(f"""INSERT INTO orders (order_id, line_no, customer_id, ts, product_id, amount, channel)
                       SELECT 'late' || i, 1, i % 40, {cutoff} + INTERVAL (i) HOUR, 'p3', 1000, 'store' FROM range(50) t(i)""")
    engine.execute(f"DELETE FROM events WHERE ts >= {cutoff}")
    engine.execute(
        f"UPDATE tickets SET resolved_at = resolved_at + INTERVAL 300 HOUR WHERE resolved_at >= {cutoff}"
    )
    engine.execute(f"UPDATE feedback SET rating = 1 WHERE ts >= {cutoff}")
    engine.execute(f"UPDATE campaign_contacts SET responded = 1 - responded WHERE ts >= {cutoff}")
    engine.execute(
        f"UPDATE text_sentiment SET sentiment_score = -1, sentiment_label = 'negative' WHERE ts >= {cutoff}"
    )
    engine.execute(f"""INSERT INTO text_sentiment (source_table, source, text_id, customer_id, ts, sentiment_label, sentiment_score)
                       SELECT 'tickets', 's', 'late' || i, i % 40, {cutoff} + INTERVAL (i) HOUR, 'negative', -1 FROM range(50) t(i)""")
    engine.execute(f"INSERT INTO customers (customer_id, signup_at) VALUES (999, {cutoff} + INTERVAL 1 DAY)")
    after = builder.build(engine, AS_OF, write=False)
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.spark
def test_same_table_on_spark(warehouse: DuckDBEngine) -> None:
    from crmlens.engine.spark import SparkEngine

    spark = SparkEngine()
    for table in (
        "orders",
        "products",
        "events",
        "tickets",
        "feedback",
        "campaign_contacts",
        "customers",
        "text_sentiment",
    ):
        spark.register(
            table, warehouse.table(table).to_pandas().drop(columns=["attributes"], errors="ignore")
        )
    ours = FeatureBuilder().build(warehouse, AS_OF, write=False)
    theirs = FeatureBuilder().build(spark, AS_OF, write=False)
    assert list(ours.columns) == list(theirs.columns)
    theirs["as_of"] = pd.to_datetime(theirs["as_of"]).astype(ours["as_of"].dtype)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, check_exact=False, rtol=1e-9)

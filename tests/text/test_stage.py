"""The demo's text stage and report section on a small warehouse: reviews and tickets scored at build,
sentiment columns in customer_360, topics of the negative reviews, alerts, and the report tables."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from crmlens.engine import DuckDBEngine
from crmlens.features import FeatureBuilder
from crmlens.ingest import ensure_schema
from crmlens.pipeline import text_section, text_stage
from crmlens.text.warehouse import score_texts

NEGATIVE = [
    "The parcel arrived late and the box was damaged, terrible delivery",
    "Delivery took two weeks, awful, never again",
    "Rude staff and a broken kettle, worst purchase",
    "The kettle broke after one day, poor quality",
    "快递太慢了，包装破损，很失望",
    "质量很差，用了两天就坏了，差评",
]
POSITIVE = [
    "Great tea, fast delivery, love it",
    "Excellent quality and friendly service",
    "质量很好，物流很快，非常满意",
]


def _warehouse(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    rows = []
    for i in range(400):
        day = days[int(rng.integers(0, len(days)))]
        spike = day >= days[100] and i % 2 == 0  # a burst of complaints in the last weeks
        text = NEGATIVE[i % len(NEGATIVE)] if spike or i % 5 == 0 else POSITIVE[i % len(POSITIVE)]
        rows.append(
            {"source": "shop", "feedback_id": f"f{i}", "customer_id": i % 50, "ts": day, "text": text,
             "product_id": "p1", "rating": 1.0 if text in NEGATIVE else 5.0}
        )  # fmt: skip
    tickets = [
        {"source": "desk", "ticket_id": f"t{i}", "customer_id": i, "ts": days[110 + i], "category": c,
         "subject": s, "body": b}
        for i, (c, s, b) in enumerate(
            [("refund", "Refund", "Broken on arrival, awful, I want my money back")] * 6
            + [("thanks", "谢谢", "客服很耐心，问题解决了，非常满意")] * 4
        )
    ]  # fmt: skip
    orders = [
        {
            "order_id": f"o{c}",
            "line_no": 1,
            "customer_id": c,
            "ts": days[c],
            "product_id": "p1",
            "amount": 10.0,
        }
        for c in range(50)
    ]
    for table, frame in [
        ("feedback", pd.DataFrame(rows)),
        ("tickets", pd.DataFrame(tickets)),
        ("orders", pd.DataFrame(orders)),
        ("products", pd.DataFrame([{"product_id": "p1", "category": "kitchenware"}])),
    ]:
        engine.register("__rows", frame)
        engine.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
        engine.con.unregister("__rows")


def test_text_stage_section_and_customer_360(engine: DuckDBEngine) -> None:
    _warehouse(engine)
    assert score_texts(engine)["tickets_scored"] == 10  # what Workspace.build does before customer_360
    profile = FeatureBuilder().build(engine, "2024-05-01").set_index("customer_id")
    assert {"sentiment_mean", "sentiment_last", "sentiment_negative_90d", "ticket_sentiment_mean"} <= set(
        profile.columns
    )
    assert profile["sentiment_negative_90d"].sum() > 0 and profile["sentiment_mean"].notna().all()
    assert profile.loc[0, "ticket_sentiment_mean"] < 0 < profile.loc[7, "ticket_sentiment_mean"]

    result = text_stage(SimpleNamespace(engine=engine), seed=0)
    assert result["newly_scored"] == 0 and result["texts"] == 400 and result["tickets_scored"] == 10
    assert result["alerts"] >= 1  # the burst of complaints
    topics = engine.table("feedback_topics").to_pandas()
    scored = engine.table("feedback_sentiment").to_pandas()
    negative = scored[scored["sentiment_label"] == "negative"].groupby("language").size()
    assert set(topics["language"]) == set(negative[negative >= 20].index) and "en" in set(topics["language"])
    english = topics[topics["language"] == "en"]
    assert english["texts"].sum() == negative["en"]  # every negative English review in one topic
    words = " ".join(english["top_terms"])
    assert "kettle" in words or "delivery" in words
    for examples in topics["examples"]:
        parts = examples.split(" | ")
        assert len(parts) == len(set(parts))  # distinct examples
    section = text_section(engine)
    assert section is not None
    titles = [title for title, _ in section.tables]
    assert any(t.startswith("Topics in negative reviews") for t in titles)
    assert "Ticket sentiment by category" in titles
    weekly = dict(section.tables)["Weekly negative share, last 12 weeks"]
    assert {"reviews_negative_share", "reviews_texts", "tickets_negative_share"} <= set(weekly.columns)
    assert 0 < len(weekly) <= 12 and weekly["reviews_negative_share"].max() > 0.4  # the burst
    tickets = dict(section.tables)["Ticket sentiment by category"].set_index("category")
    assert tickets.loc["refund", "negative_share"] > tickets.loc["thanks", "negative_share"]
    alerts = next(frame for title, frame in section.tables if title.startswith("Alerts"))
    assert len(alerts) >= 1 and (alerts["category"] == "kitchenware").all()

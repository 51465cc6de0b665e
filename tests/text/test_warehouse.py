"""score_texts: reviews and tickets scored once into text_sentiment, kept in step with identity and erasure."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlens.engine import DuckDBEngine
from crmlens.ingest import ensure_schema
from crmlens.text import default_model
from crmlens.text.warehouse import score_texts


class CountingModel:
    """The shipped model, counting the texts it is asked to score."""

    def __init__(self) -> None:
        self.inner = default_model()
        self.models = self.inner.models
        self.classes_ = self.inner.classes_
        self.seen: list[str] = []

    def predict_proba(self, texts: list[str], languages: Any = None) -> Any:
        self.seen.extend(texts)
        return self.inner.predict_proba(texts, languages)


def _insert(engine: DuckDBEngine, table: str, rows: list[dict[str, Any]]) -> None:
    engine.register("__rows", pd.DataFrame(rows))
    engine.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
    engine.con.unregister("__rows")


def test_scores_new_texts_once_and_follows_identity(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    ts = pd.Timestamp("2024-03-01")
    _insert(
        engine,
        "feedback",
        [
            {
                "source": "shop",
                "feedback_id": "f1",
                "customer_id": 1,
                "ts": ts,
                "text": "Terrible quality, it broke after a day",
            },
            {
                "source": "shop",
                "feedback_id": "f2",
                "customer_id": 2,
                "ts": ts,
                "text": "质量很好，物流也快，非常满意",
            },
        ],
    )
    _insert(
        engine,
        "tickets",
        [
            {
                "source": "desk",
                "ticket_id": "t1",
                "customer_id": 1,
                "ts": ts,
                "subject": "Refund",
                "body": "The parcel never arrived, this is awful service, I want my money back",
            },
            {
                "source": "desk",
                "ticket_id": "t2",
                "customer_id": 3,
                "ts": ts,
                "subject": "谢谢",
                "body": "客服很耐心，问题解决了，非常感谢",
            },
        ],
    )
    model = CountingModel()
    first = score_texts(engine, model=model, model_version="test")
    assert first == {"feedback_scored": 2, "feedback_total": 2, "tickets_scored": 2, "tickets_total": 2}
    assert len(model.seen) == 4 and "Refund. The parcel never arrived" in model.seen[2]
    rows = engine.query("SELECT * FROM text_sentiment ORDER BY source_table, text_id").to_pandas()
    assert "text" not in rows.columns  # derived values only, never the text itself
    labels = dict(zip(rows["text_id"], rows["sentiment_label"], strict=True))
    assert labels == {"f1": "negative", "f2": "positive", "t1": "negative", "t2": "positive"}
    assert rows["language"].tolist() == ["en", "zh", "en", "zh"]
    assert (rows["p_negative"] + rows["p_neutral"] + rows["p_positive"]).round(6).eq(1).all()
    assert (rows["model_version"] == "test").all()

    # identity merged customer 2 into 1, a new review came in, a ticket was erased
    engine.execute("UPDATE feedback SET customer_id = 1 WHERE feedback_id = 'f2'")
    engine.execute("DELETE FROM tickets WHERE ticket_id = 't2'")
    _insert(
        engine,
        "feedback",
        [{"source": "shop", "feedback_id": "f3", "customer_id": 2, "ts": ts, "text": "ok"}],
    )
    model.seen.clear()
    second = score_texts(engine, model=model, model_version="test")
    assert model.seen == ["ok"]
    assert second == {"feedback_scored": 1, "feedback_total": 3, "tickets_scored": 0, "tickets_total": 1}
    owners = dict(engine.con.execute("SELECT text_id, customer_id FROM text_sentiment").fetchall())
    assert owners == {"f1": 1, "f2": 1, "f3": 2, "t1": 1}
    assert score_texts(engine, model=model, model_version="test")["feedback_scored"] == 0


def test_nothing_to_score(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    assert score_texts(engine, model_version="test") == {
        "feedback_scored": 0,
        "feedback_total": 0,
        "tickets_scored": 0,
        "tickets_total": 0,
    }
    assert engine.count("text_sentiment") == 0

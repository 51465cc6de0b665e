"""The sentiment family of customer_360: hand-checked values from a small text_sentiment table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.features import FeatureBuilder, load_family
from crmlens.ingest import ensure_schema
from crmlens.text.warehouse import ensure_text_sentiment

AS_OF = "2024-04-01"


def _warehouse(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    ensure_text_sentiment(engine)
    engine.execute("""INSERT INTO orders (order_id, line_no, customer_id, ts, amount) VALUES
        ('a', 1, 1, TIMESTAMP '2024-03-01', 10), ('b', 1, 3, TIMESTAMP '2024-03-02', 20)""")
    texts = pd.DataFrame(
        [
            ("feedback", "f1", 1, "2024-01-01", "positive", 0.8),
            ("tickets", "t1", 1, "2024-03-25", "negative", -0.6),
            ("feedback", "f2", 1, "2024-03-25", "negative", -0.2),  # same time: the ticket counts as last
            ("feedback", "f3", 1, "2024-04-05", "negative", -1.0),  # after the cutoff: ignored
            ("feedback", "f4", 2, "2023-11-01", "negative", -0.9),  # more than 90 days before the cutoff
            ("feedback", "f5", None, "2024-03-01", "negative", -0.9),  # no customer: ignored
        ],
        columns=["source_table", "text_id", "customer_id", "ts", "sentiment_label", "sentiment_score"],
    ).assign(source="s", ts=lambda f: pd.to_datetime(f["ts"]))
    engine.register("__texts", texts)
    engine.execute("INSERT INTO text_sentiment BY NAME SELECT * FROM __texts")


def test_sentiment_family_by_hand(engine: DuckDBEngine) -> None:
    _warehouse(engine)
    frame = FeatureBuilder(families=["rfm", "sentiment"]).build(engine, AS_OF, write=False)
    frame = frame.set_index("customer_id")
    one, two, three = frame.loc[1], frame.loc[2], frame.loc[3]
    assert one.sentiment_texts == 3 and one.sentiment_negative_90d == 2
    assert one.sentiment_mean == pytest.approx(0.0) and one.sentiment_last == pytest.approx(-0.6)
    assert one.sentiment_negative_share == pytest.approx(2 / 3)
    assert one.review_sentiment_mean == pytest.approx(0.3) and one.ticket_sentiment_mean == pytest.approx(
        -0.6
    )
    assert (
        two.sentiment_texts == 1
        and two.sentiment_negative_90d == 0
        and two.sentiment_last == pytest.approx(-0.9)
    )
    assert np.isnan(two.ticket_sentiment_mean)
    # a customer who wrote nothing: counts are 0, the scores unknown
    assert three.sentiment_texts == 0 and three.sentiment_negative_90d == 0 and np.isnan(three.sentiment_mean)
    assert set(frame.index) == {1, 2, 3}


def test_sentiment_family_skipped_without_scored_texts(engine: DuckDBEngine) -> None:
    ensure_schema(engine)
    engine.execute(
        "INSERT INTO orders (order_id, line_no, customer_id, ts, amount) VALUES ('a', 1, 1, TIMESTAMP '2024-03-01', 10)"
    )
    frame = FeatureBuilder(families=["rfm", "sentiment"]).build(engine, AS_OF, write=False)
    assert "sentiment_mean" not in frame.columns  # no text_sentiment table: the family has no data
    ensure_text_sentiment(engine)
    frame = FeatureBuilder(families=["rfm", "sentiment"]).build(engine, AS_OF, write=False)
    assert "sentiment_mean" not in frame.columns  # an empty one neither
    assert load_family("sentiment").reads == ("text_sentiment",)

"""Keywords, aspects, topics and alerts on small inputs whose answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.text import (
    aspect_sentiment,
    aspect_summary,
    discover_topics,
    extract_keywords,
    sentiment_alerts,
    sentiment_trend,
    top_keywords,
)


def test_extract_keywords_per_text() -> None:
    texts = [
        "refund refund refund still missing",
        "the seat was broken and the seat belt too",
        "物流很快，质量不错，价格也便宜",
    ]
    keywords = extract_keywords(texts, top_k=2)
    assert keywords[0][0] == "refund"
    assert keywords[1][0] == "seat"
    assert set(keywords[2]) <= {"物流", "质量", "价格", "便宜", "不错", "很快"} and len(keywords[2]) == 2


def test_top_keywords_of_a_collection() -> None:
    texts = ["late delivery", "delivery late again", "late flight", "great crew", "delivery lost"]
    table = top_keywords(texts, top_k=3)
    assert list(table.columns) == ["keyword", "score", "documents"]
    assert set(table["keyword"]) == {"late", "delivery", "flight"} or table["keyword"].iloc[0] in {
        "late",
        "delivery",
    }
    assert table.set_index("keyword").loc["delivery", "documents"] == 3
    zh = top_keywords(["物流太慢了", "物流很慢", "客服态度差", "物流慢"], top_k=2, method="textrank")
    assert "物流" in zh["keyword"].tolist()


def test_aspects_take_the_sentiment_of_their_clause() -> None:
    texts = ["The food was delicious but the delivery was terribly late", "价格很便宜，但是客服态度很差"]
    mentions = aspect_sentiment(texts)
    got = {(r.row, r.aspect): r.sentiment_label for r in mentions.itertuples()}
    assert got[(0, "food")] == "positive"
    assert got[(0, "delivery")] == "negative"
    assert got[(1, "price")] == "positive"
    assert got[(1, "service")] == "negative"
    summary = aspect_summary(mentions)
    assert set(summary.columns) == {"aspect", "mentions", "negative_share", "mean_score"}
    assert summary.set_index("aspect").loc["delivery", "negative_share"] == 1.0


def test_topics_recover_planted_themes_deterministically() -> None:
    delivery = [f"delivery late again order {i} never arrived courier" for i in range(10)]
    staff = [f"rude staff at desk {i} unhelpful agent" for i in range(10)]
    result = discover_topics(delivery + staff, n_topics=2, n_terms=4, random_state=0)
    assert result.table["size"].tolist() == [10, 10]
    first, second = result.assignments[:10], result.assignments[10:]
    assert len(set(first)) == 1 and len(set(second)) == 1 and first[0] != second[0]
    terms = {t for row in result.table["top_terms"] for t in row}
    assert {"delivery", "rude"} <= terms
    again = discover_topics(delivery + staff, n_topics=2, n_terms=4, random_state=0)
    pd.testing.assert_frame_equal(result.table, again.table)


def test_topics_in_chinese() -> None:
    texts = ["送餐太慢了，等了两个小时"] * 4 + ["菜太咸了，味道很差"] * 4
    result = discover_topics(texts, n_topics=2, n_terms=3)
    assert len(set(result.assignments[:4])) == 1 and result.assignments[0] != result.assignments[-1]


def _weekly(spike_group: str | None) -> pd.DataFrame:
    rows = []
    for day in range(84):
        for k, group in enumerate(["app", "store"]):
            negative = (day + k) % 5 == 0
            if group == spike_group and day >= 77:
                negative = day % 5 != 0
            rows.append({"ts": pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), "channel": group,
                         "text": f"{group} {day}", "sentiment_label": "negative" if negative else "positive",
                         "sentiment_score": -0.9 if negative else 0.9})  # fmt: skip
    return pd.DataFrame(rows)


def test_trend_counts_by_hand() -> None:
    trend = sentiment_trend(_weekly(None), by="channel", freq="W")
    assert len(trend) == 24 and trend["n"].eq(7).all()
    first = trend[(trend["channel"] == "app")].iloc[0]
    assert first["negative"] == 2 and first["negative_share"] == pytest.approx(2 / 7)


def test_alert_fires_on_the_planted_spike_only() -> None:
    assert sentiment_alerts(_weekly(None), by="channel", freq="W", min_count=5).empty
    alerts = sentiment_alerts(_weekly("store"), by="channel", freq="W", min_count=5)
    assert alerts["channel"].tolist() == ["store"]
    assert alerts["period"].iloc[0] == pd.Timestamp("2024-03-18")
    assert alerts["negative_share"].iloc[0] > alerts["upper_limit"].iloc[0] > alerts["baseline_share"].iloc[0]
    assert len(alerts["examples"].iloc[0]) == 3 and all(
        e.startswith("store") for e in alerts["examples"].iloc[0]
    )

"""annotate (what the warehouse calls on feedback/tickets) and the per-customer sentiment features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ValidationError
from crmlens.text import annotate, sentiment_features


def test_annotate_adds_language_sentiment_and_keywords() -> None:
    frame = pd.DataFrame(
        {
            "feedback_id": [1, 2, 3, 4, 5],
            "text": [
                "The delivery was late and the box was damaged, terrible service",
                "Love it, great quality and fast shipping!",
                "送货太慢了，客服态度也很差",
                "味道很好，分量足，下次还点",
                None,
            ],
        }
    )
    out = annotate(frame, "text")
    assert out["feedback_id"].tolist() == [1, 2, 3, 4, 5]
    assert out["language"].tolist() == ["en", "en", "zh", "zh", "other"]
    assert out["sentiment_label"].tolist() == ["negative", "positive", "negative", "positive", "neutral"]
    assert out["sentiment_score"].between(-1, 1).all()
    assert out.loc[0, "sentiment_score"] < 0 < out.loc[1, "sentiment_score"]
    assert out["sentiment_probability"].iloc[:4].between(0.5, 1).all()
    assert np.isnan(out["sentiment_probability"].iloc[4])
    assert "delivery" in out.loc[0, "keywords"] and "客服" in out.loc[2, "keywords"]
    with pytest.raises(ValidationError, match="no column 'body'"):
        annotate(frame, "body")


def _scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "ts": pd.to_datetime(["2024-01-01", "2024-03-20", "2024-03-25", "2024-02-01"]),
            "sentiment_score": [0.8, -0.6, -0.2, 0.4],
            "sentiment_label": ["positive", "negative", "negative", "positive"],
        }
    )


def test_sentiment_features_by_hand() -> None:
    out = sentiment_features(_scored(), as_of="2024-03-31").set_index("customer_id")
    assert out.loc["a", "sentiment_n"] == 3
    assert out.loc["a", "sentiment_mean"] == pytest.approx(0.0)
    assert out.loc["a", "sentiment_last"] == pytest.approx(-0.2)
    assert out.loc["a", "sentiment_negative_share"] == pytest.approx(2 / 3)
    assert out.loc["a", "sentiment_negative_90d"] == 2
    assert out.loc["a", "days_since_last_text"] == 6
    assert out.loc["b", "sentiment_negative_90d"] == 0 and out.loc["b", "sentiment_n"] == 1


def test_sentiment_features_ignore_texts_after_the_cutoff() -> None:
    scored = _scored()
    before = sentiment_features(scored, as_of="2024-03-01")
    later = pd.DataFrame(
        {"customer_id": ["a", "c"], "ts": pd.to_datetime(["2024-03-02", "2024-05-01"]),
         "sentiment_score": [-1.0, -1.0], "sentiment_label": ["negative", "negative"]}
    )  # fmt: skip
    after = sentiment_features(pd.concat([scored, later], ignore_index=True), as_of="2024-03-01")
    pd.testing.assert_frame_equal(before, after)
    assert before.set_index("customer_id").loc["a", "sentiment_n"] == 1
    with pytest.raises(ValidationError, match="annotate"):
        sentiment_features(scored.drop(columns="sentiment_label"), as_of="2024-03-01")

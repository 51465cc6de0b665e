from __future__ import annotations

import pytest

from crmlens.support import urgency_scores
from crmlens.support.urgency import urgency_level


def _points(reasons: list[str]) -> float:
    return sum(float(r.rsplit("+", 1)[1]) for r in reasons)


def test_hand_computed_score_and_reasons():
    out = urgency_scores(
        ["Someone used my card, this is fraud!", "How do I change my PIN?", "我要投诉，马上退款"],
        intents=["compromised_card", "change_pin", "request_refund"],
        sentiment=[-0.5, 0.3, None],
        value_tier=["high", "low", None],
        waiting_hours=[6, 100, None],
    )
    # fraud 30 + intent compromised 25 + sentiment 0.5*20=10 + high value 15 + waiting 6/2=3
    assert out.loc[0, "urgency"] == 83.0
    assert out.loc[0, "urgency_level"] == "critical"
    # nothing but waiting, capped at 20
    assert out.loc[1, "urgency"] == 20.0
    assert out.loc[1, "urgency_reasons"] == ["waiting 100h +20"]
    # 投诉 20 + 马上 10 + 退款 15 capped at 40 in all, + intent refund 10
    assert out.loc[2, "urgency"] == 50.0
    for i in range(3):
        assert _points(out.loc[i, "urgency_reasons"]) == pytest.approx(out.loc[i, "urgency"])


def test_keywords_match_word_starts_only_and_config_adds_words():
    out = urgency_scores(["the prefund form", "I want a refund", "the widget broke"], keywords={"broke": 12})
    assert out["urgency"].tolist() == [0.0, 15.0, 12.0]


def test_levels():
    assert [urgency_level(s) for s in (0, 24.9, 25, 60, 75, 100)] == [
        "low", "low", "medium", "high", "critical", "critical",
    ]  # fmt: skip


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 values for 1"):
        urgency_scores(["a"], intents=["x", "y"])

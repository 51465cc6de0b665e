"""A draft may only state facts that are in the FAQ answer or the customer profile."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from crmlens.support import draft_reply
from crmlens.support.drafts import template_vocabulary

_WORD = re.compile(r"[A-Za-z0-9]+|[\u3400-\u9fff]")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def assert_only_sourced_facts(draft: str, answer: str, profile: dict, intent: str, language: str) -> None:
    """Every word and every number of the draft comes from the template, the answer, the profile or the intent."""
    allowed = _words(template_vocabulary(language)) | _words(answer) | _words(intent.replace("_", " "))
    for value in profile.values():
        if value is not None:
            allowed |= _words(str(value))
    extra = _words(draft) - allowed
    assert not extra, f"draft states words from no source: {sorted(extra)}"
    numbers = set(re.findall(r"\d+", draft))
    sourced = set(
        re.findall(r"\d+", answer + " " + " ".join(str(v) for v in profile.values() if v is not None))
    )
    assert numbers <= sourced, f"numbers from no source: {numbers - sourced}"
    assert "{" not in draft and "None" not in draft and "nan" not in draft.split()


FIRST = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", None]
STATUS = ["shipped", "delivered", "processing", None]
ANSWERS = [
    "Refunds are paid back to the original card within 5 working days.",
    "You can track your parcel with the link in the shipping e-mail.",
    "Open the app, choose Cards, then Freeze card. Call +44 20 7946 0000 if it was stolen.",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_drafts_state_only_facts_from_faq_and_profile(seed):
    rng = np.random.default_rng(seed)
    intent = str(rng.choice(["request_refund", "order_tracking", "lost_or_stolen_card", "card_arrival"]))
    profile = {
        "name": FIRST[rng.integers(len(FIRST))],
        "last_order_id": None if rng.random() < 0.3 else f"SO-{rng.integers(10_000, 99_999)}",
        "last_order_date": None if rng.random() < 0.3 else date(2024, int(rng.integers(1, 13)), 5),
        "order_status": STATUS[rng.integers(len(STATUS))],
        "value_tier": "high",
    }
    answer = str(rng.choice(ANSWERS))
    draft = draft_reply(intent, answer, profile, "en")
    assert draft is not None
    assert answer in draft.text
    assert_only_sourced_facts(draft.text, answer, profile, intent, "en")
    if profile["name"]:
        assert draft.text.startswith(f"Hi {profile['name']},")
    for field, value in draft.fields_used.items():
        assert value in draft.text and field in profile


def test_the_fact_check_catches_an_invented_fact():
    answer, profile = ANSWERS[0], {"name": "Ana"}
    draft = draft_reply("request_refund", answer, profile).text
    with pytest.raises(AssertionError, match="no source"):
        assert_only_sourced_facts(
            draft + "\nYour refund of 120 was approved.", answer, profile, "request_refund", "en"
        )


def test_missing_fields_drop_their_sentence():
    answer = ANSWERS[1]
    full = draft_reply(
        "order_tracking", answer,
        {"name": "Ana", "last_order_id": "SO-1", "last_order_date": "2024-03-01", "order_status": "shipped"},
    ).text  # fmt: skip
    assert "Your most recent order SO-1 from 2024-03-01 is shipped." in full
    partial = draft_reply("order_tracking", answer, {"last_order_id": "SO-1"}).text
    assert "Your most recent order is SO-1." in partial and partial.startswith("Hello,")
    # order details only for order-related intents
    assert "SO-1" not in draft_reply("change_pin", "Change it in the app.", {"last_order_id": "SO-1"}).text


def test_no_answer_no_draft_and_chinese_template():
    assert draft_reply("request_refund", None, {"name": "Ana"}) is None
    assert draft_reply("request_refund", "  ", {"name": "Ana"}) is None
    answer = "退款将在5个工作日内退回原支付账户。"
    profile = {
        "name": "王芳",
        "last_order_id": "D-778",
        "last_order_date": "2024-05-02",
        "order_status": "已发货",
    }
    draft = draft_reply("退款", answer, profile, "zh")
    assert draft.text.startswith("王芳，您好：") and answer in draft.text
    assert_only_sourced_facts(draft.text, answer, profile, "退款", "zh")

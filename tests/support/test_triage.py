"""Warehouse mode: the tickets table in, triage and analytics out."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmlens.support import FaqIndex, build_profiles, ticket_analytics, triage
from crmlens.support.triage import TRIAGE_COLUMNS

from .test_drafts import assert_only_sourced_facts


@pytest.fixture(scope="module")
def faq_index():
    faq = pd.DataFrame(
        {
            "faq_id": ["lost", "lost", "refund", "pin"],
            "question": [
                "What do I do if my card is lost or stolen?",
                "Someone stole my card",
                "How do I request a refund for an item I bought?",
                "How do I change my PIN?",
            ],
            "answer": [
                "Freeze the card in the app under Cards, then order a replacement.",
                "Freeze the card in the app under Cards, then order a replacement.",
                "Refunds are requested from the order page and reach your card in 5 working days.",
                "You can change your PIN at any cash machine of our network.",
            ],
        }
    )
    return FaqIndex(use_embeddings=False, min_score=0.25).fit(faq)


@pytest.fixture(scope="module")
def warehouse_tables(engine_module):
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3", "T4"],
            "customer_id": [1, 2, 3, 99],
            "ts": pd.to_datetime(
                ["2024-05-01 09:00", "2024-05-01 10:00", "2024-05-02 08:00", "2024-05-02 12:00"]
            ),
            "channel": ["email", "chat", "email", "phone"],
            "subject": ["Stolen card", None, "Refund", "hello"],
            "body": [
                "My card was stolen yesterday, someone stole my card, please help",
                "I want to request a refund for an item I bought",
                "I want to request a refund for an item I bought, it is broken",
                "asdf qwerty zxcv",
            ],
            "category": ["cards", "refunds", "refunds", "other"],
            "priority": ["high", "low", "low", "low"],
            "status": ["open", "open", "closed", "open"],
            "resolved_at": pd.to_datetime([None, None, "2024-05-02 20:00", None]),
        }
    )
    customers = pd.DataFrame({"customer_id": [1, 2, 3], "name": ["Ana Silva", "Bo Li", "Chen Wei"]})
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": [2, 2, 3, 1],
            "ts": pd.to_datetime(["2024-01-01", "2024-04-20", "2024-03-03", "2024-02-02"]),
            "amount": [20.0, 500.0, 30.0, 10.0],
            "status": ["delivered", "shipped", "delivered", "delivered"],
        }
    )
    for name, frame in (("tickets", tickets), ("customers", customers), ("orders", orders)):
        engine_module.write_table(name, frame)
    return {
        name: engine_module.query(f"select * from {name}").to_pandas()
        for name in ("tickets", "customers", "orders")
    }


@pytest.fixture(scope="module")
def engine_module():
    from crmlens.engine import DuckDBEngine

    with DuckDBEngine(":memory:") as e:
        yield e


@pytest.fixture(scope="module")
def intent_model():
    from crmlens.support import IntentClassifier

    texts = [
        "my card was stolen", "someone stole my card", "I lost my card", "my wallet with my card is gone",
        "card stolen last night", "I can't find my card anywhere",
        "I want a refund", "refund the item I bought", "please request a refund", "money back for my order",
        "the product is broken, refund please", "I returned it, where is my refund",
    ]  # fmt: skip
    labels = ["lost_or_stolen_card"] * 6 + ["request_refund"] * 6
    return IntentClassifier(model="tfidf", calibration_cv=3).fit(texts, labels)


def test_build_profiles_from_canonical_tables(warehouse_tables):
    profiles = build_profiles(warehouse_tables["customers"], warehouse_tables["orders"])
    assert profiles.loc[2, "name"] == "Bo" and profiles.loc[2, "last_order_id"] == "O2"
    assert (
        str(profiles.loc[2, "last_order_date"]) == "2024-04-20"
        and profiles.loc[2, "order_status"] == "shipped"
    )
    assert profiles.loc[2, "value_tier"] == "high" and profiles.loc[1, "value_tier"] == "low"


def test_triage_routes_scores_and_drafts(warehouse_tables, intent_model, faq_index):
    profiles = build_profiles(warehouse_tables["customers"], warehouse_tables["orders"])
    config = {"queues": {"lost_or_stolen_card": "cards_fraud", "request_refund": "billing"}}
    intent_model.threshold_ = 0.3  # tiny training set: set the automation threshold by hand
    out = triage(warehouse_tables["tickets"], intent_model, faq_index, profiles, config=config)
    out = out.set_index("ticket_id")
    assert list(out.reset_index().columns) == TRIAGE_COLUMNS
    assert out.loc["T1", "intent"] == "lost_or_stolen_card" and out.loc["T1", "queue"] == "cards_fraud"
    assert out.loc["T2", "intent"] == "request_refund" and out.loc["T2", "queue"] == "billing"
    # the stolen card outranks the refund; the closed ticket does not wait
    assert out.loc["T1", "urgency"] > out.loc["T2", "urgency"]
    reasons = json.loads(out.loc["T1", "urgency_reasons"])
    assert any("stolen" in r for r in reasons)
    assert not any(r.startswith("waiting") for r in json.loads(out.loc["T3", "urgency_reasons"]))
    # drafts quote the FAQ answer and the customer's own details, nothing else
    draft = out.loc["T2", "draft"]
    assert draft.startswith("Hi Bo,") and "O2" in draft and "shipped" in draft
    answer = faq_index.rows_.loc[faq_index.rows_["faq_id"] == "refund", "answer"].iloc[0]
    assert_only_sourced_facts(draft, answer, profiles.loc[2].to_dict(), "request_refund", "en")
    # gibberish: no confident FAQ answer or no confident intent -> a person takes it, no draft
    assert pd.isna(out.loc["T4", "draft"]) and out.loc["T4", "handover_reason"]


def test_low_confidence_goes_to_people(warehouse_tables, intent_model, faq_index):
    intent_model.threshold_ = 1.01
    out = triage(warehouse_tables["tickets"], intent_model, faq_index, None)
    assert set(out["queue"]) == {"human_triage"} and out["draft"].isna().all()
    assert out["handover_reason"].str.contains("confidence").all()


def test_ticket_analytics_hand_computed():
    tickets = pd.DataFrame(
        {
            "ticket_id": list("abcdef"),
            "ts": pd.to_datetime(["2024-05-06 08:00"] * 3 + ["2024-05-13 08:00"] * 3),
            "channel": ["email", "chat", "email", "email", "chat", "chat"],
            "intent": ["refund", "refund", "pin", "refund", "pin", "pin"],
            "queue": ["billing", "billing", "cards", "billing", "cards", "cards"],
            "resolved_at": pd.to_datetime(
                ["2024-05-06 10:00", "2024-05-07 08:00", "2024-05-06 09:00", None, "2024-05-13 12:00", None]
            ),
            "attributes": [
                '{"contacts": 1}',
                '{"contacts": 3}',
                '{"contacts": 1}',
                "{}",
                '{"contacts": 2}',
                None,
            ],
        }
    )
    out = ticket_analytics(tickets)
    summary = out["summary"].iloc[0]
    assert summary["tickets"] == 6 and summary["resolved"] == 4
    assert summary["median_resolution_hours"] == pytest.approx(3.0)  # 2, 24, 1, 4
    # first contact resolution: a (1 contact), c (1) yes; b (3), e (2) no
    assert summary["first_contact_resolution"] == pytest.approx(0.5)
    volume = out["volume"].set_index(["period", "intent", "channel"])["tickets"]
    assert volume.sum() == 6 and volume.loc[(pd.Timestamp("2024-05-06"), "refund", "email")] == 1
    resolution = out["resolution"].set_index(["intent", "queue"])
    assert resolution.loc[("refund", "billing"), "median_hours"] == pytest.approx(13.0)
    assert resolution.loc[("pin", "cards"), "resolved"] == 2
    fcr = out["first_contact_resolution"].set_index("intent")["first_contact_resolution"]
    assert fcr["refund"] == pytest.approx(0.5) and fcr["pin"] == pytest.approx(0.5)


def test_ticket_analytics_on_public_support_tickets(shared_data):
    raw = pd.read_csv(shared_data / "support_tickets" / "customer_support_tickets.csv").head(2000)
    tickets = pd.DataFrame(
        {
            "ticket_id": raw["Ticket ID"],
            "ts": pd.to_datetime(raw["First Response Time"], errors="coerce"),
            "resolved_at": pd.to_datetime(raw["Time to Resolution"], errors="coerce"),
            "channel": raw["Ticket Channel"],
            "category": raw["Ticket Type"],
            "priority": raw["Ticket Priority"],
        }
    )
    out = ticket_analytics(tickets)
    assert out["volume"]["tickets"].sum() == tickets["ts"].notna().sum()
    assert set(out["resolution"]["intent"]) == set(raw["Ticket Type"])
    assert set(out["drivers"]["factor"]) >= {"intent", "channel", "priority"}
    assert "first_contact_resolution" not in out  # this data does not have it

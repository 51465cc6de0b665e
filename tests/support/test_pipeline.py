"""run_support: the warehouse tables in, ticket_triage written, analytics out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ValidationError
from crmlens.support import build_profiles, run_support, starter_faq
from crmlens.support.triage import TRIAGE_COLUMNS

from .test_drafts import assert_only_sourced_facts

TEMPLATES = {
    "refund": ["I would like a refund for order {o}.", "申请退款，订单{o}不想要了。", "Please refund my money, order {o}."],
    "invoice": ["Please issue an invoice for order {o}.", "请帮忙为订单{o}开发票。", "The invoice for order {o} is wrong."],
    "account_login": ["I cannot log in to my account.", "账号登录不上，收不到验证码。", "My account is locked, help."],
}  # fmt: skip


@pytest.fixture
def warehouse(engine):
    rng = np.random.default_rng(0)
    rows = []
    for n in range(60):
        intent = list(TEMPLATES)[n % 3]
        text = TEMPLATES[intent][rng.integers(3)].format(o=f"SO{n:04d}")
        rows.append(
            {
                "ticket_id": f"T{n}", "customer_id": n % 10, "ts": pd.Timestamp("2024-05-01") + pd.Timedelta(hours=n),
                "channel": ["email", "chat"][n % 2], "subject": None, "body": text, "category": intent,
                "status": "closed" if n % 4 else "open",
                "resolved_at": pd.Timestamp("2024-05-01") + pd.Timedelta(hours=n + 5) if n % 4 else pd.NaT,
            }
        )  # fmt: skip
    engine.write_table("tickets", pd.DataFrame(rows))
    engine.write_table(
        "customers", pd.DataFrame({"customer_id": range(10), "name": [f"Name{i} Family" for i in range(10)]})
    )
    engine.write_table(
        "orders",
        pd.DataFrame(
            {
                "order_id": [f"O{i}" for i in range(10)], "customer_id": range(10),
                "ts": pd.Timestamp("2024-04-01"), "amount": np.arange(10.0), "status": "delivered",
            }
        ),
    )  # fmt: skip
    return engine


def test_run_support_writes_ticket_triage(warehouse):
    result = run_support(warehouse, config={"queues": {"refund": "billing"}})
    table = warehouse.query("SELECT * FROM ticket_triage").to_pandas()
    assert list(table.columns) == TRIAGE_COLUMNS and len(table) == 60
    assert result["metrics"]["accuracy"] >= 0.9  # out-of-fold on three well-separated intents
    tickets = warehouse.query("SELECT * FROM tickets").to_pandas()
    assert (table["intent"] == tickets["category"]).mean() >= 0.9
    assert set(table.loc[table["intent"] == "refund", "queue"]) <= {"billing", "human_triage"}
    drafts = table.dropna(subset=["draft"])
    assert len(drafts) >= 20
    faq = starter_faq().set_index("faq_id")["answer"]
    profiles = build_profiles(
        warehouse.query("SELECT * FROM customers").to_pandas(),
        warehouse.query("SELECT * FROM orders").to_pandas(),
    )
    for _, row in drafts.iterrows():
        answers = faq.loc[[row["faq_id"]]]
        answer = next(a for a in answers if a in row["draft"])
        profile = profiles.loc[row["customer_id"]].to_dict()
        assert row["draft"].startswith(
            f"Hi {profile['name']}," if row["language"] == "en" else f"{profile['name']}，"
        )
        assert_only_sourced_facts(row["draft"], answer, profile, row["intent"], row["language"])
    analytics = result["analytics"]
    assert analytics["summary"].loc[0, "tickets"] == 60 and analytics["summary"].loc[0, "resolved"] == 45
    assert set(analytics["resolution"]["queue"]) <= {"billing", "general", "human_triage"}


def test_run_support_needs_labelled_tickets(engine):
    with pytest.raises(ValidationError, match="'tickets' table"):
        run_support(engine)
    engine.write_table("tickets", pd.DataFrame({"ticket_id": ["a"], "body": ["hi"], "category": ["x"]}))
    with pytest.raises(ValidationError, match="two categories"):
        run_support(engine)


def test_report_section_shows_ticket_analytics(warehouse):
    from crmlens.support.report import support_section

    assert support_section(warehouse) is None  # nothing triaged yet
    run_support(warehouse)
    section = support_section(warehouse)
    tables = dict(section.tables)
    assert tables["Tickets by queue"]["tickets"].sum() == 60
    assert tables["Tickets and resolution"].loc[0, "resolved"] == 45
    resolution = tables["Resolution hours by intent and queue"]
    assert set(resolution["intent"]) == set(TEMPLATES) and (resolution["median_hours"] == 5).all()
    assert {"intent", "channel"} <= set(
        tables["What slows resolution (median hours against the overall median)"]["factor"]
    )
    assert section.figures and section.figures[0].layout.title.text == "Tickets per week by channel"


def test_urgency_weighs_the_sentiment_the_build_stored(warehouse):
    tickets = warehouse.query("SELECT * FROM tickets").to_pandas().assign(source="helpdesk")
    warehouse.write_table("tickets", tickets)
    warehouse.write_table(
        "text_sentiment",
        pd.DataFrame(
            {"source_table": "tickets", "source": "helpdesk", "text_id": ["T3", "T4"],
             "sentiment_score": [-0.9, 0.8]}
        ),
    )  # fmt: skip
    table = run_support(warehouse, write=False)["triage"].set_index("ticket_id")
    assert list(table.index) == tickets["ticket_id"].tolist()  # the tickets keep their order
    assert "negative sentiment -0.90" in table.loc["T3", "urgency_reasons"]
    assert "sentiment" not in table.loc["T4", "urgency_reasons"]

"""A small warehouse with every canonical and derived table, three customers across two sources."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.schema import DERIVED_DDL, TABLES

KEY = "test-pseudonym-key-0123456789abcdef"

# Customer 1 (Zhang Wei) is in both sources; customer 2 (Li Na) and 3 (John Smith) in one each.
PEOPLE = [
    # source, key, id, name, email, phone, address, external_id, consent_marketing, consent_profiling
    (
        "crm",
        "C-1001",
        1,
        "张伟",
        "zhang.wei@example.cn",
        "+8613812345678",
        "北京市朝阳区建国路88号",
        "110105194912310021",
        True,
        True,
    ),
    ("shop", "S-77001", 1, "Zhang Wei", "zw.shop@example.com", "+8613812345678", None, None, False, True),
    (
        "crm",
        "C-1002",
        2,
        "李娜",
        "li.na@example.cn",
        "+8613900001111",
        "上海市浦东新区世纪大道100号",
        None,
        True,
        False,
    ),
    (
        "shop",
        "S-77002",
        3,
        "John Smith",
        "john.smith@example.com",
        "+14155552671",
        "221 Baker Street",
        None,
        None,
        True,
    ),
]


def build_warehouse(engine: DuckDBEngine) -> None:
    """Fill ``engine`` with the canonical tables (schema.py), the derived ones, and rows about three customers."""
    for table in TABLES.values():
        engine.execute(table.ddl())
    for ddl in DERIVED_DDL.values():
        engine.execute(ddl)
    engine.execute(
        "CREATE TABLE customer_360 (customer_id BIGINT, as_of DATE, recency_days DOUBLE, frequency DOUBLE, monetary DOUBLE)"
    )
    ts = pd.Timestamp("2024-03-01")
    src = pd.DataFrame(
        [
            {
                "customer_key": k,
                "name": n,
                "email": e,
                "phone": p,
                "address": a,
                "external_id": x,
                "city": "Beijing",
                "country": "cn",
                "consent_marketing": cm,
                "consent_profiling": cp,
                "source": s,
                "row_number": i,
                "attributes": json.dumps({"wechat": f"wx_{k.lower()}"}),
                "loaded_at": ts,
            }
            for i, (s, k, _, n, e, p, a, x, cm, cp) in enumerate(PEOPLE)
        ]
    )
    engine.write_table("source_customers", src, mode="append")
    links = pd.DataFrame(
        [
            {
                "source": s,
                "customer_key": k,
                "customer_id": cid,
                "match_probability": 0.99,
                "match_rule": "email",
            }
            for s, k, cid, *_ in PEOPLE
        ]
    )
    engine.write_table("customer_links", links, mode="append")
    golden = pd.DataFrame(
        [
            {"customer_id": 1, "name": "张伟", "email": "zhang.wei@example.cn", "phone": "+8613812345678",
             "consent_marketing": True, "consent_profiling": True, "n_sources": 2},
            {"customer_id": 2, "name": "李娜", "email": "li.na@example.cn", "phone": "+8613900001111",
             "consent_marketing": True, "consent_profiling": False, "n_sources": 1},
            {"customer_id": 3, "name": "John Smith", "email": "john.smith@example.com", "phone": "+14155552671",
             "consent_marketing": None, "consent_profiling": True, "n_sources": 1},
        ]
    )  # fmt: skip
    engine.write_table("customers", golden, mode="append")
    orders = []
    for s, k, cid, *_ in PEOPLE:
        for j in range(3):
            orders.append(
                {"order_id": f"O-{k}-{j}", "line_no": 1, "customer_key": k, "customer_id": cid, "ts": ts,
                 "product_id": f"P{j}", "quantity": 1.0, "amount": 10.0 * (j + 1), "source": s,
                 "attributes": json.dumps({"note": f"ship to {k}"})}
            )  # fmt: skip
    engine.write_table("orders", pd.DataFrame(orders), mode="append")
    events = [{"customer_key": k, "customer_id": cid, "ts": ts, "event_type": "view", "source": s}
              for s, k, cid, *_ in PEOPLE]  # fmt: skip
    engine.write_table("events", pd.DataFrame(events), mode="append")
    feedback = [
        {"feedback_id": "F1", "customer_key": "C-1001", "customer_id": 1, "ts": ts, "source": "crm",
         "text": "快递太慢了，请打13812345678联系我", "rating": 2.0},
        {"feedback_id": "F2", "customer_key": "C-1002", "customer_id": 2, "ts": ts, "source": "crm",
         "text": "很好，会再买", "rating": 5.0},
    ]  # fmt: skip
    engine.write_table("feedback", pd.DataFrame(feedback), mode="append")
    tickets = [
        {"ticket_id": "T1", "customer_key": "S-77001", "customer_id": 1, "ts": ts, "source": "shop",
         "subject": "refund", "body": "Please refund to zw.shop@example.com"},
        # another customer's ticket mentions customer 1's e-mail: it must be scrubbed, not deleted
        {"ticket_id": "T2", "customer_key": "S-77002", "customer_id": 3, "ts": ts, "source": "shop",
         "subject": "gift", "body": "Gift for my friend zhang.wei@example.cn, from John"},
    ]  # fmt: skip
    engine.write_table("tickets", pd.DataFrame(tickets), mode="append")
    contacts = [{"campaign_id": "spring", "customer_key": k, "customer_id": cid, "ts": ts, "treatment": 1,
                 "responded": 0, "revenue": 0.0, "source": s} for s, k, cid, *_ in PEOPLE]  # fmt: skip
    engine.write_table("campaign_contacts", pd.DataFrame(contacts), mode="append")
    engine.write_table(
        "customer_360",
        pd.DataFrame({"customer_id": [1, 2, 3], "as_of": [ts.date()] * 3, "recency_days": [3.0, 9.0, 30.0],
                      "frequency": [6.0, 3.0, 3.0], "monetary": [120.0, 60.0, 60.0]}),
        mode="append",
    )  # fmt: skip
    engine.write_table(
        "scores",
        pd.DataFrame({"customer_id": [1, 2, 3], "task": "churn", "model_version": "churn-v1", "score": [0.2, 0.5, 0.9],
                      "label": ["stay", "stay", "churn"], "reasons": ["{}"] * 3, "scored_at": [ts] * 3}),
        mode="append",
    )  # fmt: skip
    engine.write_table(
        "segments",
        pd.DataFrame({"customer_id": [1, 2, 3], "segmentation": "rfm", "segment": ["a", "b", "b"],
                      "segment_name": ["champions", "loyal", "loyal"]}),
        mode="append",
    )  # fmt: skip
    engine.write_table(
        "recommendations",
        pd.DataFrame({"customer_id": [1, 1, 3], "rank": [1, 2, 1], "product_id": ["P1", "P2", "P1"],
                      "score": [0.9, 0.8, 0.7], "reason": ["bought P0", "bought P0", "popular"]}),
        mode="append",
    )  # fmt: skip


@pytest.fixture
def warehouse(engine: DuckDBEngine) -> DuckDBEngine:
    build_warehouse(engine)
    return engine


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("CRMLENS_PSEUDONYM_KEY_FILE", raising=False)
    return KEY

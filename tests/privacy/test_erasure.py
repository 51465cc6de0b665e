"""Erasure leaves no trace of the customer anywhere; export returns everything held about them."""

from __future__ import annotations

import json

import pytest

from crmlens.exceptions import ValidationError
from crmlens.privacy import AuditLog, erase_customer, export_customer, find_subject, pseudonymise_columns

from .conftest import KEY, PEOPLE

ERASED_ID = 1


def _identifiers(customer_id: int) -> set[str]:
    values: set[str] = set()
    for _source, key, cid, name, email, phone, address, external_id, *_ in PEOPLE:
        if cid == customer_id:
            values |= {v for v in (key, name, email, phone, address, external_id) if v}
    return values


def _traces(engine, customer_id: int, identifiers: set[str]) -> list[str]:
    """Every cell of every table that equals or contains one of the identifiers, or the customer_id."""
    found = []
    for table in engine.tables():
        frame = engine.table(table).to_pandas()
        for column in frame.columns:
            for value in frame[column].dropna():
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if column == "customer_id" and int(value) == customer_id:
                    found.append(f"{table}.{column}={value}")
                hits = [v for v in identifiers if v in text]
                if hits:
                    found.append(f"{table}.{column} holds {hits}")
    return found


def test_erase_leaves_no_trace(warehouse, tmp_path) -> None:
    ids = _identifiers(ERASED_ID)
    assert len(_traces(warehouse, ERASED_ID, ids)) > 20  # the search does find them before
    other_before = warehouse.query("SELECT count(*) FROM orders WHERE customer_id <> 1").scalar()
    receipt = erase_customer(warehouse, ERASED_ID, receipt_path=tmp_path / "receipt.json")
    assert _traces(warehouse, ERASED_ID, ids) == []
    # the other customers are untouched, except that customer 3's ticket no longer names customer 1
    assert warehouse.query("SELECT count(*) FROM orders WHERE customer_id <> 1").scalar() == other_before
    assert (
        warehouse.query("SELECT body FROM tickets WHERE ticket_id = 'T2'").scalar()
        == "Gift for my friend [erased], from John"
    )
    assert receipt["tables"]["orders"] == {"deleted": 6} and receipt["text_cells_scrubbed"] == {"tickets": 1}
    assert receipt["retrain"] == [{"task": "churn", "model_version": "churn-v1"}]
    assert warehouse.query("SELECT count(*) FROM retrain_queue WHERE task = 'churn'").scalar() == 1
    assert json.loads((tmp_path / "receipt.json").read_text())["digest"] == receipt["digest"]
    log = AuditLog(warehouse)
    assert log.verify().ok and log.entries()[-1]["action"] == "privacy.erase"


def test_erase_by_source_key_and_pseudonymised_vault(warehouse, pseudonym_key) -> None:
    for table, cols in {"source_customers": ["customer_key", "email", "phone", "name", "address", "external_id"],
                        "customer_links": ["customer_key"], "orders": ["customer_key"], "events": ["customer_key"],
                        "feedback": ["customer_key"], "tickets": ["customer_key"],
                        "campaign_contacts": ["customer_key"]}.items():  # fmt: skip
        pseudonymise_columns(warehouse, table, cols, KEY, vault_key="vault-key-for-tests")
    with pytest.raises(ValidationError, match="not found"):
        find_subject(warehouse, "pz_" + "0" * 32, source="nowhere")
    from crmlens.privacy import Tokenizer

    before = warehouse.count("pii_vault")
    receipt = erase_customer(warehouse, "S-77001", source="shop")  # the clear key, looked up by its token
    assert receipt["subject_ref"] is not None  # keyed reference, not the id, goes to the audit log
    tokens = {Tokenizer(KEY).token(v) for v in _identifiers(ERASED_ID)}
    assert _traces(warehouse, ERASED_ID, tokens | _identifiers(ERASED_ID)) == []
    assert warehouse.count("pii_vault") < before


def test_anonymise_keeps_revenue(warehouse) -> None:
    total = warehouse.query("SELECT sum(amount) FROM orders").scalar()
    erase_customer(warehouse, ERASED_ID, mode="anonymise")
    assert warehouse.query("SELECT sum(amount) FROM orders").scalar() == total
    assert _traces(warehouse, ERASED_ID, _identifiers(ERASED_ID)) == []


def test_export_has_everything_about_one_customer(warehouse) -> None:
    data = export_customer(warehouse, 2)
    assert data["customer_id"] == 2
    assert {"customers", "source_customers", "orders", "feedback", "scores", "segments"} <= set(
        data["tables"]
    )
    assert all(r.get("customer_id", 2) == 2 for rows in data["tables"].values() for r in rows)
    assert len(data["tables"]["orders"]) == 3


def test_unknown_customer(warehouse) -> None:
    with pytest.raises(ValidationError, match="not a customer_id"):
        erase_customer(warehouse, "alice")
    with pytest.raises(ValidationError, match="not found"):
        erase_customer(warehouse, 99)
    with pytest.raises(ValidationError, match="mode"):
        erase_customer(warehouse, 1, mode="shred")


def test_component_erase_export_and_audit(warehouse, tmp_path) -> None:
    from crmlens.privacy import PrivacyComponent

    privacy = PrivacyComponent(warehouse, audit_head=tmp_path / "head", actor="dpo")
    assert len(privacy.export(3)["tables"]["orders"]) == 3
    privacy.erase(3, receipt_path=tmp_path / "r.json")
    assert _traces(warehouse, 3, _identifiers(3)) == []
    result = privacy.verify_audit()
    assert result.ok and result.entries == 2
    assert [e["actor"] for e in privacy.audit.entries()] == ["dpo", "dpo"]
    assert privacy.consented("profiling")["customer_id"].tolist() == [1]


def test_unresolved_rows_keyed_by_another_source(warehouse) -> None:
    """Before identity runs, an orders file keyed by the CRM's customer numbers is erased with the customer;
    rows already resolved to someone else are never touched."""
    warehouse.execute(
        """INSERT INTO orders (order_id, line_no, customer_key, customer_id, ts, amount, source) VALUES
           ('X1', 1, 'C-1002', NULL, TIMESTAMP '2024-03-02', 5.0, 'orders_file'),
           ('X2', 1, 'C-1002', 3, TIMESTAMP '2024-03-02', 7.0, 'orders_file')"""
    )
    receipt = erase_customer(warehouse, "C-1002", source="crm")
    assert receipt["tables"]["orders"] == {"deleted": 4}  # its 3 orders and the unresolved X1
    assert warehouse.query("SELECT order_id FROM orders WHERE customer_key = 'C-1002'").scalar() == "X2"

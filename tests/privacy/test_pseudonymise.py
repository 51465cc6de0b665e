"""Pseudonymisation: real HMAC, joins survive, idempotent, transactional, key handling, vault, minimisation."""

from __future__ import annotations

import hmac

import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.privacy import Tokenizer, load_key, pseudonymise_columns, reveal, select_columns

from .conftest import KEY


def test_token_is_rfc2104_hmac_sha256() -> None:
    tok = Tokenizer(KEY)
    for value in ["alice@example.com", "张伟", "+8613812345678", ""]:
        expected = hmac.new(KEY.encode(), value.encode(), "sha256").hexdigest()[:32]
        assert tok.token(value) == "pz_" + expected
    long_key = "k" * 100  # keys longer than the block are hashed first, as RFC 2104 says
    assert (
        Tokenizer(long_key).token("x") == "pz_" + hmac.new(long_key.encode(), b"x", "sha256").hexdigest()[:32]
    )
    assert Tokenizer(KEY).token("x") != Tokenizer(KEY + "!").token("x")


def test_joins_survive_and_values_are_gone(engine) -> None:
    engine.write_table(
        "customers_stage", pd.DataFrame({"customer_key": ["a@x.com", "b@x.com", None], "n": [1, 2, 3]})
    )
    engine.write_table(
        "orders_stage", pd.DataFrame({"customer_key": ["a@x.com", "a@x.com", "b@x.com"], "amt": [1, 2, 3]})
    )
    before = engine.query(
        "SELECT c.n, sum(o.amt) s FROM customers_stage c JOIN orders_stage o USING (customer_key) GROUP BY 1 ORDER BY 1"
    ).to_pandas()
    pseudonymise_columns(engine, "customers_stage", ["customer_key"], KEY)
    pseudonymise_columns(engine, "orders_stage", ["customer_key"], KEY)
    after = engine.query(
        "SELECT c.n, sum(o.amt) s FROM customers_stage c JOIN orders_stage o USING (customer_key) GROUP BY 1 ORDER BY 1"
    ).to_pandas()
    pd.testing.assert_frame_equal(before, after)
    keys = (
        engine.query("SELECT customer_key FROM customers_stage ORDER BY n")
        .to_pandas()["customer_key"]
        .tolist()
    )
    assert keys[0] == Tokenizer(KEY).token("a@x.com") and pd.isna(keys[2])
    snapshot = engine.table("orders_stage").to_pandas()
    pseudonymise_columns(engine, "orders_stage", ["customer_key"], KEY)  # twice changes nothing
    pd.testing.assert_frame_equal(snapshot, engine.table("orders_stage").to_pandas())


def test_runs_inside_the_load_transaction(engine) -> None:
    engine.write_table("stage", pd.DataFrame({"email": ["a@x.com"], "phone": ["+8613812345678"]}))
    with pytest.raises(ValidationError, match="no column 'nope'"):
        with engine.transaction():
            pseudonymise_columns(engine, "stage", ["email", "nope"], KEY)
    assert engine.table("stage").to_pandas()["email"].tolist() == ["a@x.com"]  # rolled back


def test_refuses_non_text_column(engine) -> None:
    engine.write_table("stage", pd.DataFrame({"phone": [8613812345678]}))
    with pytest.raises(ValidationError, match="VARCHAR"):
        pseudonymise_columns(engine, "stage", ["phone"], KEY)


def test_load_key_from_env_and_file(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CRMLENS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CRMLENS_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match="CRMLENS_PSEUDONYM_KEY"):
        load_key()
    assert load_key(required=False) is None
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY_FILE", str(key_file))
    assert load_key() == KEY.encode()
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        load_key()
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY_FILE", str(tmp_path / "missing.key"))
    monkeypatch.delenv("CRMLENS_PSEUDONYM_KEY")
    with pytest.raises(ConfigError, match="no such key file"):
        load_key()


def test_vault_keeps_clear_values_encrypted(engine) -> None:
    engine.write_table("stage", pd.DataFrame({"email": ["a@x.com", "b@x.com", "a@x.com"]}))
    pseudonymise_columns(engine, "stage", ["email"], KEY, vault_key="vault-key-for-tests")
    pseudonymise_columns(engine, "stage", ["email"], KEY, vault_key="vault-key-for-tests")
    vault = engine.table("pii_vault").to_pandas()
    assert len(vault) == 2 and not any(b"@x.com" in bytes(v) for v in vault["value_enc"])
    token = Tokenizer(KEY).token("b@x.com")
    assert reveal(engine, token, "vault-key-for-tests") == "b@x.com"
    with pytest.raises(ValidationError, match="wrong key"):
        reveal(engine, token, "another-key")


def test_minimisation_refuses_clear_pii(engine) -> None:
    engine.write_table("f", pd.DataFrame({"email": ["a@x.com"], "spend": [1.0], "product_name": ["tea"]}))
    with pytest.raises(ValidationError, match=r"f\.email holds 1 clear email"):
        select_columns(engine, "f", ["email", "spend"])
    assert list(select_columns(engine, "f", ["spend", "product_name"]).to_pandas().columns) == [
        "spend",
        "product_name",
    ]
    pseudonymise_columns(engine, "f", ["email"], KEY)
    assert len(select_columns(engine, "f", ["email", "spend"]).to_pandas()) == 1


def test_protect_staged_like_the_loader(warehouse) -> None:
    """Each staged canonical table protected in its load transaction: joins hold, text is scrubbed."""
    from crmlens.privacy import protect_staged, scan_table

    before = warehouse.query(
        "SELECT s.email IS NOT NULL AS has_email, count(*) AS n FROM orders o JOIN source_customers s "
        "USING (source, customer_key) GROUP BY 1 ORDER BY 1"
    ).to_pandas()
    done = {}
    with warehouse.transaction():
        for table in ("source_customers", "orders", "events", "feedback", "tickets", "campaign_contacts"):
            done[table] = protect_staged(warehouse, table, table, KEY)
    after = warehouse.query(
        "SELECT s.email IS NOT NULL AS has_email, count(*) AS n FROM orders o JOIN source_customers s "
        "USING (source, customer_key) GROUP BY 1 ORDER BY 1"
    ).to_pandas()
    pd.testing.assert_frame_equal(before, after)
    assert done["tickets"] == {"pseudonymised": ["customer_key"], "scrubbed_columns": ["subject", "body"],
                               "scrubbed_cells": 2}  # fmt: skip
    assert (
        warehouse.query("SELECT text FROM feedback WHERE feedback_id = 'F1'").scalar()
        == "快递太慢了，请打<PHONE>联系我"
    )
    for table in ("source_customers", "tickets", "feedback"):
        flagged = [r["column"] for r in scan_table(warehouse, table) if r["verdict"] == "pii"]
        assert flagged == [], (table, flagged)


def test_temp_staging_tables_and_quarantine_json(engine) -> None:
    """The loader stages in TEMP tables and keeps rejected rows as JSON: both are protected."""
    from crmlens.privacy import protect_staged, scrub_columns

    engine.execute(
        "CREATE TEMP TABLE __clean AS SELECT 'C-9' AS customer_key, 'a@x.com' AS email, '电话13812345678' AS name"
    )
    done = protect_staged(engine, "__clean", "source_customers", KEY)
    assert done["pseudonymised"] == ["customer_key", "name", "email"]
    assert engine.query("SELECT email FROM __clean").scalar() == Tokenizer(KEY).token("a@x.com")
    engine.execute("CREATE TABLE quarantine (load_id VARCHAR, raw JSON)")
    engine.execute(
        """INSERT INTO quarantine VALUES ('L1', '{"email": "bad@x.com", "phone": "13812345678"}'),
           ('L0', '{"email": "old@x.com"}')"""
    )
    assert scrub_columns(engine, "quarantine", ["raw"], where="load_id = 'L1'") == 1
    rows = dict(
        engine.query("SELECT load_id, raw::VARCHAR AS raw FROM quarantine").to_pandas().values.tolist()
    )
    assert rows == {"L1": '{"email": "<EMAIL>", "phone": "<PHONE>"}', "L0": '{"email": "old@x.com"}'}

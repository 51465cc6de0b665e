"""A pseudonymised project end to end: clear identifiers only in the encrypted vault, joins intact,
rejected rows protected, identity reads clear values through the one declared door."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.identity import explain_record
from crmlens.privacy import AuditLog, Tokenizer, reveal
from crmlens.privacy.keys import provision_keys
from crmlens.privacy.minimise import TASKS, reveal_for_task
from crmlens.workspace import open_workspace

CUSTOMERS = """customer_key,name,email,phone,address,birth_date,consent_marketing,consent_profiling
C-1,王建国,wang.jianguo@example.cn,13812345678,北京市朝阳区建国路88号,1980-01-02,1,1
C-2,李秀英,li.xiuying@example.cn,13900001111,上海市浦东新区世纪大道100号,1975-05-06,0,1
C-3,Margaret Thornton,not-an-email,+44 20 7946 0958,221 Baker Street,1990-02-03,1,0
C-4,Zhou Hui,zhou.hui@example.com,13700002222,,1990-02-30,1,1
"""
MEMBERS = """member_id,full_name,e_mail,mobile
M-77,Wang Jianguo,wang.jianguo@example.cn,138-1234-5678
"""
ORDERS = """order_id,customer_key,ts,amount
A1,C-1,2024-01-02 10:00,12
A2,C-2,2024-01-03 10:00,5
A3,C-2,yesterday,5
A4,C-1,2024-01-04 10:00,7,C-1 wang.jianguo@example.cn
"""
PROJECT = """warehouse: crmlens.duckdb
sources:
  - {name: crm, kind: csv, path: customers.csv, entity: customers}
  - name: shop
    kind: csv
    path: members.csv
    entity: customers
    columns: {member_id: customer_key, full_name: name, e_mail: email, mobile: phone}
  - {name: orders, kind: csv, path: orders.csv, entity: orders}
"""
CLEAR = ["王建国", "wang.jianguo@example.cn", "13812345678", "北京市朝阳区建国路88号", "李秀英", "li.xiuying",
         "13900001111", "Margaret Thornton", "not-an-email", "7946 0958", "Baker Street", "C-1", "C-2", "M-77",
         "Wang Jianguo", "Zhou Hui", "zhou.hui", "13700002222", "C-4"]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CRMLENS_PSEUDONYM_KEY",
        "CRMLENS_PSEUDONYM_KEY_FILE",
        "CRMLENS_VAULT_KEY",
        "CRMLENS_VAULT_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, text in (("customers.csv", CUSTOMERS), ("members.csv", MEMBERS), ("orders.csv", ORDERS)):
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "crmlens.yaml").write_text(PROJECT, encoding="utf-8")
    provision_keys(folder / "crmlens.yaml")
    return folder


def _every_text(engine, skip: tuple[str, ...] = ("pii_vault",)) -> dict[str, str]:
    out = {}
    for table in engine.tables():
        if table in skip:
            continue
        frame = engine.query(f'SELECT * FROM "{table}"').to_pandas()
        out[table] = frame.astype(str).to_csv(index=False)
    return out


def test_clear_identifiers_only_in_the_vault(project: Path) -> None:
    with open_workspace(project) as ws:
        results = ws.ingest()
        assert sum(r.rows_quarantined for r in results) == 3  # bad birth date, bad ts, ragged line
        texts = _every_text(ws.engine)
        leaks = [(t, v) for t, text in texts.items() for v in CLEAR if v in text]
        assert leaks == []
        vault_key = ws.keys.vault
        token = Tokenizer(ws.keys.pseudonym).token("li.xiuying@example.cn")
        assert reveal(ws.engine, token, vault_key) == "li.xiuying@example.cn"
        # joins survive: every order's key is a customer's key
        orphans = ws.engine.query(
            "SELECT count(*) FROM orders o ANTI JOIN source_customers s USING (customer_key)"
        ).scalar()
        assert orphans == 0
        # the malformed line is sealed whole in the vault; the invalid e-mail kept aside is a token
        line = ws.engine.query(
            "SELECT json_extract_string(raw, '$.line') FROM quarantine WHERE reason LIKE 'malformed%'"
        ).scalar()
        assert line.startswith("pz_") and "wang.jianguo@example.cn" in reveal(ws.engine, line, vault_key)
        invalid = ws.engine.query(
            "SELECT json_extract_string(attributes, '$._invalid_email') FROM source_customers "
            "WHERE json_extract_string(attributes, '$._invalid_email') IS NOT NULL"
        ).to_pandas()
        assert len(invalid) == 1 and reveal(ws.engine, invalid.iloc[0, 0], vault_key) == "not-an-email"


def test_identity_matches_on_clear_values_and_writes_tokens(project: Path) -> None:
    with open_workspace(project) as ws:
        ws.ingest()
        summary = ws.build()
        assert summary["identity"]["clear_values_from_vault"] > 0
        links = ws.engine.table("customer_links").to_pandas()
        by_key = dict(zip(links["customer_key"], links["customer_id"], strict=True))
        tok = Tokenizer(ws.keys.pseudonym).token
        assert (
            by_key[tok("C-1")] == by_key[tok("M-77")]
        )  # Wang Jianguo in both sources, e-mail and phone agree
        golden = ws.engine.query("SELECT name, email, phone, address FROM customers").to_pandas()
        values = golden.stack().dropna()
        assert len(values) > 10 and values.str.startswith("pz_").all()
        reads = [e for e in AuditLog(ws.engine).entries() if e["action"] == "pii.reveal"]
        assert reads and reads[-1]["actor"] == "identity"
        assert ws.privacy.verify_audit().ok
        texts = _every_text(ws.engine)
        assert [(t, v) for t, text in texts.items() for v in CLEAR if v in text] == []
        # an analyst asks about the clear key they know; the warehouse answers for its token
        explained = explain_record(ws.engine, "crm:C-1", other="shop:M-77", pseudonym_key=ws.keys.pseudonym)
        assert explained["record"] == f"crm:{tok('C-1')}" and explained["pairs"][0]["same_customer"]


def test_only_identity_may_read_clear_values(project: Path) -> None:
    with open_workspace(project) as ws:
        ws.ingest()
        records = ws.engine.query("SELECT customer_key, name, email FROM source_customers").to_pandas()
        with pytest.raises(ValidationError, match="task 'churn' may not read clear name"):
            reveal_for_task(ws.engine, records, ["name"], ws.keys.vault, "churn")
        with pytest.raises(ValidationError, match="may not read clear customer_key"):
            reveal_for_task(ws.engine, records, ["customer_key"], ws.keys.vault, "identity")
        clear, n = reveal_for_task(ws.engine, records, ["name", "email"], ws.keys.vault, "identity")
        assert n >= 5 and "王建国" in set(clear["name"]) and records["name"].str.startswith("pz_").all()
        assert set(TASKS["identity"].clear_pii) >= {"name", "email", "phone", "address"}
        assert not any(scope.clear_pii for task, scope in TASKS.items() if task != "identity")
        from crmlens.identity import resolve_identities

        with pytest.raises(ConfigError, match="holds pseudonymised"):
            resolve_identities(ws.engine)  # tokens and no vault key: refused, not silently exact
        exact = resolve_identities(ws.engine, match_tokens=True)
        assert exact["clear_values_from_vault"] == 0


def test_another_key_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_workspace(project) as ws:
        ws.ingest(["crm"])
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY", "a-different-key-0123456789")
    with open_workspace(project) as ws, pytest.raises(ConfigError, match="loaded with another key"):
        ws.ingest(["orders"])


def test_without_pseudonymisation_nothing_changes(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "crmlens.yaml").write_text(
        "sources:\n  - {name: crm, kind: csv, path: customers.csv, entity: customers}\n", encoding="utf-8"
    )
    with open_workspace(folder) as ws:
        ws.ingest()
        names = set(ws.engine.query("SELECT name FROM source_customers").to_pandas()["name"])
        assert "王建国" in names and not ws.engine.has_table("pii_vault")
        assert ws.keys.pseudonym is None


def test_erasure_by_clear_source_key_empties_the_vault_of_them(project: Path) -> None:
    from crmlens.privacy import reveal_many

    with open_workspace(project) as ws:
        ws.ingest()
        ws.build()
        receipt = ws.privacy.erase("C-1", source="crm")
        assert receipt["tables"]["pii_vault"]["deleted"] >= 4
        tokens = ws.engine.query("SELECT token FROM pii_vault").to_pandas()["token"]
        left = set(reveal_many(ws.engine, tokens, ws.keys.vault).values())
        theirs = ("王建国", "wang.jianguo@example.cn", "13812345678", "C-1", "M-77", "Wang Jianguo")
        assert [v for v in left if any(t in v for t in theirs)] == []
        assert "李秀英" in left  # other customers' values stay
        line = ws.engine.query(
            "SELECT json_extract_string(raw, '$.line') FROM quarantine WHERE reason LIKE 'malformed%'"
        ).scalar()
        assert line == "[erased]"  # their rejected order line, sealed whole, went with them

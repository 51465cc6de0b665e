"""The privacy and audit commands, end to end on a warehouse file."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from crmlens.cli import app
from crmlens.engine import DuckDBEngine
from crmlens.privacy import decrypt_file

from .conftest import build_warehouse

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "crmlens.duckdb"
    with DuckDBEngine(path) as engine:
        build_warehouse(engine)
    return path


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_scan_and_report(db) -> None:
    out = _json(runner.invoke(app, ["privacy", "scan", "--db", str(db), "--json"]))
    flagged = {(c["table"], c["column"]) for c in out["columns"] if c["verdict"] == "pii"}
    assert {("source_customers", "email"), ("tickets", "body"), ("feedback", "text")} <= flagged
    assert ("products", "name") not in flagged and ("orders", "amount") not in flagged
    report = _json(runner.invoke(app, ["privacy", "report", "--db", str(db), "--json"]))
    assert report["metrics"]["consent_marketing_allowed"] == 1
    assert report["metrics"]["warehouse_encrypted"] is False
    assert any("tickets.body" in f and "scrub" in f for f in report["findings"])


def test_scan_file(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("id,contact,score\n1,call 13812345678,0.3\n2,zhang@qq.com,0.5\n3,-,0.1\n")
    out = _json(runner.invoke(app, ["privacy", "scan", str(path), "--json"]))
    verdicts = {c["column"]: c["verdict"] for c in out["columns"]}
    assert verdicts == {"id": "clean", "contact": "pii", "score": "clean"}


def test_erase_export_and_audit_verify(db, tmp_path) -> None:
    export = _json(runner.invoke(app, ["privacy", "export", "1", "--db", str(db), "--out", str(tmp_path / "c1.json"),
                                       "--json"]))  # fmt: skip
    assert export["metrics"]["rows"] > 10
    held = json.loads((tmp_path / "c1.json").read_text())
    assert held["tables"]["customers"][0]["email"] == "zhang.wei@example.cn"
    erased = _json(runner.invoke(app, ["privacy", "erase", "1", "--db", str(db), "--receipt",
                                       str(tmp_path / "r.json"), "--json"]))  # fmt: skip
    assert erased["metrics"]["rows_erased"] == 22 and (tmp_path / "r.json").exists()
    again = runner.invoke(app, ["privacy", "export", "1", "--db", str(db), "--out", str(tmp_path / "x.json")])
    assert again.exit_code != 0 and "not found" in str(again.exception)
    verified = _json(runner.invoke(app, ["audit", "verify", "--db", str(db), "--json"]))
    assert verified["ok"] and verified["entries"] == 2
    con = duckdb.connect(str(db))
    con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    con.close()
    tampered = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert tampered.exit_code != 0 and "tampered" in str(tampered.exception)


def test_encrypted_export(db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRMLENS_EXPORT_PASSPHRASE", "export-passphrase-for-tests")
    out = tmp_path / "c2.enc"
    _json(
        runner.invoke(
            app, ["privacy", "export", "2", "--db", str(db), "--out", str(out), "--encrypt", "--json"]
        )
    )
    assert b"li.na@example.cn" not in out.read_bytes()
    clear = decrypt_file(out, tmp_path / "c2.json", "export-passphrase-for-tests")
    assert "li.na@example.cn" in clear.read_text()
    monkeypatch.delenv("CRMLENS_EXPORT_PASSPHRASE")
    result = runner.invoke(app, ["privacy", "export", "2", "--db", str(db), "--out", str(out), "--encrypt"])
    assert result.exit_code != 0 and "CRMLENS_EXPORT_PASSPHRASE" in str(result.exception)


def test_missing_warehouse(tmp_path) -> None:
    result = runner.invoke(app, ["privacy", "report", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code != 0 and "not found" in str(result.exception)

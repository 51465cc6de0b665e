"""The audit chain detects an edited, deleted, inserted or cut-off entry."""

from __future__ import annotations

import json

import pytest

from crmlens.privacy import AuditLog, verify_file


@pytest.fixture
def log(engine, tmp_path) -> AuditLog:
    audit = AuditLog(engine, key="audit-key-for-tests", head_path=tmp_path / "audit.head")
    for i in range(6):
        audit.append(
            f"user{i % 2}",
            "churn.read",
            target=f"segment:{i}",
            purpose="campaign planning",
            details={"rows": i},
        )
    return audit


def test_intact_chain_verifies(log) -> None:
    result = log.verify()
    assert result.ok and result.entries == 6 and result.head["seq"] == 6


def test_edited_entry_detected(log, engine) -> None:
    engine.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and "altered" in result.reason


def test_edited_details_detected(log, engine) -> None:
    engine.execute("""UPDATE audit_log SET details = '{"rows": 99}' WHERE seq = 5""")
    assert log.verify().first_bad_seq == 5


def test_deleted_entry_detected(log, engine) -> None:
    engine.execute("DELETE FROM audit_log WHERE seq = 2")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2


def test_rewritten_chain_without_key_detected(log, engine) -> None:
    # an attacker deletes entry 4 and renumbers/rehashes the rest without the key: still caught
    engine.execute("DELETE FROM audit_log WHERE seq = 4")
    engine.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 4")
    assert not log.verify().ok


def test_cut_off_tail_detected_by_head(log, engine) -> None:
    engine.execute("DELETE FROM audit_log WHERE seq = 6")
    result = log.verify()
    assert not result.ok and "head" in result.reason


def test_wrong_key_fails(log, engine) -> None:
    assert not AuditLog(engine, key="another-key").verify().ok


def test_exported_file_verifies_and_detects_tampering(log, tmp_path) -> None:
    path = log.export(tmp_path / "audit.jsonl")
    assert verify_file(path, key="audit-key-for-tests").ok
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["purpose"] = "nothing to see"
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    assert verify_file(path, key="audit-key-for-tests").first_bad_seq == 2

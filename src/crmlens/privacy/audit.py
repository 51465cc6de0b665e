"""Append-only, hash-chained audit log: who read or changed what, and why.

Each entry stores the hash of the one before it and its own hash over (previous hash, entry);
editing, deleting, inserting or reordering an entry breaks the chain at that entry, and
:meth:`AuditLog.verify` says where. With a key (``CRMLENS_AUDIT_KEY``) the hashes are HMACs, so
someone with write access to the warehouse but not the key cannot rebuild a valid chain after an
edit. Cutting entries off the end leaves a valid shorter chain; the head file (last sequence
number and hash, written on every append) catches that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmlens.engine.base import Engine

__all__ = ["AUDIT_KEY_ENV", "AUDIT_TABLE", "AuditLog", "VerifyResult", "verify_entries", "verify_file"]

AUDIT_TABLE = "audit_log"
AUDIT_KEY_ENV = "CRMLENS_AUDIT_KEY"
GENESIS = "0" * 64
_FIELDS = ("seq", "ts", "actor", "action", "target", "purpose", "details")


@dataclass
class VerifyResult:
    """Outcome of a chain check: ``ok``, entries checked, and the first broken entry with the reason."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""
    head: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "head": self.head,
        }


def _key(key: bytes | str | None) -> bytes | None:
    if key is None:
        env = os.environ.get(AUDIT_KEY_ENV)
        return env.encode() if env else None
    return key.encode() if isinstance(key, str) else key


def _digest(prev_hash: str, entry: dict[str, Any], key: bytes | None) -> str:
    body = json.dumps([entry[f] for f in _FIELDS], ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    message = (prev_hash + "\n" + body).encode("utf-8")
    if key:
        return hmac.new(key, message, "sha256").hexdigest()
    return hashlib.sha256(message).hexdigest()


def verify_entries(
    entries: list[dict[str, Any]], key: bytes | str | None = None, head: dict[str, Any] | None = None
) -> VerifyResult:
    """Check a chain given as dicts in sequence order (from the table or an exported file)."""
    secret = _key(key)
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected_seq:
            return VerifyResult(
                False, len(entries), expected_seq, f"entry {expected_seq} is missing or out of order"
            )
        if entry["prev_hash"] != prev:
            return VerifyResult(False, len(entries), seq, f"entry {seq} does not follow entry {seq - 1}")
        if _digest(prev, entry, secret) != entry["hash"]:
            return VerifyResult(False, len(entries), seq, f"entry {seq} was altered (hash mismatch)")
        prev = entry["hash"]
        expected_seq += 1
    last: dict[str, Any] = {"seq": expected_seq - 1, "hash": prev}
    if head and (int(head.get("seq", 0)) != last["seq"] or head.get("hash") != last["hash"]):
        return VerifyResult(
            False,
            len(entries),
            int(last["seq"]) + 1,
            f"log ends at entry {last['seq']} but the head says {head.get('seq')}",
            last,
        )
    return VerifyResult(True, len(entries), None, "", last)


class AuditLog:
    """The audit log of one warehouse; ``head_path`` (optional) keeps the last hash outside it."""

    def __init__(
        self, engine: Engine, key: bytes | str | None = None, head_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.engine = engine
        self.key = _key(key)
        self.head_path = Path(head_path) if head_path else None
        if not engine.has_table(AUDIT_TABLE):  # read-only warehouses can still be verified
            engine.execute(
                f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (seq BIGINT, ts VARCHAR, actor VARCHAR, action VARCHAR, "
                "target VARCHAR, purpose VARCHAR, details VARCHAR, prev_hash VARCHAR, hash VARCHAR)"
            )

    def append(
        self,
        actor: str,
        action: str,
        target: str = "",
        purpose: str = "",
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add one entry and return it. Never put a clear identifier in ``target`` or ``details``."""
        last = self.engine.query(f"SELECT seq, hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1").to_pandas()
        seq, prev = (1, GENESIS) if last.empty else (int(last.iat[0, 0]) + 1, str(last.iat[0, 1]))
        entry = {
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target": target,
            "purpose": purpose,
            "details": json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
        }
        entry["prev_hash"] = prev
        entry["hash"] = _digest(prev, entry, self.key)
        self.engine.execute(
            f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [entry[f] for f in (*_FIELDS, "prev_hash", "hash")],
        )
        if self.head_path:
            self.head_path.write_text(
                json.dumps({"seq": seq, "hash": entry["hash"]}) + "\n", encoding="utf-8"
            )
        return entry

    def entries(self) -> list[dict[str, Any]]:
        frame = self.engine.query(f"SELECT * FROM {AUDIT_TABLE} ORDER BY seq").to_pandas()
        return [
            {k: (int(v) if k == "seq" else v) for k, v in row.items()} for row in frame.to_dict("records")
        ]

    def verify(self) -> VerifyResult:
        """Check the whole chain, and the head file when there is one."""
        head = None
        if self.head_path and self.head_path.exists():
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
        return verify_entries(self.entries(), self.key, head)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the log as JSON lines; :func:`verify_file` checks the copy on its own."""
        out = Path(path)
        with out.open("w", encoding="utf-8") as fh:
            for entry in self.entries():
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return out


def verify_file(path: str | os.PathLike[str], key: bytes | str | None = None) -> VerifyResult:
    """Check an exported log file (JSON lines)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return verify_entries([json.loads(line) for line in lines if line.strip()], key)

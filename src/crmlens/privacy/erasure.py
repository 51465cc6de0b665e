"""Right to erasure and right of access, over every table of the warehouse.

A customer is found by ``customer_id`` and by every source key linked to it
(``customer_links``), and by the unique identifiers held for it (e-mail, phone, external id,
their tokens). Erasure deletes the rows that are about the customer (or, with
``mode="anonymise"``, keeps fact rows such as orders for the books with every identifying column
emptied), removes their vault entries, replaces any remaining mention of their identifiers in
other rows' text with ``[erased]``, queues the models that scored them for retraining, and writes
a receipt. All of it is one transaction: it happens completely or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmlens.engine.base import Engine
from crmlens.exceptions import ValidationError
from crmlens.privacy.audit import AUDIT_TABLE, AuditLog
from crmlens.privacy.crypto import Sealer
from crmlens.privacy.pii import is_token
from crmlens.privacy.pseudonymise import VAULT_TABLE, Tokenizer, load_key, reveal_many

__all__ = ["RETRAIN_TABLE", "Subject", "erase_customer", "export_customer", "find_subject"]

RETRAIN_TABLE = "retrain_queue"
ERASED = "[erased]"
# Columns whose values single one person out; a row holding one of the subject's values is theirs.
_UNIQUE_COLUMNS = ("email", "phone", "external_id", "id_number", "passport", "card_number")
# Tables that are about one customer as a whole: rows go, whatever the mode.
_PERSON_TABLES = (
    "customers",
    "source_customers",
    "customer_links",
    "customer_360",
    "scores",
    "segments",
    "recommendations",
)
_TEXT_TYPES = ("VARCHAR", "JSON")
_MIN_SCRUB_LEN = 4  # shorter values (e.g. key "17") would corrupt other text


@dataclass
class Subject:
    """Everything that identifies one customer in the warehouse."""

    customer_id: int | None
    keys: list[tuple[str, str]] = field(default_factory=list)  # (source, customer_key)
    values: set[str] = field(default_factory=set)  # clear identifiers and tokens

    @property
    def key_values(self) -> list[str]:
        return sorted({k for _, k in self.keys})


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_types(engine: Engine, table: str) -> dict[str, str]:
    frame = engine.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND table_catalog = current_database() ORDER BY ordinal_position",
        [table],
    ).to_pandas()
    return dict(zip(frame["column_name"], frame["data_type"].astype(str).str.upper(), strict=True))


def _key_known(engine: Engine, tables: set[str], source: str, key: str) -> bool:
    for table in ("customer_links", "source_customers"):
        if table in tables:
            hit = engine.query(
                f"SELECT 1 FROM {table} WHERE source = ? AND customer_key = ? LIMIT 1", [source, key]
            ).scalar()
            if hit:
                return True
    return False


def find_subject(
    engine: Engine, customer: str | int, source: str | None = None, pseudonym_key: bytes | str | None = None
) -> Subject:
    """Resolve a customer id (or, with ``source``, that source's customer key) to everything identifying them.

    ``pseudonym_key`` (default: from the environment) finds a clear source key in a pseudonymised warehouse.
    """
    tables = set(engine.tables())
    customer_id: int | None = None
    keys: set[tuple[str, str]] = set()
    if source is not None:
        key_value = str(customer)
        secret = pseudonym_key if pseudonym_key is not None else load_key(required=False)
        if secret is not None and not is_token(key_value):
            # the warehouse holds tokens: a clear source key given by the requester is looked up by its token
            token = Tokenizer(secret).token(key_value)
            if _key_known(engine, tables, source, token):
                key_value = token
        keys.add((source, key_value))
        if "customer_links" in tables:
            found = engine.query(
                "SELECT customer_id FROM customer_links WHERE source = ? AND customer_key = ? AND customer_id IS NOT NULL",
                [source, key_value],
            ).scalar()
            customer_id = None if found is None else int(found)
    else:
        try:
            customer_id = int(customer)
        except (TypeError, ValueError):
            raise ValidationError(
                f"erasure: {customer!r} is not a customer_id; pass --source SOURCE to erase by a source's customer key"
            ) from None
    if customer_id is not None and "customer_links" in tables:
        links = engine.query(
            "SELECT source, customer_key FROM customer_links WHERE customer_id = ?", [customer_id]
        ).to_pandas()
        keys |= {(str(s), str(k)) for s, k in zip(links["source"], links["customer_key"], strict=True)}
    values: set[str] = {k for _, k in keys}
    frames = []
    if customer_id is not None and "customers" in tables:
        frames.append(
            engine.query("SELECT * FROM customers WHERE customer_id = ?", [customer_id]).to_pandas()
        )
    if keys and "source_customers" in tables:
        pairs = ", ".join(f"({_lit(s)}, {_lit(k)})" for s, k in sorted(keys))
        frames.append(
            engine.query(
                f"SELECT * FROM source_customers WHERE (source, customer_key) IN ({pairs})"
            ).to_pandas()
        )
    for frame in frames:
        for column in frame.columns:
            if column in _UNIQUE_COLUMNS or column in ("name", "address"):
                values |= {str(v) for v in frame[column].dropna().tolist() if str(v).strip()}
    linked = customer_id is not None if source is not None else bool(keys)
    known = linked or any(not frame.empty for frame in frames)
    if not known:
        raise ValidationError(
            f"erasure: customer {customer!r} not found in customers or customer_links"
            + ("" if source else "; to erase by a source's own key pass --source SOURCE")
        )
    return Subject(customer_id, sorted(keys), values)


def _predicate(subject: Subject, table: str, columns: dict[str, str]) -> str | None:
    parts: list[str] = []
    if subject.customer_id is not None and "customer_id" in columns:
        if columns["customer_id"] in (
            "BIGINT",
            "INTEGER",
            "HUGEINT",
            "UBIGINT",
            "SMALLINT",
            "DOUBLE",
            "DECIMAL",
        ):
            parts.append(f"customer_id = {int(subject.customer_id)}")
        else:
            parts.append(f"customer_id::VARCHAR = '{int(subject.customer_id)}'")
    if subject.keys and "customer_key" in columns:
        listed_keys = ", ".join(_lit(k) for k in subject.key_values)
        if "source" in columns:
            pairs = ", ".join(f"({_lit(s)}, {_lit(k)})" for s, k in subject.keys)
            parts.append(f"(source, customer_key) IN ({pairs})")
            if "customer_id" in columns:
                # rows that identity has not resolved yet but carry the subject's key from another source
                # (an orders file keyed by the CRM's customer numbers): theirs until shown otherwise
                parts.append(f"(customer_id IS NULL AND customer_key IN ({listed_keys}))")
        else:
            parts.append(f"customer_key IN ({listed_keys})")
    unique = sorted(v for v in subject.values if len(v) >= _MIN_SCRUB_LEN)
    if unique:
        listed = ", ".join(_lit(v) for v in unique)
        for column in _UNIQUE_COLUMNS:
            if column in columns and columns[column] == "VARCHAR":
                parts.append(f"{_q(column)} IN ({listed})")
    if table == VAULT_TABLE and subject.values:
        parts.append(f"token IN ({', '.join(_lit(v) for v in sorted(subject.values))})")
    return " OR ".join(parts) if parts else None


def _rows(engine: Engine, table: str, where: str) -> list[dict[str, Any]]:
    return engine.query(f"SELECT * FROM {_q(table)} WHERE {where}").to_pandas().to_dict("records")


def export_customer(
    engine: Engine,
    customer: str | int,
    source: str | None = None,
    vault_key: str | bytes | None = None,
    pseudonym_key: bytes | str | None = None,
) -> dict[str, Any]:
    """Everything held about one customer, table by table (right of access).

    With ``vault_key`` the clear values behind their tokens are included from the vault.
    """
    subject = find_subject(engine, customer, source, pseudonym_key)
    out: dict[str, Any] = {
        "customer_id": subject.customer_id,
        "source_keys": [{"source": s, "customer_key": k} for s, k in subject.keys],
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": {},
    }
    for table in engine.tables():
        if table in (AUDIT_TABLE, RETRAIN_TABLE):
            continue
        where = _predicate(subject, table, _column_types(engine, table))
        if not where:
            continue
        rows = _rows(engine, table, where)
        if table == VAULT_TABLE:
            if vault_key is None:
                rows = [{"token": r["token"], "field": r["field"], "value": "(encrypted)"} for r in rows]
            else:
                sealer = Sealer(vault_key)
                rows = [
                    {
                        "token": r["token"],
                        "field": r["field"],
                        "value": sealer.open(bytes(r["value_enc"]), r["token"]),
                    }
                    for r in rows
                ]
        if rows:
            out["tables"][table] = rows
    return out


def _sealed_mentions(engine: Engine, subject: Subject, vault_key: str | bytes) -> set[str]:
    """Tokens of sealed free-form values (rejected lines, raw fields kept aside) that mention the subject.

    Their tokens are not the subject's own (they seal a whole line or a raw spelling), so they are
    found by opening them and looking for the subject's clear identifiers.
    """
    if not engine.has_table(VAULT_TABLE):
        return set()
    clear = set(reveal_many(engine, subject.values, vault_key).values())
    clear |= {re.sub(r"\D", "", v)[-11:] for v in clear if re.fullmatch(r"\+\d{8,15}", v)}  # phones as typed
    needles = [v for v in clear if len(v) >= _MIN_SCRUB_LEN]
    if not needles:
        return set()
    rows = engine.query(
        f"SELECT token, value_enc FROM {VAULT_TABLE} WHERE field LIKE '%.raw.%' OR field LIKE '%.attributes.%'"
    ).to_arrow()
    sealer = Sealer(vault_key)
    found = set()
    for token, blob in zip(
        rows.column("token").to_pylist(), rows.column("value_enc").to_pylist(), strict=True
    ):
        if any(n in sealer.open(bytes(blob), token) for n in needles):
            found.add(token)
    return found


def _subject_ref(subject: Subject, key: bytes | str | None = None) -> str | None:
    """A keyed reference to the erased customer for the audit log (no clear id), when a key is set."""
    key = key if key is not None else load_key(required=False)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if key is None:
        return None
    message = f"erasure:{subject.customer_id}:{sorted(subject.keys)}".encode()
    return hmac.new(key, message, "sha256").hexdigest()[:32]


def _scrub(engine: Engine, table: str, columns: dict[str, str], values: Iterable[str]) -> int:
    """Replace remaining mentions of the subject's identifiers in text columns; returns cells changed."""
    changed = 0
    needles = sorted({v for v in values if len(v) >= _MIN_SCRUB_LEN}, key=len, reverse=True)
    if not needles:
        return 0
    for column, kind in columns.items():
        if kind not in _TEXT_TYPES or column.endswith(("_id", "_key")) or column in ("source", "token"):
            continue
        col = _q(column)
        text = f"{col}::VARCHAR"
        hit = " OR ".join(f"contains({text}, {_lit(v)})" for v in needles)
        n = int(engine.query(f"SELECT count(*) FROM {_q(table)} WHERE {hit}").scalar())
        if not n:
            continue
        expr = text
        for v in needles:
            expr = f"replace({expr}, {_lit(v)}, {_lit(ERASED)})"
        if kind == "JSON":
            expr = f"({expr})::JSON"
        engine.execute(f"UPDATE {_q(table)} SET {col} = {expr} WHERE {hit}")
        changed += n
    return changed


def erase_customer(
    engine: Engine,
    customer: str | int,
    source: str | None = None,
    *,
    mode: str = "delete",
    actor: str = "system",
    reason: str = "data subject request",
    audit: AuditLog | None = None,
    receipt_path: str | os.PathLike[str] | None = None,
    pseudonym_key: bytes | str | None = None,
    vault_key: str | bytes | None = None,
) -> dict[str, Any]:
    """Erase one customer everywhere and return the receipt (also written to ``receipt_path``).

    ``mode="delete"`` removes every row about the customer; ``mode="anonymise"`` keeps fact rows
    (orders, events, campaign contacts ...) with the customer's id, key, attributes and free text
    emptied, so revenue totals still add up. Tables about the person as a whole go in both modes.
    With ``vault_key``, sealed rejected lines and raw values that mention the customer go too.
    """
    if mode not in ("delete", "anonymise"):
        raise ValidationError(f"erasure: mode {mode!r}; use 'delete' or 'anonymise'")
    subject = find_subject(engine, customer, source, pseudonym_key)
    if vault_key is not None:
        subject.values |= _sealed_mentions(engine, subject, vault_key)
    receipt: dict[str, Any] = {
        "receipt_id": str(uuid.uuid4()),
        "erased_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "reason": reason,
        "actor": actor,
        "subject_ref": _subject_ref(subject, pseudonym_key),
        "source_keys": len(subject.keys),
        "tables": {},
        "text_cells_scrubbed": {},
        "retrain": [],
    }
    log = audit or AuditLog(engine)
    with engine.transaction():
        tables = [t for t in engine.tables() if t not in (AUDIT_TABLE, RETRAIN_TABLE)]
        if subject.customer_id is not None and "scores" in tables:
            models = engine.query(
                "SELECT DISTINCT task, model_version FROM scores WHERE customer_id = ? ORDER BY 1, 2",
                [subject.customer_id],
            ).to_pandas()
            receipt["retrain"] = models.to_dict("records")
        for table in tables:
            columns = _column_types(engine, table)
            where = _predicate(subject, table, columns)
            if not where:
                continue
            n = int(engine.query(f"SELECT count(*) FROM {_q(table)} WHERE {where}").scalar())
            if not n:
                continue
            if mode == "delete" or table in _PERSON_TABLES or table == VAULT_TABLE:
                engine.execute(f"DELETE FROM {_q(table)} WHERE {where}")
                receipt["tables"][table] = {"deleted": n}
            else:
                blank = [
                    c
                    for c, kind in columns.items()
                    if c in ("customer_id", "customer_key", "attributes", *_UNIQUE_COLUMNS)
                    or (kind == "VARCHAR" and c in ("text", "subject", "body", "name", "address"))
                ]
                sets = ", ".join(f"{_q(c)} = NULL" for c in blank)
                # the kept rows are the subject's: their other text, ids included, loses the identifiers too
                needles = sorted(
                    {v for v in subject.values if len(v) >= _MIN_SCRUB_LEN}, key=len, reverse=True
                )
                for c, kind in columns.items():
                    if c in blank or kind != "VARCHAR" or not needles:
                        continue
                    expr = _q(c)
                    for v in needles:
                        expr = f"replace({expr}, {_lit(v)}, {_lit(ERASED)})"
                    sets += f", {_q(c)} = {expr}"
                engine.execute(f"UPDATE {_q(table)} SET {sets} WHERE {where}")
                receipt["tables"][table] = {"anonymised": n}
        for table in tables:
            changed = _scrub(engine, table, _column_types(engine, table), subject.values)
            if changed:
                receipt["text_cells_scrubbed"][table] = changed
        if receipt["retrain"]:
            engine.execute(
                f"CREATE TABLE IF NOT EXISTS {RETRAIN_TABLE} (task VARCHAR, model_version VARCHAR, reason VARCHAR, "
                "requested_at TIMESTAMP)"
            )
            for model in receipt["retrain"]:
                engine.execute(
                    f"INSERT INTO {RETRAIN_TABLE} VALUES (?, ?, ?, now()::TIMESTAMP)",
                    [model["task"], model["model_version"], f"erasure {receipt['receipt_id']}"],
                )
        body = json.dumps(receipt, sort_keys=True, default=str).encode()
        receipt["digest"] = hashlib.sha256(body).hexdigest()
        log.append(
            actor,
            "privacy.erase",
            target=f"customer:{receipt['subject_ref'] or receipt['receipt_id']}",
            purpose=reason,
            details={
                "receipt_id": receipt["receipt_id"],
                "digest": receipt["digest"],
                "tables": receipt["tables"],
            },
        )
    if receipt_path:
        Path(receipt_path).write_text(json.dumps(receipt, indent=2, default=str) + "\n", encoding="utf-8")
    return receipt

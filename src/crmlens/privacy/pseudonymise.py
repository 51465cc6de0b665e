"""Pseudonymisation at ingest: identifiers become keyed HMAC-SHA256 tokens, so joins still work.

The loader calls :func:`pseudonymise_columns` on a staged table inside its load transaction.
The same key maps the same value to the same token in every table and every load, so
``orders.customer_key`` still joins ``source_customers.customer_key``; without the key a token
cannot be reversed or recomputed from a guessed value. The key comes from the environment
(``CRMLENS_PSEUDONYM_KEY``) or a key file outside the project (``CRMLENS_PSEUDONYM_KEY_FILE``),
never from crmlens.yaml. Clear values are kept, if at all, only in the ``pii_vault`` table,
each encrypted under a second key.

Each distinct value is hashed once in Python (the HMAC pads are absorbed once, then the hash
state is copied per value), and the table is rewritten with one ``UPDATE ... FROM`` join in the
engine; this runs faster than a row-wise Python UDF or HMAC written in SQL (see
``crmlens bench privacy``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from crmlens.engine.base import Engine, Relation
from crmlens.exceptions import ConfigError, ValidationError
from crmlens.privacy.crypto import Sealer
from crmlens.privacy.pii import column_hint

__all__ = [
    "IDENTIFIER_COLUMNS",
    "KEY_CHECK_TABLE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "TEXT_COLUMNS",
    "TOKEN_PATTERN",
    "Tokenizer",
    "load_key",
    "protect_quarantine",
    "protect_staged",
    "check_key",
    "pseudonymise_columns",
    "pseudonymise_json_fields",
    "reveal",
    "reveal_many",
    "scrub_columns",
    "select_columns",
]

KEY_ENV = "CRMLENS_PSEUDONYM_KEY"
KEY_FILE_ENV = "CRMLENS_PSEUDONYM_KEY_FILE"
TOKEN_PATTERN = "^pz_[0-9a-f]{32}$"
MIN_KEY_BYTES = 16
VAULT_TABLE = "pii_vault"


def load_key(required: bool = True, env: str = KEY_ENV) -> bytes | None:
    """The pseudonymisation key: ``CRMLENS_PSEUDONYM_KEY`` (or ``env``, the project's ``privacy.key_env``),
    else the file named by ``CRMLENS_PSEUDONYM_KEY_FILE``.

    A key shorter than 16 bytes is refused: a short key can be guessed, and with it every token.
    """
    raw: bytes | None = None
    value = os.environ.get(env)
    if value:
        raw = value.encode("utf-8")
    elif os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV])
        if not path.is_file():
            raise ConfigError(f"{KEY_FILE_ENV}={path}: no such key file; create it outside the project")
        raw = path.read_bytes().strip()
    if raw is None:
        if required:
            raise ConfigError(
                f"pseudonymisation key missing: set {env}, or {KEY_FILE_ENV} to a key file outside the project "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return None
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"pseudonymisation key too short ({len(raw)} bytes): use at least {MIN_KEY_BYTES}")
    return raw


class Tokenizer:
    """HMAC-SHA256 (RFC 2104) of a value under a key, as ``pz_`` + 32 hex characters (128 bits).

    Equal to ``hmac.new(key, value, 'sha256').hexdigest()[:32]``, computed with the inner and outer
    pad states precomputed once, which more than halves the cost per value.
    """

    def __init__(self, key: bytes | str) -> None:
        secret = key.encode("utf-8") if isinstance(key, str) else key
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(
                f"pseudonymisation key too short ({len(secret)} bytes): use at least {MIN_KEY_BYTES}"
            )
        if len(secret) > 64:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in secret))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in secret))

    def token(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.strip().encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return "pz_" + outer.hexdigest()[:32]

    def tokens(self, values: Iterable[str | None]) -> list[str | None]:
        token = self.token
        return [None if v is None else token(v) for v in values]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_types(engine: Engine, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of any table or view, temporary ones included (the loader's staging
    tables are TEMP tables, which ``engine.columns`` does not list)."""
    try:
        rows = engine.query(f"DESCRIBE {_quote(table)}").to_pandas()
    except Exception as exc:  # noqa: BLE001 - the engine's own error type varies
        raise ValidationError(f"pseudonymise: table {table!r} does not exist ({exc})") from None
    return {str(n): str(t).upper() for n, t in zip(rows["column_name"], rows["column_type"], strict=True)}


def _ensure_vault(engine: Engine) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {VAULT_TABLE} (token VARCHAR, field VARCHAR, value_enc BLOB, created_at TIMESTAMP)"
    )


def _vault_insert(engine: Engine, sealer: Sealer, values: list[str], tokens: list[str], field: str) -> None:
    """Seal each clear value under its token (bound as associated data) into ``pii_vault``, once per token."""
    _ensure_vault(engine)
    sealed = pa.table(
        {
            "token": pa.array(tokens, pa.string()),
            "field": pa.array([field] * len(tokens), pa.string()),
            "value_enc": pa.array([sealer.seal(v, t) for v, t in zip(values, tokens, strict=True)]),
        }
    )
    view = f"__pz_vault_{abs(hash(field)) % 10**8}"
    engine.register(view, sealed)
    try:
        engine.execute(
            f"INSERT INTO {VAULT_TABLE} SELECT s.token, s.field, s.value_enc, now()::TIMESTAMP "
            f"FROM {view} s ANTI JOIN {VAULT_TABLE} v ON v.token = s.token"
        )
    finally:
        _unregister(engine, view)


def _token_map(
    engine: Engine, tokenizer: Tokenizer, sealer: Sealer | None, distinct_sql: str, field: str
) -> str | None:
    """Register a view ``(v, tok)`` from each clear value ``distinct_sql`` finds to its token, and
    seal the values into the vault when there is one; None when there is nothing to tokenise."""
    distinct = engine.query(distinct_sql).to_arrow().column(0).to_pylist()
    if not distinct:
        return None
    tokens = [tokenizer.token(v) for v in distinct]
    if sealer is not None:
        _vault_insert(engine, sealer, distinct, tokens, field)
    view = f"__pz_map_{abs(hash(field)) % 10**8}"
    engine.register(
        view, pa.table({"v": pa.array(distinct, pa.string()), "tok": pa.array(tokens, pa.string())})
    )
    return view


def pseudonymise_columns(
    engine: Engine,
    table: str,
    columns: Sequence[str],
    key: bytes | str,
    *,
    vault_key: str | bytes | None = None,
    field_prefix: str | None = None,
) -> None:
    """Replace the clear values of ``columns`` in ``table`` by their tokens, in place.

    Values that already are tokens are left alone, so running it twice changes nothing. With
    ``vault_key`` each clear value is also stored encrypted in ``pii_vault`` (token, field,
    ciphertext) for the roles that may reveal it; ``field`` is ``<field_prefix or table>.<column>``.
    It runs no transaction of its own: the loader calls it inside the load transaction, so a
    failure leaves nothing half-pseudonymised.
    """
    tokenizer = Tokenizer(key)
    sealer = Sealer(vault_key) if vault_key else None
    types = _column_types(engine, table)
    present = set(types)
    for column in columns:
        if column not in present:
            raise ValidationError(
                f"pseudonymise: table {table!r} has no column {column!r}; have {sorted(present)}"
            )
        col = _quote(column)
        kind = types[column]
        if kind != "VARCHAR":
            raise ValidationError(
                f"pseudonymise: {table}.{column} is {kind}; identifiers must be loaded as VARCHAR to be tokenised"
            )
        view = _token_map(
            engine,
            tokenizer,
            sealer,
            f"SELECT DISTINCT {col} AS v FROM {_quote(table)} WHERE {col} IS NOT NULL "
            f"AND NOT (starts_with({col}, 'pz_') AND regexp_full_match({col}, '{TOKEN_PATTERN}'))",
            f"{field_prefix or table}.{column}",
        )
        if view is None:
            continue
        try:
            engine.execute(
                f"UPDATE {_quote(table)} SET {col} = m.tok FROM {view} m WHERE {_quote(table)}.{col} = m.v"
            )
        finally:
            _unregister(engine, view)


def _json_path(field: str) -> str:
    return "'$.\"" + field.replace("'", "''").replace('"', '\\"') + "\"'"


def pseudonymise_json_fields(
    engine: Engine,
    table: str,
    column: str,
    fields: Sequence[str],
    key: bytes | str,
    *,
    vault_key: str | bytes | None = None,
    field_prefix: str | None = None,
    where: str | None = None,
) -> int:
    """Replace the string values of ``fields`` inside the JSON ``column`` by their tokens; returns values changed.

    For what the loader keeps as JSON beside the canonical columns: unmapped source columns and
    malformed e-mails or phones (``attributes``), and rejected rows (``quarantine.raw``), where an
    identifier would otherwise stay in the clear. ``where`` limits the rows (one load's quarantine).
    """
    tokenizer = Tokenizer(key)
    sealer = Sealer(vault_key) if vault_key else None
    extra = f" AND ({where})" if where else ""
    changed = 0
    for name in fields:
        value = f"json_extract_string({_quote(column)}, {_json_path(name)})"
        view = _token_map(
            engine,
            tokenizer,
            sealer,
            f"SELECT DISTINCT {value} AS v FROM {_quote(table)} WHERE {value} IS NOT NULL "
            f"AND NOT regexp_full_match({value}, '{TOKEN_PATTERN}'){extra}",
            f"{field_prefix or table}.{column}.{name}",
        )
        if view is None:
            continue
        target = _quote(table)
        lit_name = "'" + name.replace("'", "''") + "'"
        row_value = f"json_extract_string({target}.{_quote(column)}, {_json_path(name)})"
        try:
            changed += int(
                engine.query(
                    f"SELECT count(*) FROM {target} JOIN {view} m ON {row_value} = m.v WHERE TRUE{extra}"
                ).scalar()
            )
            engine.execute(
                f"UPDATE {target} SET {_quote(column)} = json_merge_patch({target}.{_quote(column)}, "
                f"json_object({lit_name}, m.tok)) FROM {view} m WHERE {row_value} = m.v{extra}"
            )
        finally:
            _unregister(engine, view)
    return changed


KEY_CHECK_TABLE = "privacy_key_check"


def check_key(engine: Engine, key: bytes | str) -> None:
    """Refuse a pseudonymisation key other than the one the warehouse was first loaded with.

    Tokens under another key would join nothing already loaded. The warehouse keeps only the
    token of a fixed string, which tells whether a key is the same and nothing about the key.
    """
    probe = Tokenizer(key).token("crmlens key check")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {KEY_CHECK_TABLE} (probe VARCHAR, created_at TIMESTAMP)")
    stored = engine.query(f"SELECT probe FROM {KEY_CHECK_TABLE} LIMIT 1").scalar()
    if stored is None:
        engine.execute(f"INSERT INTO {KEY_CHECK_TABLE} VALUES (?, now()::TIMESTAMP)", [probe])
    elif stored != probe:
        raise ConfigError(
            "pseudonymisation key: this warehouse was loaded with another key, and tokens under a new key "
            "would join nothing already loaded; use the original key file (privacy.key_file)"
        )


def reveal_many(engine: Engine, tokens: Iterable[str], vault_key: str | bytes) -> dict[str, str]:
    """Token -> clear value for every given token held in the vault (others are absent), decrypted in memory.

    The one bulk read of the vault; callers check permission and audit it
    (:func:`crmlens.privacy.minimise.reveal_for_task`).
    """
    wanted = sorted({t for t in tokens if t})
    if not wanted or not engine.has_table(VAULT_TABLE):
        return {}
    view = f"__pz_reveal_{abs(hash(tuple(wanted[:8]))) % 10**8}"
    engine.register(view, pa.table({"token": pa.array(wanted, pa.string())}))
    try:
        rows = (
            engine.query(
                f"SELECT v.token, any_value(v.value_enc) AS value_enc FROM {VAULT_TABLE} v "
                f"SEMI JOIN {view} w ON w.token = v.token GROUP BY v.token"
            )
            .to_arrow()
            .to_pydict()
        )
    finally:
        _unregister(engine, view)
    sealer = Sealer(vault_key)
    return {t: sealer.open(bytes(b), t) for t, b in zip(rows["token"], rows["value_enc"], strict=True)}


def _unregister(engine: Engine, name: str) -> None:
    con = getattr(engine, "con", None)
    if con is not None and hasattr(con, "unregister"):
        con.unregister(name)


def reveal(engine: Engine, token: str, vault_key: str | bytes) -> str | None:
    """The clear value behind ``token`` from the vault, or None when it was never vaulted (or erased).

    Callers check the user's ``pii:read`` permission and write an audit entry first
    (:meth:`crmlens.privacy.access.AccessControl.check`, :meth:`crmlens.privacy.audit.AuditLog.append`).
    """
    if not engine.has_table(VAULT_TABLE):
        return None
    blob = engine.query(f"SELECT value_enc FROM {VAULT_TABLE} WHERE token = ? LIMIT 1", [token]).scalar()
    if blob is None:
        return None
    return Sealer(vault_key).open(bytes(blob), token)


def select_columns(engine: Engine, table: str, columns: Sequence[str]) -> Relation:
    """Data minimisation: a task gets exactly the columns it declares, and none in clear PII.

    A declared column whose name marks a direct identifier (email, phone, name ...) is allowed only
    when every value in it is a token or NULL; otherwise the task is refused with the column named.
    """
    present = set(_column_types(engine, table))
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValidationError(f"minimisation: {table} has no column(s) {missing}")
    for column in columns:
        hint = column_hint(column)
        if hint and hint[1] == "direct":
            clear = engine.query(
                f"SELECT count(*) FROM {_quote(table)} WHERE {_quote(column)} IS NOT NULL "
                f"AND NOT regexp_full_match({_quote(column)}::VARCHAR, '{TOKEN_PATTERN}')"
            ).scalar()
            if clear:
                raise ValidationError(
                    f"minimisation: {table}.{column} holds {clear} clear {hint[0]} value(s); pseudonymise it "
                    "(crmlens.privacy.pseudonymise_columns) or leave it out of the task's columns"
                )
    cols = ", ".join(_quote(c) for c in columns)
    return engine.query(f"SELECT {cols} FROM {_quote(table)}")


# What the loader protects in each canonical table: identifiers become tokens, free text is scrubbed.
IDENTIFIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_customers": ("customer_key", "name", "email", "phone", "address", "external_id"),
    "orders": ("customer_key",),
    "events": ("customer_key",),
    "feedback": ("customer_key",),
    "tickets": ("customer_key",),
    "campaign_contacts": ("customer_key",),
}
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {"feedback": ("text",), "tickets": ("subject", "body")}


def scrub_columns(engine: Engine, table: str, columns: Sequence[str], where: str | None = None) -> int:
    """Replace PII in free-text ``columns`` by typed placeholders (``<PHONE>``), in place; returns cells changed.

    Each distinct text is scrubbed once in Python and written back with one join, like
    :func:`pseudonymise_columns`; no transaction of its own. JSON columns (``quarantine.raw``) are
    scrubbed as text and stay valid JSON; ``where`` limits the rows (e.g. one load's quarantine).
    """
    from crmlens.privacy.pii import scrub_text

    types = _column_types(engine, table)
    changed = 0
    extra = f" AND ({where})" if where else ""
    for column in columns:
        if column not in types:
            raise ValidationError(f"scrub: table {table!r} has no column {column!r}")
        col = _quote(column)
        text = f"{col}::VARCHAR"
        texts = (
            engine.query(f"SELECT DISTINCT {text} AS v FROM {_quote(table)} WHERE {col} IS NOT NULL{extra}")
            .to_arrow()
            .column(0)
            .to_pylist()
        )
        pairs = [(t, s) for t in texts if (s := scrub_text(t)) != t]
        if not pairs:
            continue
        view = f"__scrub_map_{abs(hash((table, column))) % 10**8}"
        engine.register(view, pa.table({"v": [p[0] for p in pairs], "s": [p[1] for p in pairs]}))
        value = "m.s::JSON" if types[column] == "JSON" else "m.s"
        try:
            changed += int(
                engine.query(
                    f"SELECT count(*) FROM {_quote(table)} WHERE {text} IN (SELECT v FROM {view}){extra}"
                ).scalar()
            )
            engine.execute(
                f"UPDATE {_quote(table)} SET {col} = {value} FROM {view} m "
                f"WHERE {_quote(table)}.{col}::VARCHAR = m.v{extra}"
            )
        finally:
            _unregister(engine, view)
    return changed


def protect_staged(
    engine: Engine,
    table: str,
    entity: str,
    key: bytes | str,
    *,
    vault_key: str | bytes | None = None,
    scrub: bool = True,
) -> dict[str, object]:
    """What the loader calls on a staged table inside its load transaction.

    ``entity`` is the canonical table the stage loads into; its identifier columns
    (:data:`IDENTIFIER_COLUMNS`) that the stage has are tokenised (clear values sealed in the
    vault with ``vault_key``), malformed identifiers kept in ``attributes`` (``_invalid_email``)
    are tokenised too, and free text (:data:`TEXT_COLUMNS`, the rest of ``attributes``) is
    scrubbed. Returns what was done, for ``ingest_log`` and the report.
    """
    present = set(_column_types(engine, table))
    identifiers = IDENTIFIER_COLUMNS.get(entity, ())
    columns = [c for c in identifiers if c in present]
    if columns:
        pseudonymise_columns(engine, table, columns, key, vault_key=vault_key, field_prefix=entity)
    texts = [c for c in TEXT_COLUMNS.get(entity, ()) if c in present] if scrub else []
    scrubbed = scrub_columns(engine, table, texts) if texts else 0
    if "attributes" in present:
        pseudonymise_json_fields(
            engine, table, "attributes", [f"_invalid_{c}" for c in identifiers], key,
            vault_key=vault_key, field_prefix=entity,
        )  # fmt: skip
        if scrub:
            scrubbed += scrub_columns(engine, table, ["attributes"])
    return {"pseudonymised": columns, "scrubbed_columns": texts, "scrubbed_cells": scrubbed}


def protect_quarantine(
    engine: Engine,
    load_id: str,
    headers: Sequence[str],
    key: bytes | str,
    *,
    vault_key: str | bytes | None = None,
    entity: str = "quarantine",
) -> None:
    """Protect one load's rejected rows as its good rows are: identifiers tokenised, text scrubbed.

    ``headers`` are the source's headers of identifier columns (the raw row keeps source
    headers). A malformed line cannot be split into fields, so its text is sealed in the vault
    and the row keeps only the token of the line.
    """
    where = f"load_id = '{load_id.replace(chr(39), chr(39) * 2)}'"
    if not engine.query(f"SELECT count(*) FROM quarantine WHERE {where}").scalar():
        return  # most loads reject nothing
    if headers:
        pseudonymise_json_fields(
            engine,
            "quarantine",
            "raw",
            list(headers),
            key,
            vault_key=vault_key,
            field_prefix=entity,
            where=where,
        )
    pseudonymise_json_fields(
        engine, "quarantine", "raw", ["line"], key, vault_key=vault_key, field_prefix=entity,
        where=f"{where} AND json_keys(raw) = ['line']",
    )  # fmt: skip
    scrub_columns(engine, "quarantine", ["raw", "reason"], where=where)

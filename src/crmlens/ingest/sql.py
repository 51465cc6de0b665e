"""Database sources: PostgreSQL, MySQL/MariaDB and SQLite, read through DuckDB's scanners.

The scanners sit on the real client libraries (libpq, libmysqlclient, SQLite) and stream rows
into the warehouse without a pandas detour; the connection URL comes from an environment
variable, never the project file, and is never echoed in an error message.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb

from crmlens.config import SourceConfig
from crmlens.engine.duckdb import DuckDBEngine
from crmlens.exceptions import SourceError
from crmlens.ingest.files import ReadSpec
from crmlens.ingest.quality import lit, q

WATERMARK_COLUMN = "__watermark"


def _url(source: SourceConfig) -> str:
    assert source.url_env
    url = os.environ.get(source.url_env)
    if not url:
        raise SourceError(
            source.name, f"environment variable {source.url_env} is not set (it holds the database URL)"
        )
    return url


def redact(url: str) -> str:
    """The URL with its password replaced, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _mysql_dsn(url: str) -> str:
    """mysql://user:pass@host:port/db as the key=value string DuckDB's MySQL scanner takes."""
    if "://" not in url:
        return url
    parts = urlparse(url)
    pairs = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
    }
    return " ".join(f"{k}={v}" for k, v in pairs.items() if v != "")


def attach(engine: DuckDBEngine, source: SourceConfig, base: Path) -> str:
    """Attach the database read-only under an alias; a clear error when it is down or refuses us."""
    alias = f"src_{re.sub(r'[^A-Za-z0-9_]', '_', source.name)}"
    attached = {r[0] for r in engine.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    if alias in attached:
        return alias
    if source.kind == "sqlite":
        assert source.path
        path = Path(source.path) if Path(source.path).is_absolute() else base / source.path
        if not path.exists():
            raise SourceError(source.name, f"file not found: {source.path} (looked in {base})")
        target, shown = str(path), str(path)
        engine.load_extension("sqlite")
    else:
        url = _url(source)
        shown = redact(url)
        target = _mysql_dsn(url) if source.kind == "mysql" else url
        engine.load_extension(source.kind)
    try:
        engine.con.execute(f"ATTACH {lit(target)} AS {q(alias)} (TYPE {source.kind}, READ_ONLY)")
    except duckdb.Error as exc:
        message = str(exc).replace(target, shown).splitlines()[0]
        raise SourceError(
            source.name,
            f"cannot connect to {source.kind} at {shown}: {message} "
            "(is the server running, and are the user and password in the URL right?)",
        ) from None
    return alias


def read_spec(engine: DuckDBEngine, source: SourceConfig, base: Path, watermark: str | None) -> ReadSpec:
    """The SQL that reads the table or query as all-text columns, above the watermark if incremental."""
    alias = attach(engine, source, base)
    if source.query:
        fn = {"postgres": "postgres_query", "mysql": "mysql_query", "sqlite": None}[source.kind]
        if fn is None:
            inner = f"({source.query})"
        else:
            inner = f"{fn}({lit(alias)}, {lit(source.query)})"
    else:
        assert source.table
        inner = ".".join(q(p) for p in [alias, *source.table.split(".")])
    where, mark = "", ""
    if source.incremental:
        column = q(source.incremental.column)
        mark = f", {column} AS {WATERMARK_COLUMN}"
        if (
            watermark is not None
        ):  # the literal is cast to the column's own type, so numbers compare as numbers
            where = f" WHERE {column} > {lit(watermark)}"
    sql = f"(SELECT COLUMNS(*)::VARCHAR{mark} FROM {inner} AS t{where})"
    try:
        engine.con.execute(f"DESCRIBE SELECT * FROM {sql}")
    except duckdb.Error as exc:
        raise SourceError(
            source.name, f"cannot read {source.table or 'query'}: {str(exc).splitlines()[0]}"
        ) from None
    label = f"{source.kind}:{source.table or 'query'}"
    fingerprint = hashlib.sha256(f"{label}|{watermark}".encode()).hexdigest()
    return ReadSpec(sql, label, fingerprint)

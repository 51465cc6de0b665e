"""Database sources against the real PostgreSQL and MariaDB servers on this machine, and SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.dbservers import mysql_url, postgres_url

from crmlens.config import parse_config
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import SourceError
from crmlens.ingest import Loader

pytestmark = pytest.mark.db

ROWS = [
    ("k1", "张伟", "ZW@Example.com", "13800138000", "2024-01-01 10:00:00"),
    ("k2", "Li Na", "li@example.com", "+86 139 0013 9000", "2024-01-02 10:00:00"),
]


def _loader(tmp_path: Path, source: dict) -> tuple[DuckDBEngine, Loader]:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    return engine, Loader(engine, parse_config({"sources": [source]}), tmp_path)


def _pg_table(rows: list[tuple]) -> None:
    import psycopg

    with psycopg.connect(postgres_url(), autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS crm_customers")
        con.execute(
            "CREATE TABLE crm_customers (customer_key text, name text, email text, phone text, updated_at timestamp)"
        )
        with con.cursor() as cur:
            cur.executemany("INSERT INTO crm_customers VALUES (%s, %s, %s, %s, %s)", rows)


def test_postgres_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pg_table(ROWS)
    monkeypatch.setenv("CRM_URL", postgres_url())
    source = {
        "name": "crm",
        "kind": "postgres",
        "url_env": "CRM_URL",
        "table": "public.crm_customers",
        "entity": "customers",
        "incremental": {"column": "updated_at"},
    }
    engine, loader = _loader(tmp_path, source)
    (first,) = loader.load_all()
    assert first.rows_loaded == 2 and first.watermark.startswith("2024-01-02 10:00:00")
    import psycopg

    with psycopg.connect(postgres_url(), autocommit=True) as con:
        con.execute(
            "UPDATE crm_customers SET email = 'new@example.com', updated_at = '2024-02-01' WHERE customer_key = 'k1'"
        )
        con.execute(
            "INSERT INTO crm_customers VALUES ('k3', '王芳', 'wf@example.com', '13700137000', '2024-02-02')"
        )
    (second,) = loader.load_all()
    assert second.rows_in == 2  # only rows above the watermark were read
    emails = dict(engine.con.execute("SELECT customer_key, email FROM source_customers").fetchall())
    assert emails == {"k1": "new@example.com", "k2": "li@example.com", "k3": "wf@example.com"}
    phones = engine.con.execute("SELECT phone FROM source_customers ORDER BY customer_key").fetchall()
    assert phones == [("+8613800138000",), ("+8613900139000",), ("+8613700137000",)]


def test_postgres_query_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pg_table(ROWS)
    monkeypatch.setenv("CRM_URL", postgres_url())
    source = {
        "name": "crm",
        "kind": "postgres",
        "url_env": "CRM_URL",
        "entity": "customers",
        "query": "SELECT customer_key, name FROM crm_customers WHERE name = 'Li Na'",
    }
    engine, loader = _loader(tmp_path, source)
    assert [r.rows_loaded for r in loader.load_all()] == [1]


def test_mysql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pymysql

    url = mysql_url()
    con = pymysql.connect(
        host="127.0.0.1", user="root", password="", database="test", charset="utf8mb4", autocommit=True
    )
    with con.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS crm_customers")
        cur.execute(
            "CREATE TABLE crm_customers (customer_key varchar(20), name varchar(50), email varchar(80), "
            "phone varchar(30), updated_at datetime) CHARACTER SET utf8mb4"
        )
        cur.executemany("INSERT INTO crm_customers VALUES (%s, %s, %s, %s, %s)", ROWS)
    con.close()
    monkeypatch.setenv("SHOP_URL", url)
    source = {
        "name": "shop",
        "kind": "mysql",
        "url_env": "SHOP_URL",
        "table": "crm_customers",
        "entity": "customers",
    }
    engine, loader = _loader(tmp_path, source)
    (result,) = loader.load_all()
    assert result.rows_loaded == 2
    assert engine.con.execute("SELECT name FROM source_customers WHERE customer_key = 'k1'").fetchone() == (
        "张伟",
    )


def test_sqlite(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "crm.sqlite")
    con.execute("CREATE TABLE customers (customer_key TEXT, name TEXT, signup_at TEXT)")
    con.execute("INSERT INTO customers VALUES ('k1', '张伟', '2023-05-01')")
    con.commit()
    con.close()
    source = {
        "name": "crm",
        "kind": "sqlite",
        "path": "crm.sqlite",
        "table": "customers",
        "entity": "customers",
    }
    engine, loader = _loader(tmp_path, source)
    assert [r.rows_loaded for r in loader.load_all()] == [1]


def test_database_down_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CRM_URL", "postgresql://postgres:secret@127.0.0.1:1/test"
    )  # nothing listens on port 1
    source = {
        "name": "crm",
        "kind": "postgres",
        "url_env": "CRM_URL",
        "table": "customers",
        "entity": "customers",
    }
    engine, loader = _loader(tmp_path, source)
    with pytest.raises(SourceError, match="cannot connect to postgres") as info:
        loader.load_all()
    assert "secret" not in str(info.value)  # the password is never echoed
    assert engine.count("source_customers") == 0 and engine.count("ingest_log") == 0


def test_wrong_password_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mysql_url()
    monkeypatch.setenv("SHOP_URL", "mysql://root:wrong-password@127.0.0.1:3306/test")
    source = {
        "name": "shop",
        "kind": "mysql",
        "url_env": "SHOP_URL",
        "table": "crm_customers",
        "entity": "customers",
    }
    engine, loader = _loader(tmp_path, source)
    with pytest.raises(SourceError, match="cannot connect to mysql.*Access denied") as info:
        loader.load_all()
    assert "wrong-password" not in str(info.value)
    assert engine.count("ingest_log") == 0


def test_missing_url_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_URL", raising=False)
    source = {"name": "crm", "kind": "postgres", "url_env": "NOPE_URL", "table": "t", "entity": "customers"}
    _, loader = _loader(tmp_path, source)
    with pytest.raises(SourceError, match="environment variable NOPE_URL is not set"):
        loader.load_all()

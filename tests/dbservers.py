"""The local PostgreSQL and MariaDB servers for connector tests: started if down, else a clear skip."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

START_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-services.sh"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def _postgres_ok() -> bool:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _mysql_ok() -> bool:
    import pymysql

    try:
        pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", database="test", connect_timeout=3
        ).close()
        return True
    except pymysql.Error:
        return False


def _ensure(check, name: str) -> None:
    if check():
        return
    subprocess.run(["bash", str(START_SCRIPT)], check=False, capture_output=True, timeout=120)
    for _ in range(20):
        if check():
            return
        time.sleep(1)
    pytest.skip(
        f"{name} is not running on 127.0.0.1 and could not be started (see scripts/ensure-services.sh)"
    )


def postgres_url() -> str:
    _ensure(_postgres_ok, "PostgreSQL")
    return POSTGRES_URL


def mysql_url() -> str:
    _ensure(_mysql_ok, "MariaDB/MySQL")
    return MYSQL_URL

"""Encryption at rest: the warehouse needs its key and holds no clear text; exports encrypt and decrypt."""

from __future__ import annotations

import json

import pytest

from crmlens.engine import DuckDBEngine
from crmlens.exceptions import ConfigError, ValidationError
from crmlens.privacy import Sealer, decrypt_file, encrypt_file, encrypt_warehouse, open_warehouse

SECRET = "zhang.wei.secret@example.cn"


def _fill(engine) -> None:
    engine.execute(
        f"CREATE TABLE customers AS SELECT '{SECRET}' AS email, range AS customer_id FROM range(2000)"
    )
    engine.execute("CHECKPOINT")


def test_encrypted_warehouse_needs_key_and_holds_no_clear_text(tmp_path) -> None:
    plain, enc = tmp_path / "plain.duckdb", tmp_path / "enc.duckdb"
    with DuckDBEngine(plain) as e:
        _fill(e)
    assert SECRET.encode() in plain.read_bytes()  # the search does find clear text in a clear file
    with open_warehouse(enc, key="warehouse-key-for-tests") as e:
        _fill(e)
        assert e.query(
            "SELECT encrypted FROM duckdb_databases() WHERE database_name = current_database()"
        ).scalar()
    data = enc.read_bytes()
    assert SECRET.encode() not in data and b"zhang.wei" not in data and b"customers" not in data
    with pytest.raises(ConfigError, match="without a key"):
        DuckDBEngine(enc)
    with pytest.raises(ConfigError, match="Wrong encryption key"):
        open_warehouse(enc, key="wrong-key")
    with open_warehouse(enc, key="warehouse-key-for-tests", read_only=True) as e:
        assert e.count("customers") == 2000


def test_engine_opens_encrypted_warehouse_directly(tmp_path) -> None:
    """DuckDBEngine(path, encryption_key=...) itself."""
    with DuckDBEngine(tmp_path / "direct.duckdb", encryption_key="warehouse-key-for-tests") as engine:
        _fill(engine)
        assert engine.count("customers") == 2000


def test_encrypt_existing_warehouse(tmp_path) -> None:
    plain = tmp_path / "plain.duckdb"
    with DuckDBEngine(plain) as e:
        _fill(e)
    with encrypt_warehouse(plain, tmp_path / "enc.duckdb", "warehouse-key-for-tests") as e:
        assert e.count("customers") == 2000
    assert SECRET.encode() not in (tmp_path / "enc.duckdb").read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        encrypt_warehouse(plain, tmp_path / "enc.duckdb", "k")


def test_file_encryption_roundtrip_and_tamper(tmp_path) -> None:
    src = tmp_path / "export.json"
    src.write_text(json.dumps({"email": SECRET}))
    enc = encrypt_file(src, tmp_path / "export.json.enc", "passphrase-for-tests")
    assert SECRET.encode() not in enc.read_bytes()
    assert decrypt_file(enc, tmp_path / "back.json", "passphrase-for-tests").read_text() == src.read_text()
    with pytest.raises(ValidationError, match="wrong passphrase"):
        decrypt_file(enc, tmp_path / "x", "wrong")
    blob = bytearray(enc.read_bytes())
    blob[-1] ^= 1
    enc.write_bytes(bytes(blob))
    with pytest.raises(ValidationError, match="altered"):
        decrypt_file(enc, tmp_path / "x", "passphrase-for-tests")


def test_sealer_binds_context() -> None:
    sealer = Sealer("vault-key-for-tests")
    blob = sealer.seal("13812345678", "pz_a")
    assert sealer.open(blob, "pz_a") == "13812345678"
    with pytest.raises(ValidationError):
        sealer.open(blob, "pz_b")

"""Encryption at rest: the warehouse file (DuckDB's AES-GCM database encryption), exported files
and vault values (AES-256-GCM from ``cryptography``, keys stretched with scrypt).

Keys come from the environment (``CRMLENS_WAREHOUSE_KEY``) or the caller, never from crmlens.yaml.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crmlens.engine.duckdb import DuckDBEngine
from crmlens.exceptions import ConfigError, ValidationError

__all__ = [
    "WAREHOUSE_KEY_ENV",
    "Sealer",
    "decrypt_bytes",
    "decrypt_file",
    "encrypt_bytes",
    "encrypt_file",
    "encrypt_warehouse",
    "load_warehouse_key",
    "open_warehouse",
]

WAREHOUSE_KEY_ENV = "CRMLENS_WAREHOUSE_KEY"
_MAGIC = b"CRMLENC1"
_SALT = 16
_NONCE = 12


def load_warehouse_key(required: bool = False) -> str | None:
    """The warehouse encryption key from ``CRMLENS_WAREHOUSE_KEY``; None (or an error) when unset."""
    key = os.environ.get(WAREHOUSE_KEY_ENV)
    if key:
        return key
    if required:
        raise ConfigError(
            f"{WAREHOUSE_KEY_ENV} is not set: export the warehouse encryption key in the environment"
        )
    return None


def open_warehouse(
    path: str | os.PathLike[str], key: str | None = None, read_only: bool = False
) -> DuckDBEngine:
    """Open the warehouse, encrypted when ``key`` (or ``CRMLENS_WAREHOUSE_KEY``) is given."""
    key = key or load_warehouse_key()
    if key:
        return DuckDBEngine(path, encryption_key=key, read_only=read_only)
    return DuckDBEngine(path, read_only=read_only)


def encrypt_warehouse(src: str | os.PathLike[str], dst: str | os.PathLike[str], key: str) -> DuckDBEngine:
    """Copy a clear warehouse file into a new encrypted one and return the engine on the copy.

    The clear file is left in place: remove it (securely) once the copy is checked.
    """
    if Path(dst).exists():
        raise ConfigError(f"{dst}: already exists; choose a new file for the encrypted warehouse")
    engine = DuckDBEngine(dst, encryption_key=key)
    clear = str(src).replace("'", "''")
    engine.execute(f"ATTACH '{clear}' AS clear_src (READ_ONLY)")
    try:
        engine.execute("COPY FROM DATABASE clear_src TO warehouse")
    finally:
        engine.execute("DETACH clear_src")
    engine.execute("CHECKPOINT")
    return engine


def _derive(passphrase: str | bytes, salt: bytes) -> bytes:
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(secret)


def encrypt_bytes(data: bytes, passphrase: str | bytes) -> bytes:
    """AES-256-GCM with a scrypt-stretched key; the output carries its salt and nonce."""
    if not passphrase:
        raise ConfigError("encryption: empty passphrase; set a key or passphrase")
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    return _MAGIC + salt + nonce + AESGCM(_derive(passphrase, salt)).encrypt(nonce, data, _MAGIC)


def decrypt_bytes(blob: bytes, passphrase: str | bytes) -> bytes:
    """Inverse of :func:`encrypt_bytes`; a wrong passphrase or an edited file is an error."""
    if not blob.startswith(_MAGIC):
        raise ValidationError("decryption: not a crmlens encrypted file (bad header)")
    salt = blob[len(_MAGIC) : len(_MAGIC) + _SALT]
    nonce = blob[len(_MAGIC) + _SALT : len(_MAGIC) + _SALT + _NONCE]
    body = blob[len(_MAGIC) + _SALT + _NONCE :]
    try:
        return AESGCM(_derive(passphrase, salt)).decrypt(nonce, body, _MAGIC)
    except InvalidTag as exc:
        raise ValidationError("decryption: wrong passphrase, or the file was altered") from exc


def encrypt_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], passphrase: str | bytes) -> Path:
    """Write an encrypted copy of ``src`` to ``dst``."""
    out = Path(dst)
    out.write_bytes(encrypt_bytes(Path(src).read_bytes(), passphrase))
    return out


def decrypt_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], passphrase: str | bytes) -> Path:
    """Write the clear contents of an encrypted file to ``dst``."""
    out = Path(dst)
    out.write_bytes(decrypt_bytes(Path(src).read_bytes(), passphrase))
    return out


@functools.lru_cache(maxsize=8)
def _vault_aead(secret: bytes, salt: bytes) -> AESGCM:
    """The cipher of one vault key, derived once per process: scrypt costs ~0.1 s by design, and a load
    seals values in several steps (columns, kept-aside fields, rejected rows)."""
    return AESGCM(_derive(secret, salt))


class Sealer:
    """Encrypts many small values (vault entries, TOTP secrets) under one key, derived once.

    Each value gets its own nonce; ``context`` is bound as associated data, so a ciphertext moved
    to another row or column does not decrypt.
    """

    def __init__(self, key: str | bytes, salt: bytes = b"crmlens-vault-v1") -> None:
        secret = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        self._aead = _vault_aead(secret, salt)

    def seal(self, value: str, context: str = "") -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, value.encode("utf-8"), context.encode("utf-8"))

    def open(self, blob: bytes, context: str = "") -> str:
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], context.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise ValidationError("vault: wrong key, or the value was altered or moved") from exc

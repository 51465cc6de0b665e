"""DuckDB engine: the warehouse is one file; extensions come from the ``duckdb-ext-*`` packages.

DuckDB 1.4 LTS is used because its extensions (excel, postgres,
mysql, httpfs for encrypted writes) ship as PyPI packages; crmlens never downloads an extension
at run time.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from crmlens.engine.base import Engine, Relation
from crmlens.exceptions import ConfigError, MissingExtraError


def extension_directory() -> str | None:
    """Where the ``duckdb-ext-*`` packages put their extension files, if any is installed."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "extensions"
        if candidate.is_dir():
            return str(candidate)
    return None


class DuckDBRelation(Relation):
    def __init__(self, relation: duckdb.DuckDBPyRelation | None) -> None:
        self._relation = relation

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame() if self._relation is None else self._relation.df()

    def to_arrow(self) -> pa.Table:
        if self._relation is None:
            return pa.table({})
        return self._relation.fetch_arrow_table()


class DuckDBEngine(Engine):
    """One DuckDB connection on the warehouse file (``:memory:`` for tests).

    ``encryption_key`` opens or creates an encrypted database (DuckDB's AES-GCM encryption);
    ``memory_limit`` bounds memory, and DuckDB spills to disk past it.
    """

    dialect = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        read_only: bool = False,
        encryption_key: str | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = str(path)
        self.memory_limit = memory_limit  # what a stage that lowers the limit for a while restores
        config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": True}
        ext_dir = extension_directory()
        if ext_dir:
            config["extension_directory"] = ext_dir
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        self._lock = threading.RLock()
        self._loaded: set[str] = set()
        if encryption_key:
            self.con = duckdb.connect(":memory:", config=config)
            self.load_extension("httpfs")  # DuckDB writes encrypted files only with OpenSSL from httpfs
            key = encryption_key.replace("'", "''")
            mode = ", READ_ONLY" if read_only else ""
            try:
                self.con.execute(f"ATTACH '{self.path}' AS warehouse (ENCRYPTION_KEY '{key}'{mode})")
            except duckdb.Error as exc:
                raise ConfigError(f"warehouse {self.path}: cannot open encrypted database: {exc}") from exc
            self.con.execute("USE warehouse")
        else:
            try:
                self.con = duckdb.connect(self.path, read_only=read_only, config=config)
            except duckdb.Error as exc:
                raise ConfigError(f"warehouse {self.path}: cannot open: {exc}") from exc

    def load_extension(self, name: str) -> None:
        """Load a bundled extension, or say which package provides it."""
        if name in self._loaded:
            return
        try:
            self.con.execute(f"LOAD {name}")
        except duckdb.Error as exc:
            raise MissingExtraError(f"DuckDB extension {name} (package duckdb-ext-{name})", "base") from exc
        self._loaded.add(name)

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
        with self._lock:
            self.con.execute(sql, params)

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> Relation:
        with self._lock:
            return DuckDBRelation(self.con.sql(sql, params=params))

    def register(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        with self._lock:
            self.con.register(name, data)

    def write_table(self, name: str, data: pd.DataFrame | pa.Table, mode: str = "replace") -> None:
        view = f"__write_{name}"
        with self._lock:
            self.con.register(view, data)
            try:
                if mode == "replace" or not self.has_table(name):
                    self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
                else:
                    self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
            finally:
                self.con.unregister(view)

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self.con.execute(f'DESCRIBE "{table}"').fetchall()]

    def query_columns(self, sql: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self.con.execute(f"DESCRIBE {sql}").fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

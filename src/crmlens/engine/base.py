"""The engine interface: the only thing the rest of crmlens knows about where SQL runs.

A stage writes DuckDB-dialect SQL once; an engine executes it (Spark transpiles it with
sqlglot). Queries return a :class:`Relation` handle, so nothing is pulled into Python until a
caller asks for pandas or Arrow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa


class Relation(ABC):
    """A query result that stays in the engine until converted."""

    @abstractmethod
    def to_pandas(self) -> pd.DataFrame: ...

    @abstractmethod
    def to_arrow(self) -> pa.Table: ...

    def scalar(self) -> Any:
        frame = self.to_pandas()
        return None if frame.empty else frame.iat[0, 0]


class Engine(ABC):
    """Execute SQL, register data, read tables; transactions where the engine has them."""

    dialect: str = "duckdb"

    @abstractmethod
    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
        """Run a statement for its effect."""

    @abstractmethod
    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> Relation:
        """Run a query and return a handle on its result."""

    @abstractmethod
    def register(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Make an in-memory frame queryable under ``name`` (a view, not a copy)."""

    @abstractmethod
    def write_table(self, name: str, data: pd.DataFrame | pa.Table, mode: str = "replace") -> None:
        """Store a frame as table ``name``; ``mode`` is ``replace`` or ``append``."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables in the warehouse."""

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """Column names of ``table``."""

    @abstractmethod
    def query_columns(self, sql: str) -> list[str]:
        """Column names a query would return, without running it."""

    @abstractmethod
    def close(self) -> None: ...

    def table(self, name: str) -> Relation:
        return self.query(f'SELECT * FROM "{name}"')

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def count(self, name: str) -> int:
        return int(self.query(f'SELECT count(*) FROM "{name}"').scalar())

    def has_rows(self, name: str) -> bool:
        """Whether the table exists and holds at least one row (optional stages leave some empty)."""
        return self.has_table(name) and self.count(name) > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; engines without transactions run the block as is."""
        yield

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Engines behind one interface: DuckDB (default, one file) and Spark (at scale)."""

from crmlens.engine.base import Engine, Relation
from crmlens.engine.duckdb import DuckDBEngine

__all__ = ["DuckDBEngine", "Engine", "Relation", "open_engine"]


def open_engine(kind: str = "duckdb", path: str = ":memory:", **options: object) -> Engine:
    """Open the warehouse with the named engine."""
    if kind == "duckdb":
        return DuckDBEngine(path, **options)  # type: ignore[arg-type]
    if kind == "spark":
        from crmlens.engine.spark import SparkEngine

        return SparkEngine(path, **options)  # type: ignore[arg-type]
    from crmlens.exceptions import ConfigError

    raise ConfigError(f"engine: unknown engine {kind!r}; use 'duckdb' or 'spark'")

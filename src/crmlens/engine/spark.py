"""Spark engine: the same DuckDB-dialect SQL, transpiled by sqlglot, on a (local or cluster) session.

Tables are Spark temporary views unless a warehouse folder is given, where ``write_table``
saves Parquet-backed tables. ``pyspark`` comes with the ``[spark]`` extra.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import sqlglot

from crmlens.engine.base import Engine, Relation
from crmlens.exceptions import ConfigError, require


def to_spark_sql(sql: str) -> str:
    """DuckDB SQL as Spark SQL."""
    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write="spark"))


class SparkRelation(Relation):
    def __init__(self, frame: Any) -> None:
        self._frame = frame

    def to_pandas(self) -> pd.DataFrame:
        return self._frame.toPandas()

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pandas(self.to_pandas(), preserve_index=False)


class SparkEngine(Engine):
    """A Spark session behind the engine interface (``local[2]`` by default)."""

    dialect = "spark"

    def __init__(
        self,
        path: str | None = None,
        *,
        master: str = "local[2]",
        session: Any = None,
        config: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        if session is None:
            pyspark_sql = require("pyspark.sql", "spark")
            builder = (
                pyspark_sql.SparkSession.builder.master(master)
                .appName("crmlens")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            try:  # Splink's string-similarity functions (Jaro-Winkler ...) for identity resolution on Spark
                from splink.backends.spark import similarity_jar_location

                builder = builder.config("spark.jars", similarity_jar_location())
            except ImportError:
                pass
            if path and path != ":memory:":
                builder = builder.config("spark.sql.warehouse.dir", str(path))
            for key, value in (config or {}).items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        self.spark = session

    def _sql(self, sql: str, params: Any = None) -> Any:
        if params:
            raise ConfigError("the Spark engine takes no query parameters; inline literals instead")
        return self.spark.sql(to_spark_sql(sql))

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
        self._sql(sql, params).collect()

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> Relation:
        return SparkRelation(self._sql(sql, params))

    def query_columns(self, sql: str) -> list[str]:
        return list(self._sql(sql).columns)

    def register(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def write_table(self, name: str, data: pd.DataFrame | pa.Table, mode: str = "replace") -> None:
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        spark_frame = self.spark.createDataFrame(frame)
        if mode == "append" and self.has_table(name):
            spark_frame = self.spark.table(name).unionByName(spark_frame, allowMissingColumns=True)
            spark_frame = spark_frame.localCheckpoint()  # cut the lineage before replacing the view it reads
        if self.path and self.path != ":memory:":
            spark_frame.write.mode("overwrite").saveAsTable(name)
        else:
            spark_frame.createOrReplaceTempView(name)

    def tables(self) -> list[str]:
        return sorted(t.name for t in self.spark.catalog.listTables())

    def columns(self, table: str) -> list[str]:
        return list(self.spark.table(table).columns)

    def count(self, name: str) -> int:
        return int(self.spark.table(name).count())

    def close(self) -> None:
        """Spark sessions are shared per process; they stop with it (or with ``self.spark.stop()``)."""

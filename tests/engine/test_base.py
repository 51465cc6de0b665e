from pathlib import Path

from crmlens.engine import DuckDBEngine


def test_has_rows_tells_missing_empty_and_filled_tables_apart(tmp_path: Path) -> None:
    with DuckDBEngine(tmp_path / "w.duckdb") as engine:
        assert not engine.has_rows("orders")  # no such table
        engine.execute("CREATE TABLE orders (order_id VARCHAR)")
        assert not engine.has_rows("orders")  # empty
        engine.execute("INSERT INTO orders VALUES ('A1')")
        assert engine.has_rows("orders")

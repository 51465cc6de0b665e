"""A load killed half-way leaves the warehouse exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from crmlens.config import parse_config
from crmlens.engine import DuckDBEngine
from crmlens.ingest import Loader

SCRIPT = """
import sys
from pathlib import Path
from crmlens.config import parse_config
from crmlens.engine import DuckDBEngine
from crmlens.ingest import Loader
folder = Path(sys.argv[1])
config = parse_config({"sources": [{"name": "big", "kind": "csv", "path": "big.csv", "entity": "orders"}]})
engine = DuckDBEngine(folder / "w.duckdb")
print("started", flush=True)
Loader(engine, config, folder).load_all()
"""


def test_killed_load_leaves_warehouse_unchanged(tmp_path: Path) -> None:
    (tmp_path / "small.csv").write_text(
        "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,1\n", encoding="utf-8"
    )
    config = parse_config(
        {"sources": [{"name": "small", "kind": "csv", "path": "small.csv", "entity": "orders"}]}
    )
    with DuckDBEngine(tmp_path / "w.duckdb") as engine:
        Loader(engine, config, tmp_path).load_all()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'B' || i AS order_id, 'c' || (i % 1000) AS customer_key, '2024-01-02 10:00:00' AS ts, "
        f"i % 100 AS amount FROM range(6000000) t(i)) TO '{tmp_path / 'big.csv'}' (HEADER)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "started"
    time.sleep(3)  # well inside the load of six million rows (about 8 s on a quiet 2-core machine)
    assert process.poll() is None, "the load finished before it could be killed; make the file bigger"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with DuckDBEngine(tmp_path / "w.duckdb") as engine:
        assert engine.count("orders") == 1
        assert engine.con.execute("SELECT source FROM ingest_log").fetchall() == [("small",)]
        assert engine.count("quarantine") == 0

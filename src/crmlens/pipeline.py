"""The whole pipeline in order, as ``crmlens demo`` runs it, and the report of everything built.

Each stage reads and writes warehouse tables; a stage whose inputs are missing is skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from crmlens.engine.base import Engine
from crmlens.report import build_report
from crmlens.report.sections import FOUNDATION_SECTIONS
from crmlens.workspace import open_workspace

REPORT_SECTIONS = [*FOUNDATION_SECTIONS]


def write_report(engine: Engine, out: Path) -> Path:
    """The HTML report of what the warehouse holds."""
    return build_report(engine, out, REPORT_SECTIONS)


def run_demo(
    out: Path, customers: int = 2000, seed: int = 0, progress: Progress | None = None
) -> dict[str, Any]:
    """Generate the demo retailer into ``out``, run every stage, and write ``out/report.html``."""
    from crmlens.datasets.demo import generate_demo

    steps: list[dict[str, Any]] = []
    task = progress.add_task("demo", total=3) if progress else None

    def done(step: str, started: float, **details: Any) -> None:
        steps.append({"step": step, "seconds": round(time.perf_counter() - started, 2), **details})
        if progress and task is not None:
            progress.update(task, advance=1, description=step)

    out.mkdir(parents=True, exist_ok=True)
    warehouse = out / "crmlens.duckdb"
    for stale in (warehouse, out / "crmlens.duckdb.wal"):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    paths = generate_demo(out, customers=customers, seed=seed)
    done("generate", started, customers=customers)

    started = time.perf_counter()
    with open_workspace(paths.project_file.parent) as ws:
        results = ws.ingest()
        done(
            "ingest",
            started,
            rows_loaded=sum(r.rows_loaded for r in results),
            rows_quarantined=sum(r.rows_quarantined for r in results),
        )
        started = time.perf_counter()
        report = write_report(ws.engine, out / "report.html")
        done("report", started)
        warehouse = ws.warehouse_path
    return {"warehouse": str(warehouse), "report": str(report), "steps": steps}

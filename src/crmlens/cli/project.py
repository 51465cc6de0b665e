"""Project commands: init, ingest, status, quality, report, demo."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from crmlens.cli._output import console, emit, progress
from crmlens.config import EXAMPLE, SourceConfig
from crmlens.exceptions import ConfigError
from crmlens.workspace import PROJECT_FILE, open_workspace


def _propose(file: Path, as_json: bool) -> None:
    """Print a mapping proposal for a file's headers."""
    from crmlens.engine import DuckDBEngine
    from crmlens.ingest import propose
    from crmlens.ingest.files import read_spec

    kind = {
        ".tsv": "tsv",
        ".xlsx": "excel",
        ".parquet": "parquet",
        ".json": "json",
        ".ndjson": "ndjson",
        ".jsonl": "ndjson",
    }.get(file.suffix.lower(), "csv")
    source = SourceConfig(name="proposal", kind=kind, path=str(file), entity="orders")
    with DuckDBEngine() as engine:
        spec = read_spec(engine, source, file)
        headers = [r[0] for r in engine.con.execute(f"DESCRIBE SELECT * FROM {spec.sql}").fetchall()]
    mapping = propose(headers)
    entities = _guess_entity(set(mapping.values()))
    payload = {
        "file": str(file),
        "headers": headers,
        "columns": mapping,
        "unmapped": [h for h in headers if h not in mapping],
        "entity": entities,
    }
    if as_json:
        emit(payload, True)
        return
    console.print(f"# proposed source for {file} (entity guess: {entities})")
    console.print(f"- name: {file.stem}\n  kind: {kind}\n  path: {file}\n  entity: {entities}\n  columns:")
    for header, canonical in mapping.items():
        console.print(f"    {header}: {canonical}")
    if payload["unmapped"]:
        console.print(f"# kept in attributes (no canonical column): {', '.join(payload['unmapped'])}")


def _guess_entity(columns: set[str]) -> str:
    from crmlens.schema import TABLES

    best, best_score = "orders", -1.0
    for table in TABLES.values():
        if not table.loadable:
            continue
        required = {c.name for c in table.columns if c.required}
        score = (
            len(columns & set(table.column_names)) + 2 * len(columns & required) - 3 * len(required - columns)
        )
        if score > best_score:
            best, best_score = table.aliases[0] if table.aliases else table.name, score
    return best


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        folder: Path = typer.Argument(..., help="The project folder to create."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Create a project folder with an annotated crmlens.yaml."""
        target = folder / PROJECT_FILE
        if target.exists():
            raise ConfigError(f"{target} exists already; edit it, or choose another folder")
        (folder / "exports").mkdir(parents=True, exist_ok=True)
        target.write_text(EXAMPLE, encoding="utf-8")
        from crmlens.privacy.keys import provision_keys

        keys = provision_keys(target)  # pseudonymisation on, keys beside (never inside) the project
        if json_out:
            emit({"project_file": str(target), "key_folder": str(keys["pseudonym_key_file"].parent)}, True)
        else:
            console.print(f"Created {target}. Describe your sources there, then run `crmlens ingest`.")
            console.print(
                f"Privacy keys: {keys['pseudonym_key_file'].parent} (back them up; keep them out of version control)."
            )

    @app.command("ingest")
    def ingest(
        source: list[str] = typer.Option(
            None, "--source", "-s", help="Load only these sources (repeatable)."
        ),
        propose_file: Path = typer.Option(
            None, "--propose", help="Print a proposed mapping for FILE's headers."
        ),
        project: Path = typer.Option(Path("."), "--project", "-p", help="The project folder."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Load every source of crmlens.yaml into the warehouse (each input one transaction)."""
        if propose_file is not None:
            _propose(propose_file, json_out)
            return
        with open_workspace(project) as ws, progress(not json_out) as bar:
            task = bar.add_task("ingest", total=len(ws.config.sources))
            seen: set[str] = set()

            def step(result: object) -> None:
                name = result.source  # type: ignore[attr-defined]
                if name not in seen:
                    seen.add(name)
                    bar.update(task, advance=1, description=f"ingest {name}")

            results = ws.ingest(source or None, on_input=step)
        rows = [r.as_dict() for r in results]
        emit(
            {
                "loads": rows,
                "metrics": {
                    "rows_in": sum(r.rows_in for r in results),
                    "rows_loaded": sum(r.rows_loaded for r in results),
                    "rows_quarantined": sum(r.rows_quarantined for r in results),
                },
            },
            json_out,
            tables=[("loads", [{k: v for k, v in r.items() if k != "load_id"} for r in rows])],
        )

    @app.command("build")
    def build(
        as_of: list[str] = typer.Option(
            None, "--as-of", help="Profile cutoff date(s); default: the last order day."
        ),
        project: Path = typer.Option(Path("."), "--project", "-p"),
        seed: int = typer.Option(0, "--seed"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Resolve identities across sources, then build customer_360 as of each cutoff."""
        with open_workspace(project) as ws, progress(not json_out) as bar:
            task = bar.add_task("identity and customer_360", total=None)
            summary = ws.build(as_of or None, seed=seed)
            bar.update(task, completed=1, total=1)
        identity = summary["identity"]
        rows = [{k: v for k, v in identity.items() if not isinstance(v, (dict, list))}]
        emit(
            summary,
            json_out,
            tables=[
                ("identity", rows),
                ("customer_360", [{"as_of": k, "customers": v} for k, v in summary["customer_360"].items()]),
            ],
        )

    @app.command("status")
    def status(
        project: Path = typer.Option(Path("."), "--project", "-p"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Tables with row counts, and the last load of each source."""
        with open_workspace(project, read_only=True) as ws:
            payload = ws.status()
        emit(payload, json_out, tables=[("tables", payload["tables"]), ("last loads", payload["loads"])])

    @app.command("quality")
    def quality(
        project: Path = typer.Option(Path("."), "--project", "-p"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Per table and column: nulls, distinct, min/max, invalid counts, top values, duplicates."""
        with open_workspace(project, read_only=True) as ws:
            rows = ws.quality()
            quarantine = ws.quarantine_summary()
        emit(
            {"columns": rows, "quarantine": quarantine},
            json_out,
            tables=[("data quality", rows), ("quarantine", quarantine)],
        )

    @app.command("report")
    def report(
        project: Path = typer.Option(Path("."), "--project", "-p"),
        out: Path = typer.Option(
            None, "--out", help="Where to write the HTML (default: PROJECT/report.html)."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Write the HTML report of everything the warehouse holds."""
        from crmlens.pipeline import write_report

        with open_workspace(project, read_only=True) as ws:
            path = write_report(ws.engine, out or project / "report.html")
        if json_out:
            emit({"report": str(path.resolve())}, True)
        else:
            console.print(f"Report written to {path}")

    @app.command("demo")
    def demo(
        customers: int = typer.Option(
            2000, "--customers", help="How many customers to generate (up to 1,000,000)."
        ),
        out: Path = typer.Option(
            Path("demo_out"), "--out", help="Folder for the data, warehouse and report."
        ),
        seed: int = typer.Option(0, "--seed"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Generate a multi-source retailer, run the whole pipeline on it, write DIR/report.html."""
        from crmlens.pipeline import run_demo

        started = time.perf_counter()
        with progress(not json_out) as bar:
            summary = run_demo(out, customers=customers, seed=seed, progress=bar)
        summary["metrics"] = {"seconds": round(time.perf_counter() - started, 2)}
        steps = [
            {
                "step": st["step"],
                "seconds": st["seconds"],
                "result": ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in st.items()
                    if k not in ("step", "seconds")
                ),
            }
            for st in summary["steps"]
        ]
        emit(summary, json_out, tables=[("demo", steps)])
        if not json_out:
            console.print(f"Warehouse: {summary['warehouse']}\nReport: {summary['report']}")

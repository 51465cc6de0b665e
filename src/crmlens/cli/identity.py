"""``crmlens dedup FILE`` and ``crmlens identity resolve|explain``: who is who, and why."""

from __future__ import annotations

from pathlib import Path

import typer

from crmlens.cli._output import emit, progress
from crmlens.exceptions import ConfigError


def _roles(values: list[str] | None) -> dict[str, str]:
    out = {}
    for value in values or []:
        column, sep, role = value.rpartition("=")
        if not sep or not column:
            raise ConfigError(f"dedup: --role {value!r}: write COLUMN=ROLE, e.g. --role dob=birth_date")
        out[column] = role
    return out


def register(app: typer.Typer) -> None:
    @app.command("dedup")
    def dedup(
        file: Path = typer.Argument(..., help="Customer list: CSV (any separator), Parquet or Excel."),
        out: Path = typer.Option(
            ..., "--out", help="CSV or Parquet: id, resolved_id, match_probability, match_rule."
        ),
        id_col: str = typer.Option(
            None, "--id-col", help="Column that identifies the row (kept in the output)."
        ),
        role: list[str] = typer.Option(
            None,
            "--role",
            help="Override a guessed role: COLUMN=ROLE (name, given_name, surname, birth_date, "
            "email, phone, id, address, number, city, postcode, category, text, ignore). Repeatable.",
        ),
        source_col: str = typer.Option(
            None, "--source-col", help="Column naming the list each row comes from."
        ),
        link_only: bool = typer.Option(
            False, "--link-only", help="With --source-col: link across lists only."
        ),
        threshold: float = typer.Option(0.9, "--threshold", help="Match probability to join two rows."),
        sep: str = typer.Option(None, "--sep", help="CSV separator (default: sniffed)."),
        seed: int = typer.Option(0, "--seed"),
        engine: str = typer.Option(
            "duckdb", "--engine", help="Where Splink runs: duckdb or spark (local[2])."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """De-duplicate one customer list: guessed columns, rules then Splink, one resolved id per row."""
        from crmlens.engine import open_engine
        from crmlens.identity.filemode import dedup_frame, read_table, write_table

        spark = open_engine(engine) if engine != "duckdb" else None

        with progress(not as_json) as bar:
            task = bar.add_task(f"reading {file.name}", total=3)
            frame = read_table(file, sep=sep)
            bar.advance(task)
            bar.update(task, description=f"resolving {len(frame):,} rows")
            result, summary = dedup_frame(
                frame, id_col, roles=_roles(role), source_col=source_col, link_only=link_only,
                threshold=threshold, seed=seed, spark=spark,
            )  # fmt: skip
            bar.advance(task)
            bar.update(task, description=f"writing {out.name}")
            write_table(result, out)
            bar.advance(task)
        metrics = {k: summary[k] for k in ("rows", "entities", "rows_in_clusters", "seconds", "rows_per_s")}
        payload = {"metrics": metrics, "anchors": {}, "file": str(file), "out": str(out), **summary}
        emit(
            payload,
            as_json,
            tables=[
                ("dedup", [metrics]),
                ("links by rule", [{"rule": k, "rows": v} for k, v in summary["links_by_rule"].items()]),
                ("column roles", [{"column": k, "role": v} for k, v in summary["roles"].items()]),
            ],
        )

    group = typer.Typer(
        help="Identity resolution in the warehouse: resolve, and explain a link.", no_args_is_help=True
    )
    app.add_typer(group, name="identity")

    @group.command("resolve")
    def resolve(
        project: Path = typer.Option(Path("."), "--project", "-p", help="The project folder."),
        threshold: float = typer.Option(
            None, "--threshold", help="Overrides identity.threshold of crmlens.yaml."
        ),
        retrain: bool = typer.Option(False, "--retrain", help="Train the matching model again."),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Resolve source_customers into customers; fill customer_id in every fact table."""
        from crmlens.workspace import open_workspace

        with open_workspace(project) as ws, progress(not as_json) as bar:
            task = bar.add_task("resolving identities", total=1)
            options = {} if threshold is None else {"threshold": threshold}
            summary = ws.resolve_identities(seed=seed, retrain=retrain, **options)  # with the privacy keys
            bar.advance(task)
        metrics = {
            "records": summary["records"],
            "sources": summary["sources"],
            "customers": summary["customers"],
            "seconds": summary["seconds"],
        }
        emit(
            {"metrics": metrics, "anchors": {}, **summary},
            as_json,
            tables=[
                ("identity", [metrics]),
                ("links by rule", [{"rule": k, "records": v} for k, v in summary["links_by_rule"].items()]),
            ],
        )

    @group.command("explain")
    def explain(
        key: str = typer.Argument(
            ..., help="Record key: source:customer_key (or the key alone when unique)."
        ),
        other: str = typer.Option(
            None, "--with", help="A second record: why the two were or were not joined."
        ),
        project: Path = typer.Option(Path("."), "--project", "-p", help="The project folder."),
        limit: int = typer.Option(10, "--limit", help="How many scored pairs to show."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Why a record belongs to its customer: the rule or the Splink comparisons and their weights."""
        from crmlens.identity import explain_record
        from crmlens.workspace import open_workspace

        with open_workspace(project, read_only=True) as ws:
            token_key = ws.keys.pseudonym if ws.config.privacy.pseudonymise else None
            result = explain_record(ws.engine, key, other=other, limit=limit, pseudonym_key=token_key)
        pairs = [
            {
                "with": p["with"],
                "rule": p["rule"],
                "match_probability": p["match_probability"],
                "same_customer": p["same_customer"],
                "comparisons": ", ".join(
                    f"{c['comparison']}: {c['level']} ({c['weight']:+.1f})" for c in p["comparisons"]
                ),
            }
            for p in result["pairs"]
        ]
        tables = [
            (f"{result['record']} → customer {result['customer_id']}", result["cluster"]),
            ("scored pairs", pairs),
        ]
        if "why" in result:
            tables.append(("why", [{"why": result["why"]}]))
        emit({"metrics": {}, "anchors": {}, **result}, as_json, tables=tables)

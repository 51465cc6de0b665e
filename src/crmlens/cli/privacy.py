"""``crmlens privacy scan|report|erase|export|keygen`` and ``crmlens audit verify``.

Commands work on the project's warehouse (``crmlens.yaml`` in the current folder, or ``--db``);
an encrypted warehouse opens with the key in ``CRMLENS_WAREHOUSE_KEY``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from crmlens.cli._output import console, emit, progress, to_json
from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, ValidationError

privacy_app = typer.Typer(help="PII scan, privacy report, erasure and access requests.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

_DB_HELP = "Warehouse file; default: the one named in ./crmlens.yaml, else ./crmlens.duckdb."


def _warehouse_path(db: Path | None) -> Path:
    if db is not None:
        return db
    project = Path("crmlens.yaml")
    if project.exists():
        from crmlens.config import load_config

        path = Path(load_config(project).warehouse)
        return path if path.is_absolute() else project.parent / path
    return Path("crmlens.duckdb")


def _open(db: Path | None, read_only: bool = False) -> Engine:
    from crmlens.privacy.crypto import open_warehouse

    path = _warehouse_path(db)
    if not path.exists():
        raise ConfigError(f"warehouse {path} not found: run `crmlens ingest` first, or pass --db FILE")
    return open_warehouse(path, read_only=read_only)


def _project_keys(db: Path | None) -> Any:
    """The keys of the project in the current folder (None with --db or without crmlens.yaml)."""
    project = Path("crmlens.yaml")
    if db is not None or not project.exists():
        return None
    from crmlens.config import load_config
    from crmlens.privacy.keys import project_keys

    return project_keys(load_config(project).privacy, Path("."))


def _head_path(db: Path | None) -> Path:
    path = _warehouse_path(db)
    return path.with_name(path.name + ".audit-head")


def _scan_file(file: Path, sample_rows: int, seed: int) -> list[dict[str, Any]]:
    from crmlens.engine import DuckDBEngine
    from crmlens.privacy.pii import scan_table

    with DuckDBEngine(":memory:") as engine:
        reader = {".parquet": "read_parquet", ".json": "read_json_auto", ".jsonl": "read_json_auto"}.get(
            file.suffix.lower(), "read_csv_auto"
        )
        literal = str(file).replace("'", "''")
        options = ", all_varchar = true" if reader == "read_csv_auto" else ""
        engine.execute(f"CREATE TABLE scanned AS SELECT * FROM {reader}('{literal}'{options})")
        rows = scan_table(engine, "scanned", sample_rows=sample_rows, seed=seed)
    for row in rows:
        row["table"] = file.name
    return rows


def _column_rows(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "table": c["table"],
            "column": c["column"],
            "verdict": c["verdict"],
            "name_hint": c["name_hint"],
            "kinds": ", ".join(f"{k}:{v}" for k, v in c["kinds"].items()),
            "pii_fraction": round(c["pii_fraction"], 3),
        }
        for c in columns
        if c["verdict"] != "clean"
    ]


def register(app: typer.Typer) -> None:
    @privacy_app.command("scan")
    def scan(
        file: Path = typer.Argument(None, help="A CSV/Parquet/JSON file to scan instead of the warehouse."),
        db: Path = typer.Option(None, "--db", help=_DB_HELP),
        sample_rows: int = typer.Option(2000, "--sample-rows", help="Rows sampled per table."),
        seed: int = typer.Option(0, "--seed"),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Find PII in column names and values: e-mail, phone, PRC ID, bank card, IP, passport, name, address."""
        from crmlens.privacy.pii import scan_warehouse

        if file is not None:
            if not file.exists():
                raise ConfigError(f"privacy scan: file {file} not found")
            with progress(not json_out) as bar:
                task = bar.add_task(f"scanning {file.name}", total=1)
                columns = _scan_file(file, sample_rows, seed)
                bar.advance(task)
        else:
            with _open(db, read_only=True) as engine, progress(not json_out) as bar:
                task = bar.add_task("scanning the warehouse", total=1)
                columns = scan_warehouse(engine, sample_rows=sample_rows, seed=seed)
                bar.advance(task)
        metrics = {
            "columns_scanned": len(columns),
            "columns_clear_pii": sum(c["verdict"] == "pii" for c in columns),
            "columns_pseudonymised": sum(c["verdict"] == "pseudonymised" for c in columns),
            "columns_quasi_identifiers": sum(c["verdict"] == "quasi" for c in columns),
        }
        emit(
            {"metrics": metrics, "anchors": {}, "columns": columns},
            json_out,
            tables=[("PII by column (clean columns omitted)", _column_rows(columns)), ("summary", [metrics])],
        )

    @privacy_app.command("report")
    def report(
        db: Path = typer.Option(None, "--db", help=_DB_HELP),
        sample_rows: int = typer.Option(2000, "--sample-rows"),
        seed: int = typer.Option(0, "--seed"),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """What PII exists where, how it is protected, consent coverage, audit chain state."""
        from crmlens.privacy.report import privacy_report

        with _open(db, read_only=True) as engine, progress(not json_out) as bar:
            task = bar.add_task("privacy report", total=1)
            result = privacy_report(engine, sample_rows=sample_rows, seed=seed)
            bar.advance(task)
        result["anchors"] = {}
        consent = [{"purpose": p, **row} for p, row in result["consent"].items()]
        emit(
            result,
            json_out,
            tables=[
                ("privacy", [result["metrics"]]),
                ("PII by column (clean columns omitted)", _column_rows(result["columns"])),
                ("consent", consent),
                ("excluded for lack of consent, by stage", result["exclusions"]),
            ],
        )
        if not json_out:
            for finding in result["findings"]:
                console.print(f"- {finding}")

    @privacy_app.command("erase")
    def erase(
        customer: str = typer.Argument(..., help="customer_id, or with --source that source's customer key."),
        source: str = typer.Option(
            None, "--source", help="Erase by this source's customer key instead of the id."
        ),
        mode: str = typer.Option(
            "delete", "--mode", help="delete, or anonymise (keep order rows without identity)."
        ),
        receipt: Path = typer.Option(None, "--receipt", help="Write the receipt JSON here."),
        actor: str = typer.Option("cli", "--actor", help="Who asks, for the audit log."),
        reason: str = typer.Option("data subject request", "--reason"),
        db: Path = typer.Option(None, "--db", help=_DB_HELP),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Erase one customer from every table (sources, links, features, scores, segments, recs, vault, text)."""
        from crmlens.privacy.audit import AuditLog
        from crmlens.privacy.erasure import erase_customer

        keys = _project_keys(db)
        with _open(db) as engine, progress(not json_out) as bar:
            task = bar.add_task(f"erasing customer {customer}", total=1)
            result = erase_customer(
                engine,
                customer,
                source,
                mode=mode,
                actor=actor,
                reason=reason,
                audit=AuditLog(engine, head_path=_head_path(db)),
                receipt_path=receipt,
                pseudonym_key=keys.pseudonym if keys else None,
                vault_key=keys.vault if keys else None,
            )
            bar.advance(task)
        rows = [{"table": t, **counts} for t, counts in result["tables"].items()]
        metrics = {
            "rows_erased": sum(sum(c.values()) for c in result["tables"].values()),
            "tables_touched": len(result["tables"]),
            "text_cells_scrubbed": sum(result["text_cells_scrubbed"].values()),
            "models_to_retrain": len(result["retrain"]),
        }
        emit(
            {"metrics": metrics, "anchors": {}, "receipt": result},
            json_out,
            tables=[("erased", rows), ("summary", [metrics])],
        )
        if not json_out:
            console.print(f"receipt {result['receipt_id']} digest {result['digest']}")

    @privacy_app.command("export")
    def export(
        customer: str = typer.Argument(..., help="customer_id, or with --source that source's customer key."),
        out: Path = typer.Option(..., "--out", help="File to write (JSON; encrypted with --encrypt)."),
        source: str = typer.Option(None, "--source"),
        encrypt: bool = typer.Option(
            False, "--encrypt", help="Encrypt the file with the passphrase in CRMLENS_EXPORT_PASSPHRASE."
        ),
        vault_key_env: str = typer.Option(
            None,
            "--vault-key-env",
            help="Environment variable holding the vault key, to include clear values.",
        ),
        reveal: bool = typer.Option(
            False,
            "--reveal",
            help="Include clear values, with the project's vault key (privacy.vault_key_file).",
        ),
        db: Path = typer.Option(None, "--db", help=_DB_HELP),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Write everything held about one customer (right of access)."""
        import os

        from crmlens.privacy.audit import AuditLog
        from crmlens.privacy.crypto import encrypt_bytes
        from crmlens.privacy.erasure import export_customer

        keys = _project_keys(db)
        vault_key: str | bytes | None = None
        if reveal:
            if keys is None or keys.vault is None:
                raise ConfigError(
                    "--reveal: no vault key for this project (privacy.vault_key_file or CRMLENS_VAULT_KEY)"
                )
            vault_key = keys.vault
        if vault_key_env:
            vault_key = os.environ.get(vault_key_env)
            if not vault_key:
                raise ConfigError(f"--vault-key-env {vault_key_env}: that environment variable is not set")
        passphrase = os.environ.get("CRMLENS_EXPORT_PASSPHRASE") if encrypt else None
        if encrypt and not passphrase:
            raise ConfigError(
                "--encrypt: set CRMLENS_EXPORT_PASSPHRASE to the passphrase for the export file"
            )
        with _open(db) as engine:
            data = export_customer(
                engine, customer, source, vault_key=vault_key, pseudonym_key=keys.pseudonym if keys else None
            )
            body = (to_json(data) + "\n").encode("utf-8")
            out.write_bytes(encrypt_bytes(body, passphrase) if passphrase else body)
            AuditLog(engine, head_path=_head_path(db)).append(
                "cli", "privacy.export", target=f"export:{out.name}", purpose="data subject access request",
                details={"tables": sorted(data["tables"]), "encrypted": bool(passphrase)},
            )  # fmt: skip
        rows = [{"table": t, "rows": len(r)} for t, r in data["tables"].items()]
        metrics = {"tables": len(rows), "rows": sum(r["rows"] for r in rows), "encrypted": bool(passphrase)}
        emit({"metrics": metrics, "anchors": {}, "file": str(out)}, json_out, tables=[("exported", rows)])

    @privacy_app.command("keygen")
    def keygen(
        project: Path = typer.Option(Path("."), "--project", "-p", help="The project folder."),
        key_dir: Path = typer.Option(
            None,
            "--key-dir",
            help="Folder for the key files (outside the project); default: ../.crmlens-keys.",
        ),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Create the project's pseudonymisation and vault keys outside it; turn pseudonymisation on in crmlens.yaml.

        Existing key files are kept: a new pseudonymisation key would stop new loads joining old ones.
        """
        from crmlens.privacy.keys import provision_keys

        target = project / "crmlens.yaml"
        if not target.exists():
            raise ConfigError(f"{target} not found; create the project with `crmlens init DIR`")
        made = provision_keys(target, key_dir)
        payload = {k: str(v) if isinstance(v, Path) else v for k, v in made.items()}
        emit(payload, json_out, tables=[("keys", [{"file": f, "new": f in made["created"]} for f in (
            payload["pseudonym_key_file"], payload["vault_key_file"])])])  # fmt: skip
        if not json_out:
            console.print("Back these files up and keep them out of version control: without them new loads "
                          "cannot join old ones and the vault cannot be read.")  # fmt: skip

    @audit_app.command("verify")
    def verify(
        db: Path = typer.Option(None, "--db", help=_DB_HELP),
        file: Path = typer.Option(None, "--file", help="Verify an exported log (JSON lines) instead."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Check the audit log's hash chain (key from CRMLENS_AUDIT_KEY); exit 1 when it was tampered with."""
        from crmlens.privacy.audit import AuditLog, verify_file

        if file is not None:
            result = verify_file(file)
        else:
            with _open(db, read_only=True) as engine:
                if not engine.has_table("audit_log"):
                    raise ConfigError("audit verify: this warehouse has no audit_log yet")
                result = AuditLog(engine, head_path=_head_path(db)).verify()
        payload = {"metrics": {"audit_entries": result.entries, "audit_chain_ok": result.ok}, "anchors": {},
                   **result.as_dict()}  # fmt: skip
        if json_out:
            typer.echo(json.dumps(payload, ensure_ascii=False))
        else:
            status = "[green]intact[/green]" if result.ok else f"[red]TAMPERED[/red]: {result.reason}"
            console.print(f"audit log: {result.entries} entries, {status}")
        if not result.ok:
            raise ValidationError(f"audit log tampered: {result.reason} (crmlens audit verify)")

    app.add_typer(privacy_app, name="privacy")
    app.add_typer(audit_app, name="audit")

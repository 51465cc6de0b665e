"""The privacy section of the report: what PII is where, how it is protected, consent coverage, audit state."""

from __future__ import annotations

from typing import Any

from crmlens.engine.base import Engine
from crmlens.privacy.audit import AUDIT_TABLE, AuditLog
from crmlens.privacy.consent import consent_coverage
from crmlens.privacy.pii import scan_warehouse
from crmlens.privacy.pseudonymise import VAULT_TABLE

__all__ = ["privacy_report"]


def _encrypted(engine: Engine) -> bool | None:
    try:
        value = engine.query(
            "SELECT encrypted FROM duckdb_databases() WHERE database_name = current_database()"
        ).scalar()
    except Exception:  # noqa: BLE001 - engines without duckdb_databases() (Spark) cannot say
        return None
    return None if value is None else bool(value)


def privacy_report(engine: Engine, sample_rows: int = 2000, seed: int = 0) -> dict[str, Any]:
    """One dict for the report and ``crmlens privacy report``: metrics, per-column scan and findings."""
    columns = scan_warehouse(engine, sample_rows=sample_rows, seed=seed)
    clear = [c for c in columns if c["verdict"] == "pii"]
    tokens = [c for c in columns if c["verdict"] == "pseudonymised"]
    consent = consent_coverage(engine)
    audit: dict[str, Any] = {"entries": 0, "ok": None}
    if engine.has_table(AUDIT_TABLE):
        audit = AuditLog(engine).verify().as_dict()
    vault = engine.count(VAULT_TABLE) if engine.has_table(VAULT_TABLE) else 0
    metrics = {
        "tables_scanned": len({c["table"] for c in columns}),
        "columns_scanned": len(columns),
        "columns_clear_pii": len(clear),
        "columns_pseudonymised": len(tokens),
        "columns_quasi_identifiers": sum(c["verdict"] == "quasi" for c in columns),
        "vault_entries": vault,
        "warehouse_encrypted": _encrypted(engine),
        "audit_entries": audit.get("entries", 0),
        "audit_chain_ok": audit.get("ok"),
    }
    for purpose, row in consent.items():
        metrics[f"consent_{purpose}_allowed"] = row["allowed_customers"]
    findings = [
        f"{c['table']}.{c['column']}: clear {c['name_hint'] or ', '.join(c['kinds'])} "
        f"({c['values_with_pii']}/{c['values_scanned']} sampled values); "
        + (
            "pseudonymise it at ingest (privacy.pseudonymise)"
            if c["name_hint"]
            else "scrub it before text models read it (crmlens.privacy.scrub_text)"
        )
        for c in clear
    ]
    return {"metrics": metrics, "columns": columns, "consent": consent, "audit": audit, "findings": findings}

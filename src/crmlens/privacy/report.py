"""The privacy section of the report: what PII is where, how it is protected, consent and what it excluded, audit state."""

from __future__ import annotations

from typing import Any

from crmlens.engine.base import Engine
from crmlens.privacy.audit import AUDIT_TABLE, AuditLog
from crmlens.privacy.consent import CONSENT_LOG, consent_coverage, consent_exclusions
from crmlens.privacy.pii import scan_warehouse
from crmlens.privacy.pseudonymise import IDENTIFIER_COLUMNS, KEY_CHECK_TABLE, TEXT_COLUMNS, VAULT_TABLE

__all__ = ["OUTPUT_TABLES", "privacy_report"]

# What the pipeline computes about customers: none of it may hold a clear identifier.
OUTPUT_TABLES = (
    "customer_360",
    "scores",
    "segments",
    "segment_profiles",
    "segment_map",
    "recommendations",
    "campaign_targets",
    "text_sentiment",
    "feedback_sentiment",
    "feedback_topics",
    "sentiment_alerts",
    "ticket_triage",
)


def _encrypted(engine: Engine) -> bool | None:
    try:
        value = engine.query(
            "SELECT encrypted FROM duckdb_databases() WHERE database_name = current_database()"
        ).scalar()
    except Exception:  # noqa: BLE001 - engines without duckdb_databases() (Spark) cannot say
        return None
    return None if value is None else bool(value)


def _protection(column: dict[str, Any], vaulted: set[str]) -> str:
    table, name = column["table"], column["column"]
    if column["verdict"] == "pseudonymised":
        kept = any(field.rsplit(".", 1)[-1] == name for field in vaulted)
        return "keyed HMAC-SHA256 token; " + (
            "clear value only in the vault" if kept else "no clear copy kept"
        )
    if name in TEXT_COLUMNS.get(table, ()):
        return "free text: PII replaced by typed placeholders (<PHONE>, <EMAIL> ...) at ingest"
    if column["verdict"] == "quasi":
        return "kept: quasi-identifier (use crmlens.privacy.safe_export: k-anonymity, DP)"
    if name in IDENTIFIER_COLUMNS.get(table, ()):
        return "CLEAR: turn on privacy.pseudonymise"
    return "CLEAR: found by value; scrub or leave it out of the task's columns"


def privacy_report(engine: Engine, sample_rows: int = 2000, seed: int = 0) -> dict[str, Any]:
    """One dict for the report and ``crmlens privacy report``.

    ``metrics``; ``columns`` (the per-column scan); ``protection`` (each column holding personal
    data and how it is protected); ``consent`` (coverage per purpose); ``exclusions`` (customers each
    stage left out for lack of consent); ``vault`` (sealed values per field); ``outputs`` (the
    derived tables checked for clear identifiers, and what was found); ``audit``; ``findings``.
    """
    # skipped: the audit log (no identifiers by construction), the vault (encrypted), the consent log
    # (counts), the key probe and the matcher's parameters (probabilities whose digits look like cards)
    skip = (AUDIT_TABLE, VAULT_TABLE, CONSENT_LOG, KEY_CHECK_TABLE, "__identity_model")
    columns = scan_warehouse(engine, sample_rows=sample_rows, seed=seed, skip=skip)
    clear = [c for c in columns if c["verdict"] == "pii"]
    tokens = [c for c in columns if c["verdict"] == "pseudonymised"]
    consent = consent_coverage(engine)
    audit: dict[str, Any] = {"entries": 0, "ok": None}
    if engine.has_table(AUDIT_TABLE):
        audit = AuditLog(engine).verify().as_dict()
    vault_rows: list[dict[str, Any]] = []
    if engine.has_table(VAULT_TABLE):
        vault_rows = (
            engine.query(f"SELECT field, count(*) AS values FROM {VAULT_TABLE} GROUP BY 1 ORDER BY 1")
            .to_pandas()
            .to_dict("records")
        )
    vaulted = {str(r["field"]) for r in vault_rows}
    protection = [
        {
            "table": c["table"],
            "column": c["column"],
            "found": ", ".join(c["kinds"]) or c["name_hint"] or c["verdict"],
            "protection": _protection(c, vaulted),
        }
        for c in columns
        if c["verdict"] in ("pii", "pseudonymised", "quasi")
        or c["column"] in TEXT_COLUMNS.get(c["table"], ())
    ]
    checked = [t for t in OUTPUT_TABLES if engine.has_table(t)]
    leaks = [
        f"{c['table']}.{c['column']} ({', '.join(c['kinds']) or c['name_hint']})"
        for c in clear
        if c["table"] in checked
    ]
    exclusions = consent_exclusions(engine).to_dict("records")
    metrics = {
        "pseudonymised": engine.has_table(KEY_CHECK_TABLE),
        "tables_scanned": len({c["table"] for c in columns}),
        "columns_scanned": len(columns),
        "columns_clear_pii": len(clear),
        "columns_pseudonymised": len(tokens),
        "columns_quasi_identifiers": sum(c["verdict"] == "quasi" for c in columns),
        "vault_entries": sum(int(r["values"]) for r in vault_rows),
        "outputs_with_clear_identifiers": len(leaks),
        "warehouse_encrypted": _encrypted(engine),
        "audit_entries": audit.get("entries", 0),
        "audit_chain_ok": audit.get("ok"),
    }
    for purpose, row in consent.items():
        metrics[f"consent_{purpose}_allowed"] = row["allowed_customers"]
    metrics["consent_excluded_max"] = max((int(r["excluded"]) for r in exclusions), default=0)
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
    return {
        "metrics": metrics,
        "columns": columns,
        "protection": protection,
        "consent": consent,
        "exclusions": exclusions,
        "vault": vault_rows,
        "outputs": {"tables": checked, "findings": leaks},
        "audit": audit,
        "findings": findings,
    }

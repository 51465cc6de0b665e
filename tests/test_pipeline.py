"""The whole demo pipeline on a small generated retailer: every stage writes its table, the report has its sections."""

from __future__ import annotations

from pathlib import Path

from crmlens.engine import DuckDBEngine
from crmlens.pipeline import run_demo


def test_demo_end_to_end(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, customers=400, seed=1)
    steps = {s["step"]: s for s in summary["steps"]}
    assert steps["ingest"]["rows_quarantined"] > 0  # the planted dirty rows
    assert steps["churn"]["roc_auc"] > 0.75
    with DuckDBEngine(summary["warehouse"], read_only=True) as engine:
        for table in (
            "customers",
            "customer_links",
            "customer_360",
            "segments",
            "scores",
            "recommendations",
            "feedback_sentiment",
            "ticket_triage",
        ):
            assert engine.count(table) > 0, table
        assert engine.query("SELECT count(*) FROM orders WHERE customer_id IS NULL").scalar() == 0
        tasks = {t for (t,) in engine.con.execute("SELECT DISTINCT task FROM scores").fetchall()}
        assert {"churn", "clv"} <= tasks
    page = Path(summary["report"]).read_text(encoding="utf-8")
    for title in (
        "Sources",
        "Quarantine",
        "Identity",
        "Segments",
        "Scores",
        "Recommendations",
        "Support",
        "Privacy",
    ):
        assert f"<h2>{title}</h2>" in page

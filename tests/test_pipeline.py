"""The whole demo pipeline on a small generated retailer: every stage writes its table, the report has its
sections, and privacy holds by default (pseudonymised identifiers, consent enforced at every stage)."""

from __future__ import annotations

import itertools
import re
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.pipeline import run_demo
from crmlens.privacy import Tokenizer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pipeline")
    return run_demo(root / "demo", customers=400, seed=1)


def test_demo_end_to_end(demo: dict[str, Any]) -> None:
    steps = {s["step"]: s for s in demo["steps"]}
    assert steps["ingest"]["rows_quarantined"] > 0  # the planted dirty rows
    assert steps["ingest"]["pseudonymised"] is True
    assert steps["churn"]["roc_auc"] >= 0.85  # the floor against the planted churners
    assert steps["targets"]["targets"] > 0
    with DuckDBEngine(demo["warehouse"], read_only=True) as engine:
        for table in (
            "customers",
            "customer_links",
            "customer_360",
            "segments",
            "scores",
            "recommendations",
            "campaign_targets",
            "feedback_sentiment",
            "ticket_triage",
        ):
            assert engine.count(table) > 0, table
        assert engine.query("SELECT count(*) FROM orders WHERE customer_id IS NULL").scalar() == 0
        tasks = {t for (t,) in engine.con.execute("SELECT DISTINCT task FROM scores").fetchall()}
        assert {"churn", "clv"} <= tasks
    page = Path(demo["report"]).read_text(encoding="utf-8")
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
    # the churn model's held-out metrics beside the anchors, and its calibration table and plot
    assert "churn: held-out metrics" in page and "churn: calibration" in page


def _clear_identifiers(project: Path) -> re.Pattern[str]:
    """Every name (3+ characters), e-mail, address, phone (national digits) and source key the demo generated."""
    with sqlite3.connect(project / "data" / "crm.sqlite") as con:
        crm = pd.read_sql("SELECT * FROM customers", con)
    shop = pd.read_csv(project / "data" / "shop_members.csv", dtype=str)
    values = {v for c in ("name", "email", "address") for v in crm[c].dropna() if len(v) >= 3}
    values |= {v for c in ("full_name", "e_mail") for v in shop[c].dropna() if len(v) >= 3}
    values |= {re.sub(r"\D", "", v)[-11:] for v in [*crm["phone"].dropna(), *shop["mobile"].dropna()]}
    values |= set(crm["customer_key"]) | set(shop["member_id"])
    assert len(values) > 1000
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def test_no_clear_identifier_outside_the_vault(demo: dict[str, Any]) -> None:
    project = Path(demo["warehouse"]).parent
    pattern = _clear_identifiers(project)
    leaks = []
    with DuckDBEngine(demo["warehouse"], read_only=True) as engine:
        assert engine.count("pii_vault") > 1000
        for table in engine.tables():
            if table == "pii_vault":  # the clear values, each sealed with AES-GCM under the vault key
                continue
            frame = engine.query(f'SELECT * FROM "{table}"').to_pandas().astype(str)
            for column in frame.columns:
                hits = frame[column][frame[column].str.contains(pattern)]
                if len(hits):
                    leaks.append((table, column, hits.iloc[0]))
    assert leaks == []
    assert pattern.findall(Path(demo["report"]).read_text(encoding="utf-8")) == []
    models = [p for p in (project / "models").rglob("*") if p.is_file()]
    assert models
    for path in models:
        assert pattern.findall(path.read_bytes().decode("utf-8", "ignore")) == [], path


def test_identity_stays_accurate_on_pseudonymised_data(demo: dict[str, Any]) -> None:
    project = Path(demo["warehouse"]).parent
    key = (project.parent / ".crmlens-keys" / "demo.pseudonym.key").read_bytes().strip()
    assert key.decode() not in (project / "crmlens.yaml").read_text(encoding="utf-8")
    token = Tokenizer(key).token
    truth = pd.read_csv(project / "truth" / "identity_pairs.csv", dtype=str)
    with DuckDBEngine(demo["warehouse"], read_only=True) as engine:
        links = engine.table("customer_links").to_pandas()
    record = set(zip(links["source"], links["customer_key"], strict=True))
    true_pairs = {
        tuple(sorted([(a, token(b)), (c, token(d))]))
        for a, b, c, d in truth[["source_a", "key_a", "source_b", "key_b"]].itertuples(index=False)
    }
    assert all(p[0] in record and p[1] in record for p in true_pairs)
    found = set()
    for _, group in links.groupby("customer_id"):
        found |= set(
            itertools.combinations(sorted(zip(group["source"], group["customer_key"], strict=True)), 2)
        )
    tp = len(true_pairs & found)
    precision, recall = tp / len(found), tp / len(true_pairs)
    assert 2 * precision * recall / (precision + recall) >= 0.97


def test_opted_out_customers_are_not_profiled_or_targeted(demo: dict[str, Any]) -> None:
    with DuckDBEngine(demo["warehouse"], read_only=True) as engine:

        def ids(sql: str) -> set[int]:
            return {int(c) for (c,) in engine.con.execute(sql).fetchall()}

        refused = {
            purpose: ids(
                f"SELECT customer_id FROM customers WHERE consent_{purpose} IS NOT TRUE UNION "
                "SELECT l.customer_id FROM customer_links l JOIN source_customers s USING (source, customer_key) "
                f"WHERE s.consent_{purpose} IS FALSE"
            )
            for purpose in ("profiling", "marketing")
        }
        assert len(refused["profiling"]) > 50 and len(refused["marketing"]) > 50
        for table in ("segments", "scores", "recommendations", "segment_map"):
            assert not ids(f"SELECT DISTINCT customer_id FROM {table}") & refused["profiling"], table
        assert not ids("SELECT customer_id FROM campaign_targets") & (
            refused["marketing"] | refused["profiling"]
        )
        withheld = ids(
            "SELECT customer_id FROM scores WHERE task = 'churn' AND json_extract_string(reasons, '$.action') IS NULL"
        )
        churn = ids("SELECT customer_id FROM scores WHERE task = 'churn'")
        assert (
            churn & refused["marketing"] and churn & refused["marketing"] <= withheld
        )  # no next best action
        stages = set(engine.query("SELECT stage FROM consent_log").to_pandas()["stage"])
        assert {
            "segments",
            "churn training",
            "churn scoring",
            "clv",
            "recommendations",
            "churn target list",
        } <= stages
    page = Path(demo["report"]).read_text(encoding="utf-8")
    for heading in (
        "Personal data and how it is protected",
        "Consent coverage",
        "Customers each stage excluded for lack of consent",
    ):
        assert f"<h3>{heading}</h3>" in page
    assert "Identifiers were pseudonymised at ingest" in page and "none found" in page


def test_train_segments_command_in_the_demo_project(demo: dict[str, Any]) -> None:
    import json
    import subprocess
    import sys

    project = Path(demo["warehouse"]).parent
    with (project / "crmlens.yaml").open("a", encoding="utf-8") as config:
        config.write("segments: {method: kmeans, n_clusters: 4, names: {0: Our VIPs}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "crmlens", "train", "segments", "-p", str(project), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["segments"] > 0
    with DuckDBEngine(demo["warehouse"], read_only=True) as engine:
        names = engine.query("SELECT DISTINCT segment_name FROM segments").to_pandas()["segment_name"]
    assert "Our VIPs" in set(names)  # the project file's name wins over the automatic one

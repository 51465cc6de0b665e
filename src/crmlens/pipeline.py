"""The whole pipeline in order, as ``crmlens demo`` runs it, and the report of everything built.

Each stage reads and writes warehouse tables through its capability package; the report has one
section per stage, each built from the tables that stage wrote (a missing table skips it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.express as px
from rich.progress import Progress

from crmlens.engine.base import Engine
from crmlens.privacy.keys import provision_keys
from crmlens.report import Section, build_report
from crmlens.report.sections import FOUNDATION_SECTIONS
from crmlens.workspace import Workspace, open_workspace

DEMO_CUTOFF = "2026-03-31"  # the demo's churn labels are 'no order in the 90 days after this day'
CHURN_HORIZON_DAYS = 90


def identity_section(engine: Engine) -> Section | None:
    if not engine.has_rows("customer_links"):
        return None
    totals = engine.query(
        "SELECT count(*) AS source_records, count(DISTINCT source) AS sources, count(DISTINCT customer_id) AS customers "
        "FROM customer_links"
    ).to_pandas()
    rules = engine.query(
        "SELECT match_rule, count(*) AS records, round(avg(match_probability), 3) AS mean_probability "
        "FROM customer_links GROUP BY 1 ORDER BY 2 DESC"
    ).to_pandas()
    # keys and rules only: names, e-mails and phones stay out of the report (data minimisation)
    examples = engine.query(
        """SELECT l.customer_id, l.source, l.customer_key, l.match_rule, round(l.match_probability, 3) AS probability
           FROM customer_links l
           WHERE l.customer_id IN (SELECT customer_id FROM customer_links GROUP BY 1 HAVING count(DISTINCT source) > 1
                                   ORDER BY customer_id LIMIT 5)
           ORDER BY l.customer_id, l.source"""
    ).to_pandas()
    row = totals.iloc[0]
    return Section(
        "Identity",
        f"{int(row.source_records):,} customer records from {int(row.sources)} sources became "
        f"{int(row.customers):,} customers. Every link keeps the rule or comparison that decided it.",
        tables=[("Links by rule", rules), ("Example clusters (one customer, several sources)", examples)],
    )


def profile_section(engine: Engine) -> Section | None:
    if not engine.has_rows("customer_360"):
        return None
    cutoffs = engine.query(
        "SELECT CAST(as_of AS DATE) AS as_of, count(*) AS customers FROM customer_360 GROUP BY 1 ORDER BY 1"
    ).to_pandas()
    latest = engine.query(
        "SELECT * FROM customer_360 WHERE as_of = (SELECT max(as_of) FROM customer_360)"
    ).to_pandas()
    numeric = latest.drop(columns=["customer_id"]).select_dtypes("number")
    summary = numeric.describe().T[["count", "mean", "50%", "min", "max"]].reset_index(names="feature")
    return Section(
        "Customer profile (customer_360)",
        "Every feature is computed as of a cutoff from rows dated before it.",
        tables=[("Cutoffs", cutoffs), ("Features at the latest cutoff", summary)],
    )


def segments_section(engine: Engine) -> Section | None:
    if not engine.has_table("segment_profiles"):
        return None
    from crmlens.segment import map_figure, profile_figure

    profiles = engine.table("segment_profiles").to_pandas()
    points = engine.table("segment_map").to_pandas()
    names = dict(zip(profiles["segment"], profiles["segment_name"], strict=True))
    sizes = engine.query(
        "SELECT segmentation, segment_name, count(*) AS customers FROM segments GROUP BY ALL ORDER BY 1, 3 DESC"
    ).to_pandas()
    shown = profiles[
        [c for c in ("segment_name", "size", "share", "revenue_share", "distinguishing") if c in profiles]
    ]
    return Section(
        "Segments",
        "Behavioural segments named in business words, with what sets each apart.",
        tables=[("Segment sizes", sizes), ("Profiles", shown)],
        figures=[map_figure(points, names), profile_figure(profiles, names)],
    )


def scores_section(engine: Engine) -> Section | None:
    from crmlens.predict.report import predict_section

    return predict_section(engine)


def recommendations_section(engine: Engine) -> Section | None:
    if not engine.has_rows("recommendations"):
        return None
    top = engine.query(
        "SELECT r.product_id, any_value(p.name) AS name, count(*) AS customers FROM recommendations r "
        "LEFT JOIN products p USING (product_id) WHERE rank <= 3 GROUP BY 1 ORDER BY 3 DESC LIMIT 10"
    ).to_pandas()
    examples = engine.query(
        "SELECT customer_id, rank, product_id, round(score, 4) AS score, reason FROM recommendations "
        "WHERE customer_id IN (SELECT DISTINCT customer_id FROM recommendations ORDER BY 1 LIMIT 3) ORDER BY 1, 2"
    ).to_pandas()
    tables = [("Most recommended", top), ("Examples", examples)]
    if engine.has_table("recommend_evaluation"):
        tables.insert(
            0,
            (
                "Offline evaluation (each customer's last 20% of baskets held out, all items ranked)",
                engine.table("recommend_evaluation").to_pandas(),
            ),
        )
    if engine.has_table("bundles"):
        tables.append(
            ("Frequently bought together", engine.query("SELECT * FROM bundles LIMIT 15").to_pandas())
        )
    return Section(
        "Recommendations", "The next products to offer each customer, with a reason.", tables=tables
    )


def text_section(engine: Engine) -> Section | None:
    if not engine.has_table("feedback_sentiment"):
        return None
    from crmlens.text import sentiment_alerts, sentiment_trend

    scored = engine.table("feedback_sentiment").to_pandas()
    weekly = [sentiment_trend(scored, by=None, freq="W").assign(texts="reviews")]
    labels = scored.groupby(["language", "sentiment_label"]).size().reset_index(name="texts")
    tables = [("Review sentiment by language", labels)]
    if engine.has_table("text_sentiment") and engine.has_table("tickets"):
        tickets = engine.query(
            "SELECT s.ts, s.sentiment_label, s.sentiment_score, t.category FROM text_sentiment s "
            "JOIN tickets t ON s.source_table = 'tickets' AND t.source = s.source "
            "AND CAST(t.ticket_id AS VARCHAR) = s.text_id"
        ).to_pandas()
        if len(tickets):
            weekly.append(sentiment_trend(tickets, by=None, freq="W").assign(texts="tickets"))
            by_category = (
                tickets.assign(negative=tickets["sentiment_label"].eq("negative"))
                .groupby("category", dropna=False)
                .agg(tickets=("negative", "size"), negative_share=("negative", "mean"),
                     mean_score=("sentiment_score", "mean"))
                .round(3)
                .sort_values("negative_share", ascending=False)
                .reset_index()
            )  # fmt: skip
            tables.append(("Ticket sentiment by category", by_category))
    if engine.has_rows("feedback_topics"):
        tables.append(
            (
                "Topics in negative reviews (top terms and typical texts)",
                engine.query("SELECT * FROM feedback_topics ORDER BY language, texts DESC").to_pandas(),
            )
        )
    if engine.has_table("sentiment_alerts"):
        alerts = engine.table("sentiment_alerts").to_pandas()
    else:
        alerts = sentiment_alerts(scored, by="category" if "category" in scored else None, freq="W")
    tables.append(("Alerts (weekly negative share of a category above its control limit)", alerts.head(20)))
    trend = pd.concat(weekly, ignore_index=True)
    recent = trend[trend["period"] >= trend["period"].max() - pd.Timedelta(weeks=11)]
    table = recent.pivot_table(
        index="period", columns="texts", values=["n", "negative_share"], aggfunc="first"
    )
    table.columns = [f"{kind}_{'texts' if value == 'n' else value}" for value, kind in table.columns]
    tables.insert(1, ("Weekly negative share, last 12 weeks", table.round(3).reset_index()))
    figure = px.line(
        trend,
        x="period",
        y="negative_share",
        color="texts",
        title="Weekly share of negative texts",
        height=320,
    )
    return Section(
        "What customers say",
        "Sentiment of reviews and support tickets in Chinese and English from the shipped models, "
        "scored once when the warehouse is built (each customer's mean, latest and recent negatives are "
        "in customer_360), what the negative reviews are about, and alerts where negative reviews "
        "rose beyond their control limit.",
        tables=tables,
        figures=[figure],
    )


def support_section(engine: Engine) -> Section | None:
    from crmlens.support.report import support_section as section  # heavy imports only when reporting

    return section(engine)


def privacy_section(engine: Engine) -> Section | None:
    from crmlens.privacy import privacy_report

    report = privacy_report(engine)
    m = report["metrics"]
    protection = pd.DataFrame(report["protection"])
    consent = pd.DataFrame([{"purpose": p, **row} for p, row in report["consent"].items()])
    exclusions = pd.DataFrame(report["exclusions"])
    vault = pd.DataFrame(report["vault"])
    outputs = report["outputs"]
    if m["pseudonymised"]:
        how = (
            f"Identifiers were pseudonymised at ingest: {m['columns_pseudonymised']} columns hold keyed "
            "HMAC-SHA256 tokens (the key is kept outside the project), so joins still work; "
            f"{m['vault_entries']:,} clear values exist only encrypted in the vault, read in memory by "
            "identity resolution alone (each read is in the audit log). "
        )
    else:
        how = "Identifiers are stored in clear (privacy.pseudonymise is off). "
    clean = not outputs["findings"]
    text = (
        how
        + f"PII found in clear: {m['columns_clear_pii']} columns. "
        + f"Outputs checked for clear identifiers ({', '.join(outputs['tables'])}): "
        + ("none found. " if clean else "; ".join(outputs["findings"]) + ". ")
        + "Consent is opt-in: each stage below left out the customers without consent for its purpose."
    )
    tables = [
        ("Summary", pd.DataFrame([m])),
        ("Personal data and how it is protected", protection),
        ("Consent coverage", consent),
        ("Customers each stage excluded for lack of consent", exclusions),
    ]
    if not vault.empty:
        tables.append(("Vault (encrypted clear values) by field", vault))
    return Section("Privacy", text, tables=tables)


def _clv_section(engine: Engine) -> Section | None:
    from crmlens.clv import clv_section

    return clv_section(engine)


REPORT_SECTIONS: list[Callable[[Engine], Section | None]] = [
    *FOUNDATION_SECTIONS,
    identity_section,
    profile_section,
    segments_section,
    scores_section,
    _clv_section,
    recommendations_section,
    text_section,
    support_section,
    privacy_section,
]


def write_report(engine: Engine, out: Path) -> Path:
    """The HTML report of what the warehouse holds."""
    return build_report(engine, out, REPORT_SECTIONS)


# --- stages -------------------------------------------------------------------------------------------


def text_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    """Reviews with their sentiment (scored at build into ``text_sentiment``; any new text is scored
    now), the topics of the negative ones per language, and the weekly alerts by product category."""
    from crmlens.text import sentiment_alerts
    from crmlens.text.warehouse import feedback_sentiment, negative_topics, score_texts

    new = score_texts(ws.engine)  # nothing left to do after a build, unless texts arrived since
    scored = feedback_sentiment(ws.engine)
    ws.engine.write_table("feedback_sentiment", scored)
    topics = negative_topics(scored, random_state=seed)
    ws.engine.write_table("feedback_topics", topics)
    alerts = sentiment_alerts(scored, by="category", freq="W")
    ws.engine.write_table("sentiment_alerts", alerts.assign(examples=alerts["examples"].map(" | ".join)))
    tickets = ws.engine.query(
        "SELECT count(*) AS n, count(CASE WHEN sentiment_label = 'negative' THEN 1 END) AS negative "
        "FROM text_sentiment WHERE source_table = 'tickets'"
    ).to_pandas()
    return {
        "texts": len(scored),
        "negative": int((scored["sentiment_label"] == "negative").sum()),
        "tickets_scored": int(tickets["n"].iloc[0]),
        "tickets_negative": int(tickets["negative"].iloc[0]),
        "topics": len(topics),
        "alerts": len(alerts),
        "newly_scored": sum(v for k, v in new.items() if k.endswith("_scored")),
    }


def segment_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    from crmlens.segment import run_on_warehouse

    # the project file's `segments:` section: method, k, and names that override the automatic ones
    settings = dict(ws.config.segments or {})
    result = run_on_warehouse(ws.engine, random_state=seed, consent=ws.enforce_consent, **settings)
    ws.engine.write_table(
        "segment_profiles", result.profiles.astype({"distinguishing": str}, errors="ignore")
    )
    ws.engine.write_table("segment_map", result.map)
    return {"segments": int(ws.engine.count("segments")), "chosen": str(result.metrics.get("method", ""))}


def churn_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    from crmlens.predict import ModelRegistry, score_task, train_task
    from crmlens.predict.report import save_evaluation

    registry = ModelRegistry(ws.folder / "models")
    consent = ws.enforce_consent
    trained = train_task(
        ws.engine, "churn", DEMO_CUTOFF, CHURN_HORIZON_DAYS, registry=registry, seed=seed, consent=consent
    )
    save_evaluation(ws.engine, "churn", trained)
    scored = score_task(ws.engine, "churn", trained["model"], trained["manifest"]["version"], consent=consent)
    return {
        "roc_auc": trained["metrics"].get("roc_auc"),
        "scored": scored["rows"],
        "drifted": len(scored["drifted"]),
    }


def clv_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    from crmlens.clv import score_customers, scores_frame

    values = score_customers(
        ws.engine, horizon_days=365, margin=0.3, discount_rate=0.1, consent=ws.enforce_consent
    )
    ws.engine.execute("DELETE FROM scores WHERE task = 'clv'")
    ws.engine.write_table("scores", scores_frame(values), mode="append")
    return {"customers": len(values), "total_clv": float(values["clv"].sum())}


def recommend_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    from crmlens.recommend import bundles, evaluate_warehouse, recommend_from_warehouse

    recs = recommend_from_warehouse(ws.engine, n=10, seed=seed, consent=ws.enforce_consent)
    ws.engine.execute("DELETE FROM recommendations")
    ws.engine.write_table(
        "recommendations", recs[["customer_id", "rank", "product_id", "score", "reason"]], mode="append"
    )
    ws.engine.write_table("bundles", bundles(ws.engine))
    evaluation = evaluate_warehouse(ws.engine, k=10, holdout_frac=0.2, consent=ws.enforce_consent)
    ws.engine.write_table("recommend_evaluation", evaluation.reset_index(drop=True))
    return {"recommendations": len(recs)}


def targets_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    """The retention campaign's list: at-risk customers who consented to marketing, with the action and
    the product to offer (marketing: nobody without consent is on it)."""
    from crmlens.predict.tasks import target_list
    from crmlens.recommend.warehouse import recommendations_to_send

    targets = target_list(ws.engine, "churn", consent=ws.enforce_consent)
    offers = recommendations_to_send(ws.engine, n=1, consent=ws.enforce_consent)
    targets = targets.merge(
        offers[["customer_id", "product_id"]].rename(columns={"product_id": "offer_product_id"}),
        on="customer_id",
        how="left",
    )
    ws.engine.write_table("campaign_targets", targets)
    return {"targets": len(targets)}


def support_stage(ws: Workspace, seed: int) -> dict[str, Any]:
    from crmlens.support import run_support

    result = run_support(ws.engine, ws.config.support or None, seed=seed)
    return {
        "tickets": len(result["triage"]),
        **{k: v for k, v in result["metrics"].items() if isinstance(v, float)},
    }


STAGES: list[tuple[str, Callable[[Workspace, int], dict[str, Any]]]] = [
    ("text", text_stage),
    ("segments", segment_stage),
    ("churn", churn_stage),
    ("clv", clv_stage),
    ("recommendations", recommend_stage),
    ("targets", targets_stage),
    ("support", support_stage),
]


def run_demo(
    out: Path, customers: int = 2000, seed: int = 0, progress: Progress | None = None
) -> dict[str, Any]:
    """Generate the demo retailer into ``out``, run every stage, and write ``out/report.html``.

    Privacy is on as in a new project: the two key files go to ``.crmlens-keys`` beside ``out``
    (derived from ``seed``: the people are fictional, and the run reproducible), identifiers are
    pseudonymised at ingest and every stage enforces consent.
    """
    from crmlens.datasets.demo import generate_demo

    steps: list[dict[str, Any]] = []
    task = progress.add_task("demo", total=4 + len(STAGES)) if progress else None

    def done(step: str, started: float, **details: Any) -> None:
        steps.append({"step": step, "seconds": round(time.perf_counter() - started, 2), **details})
        if progress and task is not None:
            progress.update(task, advance=1, description=step)

    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "crmlens.duckdb", out / "crmlens.duckdb.wal"):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    paths = generate_demo(out, customers=customers, seed=seed)
    # privacy by default: keys in .crmlens-keys beside the output folder, pseudonymisation and consent on;
    # the fictional demo's keys follow the seed, so the same seed gives the same ids and figures anywhere
    keys = provision_keys(paths.project_file, demo_seed=seed)
    done("generate", started, customers=customers, key_folder=str(keys["pseudonym_key_file"].parent))

    with open_workspace(paths.project_file.parent) as ws:
        started = time.perf_counter()
        results = ws.ingest()
        done(
            "ingest",
            started,
            rows_loaded=sum(r.rows_loaded for r in results),
            rows_quarantined=sum(r.rows_quarantined for r in results),
            pseudonymised=ws.config.privacy.pseudonymise,
        )
        started = time.perf_counter()
        built = ws.build([DEMO_CUTOFF, ws.latest_day()], seed=seed)
        done("identity + customer_360", started, customers=built["identity"].get("customers"))
        for name, stage in STAGES:
            started = time.perf_counter()
            done(name, started, **stage(ws, seed))
        started = time.perf_counter()
        report = write_report(ws.engine, out / "report.html")
        done("report", started)
        warehouse = ws.warehouse_path
    return {"warehouse": str(warehouse), "report": str(report), "steps": steps}

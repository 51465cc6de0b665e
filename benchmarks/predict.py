"""Prediction benchmark: file mode on four public data sets, warehouse churn on Online Retail, scoring speed.

Per data set, ours (LightGBM bagged over inner folds + logistic blend, calibrated, leakage guard on)
beside default LightGBM and a default logistic regression on the same stratified folds, in the same
run (the anchors see the same columns: what the guard leaves). Online Retail: customer_360 by SQL as of 2011-06-01
(train) and 2011-09-01 (test), churn = no purchase in the next 90 days, against an RFM-only logistic
model. The demo retailer's churn as the demo pipeline trains it. Speed: a million Telco-shaped rows scored with three reasons each.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from crmlens.benchmarking import BenchOptions, measure
from crmlens.datasets.shared import shared_file
from crmlens.engine import DuckDBEngine
from crmlens.predict import binary_metrics, build_labels, explain_frame, load_actions, train_file, train_task
from crmlens.predict.explain import attribution_method
from crmlens.predict.frame import clean_frame, read_table

KEEP = ["roc_auc", "pr_auc", "brier", "log_loss", "recall_at_10"]

SETS = {
    "telco_churn": (("telco_churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv"), "Churn", 5),
    "leads": (("leads", "Leads.csv"), "Converted", 5),
    "credit_default": (("credit_default", "UCI_Credit_Card.csv"), "defaulted", 3),
    "bank_marketing": (("bank_marketing", "bank-full.csv.gz"), "y", 3),
}

RETAIL_360 = """
CREATE OR REPLACE TABLE customer_360 AS
WITH lines AS (
    SELECT customer_id, ts, order_id, amount, product_id, d.as_of
    FROM orders, (SELECT unnest([TIMESTAMP '2011-06-01', TIMESTAMP '2011-09-01']) AS as_of) d
    WHERE ts <= d.as_of
), invoices AS (
    SELECT customer_id, as_of, order_id, min(ts) AS ts, sum(amount) AS total, count(DISTINCT product_id) AS items
    FROM lines GROUP BY ALL
)
SELECT customer_id, CAST(as_of AS DATE) AS as_of,
       date_diff('day', max(ts), as_of) AS recency_days,
       count(*) AS n_orders,
       sum(total) AS monetary,
       date_diff('day', min(ts), as_of) AS tenure_days,
       date_diff('day', min(ts), max(ts)) / greatest(count(*) - 1, 1) AS avg_days_between_orders,
       count(*) FILTER (WHERE ts > as_of - INTERVAL 90 DAY) AS orders_90d,
       coalesce(sum(total) FILTER (WHERE ts > as_of - INTERVAL 90 DAY), 0) AS spend_90d,
       count(*) FILTER (WHERE ts > as_of - INTERVAL 180 DAY) AS orders_180d,
       avg(total) AS avg_order_value,
       avg(items) AS avg_items,
       count(*) FILTER (WHERE total < 0) AS n_returns
FROM invoices GROUP BY customer_id, as_of
"""


def _row(dataset: str, model: str, metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset, "model": model, **{k: metrics.get(k) for k in KEEP}, **extra}


def _file_sets(options: BenchOptions, results: list, notes: list, tmp: str) -> dict[str, Any]:
    headline: dict[str, Any] = {}
    for name, (parts, target, folds) in SETS.items():
        path = shared_file(*parts)
        if options.quick:
            frame = pd.read_csv(path, sep=None, engine="python", dtype=str, nrows=None)
            frame = frame.sample(min(len(frame), 2500), random_state=options.seed)
            path = f"{tmp}/{name}.csv"
            frame.to_csv(path, index=False)
            folds = 3
        with measure() as m:
            out = train_file(
                path, target, folds=folds, seed=options.seed, n_trials=12 if not options.quick else 3
            )
        results.append(_row(name, "crmlens", out["metrics"], seconds=round(m.seconds, 1)))
        for anchor, metrics in out["anchors"].items():
            results.append(_row(name, anchor, metrics))
        flagged = [w["column"] for w in out["leakage"]]
        notes.append(
            f"{name}: {out['cv']} on {out['rows']:,} rows; leakage guard left out {flagged or 'nothing'}; "
            f"LightGBM {out['model']['lightgbm_candidate']} ({out['model']['lightgbm_rounds']} trees), "
            f"blend weight {out['model']['blend_weight_lightgbm']}, calibration "
            f"{out['model']['calibration']}, imbalance {out['model']['imbalance']}"
        )
        if name == "telco_churn":
            headline = {
                "metrics": out["metrics"],
                "anchors": out["anchors"],
                "model": out["_model"],
                "examples": out["example_reasons"],
                "calibration": out["calibration"],
            }
    return headline


def _online_retail(options: BenchOptions, results: list, notes: list) -> None:
    raw = pd.read_csv(
        shared_file("online_retail", "online_retail.csv.gz"),
        usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
    )
    raw = raw.dropna(subset=["CustomerID"])
    orders = pd.DataFrame(
        {
            "order_id": raw["InvoiceNo"].astype(str),
            "customer_id": raw["CustomerID"].astype("int64"),
            "ts": pd.to_datetime(raw["InvoiceDate"]),
            "product_id": raw["StockCode"].astype(str),
            "amount": raw["Quantity"] * raw["UnitPrice"],
        }
    )
    with DuckDBEngine(":memory:") as engine:
        engine.write_table("orders", orders)
        engine.execute(RETAIL_360)
        with measure() as m:
            out = train_task(
                engine, "churn", "2011-09-01", 90, n_trials=12 if not options.quick else 3, seed=options.seed
            )
        results.append(_row("online_retail_churn", "crmlens", out["metrics"], seconds=round(m.seconds, 1)))
        for anchor, metrics in out["anchors"].items():
            results.append(_row("online_retail_churn", anchor, metrics))
        # RFM-only logistic on the same train (June) and test (September) snapshots
        frames = {}
        for as_of in ("2011-06-01", "2011-09-01"):
            feats = engine.query(
                "SELECT * FROM customer_360 WHERE as_of = CAST($d AS DATE)", {"d": as_of}
            ).to_pandas()
            frames[as_of] = feats.merge(build_labels(engine, "churn", as_of, 90), on="customer_id")
        rfm = ["recency_days", "n_orders", "monetary"]
        tr, te = frames["2011-06-01"], frames["2011-09-01"]
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(tr[rfm], tr["label"])
        rfm_metrics = binary_metrics(te["label"].to_numpy(), lr.predict_proba(te[rfm])[:, 1])
        results.append(_row("online_retail_churn", "rfm_logistic", rfm_metrics))
        notes.append(
            f"online_retail_churn: trained on customer_360 as of 2011-06-01 ({out['rows_train']:,} customers), "
            f"tested as of 2011-09-01 ({out['rows_test']:,}), churn rate {out['positive_rate']:.1%}"
        )
        return {"ours": out["metrics"], "rfm_logistic": rfm_metrics}


def _demo_churn(options: BenchOptions, results: list, notes: list, tmp: str) -> dict[str, Any]:
    """The demo retailer as `crmlens demo` builds it (privacy on); churn labels match the planted churners."""
    from pathlib import Path

    from crmlens.datasets.demo import generate_demo
    from crmlens.pipeline import CHURN_HORIZON_DAYS, DEMO_CUTOFF
    from crmlens.privacy.keys import provision_keys
    from crmlens.workspace import open_workspace

    paths = generate_demo(Path(tmp) / "demo", customers=2000, seed=options.seed)
    provision_keys(paths.project_file, demo_seed=options.seed)
    with open_workspace(paths.project_file.parent) as ws:
        ws.ingest()
        ws.build([DEMO_CUTOFF, ws.latest_day()], seed=options.seed)
        with measure() as m:
            out = train_task(
                ws.engine,
                "churn",
                DEMO_CUTOFF,
                CHURN_HORIZON_DAYS,
                seed=options.seed,
                consent=ws.enforce_consent,
            )
    results.append(_row("demo_churn", "crmlens", out["metrics"], seconds=round(m.seconds, 1)))
    for anchor, metrics in out["anchors"].items():
        results.append(_row("demo_churn", anchor, metrics))
    notes.append(
        f"demo_churn: 2,000 generated customers (seed {options.seed}), customer_360 as the demo builds it; "
        f"trained on {out['rows_train']:,} customers, tested as of {DEMO_CUTOFF} on {out['rows_test']:,}, "
        f"churn rate {out['positive_rate']:.1%} (the label equals the planted churners' stop, tested in the demo tests)"
    )
    return out["metrics"]


def _scoring_speed(model: Any, rows: int, notes: list, results: list) -> dict[str, float]:
    frame, _ = clean_frame(read_table(shared_file("telco_churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv")))
    big = frame.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)
    big["MonthlyCharges"] = big["MonthlyCharges"] * rng.uniform(0.9, 1.1, rows)
    actions = load_actions(None)
    start = time.process_time()
    with measure() as m:
        out = explain_frame(model, big, top=3, outcome="churn", actions=actions)
    cpu = time.process_time() - start
    assert out["reason_1"].str.len().gt(0).mean() > 0.5
    how = "path attribution" if attribution_method(model, rows) == "path" else "TreeSHAP via pred_contrib"
    speed = {
        "rows": rows,
        "seconds": m.seconds,
        "rows_per_s": rows / m.seconds,
        "peak_mem_mb": m.peak_mem_mb,
        "cpu_seconds": cpu,
    }
    results.append(
        {
            "dataset": f"score_{rows:,}_rows",
            "model": "crmlens",
            "seconds": round(m.seconds, 1),
            "rows_per_s": round(rows / m.seconds),
            "peak_mem_mb": round(m.peak_mem_mb),
        }
    )
    notes.append(
        f"scoring: {rows:,} rows with 3 reason sentences and an action each in {m.seconds:.1f} s wall "
        f"({cpu:.1f} s CPU, {model.n_rounds_} trees, {how}), peak +{m.peak_mem_mb:.0f} MB"
    )
    return speed


def run(options: BenchOptions) -> dict[str, Any]:
    import tempfile

    results: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        headline = _file_sets(options, results, notes, tmp)
        demo = _demo_churn(options, results, notes, tmp)
    retail = _online_retail(options, results, notes)
    rows = options.rows or (100_000 if options.quick else 1_000_000)
    speed = _scoring_speed(headline["model"], rows, notes, results)
    metrics = {k: headline["metrics"][k] for k in KEEP + ["brier"]}
    metrics.update(
        {"rows_per_s": speed["rows_per_s"], "seconds": speed["seconds"], "peak_mem_mb": speed["peak_mem_mb"]}
    )
    anchors = {name: {k: v[k] for k in KEEP} for name, v in headline["anchors"].items()}
    anchors["rfm_logistic_online_retail"] = {k: retail["rfm_logistic"][k] for k in KEEP}
    metrics["demo_churn_roc_auc"] = demo["roc_auc"]
    notes.append(
        "headline metrics: telco_churn, 5-fold stratified CV (tuning and calibration inside each fold)"
    )
    notes.append(
        "calibration (telco, out of fold, score deciles, predicted -> observed): "
        + ", ".join(f"{c['predicted']:.2f}->{c['observed']:.2f}" for c in headline["calibration"])
    )
    notes.append(
        "example reasons (telco): " + " | ".join("; ".join(e["reasons"]) for e in headline["examples"][:2])
    )
    return {
        "metrics": metrics,
        "anchors": anchors,
        "results": results,
        "notes": notes,
        "online_retail": {"ours": {k: retail["ours"][k] for k in KEEP}},
    }

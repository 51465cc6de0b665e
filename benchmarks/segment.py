"""Segmentation benchmark: recovery of planted segments, quality on real customers, and scale.

1. Demo data (Lotus & Pine, the built-in generator): the warehouse's ``customer_360`` is built as
   the demo pipeline builds it, its buyers are clustered on the behaviour columns that
   ``run_on_warehouse`` uses, and each method's segments are compared with the planted ones
   (adjusted Rand index, over the clustered buyers and over everyone with non-buyers as one
   segment). Anchors: plain k-means on standard-scaled columns with the true k, and the named RFM
   grid; two more rows show the automatic choice on every ``customer_360`` column and with
   median/IQR scaling, the defaults this replaced.
2. Planted profiles (``crmlens.segment.make_customers``): the same, on a cleaner profile.
3. customer_personality and customers aggregated from online_retail: silhouette (in the same
   preprocessed feature space for every method) and stability (bootstrap adjusted Rand index).
4. Scale: 10k, 100k and 1M customers, mini-batch k-means and the automatic choice.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from crmlens.benchmarking import BenchOptions, measure
from crmlens.datasets.shared import shared_data_dir
from crmlens.segment import (
    RFMSegmenter,
    SegmentClusterer,
    make_customers,
    read_customer_file,
    rfm_table,
    segment_frame,
)
from crmlens.segment.api import feature_columns
from crmlens.segment.behaviour import behaviour_view

METHODS = ["auto", "kmeans", "agglomerative", "gmm", "hdbscan", "dbscan", "neural"]
NEURAL = {"max_steps": 800, "n_components": 4}


def _demo_profile(customers: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The demo warehouse's latest ``customer_360`` as the pipeline builds it, and the planted segments.

    Sources are loaded and identities resolved as in ``crmlens demo`` (without pseudonymisation,
    so the planted keys can be matched back) and ``customer_360`` is built as of the day after the
    last order, the cutoff the pipeline segments. Customers the resolution merged across two
    planted people, or that no planted person owns, are left out of the comparison.
    """
    from crmlens.config import load_config
    from crmlens.datasets.demo import generate_demo
    from crmlens.engine import DuckDBEngine
    from crmlens.features import FeatureBuilder
    from crmlens.identity import resolve_identities
    from crmlens.ingest import Loader

    with tempfile.TemporaryDirectory() as tmp, DuckDBEngine(":memory:") as engine:
        paths = generate_demo(Path(tmp), customers=customers, seed=seed)
        Loader(engine, load_config(paths.project_file), paths.project_file.parent).load_all()
        resolve_identities(engine, seed=seed)
        latest = engine.query("SELECT max(ts) FROM orders").scalar()
        latest_day = (pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        profile = FeatureBuilder().build(engine, latest_day)
        links = engine.table("customer_links").to_pandas()
        truth = pd.read_csv(paths.truth_dir / "customers.csv", dtype=str)
    planted = truth.merge(links[["source", "customer_key", "customer_id"]], on=["source", "customer_key"])
    per_id = planted.groupby("customer_id")["true_segment"].agg(
        lambda s: s.iloc[0] if s.nunique() == 1 else None
    )
    profile["true_segment"] = profile["customer_id"].map(per_id)
    info = {"as_of": latest_day, "merged_across_people": int(per_id.isna().sum())}
    profile = profile.dropna(subset=["true_segment"]).reset_index(drop=True)
    return profile.drop(columns="true_segment"), profile["true_segment"].to_numpy(), info


def _online_retail_customers() -> pd.DataFrame | None:
    folder = shared_data_dir(required=False)
    if folder is None:
        return None
    tx = pd.read_csv(
        folder / "online_retail" / "online_retail.csv.gz", dtype={"InvoiceNo": str, "StockCode": str}
    )
    tx = tx.dropna(subset=["CustomerID"])
    tx = tx[~tx["InvoiceNo"].str.startswith("C") & (tx["Quantity"] > 0) & (tx["UnitPrice"] > 0)]
    tx["amount"] = tx["Quantity"] * tx["UnitPrice"]
    rfm = rfm_table(tx, "CustomerID", "InvoiceDate", "amount", invoice_col="InvoiceNo")
    extra = tx.groupby("CustomerID").agg(n_products=("StockCode", "nunique"), units=("Quantity", "sum"))
    rfm = rfm.merge(extra, left_on="CustomerID", right_index=True)
    rfm["avg_order_value"] = rfm["monetary"] / rfm["frequency"]
    return rfm.rename(columns={"CustomerID": "customer_id"})


def _run_methods(
    dataset: str,
    frame: pd.DataFrame,
    truth: np.ndarray | None,
    seed: int,
    columns: list[str] | None = None,
    aside: np.ndarray | None = None,
    methods: list[str] = METHODS,
    label: str = "",
    **extra: object,
) -> list[dict]:
    """One row per method. ``aside``: planted segments of customers set aside as one segment (the
    demo's non-buyers), for an adjusted Rand index over everyone as well as over the clustered."""
    rows = []
    for method in methods:
        params = {"embedder_params": NEURAL} if method == "neural" else {}
        with measure() as m:
            result = segment_frame(
                frame,
                id_col="customer_id",
                method=method,
                columns=columns,
                random_state=seed,
                **params,
                **extra,
            )
        labels = result.model.labels_
        name = method if method != "auto" else f"auto ({result.metrics['method']})"
        row = {
            "dataset": dataset,
            "model": name + label,
            "n_customers": len(frame),
            "n_segments": result.metrics["n_segments"],
            "adjusted_rand": adjusted_rand_score(truth, labels) if truth is not None else None,
            "silhouette": result.metrics["silhouette"],
            "stability": result.metrics["stability"],
            "seconds": m.seconds,
            "peak_mem_mb": m.peak_mem_mb,
        }
        if aside is not None and truth is not None:
            everyone = np.concatenate([labels.astype(str), np.full(len(aside), "set_aside")])
            row["adjusted_rand_all"] = adjusted_rand_score(np.concatenate([truth, aside]), everyone)
        if method == "auto":
            row["names"] = ", ".join(sorted(set(result.names.values())))
        rows.append(row)
    return rows


def _anchors(
    dataset: str, frame: pd.DataFrame, truth: np.ndarray, seed: int, columns: list[str] | None = None
) -> list[dict]:
    """Plain k-means (standard scaling, raw features, the true k) and the named RFM grid."""
    cols = columns or [
        c for c in feature_columns(frame, "customer_id") if pd.api.types.is_numeric_dtype(frame[c])
    ]
    X = StandardScaler().fit_transform(frame[cols].fillna(frame[cols].median()))
    k = len(np.unique(truth))
    with measure() as m, threadpool_limits(1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(X)
    rows = [
        {"dataset": dataset, "model": "anchor: kmeans_standard_true_k", "n_customers": len(frame), "n_segments": k,
         "adjusted_rand": adjusted_rand_score(truth, labels), "seconds": m.seconds, "peak_mem_mb": m.peak_mem_mb}
    ]  # fmt: skip
    with measure() as m:
        names = RFMSegmenter().fit_predict(frame)
    rows.append(
        {"dataset": dataset, "model": "anchor: rfm_named_grid", "n_customers": len(frame),
         "n_segments": len(set(names)), "adjusted_rand": adjusted_rand_score(truth, names), "seconds": m.seconds,
         "peak_mem_mb": m.peak_mem_mb}
    )  # fmt: skip
    return rows


def _scale(sizes: list[int], seed: int) -> list[dict]:
    rows = []
    for n in sizes:
        frame, _ = make_customers(n, seed=seed)
        for method, k in (("kmeans", 5), ("auto", None)):
            with measure() as m:
                model = SegmentClusterer(
                    method=method, n_clusters=k, exclude=("customer_id",), random_state=seed
                )
                model.fit(frame)
            rows.append(
                {"dataset": f"scale_{n // 1000}k", "model": f"{method} ({type(model.model_).__name__})",
                 "n_customers": n, "n_segments": model.n_clusters_, "seconds": m.seconds,
                 "rows_per_s": n / m.seconds, "peak_mem_mb": m.peak_mem_mb}
            )  # fmt: skip
    return rows


def run(options: BenchOptions) -> dict:
    seed, quick = options.seed, options.quick
    results: list[dict] = []
    notes: list[str] = []

    demo, demo_truth, info = _demo_profile(1500 if quick else 6000, seed)
    view, behaviour, buyers = behaviour_view(demo)  # what run_on_warehouse clusters
    buyers_frame, buyers_truth = view[buyers].reset_index(drop=True), demo_truth[buyers]
    demo_rows = _run_methods("demo", buyers_frame, buyers_truth, seed, behaviour, aside=demo_truth[~buyers])
    results += demo_rows + _anchors("demo", buyers_frame, buyers_truth, seed, behaviour)
    # why the defaults: the same automatic choice on every customer_360 column, and with median/IQR scaling
    results += _run_methods(
        "demo", demo, demo_truth, seed, methods=["auto"], label=", all customer_360 columns, everyone"
    )
    results += _run_methods(
        "demo", buyers_frame, buyers_truth, seed, behaviour, methods=["auto"], label=", median/IQR scaling",
        preprocessor_params={"scaling": "robust"},
    )  # fmt: skip
    notes.append(
        f"demo: customer_360 as of {info['as_of']}; {int(buyers.sum())} buyers clustered on {', '.join(behaviour)}; "
        f"{int((~buyers).sum())} customers without an order set aside as 'no purchase yet' "
        f"(adjusted_rand_all counts them as one segment); {info['merged_across_people']} ids merged two planted people"
    )

    planted, planted_truth = make_customers(1500 if quick else 6000, seed=seed)
    results += _run_methods("planted_profiles", planted, planted_truth, seed)
    results += _anchors("planted_profiles", planted, planted_truth, seed)

    folder = shared_data_dir(required=False)
    if folder is not None:
        personality = read_customer_file(folder / "customer_personality" / "marketing_campaign.csv")
        personality = personality.rename(columns={"ID": "customer_id"}).drop(columns=["Response"])
        results += _run_methods("customer_personality", personality, None, seed)
        retail = _online_retail_customers()
        results += _run_methods("online_retail_customers", retail, None, seed)
        with measure() as m:
            segment_frame(personality, method="kmeans", map_method="umap", random_state=seed)
        notes.append(f"UMAP map of customer_personality (incl. numba compile): {m.seconds:.1f} s")
    else:
        notes.append("shared data not found: customer_personality and online_retail skipped")

    results += _scale([10_000, 100_000] if quick else [10_000, 100_000, 1_000_000], seed)

    auto = next(r for r in demo_rows if r["model"].startswith("auto"))
    best = max(demo_rows, key=lambda r: r["adjusted_rand"])
    pick = ("adjusted_rand", "silhouette", "stability", "seconds", "peak_mem_mb")
    anchors = {
        r["model"].removeprefix("anchor: "): {k: r.get(k) for k in pick}
        for r in results
        if r["dataset"] == "demo" and r["model"].startswith("anchor")
    }
    for r in demo_rows:
        if not r["model"].startswith("auto"):
            anchors[r["model"]] = {k: r.get(k) for k in pick}
    notes.append(
        f"demo: best method {best['model']} ARI {best['adjusted_rand']:.3f}; automatic choice {auto['model']} "
        f"ARI {auto['adjusted_rand']:.3f} (gap {best['adjusted_rand'] - auto['adjusted_rand']:+.3f})"
    )
    notes.append(
        "silhouette is computed in the same preprocessed feature space for every method (neural too)"
    )
    million = [r for r in results if r["dataset"] == "scale_1000k"]
    if million:
        notes.append(
            f"1M customers, mini-batch k-means (preprocessing included): {million[0]['seconds']:.1f} s"
        )
    metrics = {k: auto[k] for k in pick}
    metrics["rows_per_s"] = auto["n_customers"] / auto["seconds"]
    return {"metrics": metrics, "anchors": anchors, "results": results, "notes": notes}

"""Benchmark: crmlens recommenders against popularity and implicit's own kNN and ALS, in one run.

MovieLens 100K: all ratings as implicit feedback, each user's last 10 ratings by time held out.
Online Retail: customers' last 20% of invoices held out. Every model ranks all items a customer
has not taken yet (no sampled negatives). Anchors fit on the plain binary matrix, as implicit's
users would; crmlens models fit on its weighted matrix (quantity, per-customer recency).
Also timed: fitting the hybrid on all of Online Retail, and recommending for 100,000 customers.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from crmlens.benchmarking import BenchOptions, measure
from crmlens.datasets.shared import shared_file
from crmlens.recommend import (
    ALSRecommender,
    BPRRecommender,
    ContentRecommender,
    EASERecommender,
    HybridRecommender,
    Interactions,
    ItemKNNRecommender,
    PopularityRecommender,
    UserKNNRecommender,
    interaction_weights,
    temporal_split,
)
from crmlens.recommend.evaluate import evaluate_models
from crmlens.recommend.rules import association_rules, frequently_bought_together

K = 10
METRICS = [f"{m}_at_{K}" for m in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty")]
GENRES = (
    "unknown action adventure animation children comedy crime documentary drama fantasy film-noir horror "
    "musical mystery romance sci-fi thriller war western".split()
)


def _movielens() -> tuple[pd.DataFrame, pd.Series]:
    ratings = pd.read_csv(
        shared_file("movielens_100k", "u.data"), sep="\t", header=None, names=["user", "item", "rating", "ts"]
    )
    movies = pd.read_csv(shared_file("movielens_100k", "u.item"), sep="|", header=None, encoding="latin-1")
    flags = movies.iloc[:, 5:24].to_numpy()
    text = [
        f"{title} " + " ".join(g for g, f in zip(GENRES, row, strict=True) if f)
        for title, row in zip(movies[1], flags, strict=True)
    ]
    return ratings, pd.Series(text, index=movies[0].to_numpy())


def _online_retail() -> tuple[pd.DataFrame, pd.Series]:
    raw = pd.read_csv(
        shared_file("online_retail", "online_retail.csv.gz"), dtype={"InvoiceNo": str, "StockCode": str}
    )
    keep = (raw["Quantity"] > 0) & ~raw["InvoiceNo"].str.startswith("C") & raw["CustomerID"].notna()
    rows = raw[keep].rename(columns={"CustomerID": "user", "StockCode": "item", "InvoiceDate": "ts"})
    rows = rows.reset_index(drop=True)
    first = rows.drop_duplicates("item")
    return rows, pd.Series(first["Description"].astype(str).to_numpy(), index=first["item"].to_numpy())


def _ours(seed: int, quick: bool) -> dict:
    models = {
        "popularity": PopularityRecommender,
        "item_knn": ItemKNNRecommender,
        "user_knn": UserKNNRecommender,
        "als": lambda: ALSRecommender(random_state=seed),
        "bpr": lambda: BPRRecommender(random_state=seed),
        "ease": EASERecommender,
        "content": ContentRecommender,
        "hybrid": lambda: HybridRecommender(random_state=seed),
    }
    if quick:
        for name in ("user_knn", "bpr", "content"):
            models.pop(name)
    return models


def _anchors(seed: int) -> dict:
    # implicit's own defaults, on the binary matrix: what a user of the library gets
    return {
        "popularity": PopularityRecommender,
        "implicit_cosine_knn": lambda: ItemKNNRecommender(k=20),
        "implicit_als_64": lambda: ALSRecommender(
            factors=64, regularization=0.01, alpha=1.0, random_state=seed
        ),
    }


def _evaluate(
    name: str, rows: pd.DataFrame, text: pd.Series, split: dict, options: BenchOptions, quantity: str | None
) -> list[dict]:
    train_rows, test_rows = temporal_split(rows, "user", "item", "ts", **split)
    weighted = train_rows.assign(
        w=interaction_weights(
            train_rows, quantity_col=quantity, time_col="ts", user_col="user", recency_steps=10
        )
    )
    ours = Interactions.from_frame(weighted, "user", "item", "w")
    plain = Interactions.from_frame(
        train_rows.assign(w=1.0), "user", "item", "w", item_ids=ours.item_ids, user_ids=ours.user_ids
    )
    fit_params = {"content": {"item_text": text}, "hybrid": {"item_text": text}}
    table_ours = evaluate_models(
        _ours(options.seed, options.quick), ours, test_rows, "user", "item", k=K, fit_params=fit_params
    )
    table_anchor = evaluate_models(_anchors(options.seed), plain, test_rows, "user", "item", k=K)
    table_ours["kind"], table_anchor["kind"] = "crmlens", "anchor"
    table = pd.concat([table_ours, table_anchor], ignore_index=True)
    table.insert(0, "dataset", name)
    return table.to_dict(orient="records")


def _speed(rows: pd.DataFrame, text: pd.Series, seed: int) -> dict:
    weighted = rows.assign(
        w=interaction_weights(rows, quantity_col="Quantity", time_col="ts", user_col="user", recency_steps=10)
    )
    data = Interactions.from_frame(weighted, "user", "item", "w")
    cpu = time.process_time()
    with measure() as fit:
        model = HybridRecommender(random_state=seed).fit(data, item_text=text)
    fit_cpu = time.process_time() - cpu
    # 100,000 customers: real histories drawn with replacement, scored as if they were new rows
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.n_users, 100_000)
    cpu = time.process_time()
    with measure() as rec:
        for start in range(0, len(picks), 4096):
            block = picks[start : start + 4096]
            model.top_n(np.full(len(block), -1), K, X_rows=data.matrix[block])
    rec_cpu = time.process_time() - cpu
    sample = model.recommend(data.user_ids[:2000], n=K)
    with measure() as why:
        reasons = model.explain(sample)
    cpu = time.process_time()
    with measure() as mining:
        rules = association_rules(rows, "InvoiceNo", "item")
        bundles = frequently_bought_together(rules)
    mine_cpu = time.process_time() - cpu
    return {
        "fit_seconds": fit.seconds,
        "fit_cpu_seconds": fit_cpu,
        "fit_peak_mem_mb": fit.peak_mem_mb,
        "recommend_100k_seconds": rec.seconds,
        "recommend_100k_cpu_seconds": rec_cpu,
        "rows_per_s": 100_000 * K / rec.seconds,
        "reasons_per_s": len(sample) / why.seconds,
        "reason_kinds": reasons.str.split(" ").str[0].value_counts().to_dict(),
        "rules": len(rules),
        "bundle_products": int(bundles["product_id"].nunique()),
        "rules_seconds": mining.seconds,
        "rules_cpu_seconds": mine_cpu,
        "interactions": int(data.matrix.nnz),
        "customers": data.n_users,
        "items": data.n_items,
    }


def run(options: BenchOptions) -> dict:
    ml_rows, ml_text = _movielens()
    retail_rows, retail_text = _online_retail()
    if options.quick:
        keep = retail_rows["user"].drop_duplicates().sample(frac=0.3, random_state=options.seed)
        retail_rows = retail_rows[retail_rows["user"].isin(keep)]
    results = _evaluate("movielens_100k", ml_rows, ml_text, {"holdout_last": 10}, options, quantity=None)
    results += _evaluate(
        "online_retail",
        retail_rows,
        retail_text,
        {"holdout_frac": 0.2, "basket_col": "InvoiceNo"},
        options,
        quantity="Quantity",
    )
    speed = _speed(retail_rows, retail_text, options.seed)
    table = pd.DataFrame(results)
    ours = table[(table["kind"] == "crmlens") & (table["dataset"] == "movielens_100k")]
    best = ours.loc[ours["ndcg_at_10"].idxmax()]
    metrics = {m: float(best[m]) for m in METRICS}
    metrics.update(
        model=str(best["model"]),
        fit_seconds=speed["fit_seconds"],
        seconds=speed["recommend_100k_seconds"],
        rows_per_s=speed["rows_per_s"],
        peak_mem_mb=speed["fit_peak_mem_mb"],
    )
    anchors = {}
    for name in ("popularity", "implicit_cosine_knn", "implicit_als_64"):
        row = table[
            (table["kind"] == "anchor") & (table["dataset"] == "movielens_100k") & (table["model"] == name)
        ]
        anchors[name] = {m: float(row.iloc[0][m]) for m in [*METRICS, "fit_seconds"]}
    by_set = {}
    for dataset, part in table.groupby("dataset"):
        mine = part[part["kind"] == "crmlens"]
        pop = part[(part["kind"] == "anchor") & (part["model"] == "popularity")]["ndcg_at_10"].iloc[0]
        top = mine.loc[mine["ndcg_at_10"].idxmax()]
        by_set[dataset] = {
            "best_model": top["model"],
            "ndcg_at_10": float(top["ndcg_at_10"]),
            "popularity_ndcg_at_10": float(pop),
            "lift_over_popularity": float(top["ndcg_at_10"] / pop),
        }
    shown = [
        "dataset",
        "kind",
        "model",
        "ndcg_at_10",
        "precision_at_10",
        "recall_at_10",
        "map_at_10",
        "hit_rate_at_10",
        "coverage_at_10",
        "novelty_at_10",
        "fit_seconds",
    ]
    notes = [
        "ranking over all items a customer has not taken in train; held-out items they already had are not counted",
        f"best crmlens model per data set: {by_set}",
        f"online_retail hybrid (all {speed['interactions']:,} customer-item pairs): fit {speed['fit_seconds']:.1f} s "
        f"wall / {speed['fit_cpu_seconds']:.1f} s CPU; 100,000 customers recommended in "
        f"{speed['recommend_100k_seconds']:.1f} s wall / {speed['recommend_100k_cpu_seconds']:.1f} s CPU; "
        f"reasons {speed['reasons_per_s']:,.0f}/s; {speed['rules']:,} pair rules, bundles for "
        f"{speed['bundle_products']:,} products in {speed['rules_seconds']:.1f} s",
        f"reason kinds on 2,000 customers: {speed['reason_kinds']}",
        "wall times on a shared machine; CPU seconds say what the code costs",
    ]
    return {
        "metrics": metrics,
        "anchors": anchors,
        "results": [{c: r[c] for c in shown} for r in results],
        "by_dataset": by_set,
        "speed": speed,
        "notes": notes,
    }

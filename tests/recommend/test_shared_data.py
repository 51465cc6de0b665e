"""Quality floors on samples of the shared public data (MovieLens 100K, Online Retail)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmlens.recommend import Interactions, interaction_weights, temporal_split
from crmlens.recommend.evaluate import evaluate_models
from crmlens.recommend.filemode import FileSpec, evaluate_file, load_file
from crmlens.recommend.models import EASERecommender, ItemKNNRecommender, PopularityRecommender


def test_movielens_sample_collaborative_beats_popularity(shared_data: Path) -> None:
    ratings = pd.read_csv(
        shared_data / "movielens_100k" / "u.data",
        sep="\t",
        header=None,
        names=["user", "item", "rating", "ts"],
    )
    top = ratings["item"].value_counts().index[:300]  # the 300 most rated films keep EASE instant
    ratings = ratings[ratings["item"].isin(top)]
    train_rows, test_rows = temporal_split(ratings, "user", "item", "ts", holdout_last=5)
    weighted = train_rows.assign(
        w=interaction_weights(train_rows, time_col="ts", user_col="user", recency_steps=10)
    )
    train = Interactions.from_frame(weighted, "user", "item", "w")
    table = evaluate_models(
        {"popularity": PopularityRecommender(), "item_knn": ItemKNNRecommender(), "ease": EASERecommender()},
        train,
        test_rows,
        "user",
        "item",
        k=10,
    ).set_index("model")
    assert table.loc["ease", "ndcg_at_10"] > 1.5 * table.loc["popularity", "ndcg_at_10"]
    assert table.loc["item_knn", "ndcg_at_10"] > 1.3 * table.loc["popularity", "ndcg_at_10"]
    assert table.loc["ease", "ndcg_at_10"] > 0.15


def test_online_retail_file_mode_on_a_sample(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(
        shared_data / "online_retail" / "online_retail.csv.gz",
        dtype={"InvoiceNo": str, "StockCode": str},
        nrows=100_000,
    )
    raw = raw[raw["StockCode"].isin(raw["StockCode"].value_counts().index[:600])]  # a small catalogue: fast
    path = tmp_path / "retail.csv"
    raw.to_csv(path, index=False)
    spec = FileSpec("CustomerID", "StockCode", "InvoiceDate", "Quantity", "Description")
    frame = load_file(path, spec)
    assert (frame["Quantity"].astype(float) > 0).all() and frame["CustomerID"].notna().all()
    out = evaluate_file(
        frame, spec, models=["popularity", "ease", "hybrid"], holdout_frac=0.2, basket_col="InvoiceNo"
    )
    scores = {r["model"]: r["ndcg_at_10"] for r in out["models"]}
    assert scores["hybrid"] > 1.5 * scores["popularity"]
    assert out["best_model"] in ("ease", "hybrid")

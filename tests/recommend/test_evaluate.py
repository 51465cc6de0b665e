from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from crmlens.exceptions import ConfigError
from crmlens.recommend import (
    EASERecommender,
    Interactions,
    PopularityRecommender,
    evaluate_models,
    ranking_metrics,
    temporal_split,
)


def test_holdout_last_takes_each_customers_latest_rows() -> None:
    frame = pd.DataFrame({"u": [1, 1, 1, 2, 2], "i": list("abcde"), "t": [3, 1, 2, 5, 4]})
    train, test = temporal_split(frame, "u", "i", "t", holdout_last=1)
    assert sorted(test["i"]) == ["a", "d"]
    train, test = temporal_split(frame, "u", "i", "t", holdout_last=2)
    assert sorted(test["i"]) == ["a", "c"]  # customer 2 has only 2 rows: stays whole in train


def test_holdout_frac_holds_out_whole_baskets() -> None:
    frame = pd.DataFrame(
        {
            "u": [1] * 5 + [2],
            "basket": ["o1", "o1", "o2", "o3", "o3", "o9"],
            "i": list("abcdef"),
            "t": pd.to_datetime(["2024-01-01"] * 2 + ["2024-02-01"] + ["2024-03-01"] * 2 + ["2024-01-01"]),
        }
    )
    train, test = temporal_split(frame, "u", "i", "t", holdout_frac=0.2, basket_col="basket")
    assert sorted(test["i"]) == ["d", "e"]  # ceil(0.2 * 3) = 1 basket, the last; one-basket customers stay
    with pytest.raises(ConfigError):
        temporal_split(frame, "u", "i", "t", holdout_last=1, holdout_frac=0.2)


def test_ranking_metrics_by_hand() -> None:
    recommended = np.array([[0, 1, 2], [3, 2, -1]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 1]]))
    m = ranking_metrics(recommended, relevant, np.array([1, 2]), 3, np.full(4, 0.5), 4)
    assert m["precision"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert m["recall"] == pytest.approx((1 + 0.5) / 2)
    ndcg_0 = (1 / np.log2(3)) / 1.0
    ndcg_1 = 1.0 / (1 + 1 / np.log2(3))
    assert m["ndcg"] == pytest.approx((ndcg_0 + ndcg_1) / 2)
    assert m["map"] == pytest.approx((0.5 + 1 / 2) / 2)
    assert m["hit_rate"] == 1.0
    assert m["coverage"] == pytest.approx(1.0)
    assert m["novelty"] == pytest.approx(1.0)


def test_evaluate_ranks_everything_and_cf_beats_popularity(planted: pd.DataFrame) -> None:
    train_rows, test_rows = temporal_split(planted, "customer_id", "product_id", "ts", holdout_last=2)
    train = Interactions.from_frame(train_rows.assign(w=1.0), "customer_id", "product_id", "w")
    table = evaluate_models(
        {"popularity": PopularityRecommender(), "ease": EASERecommender(l2=5.0)},
        train,
        test_rows,
        "customer_id",
        "product_id",
        k=5,
    ).set_index("model")
    assert set(table.columns) >= {"precision_at_5", "ndcg_at_5", "map_at_5", "coverage_at_5", "novelty_at_5"}
    assert table.loc["ease", "ndcg_at_5"] > 1.5 * table.loc["popularity", "ndcg_at_5"]
    assert table.loc["ease", "coverage_at_5"] > table.loc["popularity", "coverage_at_5"]

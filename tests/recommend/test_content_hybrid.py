from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.recommend import ContentRecommender, HybridRecommender, Interactions, tokenize


def test_tokenize_cuts_chinese_with_jieba_and_keeps_words() -> None:
    tokens = tokenize("白色陶瓷茶杯 Large MUG, 350ml")
    assert "白色" in tokens and "陶瓷" in tokens
    assert "large" in tokens and "mug" in tokens
    assert "350" not in tokens


def _with_new_item(planted: pd.DataFrame, text: dict[str, str]) -> tuple[Interactions, dict[str, str]]:
    items = np.array(sorted(set(planted["product_id"]) | {"a_new"}))
    data = Interactions.from_frame(planted.assign(w=1.0), "customer_id", "product_id", "w", item_ids=items)
    return data, text | {"a_new": "garden tool spade deluxe"}


def test_content_reaches_a_product_nobody_bought(planted: pd.DataFrame, planted_text: dict[str, str]) -> None:
    data, text = _with_new_item(planted, planted_text)
    model = ContentRecommender().fit(data, item_text=text)
    garden = model.recommend(range(60), n=5)
    assert garden["product_id"].str.startswith("a").all()
    assert "a_new" in set(garden["product_id"])
    chinese = ContentRecommender().fit(
        Interactions.from_frame(
            pd.DataFrame({"u": [1, 2], "i": ["p1", "p2"], "w": 1.0}),
            "u",
            "i",
            "w",
            item_ids=np.array(["p1", "p2", "p3"]),
        ),
        item_text={"p1": "白色陶瓷茶杯", "p2": "不锈钢锅", "p3": "蓝色陶瓷茶杯"},
    )
    assert chinese.recommend([1], n=1)["product_id"].tolist() == ["p3"]


def test_hybrid_falls_back_for_cold_customers_and_new_products(
    planted: pd.DataFrame, planted_text: dict[str, str]
) -> None:
    data, text = _with_new_item(planted, planted_text)
    model = HybridRecommender(params={"als": {"factors": 8}}).fit(data, item_text=text)
    cold = model.recommend(["someone new"], n=1, exclude_purchased=False)
    assert cold["product_id"].tolist() == ["best"]  # the bestseller
    garden = model.recommend(range(60), n=5)
    kitchen = model.recommend(range(60, 120), n=5)
    assert (garden["product_id"] == "a_new").sum() >= 50  # offered through its text to people who buy alike
    assert (kitchen["product_id"] == "a_new").sum() == 0


def test_reasons_count_customers_who_bought_both(planted: pd.DataFrame, planted_text: dict[str, str]) -> None:
    model = HybridRecommender(params={"als": {"factors": 8}}).fit(
        Interactions.from_frame(planted.assign(w=1.0), "customer_id", "product_id", "w"),
        item_text=planted_text,
    )
    recs = model.recommend([0, "cold"], n=3)
    reasons = model.explain(recs, item_names={"a1": "Spade 1"})
    warm = reasons[recs["customer_id"] == 0]
    assert warm.str.startswith("bought together with").all()
    first = recs.iloc[0]
    mine = set(planted.query("customer_id == 0")["product_id"])
    counted = int(warm.iloc[0].split(" by ")[1].split(" ")[0])
    partner = warm.iloc[0].removeprefix("bought together with ").split(" by ")[0]
    partner_id = "a1" if partner == "Spade 1" else partner
    assert partner_id in mine
    buyers = planted.groupby("customer_id")["product_id"].apply(set)
    by_hand = sum(1 for s in buyers if partner_id in s and first["product_id"] in s)
    assert counted == by_hand

    def confidence(j: str) -> float:
        both = sum(1 for s in buyers if j in s and first["product_id"] in s)
        return both / sum(1 for s in buyers if j in s) if both >= 2 else 0.0

    assert partner_id == max(sorted(mine), key=confidence)  # the best predictor, not the bestseller
    assert partner_id != "best"
    assert (reasons[recs["customer_id"] == "cold"] == "popular with customers").all()


@pytest.mark.parametrize("weights", [{"ease": 1.0}, {"popularity": 1.0, "item_knn": 0.5}])
def test_hybrid_of_one_part_ranks_like_that_part(planted_data: Interactions, weights: dict) -> None:
    from crmlens.recommend import make_model

    hybrid = HybridRecommender(weights=weights).fit(planted_data)
    if len(weights) == 1:
        alone = make_model("ease").fit(planted_data)
        assert (
            hybrid.recommend(range(20), n=3)["product_id"].tolist()
            == alone.recommend(range(20), n=3)["product_id"].tolist()
        )
    else:
        assert set(hybrid.components_) == {"popularity", "item_knn"}

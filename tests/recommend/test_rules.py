from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.recommend import Interactions, PopularityRecommender
from crmlens.recommend.rules import association_rules, candidate_items, frequently_bought_together, upsell


@pytest.fixture
def baskets() -> pd.DataFrame:
    # 10 baskets: bread+butter in 4, bread alone in 2, butter alone in 1, jam+bread in 2, milk in 1
    rows = []
    for b in range(4):
        rows += [(f"o{b}", "bread"), (f"o{b}", "butter")]
    rows += [("o4", "bread"), ("o5", "bread"), ("o6", "butter"), ("o7", "jam"), ("o7", "bread")]
    rows += [("o8", "jam"), ("o8", "bread"), ("o9", "milk")]
    return pd.DataFrame(rows, columns=["order_id", "product_id"])


def test_rule_measures_by_hand(baskets: pd.DataFrame) -> None:
    rules = association_rules(baskets, min_support=0.2, min_confidence=0.0, min_lift=0.0)
    rule = rules[(rules["antecedents"] == ("butter",)) & (rules["consequents"] == ("bread",))].iloc[0]
    assert rule["support"] == pytest.approx(4 / 10)
    assert rule["confidence"] == pytest.approx(4 / 5)
    assert rule["lift"] == pytest.approx((4 / 5) / (8 / 10))
    assert rule["baskets"] == 4
    assert not ((rules["antecedents"] == ("milk",)).any())  # 1 basket < 20% support


def test_pairs_method_gives_the_same_rules_as_mlxtend_fpgrowth() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for b in range(300):
        size = rng.integers(1, 6)
        items = rng.choice(
            25, size=size, replace=False, p=np.linspace(2, 0.2, 25) / np.linspace(2, 0.2, 25).sum()
        )
        rows += [(b, f"i{i}") for i in items]
    frame = pd.DataFrame(rows, columns=["order_id", "product_id"])
    fast = association_rules(frame, min_support=0.02, method="pairs")
    slow = association_rules(frame, min_support=0.02, method="fpgrowth")
    key = ["antecedents", "consequents"]
    merged = fast.merge(slow, on=key, suffixes=("_pairs", "_fp"))
    assert len(fast) == len(slow) == len(merged) > 10
    for col in ("support", "confidence", "lift"):
        assert np.allclose(merged[f"{col}_pairs"], merged[f"{col}_fp"])


def test_frequently_bought_together_ranks_partners(baskets: pd.DataFrame) -> None:
    rules = association_rules(baskets, min_support=0.1, min_confidence=0.0, min_lift=0.0)
    together = frequently_bought_together(rules, n=2)
    bread = together[together["product_id"] == "bread"]
    assert bread["bundled_product_id"].tolist() == ["butter", "jam"]  # 4/8 then 2/8 of bread baskets
    assert bread["rank"].tolist() == [1, 2]


def test_candidate_items_filters() -> None:
    products = pd.DataFrame(
        {
            "product_id": ["a", "b", "c", "d"],
            "category": ["Tea", "tea", "Mugs", "Tea"],
            "price": [5.0, 50.0, 8.0, 12.0],
            "stock": [1, 0, 3, 2],
        }
    )
    assert candidate_items(products, in_stock_col="stock").tolist() == ["a", "c", "d"]
    assert candidate_items(products, categories=["tea"], price_range=(6, None)).tolist() == ["b", "d"]


def test_upsell_offers_pricier_items_of_the_same_category() -> None:
    products = pd.DataFrame(
        {
            "product_id": ["mug", "mug_deluxe", "mug_gold", "teapot", "mug_cheap"],
            "category": ["mugs", "mugs", "mugs", "pots", "mugs"],
            "price": [10.0, 15.0, 100.0, 30.0, 5.0],
        }
    )
    frame = pd.DataFrame({"u": [1, 2, 2, 3, 3], "i": ["mug", "mug", "mug_deluxe", "mug", "teapot"], "w": 1.0})
    data = Interactions.from_frame(frame, "u", "i", "w", item_ids=products["product_id"].to_numpy())
    model = PopularityRecommender().fit(data)
    offers = upsell(model, products, customers=[1], n=3)
    assert offers["product_id"].tolist() == ["mug_deluxe"]  # 1.2x to 3x of 10: not gold, not cheaper
    assert "against the 10.00" in offers["reason"].iloc[0]

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.engine import DuckDBEngine
from crmlens.recommend.warehouse import bundles, recommend_from_warehouse


def _load(engine: DuckDBEngine, planted: pd.DataFrame, planted_text: dict[str, str]) -> None:
    orders = planted.rename(columns={"ts": "ts"}).assign(
        order_id=lambda f: f["customer_id"].astype(str) + "-" + f["ts"].dt.strftime("%Y%m%d"),
        line_no=1,
        quantity=1.0,
        amount=10.0,
        status="completed",
        customer_key=lambda f: f["customer_id"].astype(str),
    )
    engine.write_table("orders", orders)
    events = pd.DataFrame(
        {
            "customer_id": [0, 0],
            "customer_key": ["0", "0"],
            "ts": pd.to_datetime(["2024-03-01"] * 2),
            "event_type": ["view", "view"],
            "product_id": ["a_new", "b1"],
            "session_id": ["s", "s"],
        }
    )
    engine.write_table("events", events)
    products = pd.DataFrame(
        {
            "product_id": list(planted_text) + ["a_new"],
            "name": [f"Item {p}" for p in planted_text] + ["Spade XL"],
            "category": [p[0] for p in planted_text] + ["a"],
            "price": 10.0,
            "description": list(planted_text.values()) + ["garden tool spade extra large"],
        }
    )
    engine.write_table("products", products)


def test_recommendations_with_reasons_from_the_warehouse(
    engine: DuckDBEngine, planted: pd.DataFrame, planted_text: dict[str, str]
) -> None:
    _load(engine, planted, planted_text)
    recs = recommend_from_warehouse(engine, n=5, model="hybrid")
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score", "reason"]
    assert recs["customer_id"].nunique() == 120 and recs.groupby("customer_id").size().eq(5).all()
    bought = planted.groupby("customer_id")["product_id"].apply(set)
    assert not any(p in bought[c] for c, p in zip(recs["customer_id"], recs["product_id"], strict=True))
    assert recs["reason"].str.startswith("bought together with Item ").mean() > 0.5
    zero = recs[recs["customer_id"] == 0]
    assert "b1" in set(
        zero["product_id"]
    )  # viewed just now, never bought: offered though not their usual taste
    engine.write_table("recommendations", recs)
    assert engine.count("recommendations") == len(recs)


def test_bundles_from_order_baskets(engine: DuckDBEngine) -> None:
    rows = [(f"o{b}", p) for b in range(6) for p in ("tea", "mug")] + [("o9", "tea"), ("o10", "pot")]
    orders = pd.DataFrame(rows, columns=["order_id", "product_id"]).assign(
        customer_id=1, customer_key="1", ts=pd.Timestamp("2024-01-01"), quantity=1.0, amount=1.0
    )
    engine.write_table("orders", orders)
    engine.write_table(
        "products", pd.DataFrame({"product_id": ["tea", "mug", "pot"], "name": ["Tea", "Mug", "Pot"]})
    )
    table = bundles(engine, min_support=0.2)
    tea = table[table["product_id"] == "tea"].iloc[0]
    assert tea["bundled_product_id"] == "mug" and tea["bundled_product_name"] == "Mug"
    assert tea["baskets"] == 6 and abs(tea["confidence"] - 6 / 7) < 1e-9


def test_customer_links_resolve_orders_without_customer_id(engine: DuckDBEngine) -> None:
    rows = [(f"o{b}", f"k{b % 4}", p) for b in range(12) for p in ("tea", "mug")] + [("o99", "k0", "pot")]
    orders = pd.DataFrame(rows, columns=["order_id", "customer_key", "product_id"]).assign(
        source="shop",
        customer_id=pd.array([None] * len(rows), dtype="Int64"),
        ts=pd.Timestamp("2024-01-01"),
        quantity=1.0,
        amount=1.0,
    )
    engine.write_table("orders", orders)
    links = pd.DataFrame(
        {
            "source": "shop",
            "customer_key": ["k0", "k1", "k2", "k3"],
            "customer_id": [10, 11, 12, 12],
            "match_probability": 1.0,
            "match_rule": "exact",
        }
    )
    engine.write_table("customer_links", links)
    recs = recommend_from_warehouse(engine, n=1)
    # k2 and k3 are one customer (12); 10 has bought everything there is, so gets nothing
    assert recs["customer_id"].tolist() == [11, 12]
    assert recs["product_id"].tolist() == ["pot", "pot"]


def test_orders_without_any_customer_say_what_to_run(engine: DuckDBEngine) -> None:
    from crmlens.exceptions import NotFittedError

    orders = pd.DataFrame(
        {
            "order_id": ["o1"],
            "customer_key": ["k"],
            "customer_id": pd.array([None], dtype="Int64"),
            "product_id": ["tea"],
            "ts": pd.Timestamp("2024-01-01"),
            "quantity": 1.0,
        }
    )
    engine.write_table("orders", orders)
    with pytest.raises(NotFittedError, match="identity resolution"):
        recommend_from_warehouse(engine)


def test_upsell_from_the_warehouse(engine: DuckDBEngine) -> None:
    from crmlens.recommend import upsell_from_warehouse

    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_key": ["1", "2", "2"],
            "customer_id": [1, 2, 2],
            "product_id": ["mug", "mug", "mug_plus"],
            "ts": pd.Timestamp("2024-01-01"),
            "quantity": 1.0,
        }
    )
    engine.write_table("orders", orders)
    engine.write_table(
        "products",
        pd.DataFrame(
            {
                "product_id": ["mug", "mug_plus", "mug_gold"],
                "name": ["Mug", "Mug+", "Gold mug"],
                "category": ["mugs"] * 3,
                "price": [10.0, 14.0, 80.0],
            }
        ),
    )
    offers = upsell_from_warehouse(engine, n=2)
    assert offers[["customer_id", "product_id"]].values.tolist() == [[1, "mug_plus"]]


def test_evaluation_table_for_the_report(
    engine: DuckDBEngine, planted: pd.DataFrame, planted_text: dict[str, str]
) -> None:
    from crmlens.recommend import evaluate_warehouse

    _load(engine, planted, planted_text)
    table = evaluate_warehouse(engine, k=5, models=("popularity", "ease", "hybrid")).set_index("model")
    assert list(table.index) == ["popularity", "ease", "hybrid"]
    assert table.loc["hybrid", "ndcg_at_5"] > table.loc["popularity", "ndcg_at_5"]
    assert table["users"].iloc[0] > 50

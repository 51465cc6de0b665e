"""Warehouse mode: recommendations with reasons and bundles from the canonical tables.

Reads ``orders``, ``events`` and ``products`` (see ``crmlens.schema``); optionally ``segments``
for segment popularity. Returns frames; the caller writes the ``recommendations`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmlens.engine import Engine
from crmlens.exceptions import NotFittedError
from crmlens.recommend.base import BaseRecommender, make_model
from crmlens.recommend.content import product_text
from crmlens.recommend.data import Interactions, interaction_weights
from crmlens.recommend.hybrid import HybridRecommender
from crmlens.recommend.rules import association_rules, frequently_bought_together, upsell

_DROPPED_STATUS = ("cancelled", "canceled", "returned", "refunded", "failed")
RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score", "reason"]


@dataclass
class WarehouseData:
    """What the recommenders learn from: weighted interactions, purchases alone, the catalogue."""

    interactions: Interactions
    purchases: Interactions
    products: pd.DataFrame
    segments: dict[Any, str] | None
    has_catalogue: bool = True
    rows: pd.DataFrame | None = None  # customer_id, product_id, ts, quantity, event_type, order_id, weight


def _read(engine: Engine, sql: str) -> pd.DataFrame:
    return engine.query(sql).to_pandas()


def _has_links(engine: Engine, tables: set[str], table: str) -> bool:
    return (
        "customer_links" in tables
        and {"source", "customer_key"} <= set(engine.columns(table))
        and engine.count("customer_links") > 0
    )


def _customer(table: str, engine: Engine, tables: set[str]) -> str:
    """The resolved customer: the row's own ``customer_id``, else its ``customer_links`` match."""
    if _has_links(engine, tables, table):
        return f"coalesce({table}.customer_id, l.customer_id)"
    return f"{table}.customer_id"


def _links(table: str, engine: Engine, tables: set[str]) -> str:
    if _has_links(engine, tables, table):
        return (
            "LEFT JOIN customer_links l ON l.source = "
            f"{table}.source AND l.customer_key = {table}.customer_key"
        )
    return ""


def load_interactions(
    engine: Engine,
    as_of: str | None = None,
    recency_steps: float | None = 10.0,
    *,
    consent: bool = True,
    stage: str = "recommendations",
) -> WarehouseData:
    """Orders (purchase strength x quantity) and events (view < cart < purchase), weighted by recency.

    Only rows with a resolved ``customer_id`` and a ``product_id`` count; cancelled or returned
    order lines are left out. ``as_of`` ignores everything after that time. Learning a
    customer's tastes is profiling: with ``consent`` (the default) the rows of customers without
    profiling consent are left out, so they are neither learnt from nor recommended to.
    """
    from crmlens.privacy.consent import enforce_consent

    tables = set(engine.tables())
    if "orders" not in tables:
        raise NotFittedError("recommend: the warehouse has no orders table; run crmlens ingest first")
    cutoff = "" if as_of is None else f" AND ts <= TIMESTAMP '{pd.Timestamp(as_of).isoformat(sep=' ')}'"
    status = ", ".join(f"'{s}'" for s in _DROPPED_STATUS)
    columns = set(engine.columns("orders"))
    quantity = "coalesce(quantity, 1)" if "quantity" in columns else "1.0"
    kept = f" AND coalesce(lower(status), '') NOT IN ({status})" if "status" in columns else ""
    orders = _read(
        engine,
        f"SELECT {_customer('orders', engine, tables)} AS customer_id, product_id, ts, "
        f"{quantity} AS quantity, order_id FROM orders {_links('orders', engine, tables)} "
        f"WHERE product_id IS NOT NULL AND {quantity} > 0{kept}{cutoff}",
    ).dropna(subset=["customer_id"])
    if orders.empty:
        raise NotFittedError(
            "recommend: no order line has a customer_id yet; run identity resolution (customer_links) first"
        )
    orders["event_type"] = "purchase"
    frames = [orders]
    if "events" in tables:
        events = _read(
            engine,
            f"SELECT {_customer('events', engine, tables)} AS customer_id, product_id, ts, event_type FROM events "
            f"{_links('events', engine, tables)} WHERE product_id IS NOT NULL{cutoff}",
        ).dropna(subset=["customer_id"])
        events["quantity"] = 1.0
        frames.append(events)
    rows = pd.concat(frames, ignore_index=True)
    rows = enforce_consent(engine, rows, "profiling", stage, enforce=consent).reset_index(drop=True)
    if rows.empty:
        raise NotFittedError("recommend: no customer with orders has consented to profiling")
    rows["weight"] = _weights(rows, recency_steps)
    products = _read(engine, "SELECT * FROM products") if "products" in tables else pd.DataFrame()
    has_catalogue = not products.empty
    if not has_catalogue:
        products = pd.DataFrame({"product_id": pd.unique(rows["product_id"])})
    item_ids = np.asarray(pd.unique(pd.concat([products["product_id"], rows["product_id"]]).astype(str)))
    rows["product_id"] = rows["product_id"].astype(str)
    products = products.assign(product_id=products["product_id"].astype(str))
    interactions = Interactions.from_frame(rows, "customer_id", "product_id", "weight", item_ids=item_ids)
    bought = rows[rows["event_type"] == "purchase"].assign(one=1.0)
    purchases = Interactions.from_frame(
        bought, "customer_id", "product_id", "one", item_ids=item_ids, user_ids=interactions.user_ids
    )
    segments = None
    if "segments" in tables:
        seg = _read(
            engine,
            "SELECT customer_id, segment FROM segments WHERE segmentation = "
            "(SELECT min(segmentation) FROM segments)",
        )
        if not seg.empty:
            segments = dict(
                zip(seg["customer_id"].tolist(), seg["segment"].astype(str).tolist(), strict=True)
            )
    return WarehouseData(interactions, purchases, products, segments, has_catalogue, rows)


def _weights(rows: pd.DataFrame, recency_steps: float | None = 10.0) -> pd.Series:
    """Event strength x quantity, and recency counted in the customer's active days."""
    return interaction_weights(
        rows.assign(day=pd.to_datetime(rows["ts"]).dt.floor("D")),
        quantity_col="quantity",
        event_col="event_type",
        time_col="day",
        user_col="customer_id",
        recency_steps=recency_steps,
    )


def fit_from_warehouse(data: WarehouseData, model: str = "hybrid", seed: int = 0) -> BaseRecommender:
    """Fit the named recommender on warehouse data (hybrid: with product text and segments)."""
    if model == "hybrid":
        text = product_text(data.products) if data.has_catalogue else None
        return HybridRecommender(random_state=seed).fit(
            data.interactions, item_text=text, segments=data.segments
        )
    estimator = make_model(model)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    if model == "content":
        return estimator.fit(data.interactions, item_text=product_text(data.products))
    return estimator.fit(data.interactions)


def recommend_from_warehouse(
    engine: Engine,
    n: int = 10,
    model: str = "hybrid",
    *,
    exclude_purchased: bool = True,
    max_per_category: int | None = None,
    as_of: str | None = None,
    seed: int = 0,
    batch_size: int = 2048,
    consent: bool = True,
) -> pd.DataFrame:
    """``n`` products for every customer with orders or events: ``customer_id, rank, product_id, score, reason``.

    Items already bought are not offered again (viewed ones are); only products in the
    ``products`` table are offered when it has rows. The frame is what the ``recommendations``
    table holds. With ``consent`` (the default) only customers with profiling consent are learnt
    from and get recommendations; sending them is marketing (:func:`recommendations_to_send`).
    """
    data = load_interactions(engine, as_of=as_of, consent=consent)
    fitted = fit_from_warehouse(data, model=model, seed=seed)
    allowed = None
    if data.has_catalogue:
        allowed = np.zeros(fitted.n_items_, dtype=bool)
        pos = fitted.item_positions(data.products["product_id"])
        allowed[pos[pos >= 0]] = True
    groups = None
    if max_per_category and "category" in data.products.columns:
        groups = fitted._groups(
            dict(zip(data.products["product_id"], data.products["category"], strict=True))
        )
    users = fitted.user_ids_
    rows = np.arange(len(users))
    bought = data.purchases.matrix
    out_items, out_scores = [], []
    for start in range(0, len(rows), batch_size):
        block = rows[start : start + batch_size]
        items, scores = fitted.top_n(
            block,
            n,
            exclude_purchased=False,
            exclude_rows=bought[block] if exclude_purchased else None,
            allowed=allowed,
            groups=groups,
            max_per_group=max_per_category,
        )
        out_items.append(items)
        out_scores.append(scores)
    if not out_items:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    recs = fitted._frame(users, np.vstack(out_items), np.vstack(out_scores))
    names = {}
    if "name" in data.products.columns:
        names = dict(zip(data.products["product_id"], data.products["name"].astype(str), strict=True))
    if isinstance(fitted, HybridRecommender):
        recs["reason"] = fitted.explain(recs, item_names=names, purchases=data.purchases).to_numpy()
    else:
        recs["reason"] = f"{model} recommender"
    recs["customer_id"] = recs["customer_id"].astype("int64")
    recs["rank"] = recs["rank"].astype("int32")
    return recs[RECOMMENDATION_COLUMNS].reset_index(drop=True)


def bundles(
    engine: Engine, n: int = 5, min_support: float | None = None, as_of: str | None = None
) -> pd.DataFrame:
    """ "Frequently bought together" from order baskets.

    Columns: ``product_id, rank, bundled_product_id, baskets, support, confidence, lift`` (plus
    ``product_name`` and ``bundled_product_name`` when products have names).
    """
    if "orders" not in set(engine.tables()):
        raise NotFittedError("recommend: the warehouse has no orders table; run crmlens ingest first")
    cutoff = "" if as_of is None else f" AND ts <= TIMESTAMP '{pd.Timestamp(as_of).isoformat(sep=' ')}'"
    basket = "coalesce(source, '') || ':' || order_id" if "source" in engine.columns("orders") else "order_id"
    baskets = _read(
        engine,
        f"SELECT {basket} AS basket, CAST(product_id AS VARCHAR) AS product_id "
        f"FROM orders WHERE product_id IS NOT NULL AND coalesce(quantity, 1) > 0{cutoff}",
    )
    rules = association_rules(baskets, "basket", "product_id", min_support=min_support)
    together = frequently_bought_together(rules, n=n)
    if "products" in set(engine.tables()) and not together.empty:
        names = _read(engine, "SELECT CAST(product_id AS VARCHAR) AS product_id, name FROM products")
        lookup = dict(zip(names["product_id"], names["name"], strict=True))
        together["product_name"] = together["product_id"].map(lookup)
        together["bundled_product_name"] = together["bundled_product_id"].map(lookup)
    return together


def upsell_from_warehouse(
    engine: Engine,
    n: int = 3,
    model: str = "hybrid",
    min_ratio: float = 1.2,
    max_ratio: float = 3.0,
    seed: int = 0,
    consent: bool = True,
) -> pd.DataFrame:
    """Up-sell offers per customer: pricier items of the categories they buy, ranked by the model.

    Columns: ``customer_id, rank, product_id, score, reason`` (needs ``products.category`` and ``price``).
    Offers are sent to people: with ``consent`` (the default) the model learns only from customers
    with profiling consent and offers go only to those who also consented to marketing.
    """
    from crmlens.privacy.consent import enforce_consent

    data = load_interactions(engine, consent=consent, stage="up-sell")
    if not data.has_catalogue or not {"category", "price"} <= set(data.products.columns):
        raise NotFittedError("recommend: up-sell needs the products table with category and price")
    fitted = fit_from_warehouse(data, model=model, seed=seed)
    offers = upsell(fitted, data.products, n=n, min_ratio=min_ratio, max_ratio=max_ratio)
    offers["customer_id"] = offers["customer_id"].astype("int64")
    return enforce_consent(engine, offers, "marketing", "up-sell offers", enforce=consent).reset_index(
        drop=True
    )


def recommendations_to_send(engine: Engine, n: int = 3, *, consent: bool = True) -> pd.DataFrame:
    """The top ``n`` rows per customer of the ``recommendations`` table, for an e-mail or push campaign.

    Sending is marketing: with ``consent`` (the default) customers without marketing consent
    never appear. Columns: ``customer_id, rank, product_id, score, reason``.
    """
    from crmlens.privacy.consent import enforce_consent

    if not engine.has_table("recommendations"):
        raise NotFittedError("recommend: no recommendations table; run the recommendations stage first")
    recs = engine.query(
        f"SELECT {', '.join(RECOMMENDATION_COLUMNS)} FROM recommendations WHERE rank <= $n ORDER BY customer_id, rank",
        {"n": int(n)},
    ).to_pandas()
    return enforce_consent(engine, recs, "marketing", "recommendations sent", enforce=consent).reset_index(
        drop=True
    )


def evaluate_warehouse(
    engine: Engine,
    k: int = 10,
    holdout_frac: float = 0.2,
    models: tuple[str, ...] = ("popularity", "item_knn", "user_knn", "als", "ease", "content", "hybrid"),
    seed: int = 0,
    consent: bool = True,
) -> pd.DataFrame:
    """The evaluation table for the report: every model on the warehouse's own orders.

    Everything after the time by which ``1 - holdout_frac`` of the order lines had happened is
    held out; models learn from orders and events before it (weights recomputed on that part
    only: no leakage) and rank all products for every customer with a later order. One row per
    model: ``precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, coverage_at_k,
    novelty_at_k, fit_seconds, recommend_seconds, users``. With ``consent`` (the default) only
    customers with profiling consent are learnt from and evaluated on.
    """
    from crmlens.recommend.evaluate import evaluate_models

    data = load_interactions(engine, consent=consent, stage="recommendation evaluation")
    rows = data.rows
    assert rows is not None
    ts = pd.to_datetime(rows["ts"])
    purchase = rows["event_type"] == "purchase"
    cutoff = ts[purchase].quantile(1.0 - holdout_frac)
    train_rows = rows[ts <= cutoff].copy()
    test_rows = rows[purchase & (ts > cutoff)]
    if train_rows.empty or test_rows.empty:
        raise NotFittedError(f"recommend: too little order history to hold out {holdout_frac:.0%} of it")
    train_rows["weight"] = _weights(train_rows)
    train = Interactions.from_frame(
        train_rows, "customer_id", "product_id", "weight", item_ids=data.interactions.item_ids
    )
    text = product_text(data.products) if data.has_catalogue else None
    chosen = [m for m in models if m != "content" or text is not None]

    def build(name: str):  # noqa: ANN202 - a factory
        def make() -> BaseRecommender:
            model = make_model(name)
            if "random_state" in model.get_params():
                model.set_params(random_state=seed)
            return model

        return make

    fit_params = {m: {"item_text": text} for m in ("content", "hybrid") if text is not None}
    table = evaluate_models(
        {m: build(m) for m in chosen},
        train,
        test_rows,
        "customer_id",
        "product_id",
        k=k,
        fit_params=fit_params,
    )
    table.attrs["cutoff"] = str(cutoff)
    return table

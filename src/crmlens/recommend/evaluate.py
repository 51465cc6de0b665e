"""Offline evaluation that says which recommender to trust.

A time-based hold-out (each customer's last N interactions, their last share of baskets, or
everything after a date); every model ranks the *whole* catalogue for every test customer (no
sampled negatives), and is scored on precision, recall, NDCG, MAP and hit rate at k, catalogue
coverage and novelty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.recommend.base import BaseRecommender
from crmlens.recommend.data import Interactions, to_timestamp

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty")


def temporal_split(
    frame: pd.DataFrame,
    user_col: str,
    item_col: str,
    time_col: str | None = None,
    *,
    holdout_last: int | None = None,
    holdout_frac: float | None = None,
    basket_col: str | None = None,
    after: str | pd.Timestamp | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split interactions into (train, test) by time, per customer.

    ``holdout_last``: each customer's last N rows (customers with N rows or fewer stay whole in
    train). ``holdout_frac``: each customer's last share of baskets (``basket_col``, else of
    distinct times), for customers with at least two. ``after``: every row after that time.
    Without ``time_col`` the order is a seeded shuffle, and the split is not time-aware.
    """
    if sum(x is not None for x in (holdout_last, holdout_frac, after)) != 1:
        raise ConfigError("split: give exactly one of holdout_last, holdout_frac or after")
    for col in (user_col, item_col, time_col, basket_col):
        if col is not None and col not in frame.columns:
            raise ValidationError(f"split: no column {col!r}; columns are {list(frame.columns)}")
    data = frame.reset_index(drop=True)
    if time_col is not None:
        ts = to_timestamp(data[time_col])
    else:
        ts = pd.Series(np.random.default_rng(seed).permutation(len(data)), index=data.index)
    if after is not None:
        if time_col is None:
            raise ConfigError("split: 'after' needs a time column (--time-col)")
        test = ts > pd.Timestamp(after)
        return data[~test], data[test]
    order = pd.DataFrame({"u": data[user_col].to_numpy(), "t": ts.to_numpy(), "pos": np.arange(len(data))})
    if holdout_last is not None:
        order = order.sort_values(["u", "t", "pos"], kind="stable")
        from_end = order.groupby("u", sort=False).cumcount(ascending=False)
        size = order.groupby("u", sort=False)["pos"].transform("size")
        is_test = (from_end < holdout_last) & (size > holdout_last)
        test = np.zeros(len(data), dtype=bool)
        test[order["pos"].to_numpy()[is_test.to_numpy()]] = True
        return data[~test], data[test]
    if not 0 < float(holdout_frac) < 1:  # type: ignore[arg-type]
        raise ConfigError(f"split: holdout_frac must be between 0 and 1, got {holdout_frac}")
    order["b"] = data[basket_col].to_numpy() if basket_col else order["t"].to_numpy()
    baskets = order.groupby(["u", "b"], sort=False).agg(t=("t", "min")).reset_index()
    baskets = baskets.sort_values(["u", "t", "b"], kind="stable")
    baskets["from_end"] = baskets.groupby("u", sort=False).cumcount(ascending=False)
    n = baskets.groupby("u", sort=False)["b"].transform("size")
    held = np.where(n >= 2, np.ceil(n * float(holdout_frac)), 0)  # type: ignore[arg-type]
    baskets["test"] = baskets["from_end"].to_numpy() < held
    marked = order.merge(baskets[["u", "b", "test"]], on=["u", "b"], how="left")
    test = np.zeros(len(data), dtype=bool)
    test[marked["pos"].to_numpy()] = marked["test"].to_numpy(dtype=bool)
    return data[~test], data[test]


def ranking_metrics(
    recommended: np.ndarray,
    relevant: sp.csr_matrix,
    n_relevant: np.ndarray,
    k: int,
    item_popularity: np.ndarray,
    n_items: int,
) -> dict[str, float]:
    """Mean ranking metrics at ``k``; ``recommended`` is (users x k) item positions, -1 = none.

    ``n_relevant`` counts each user's held-out items, including ones the model cannot know (new
    items), which count as misses.
    """
    recs = recommended[:, :k]
    valid = recs >= 0
    safe = np.where(valid, recs, 0)
    hits = np.zeros(recs.shape, dtype=bool)
    for r in range(recs.shape[0]):
        row = relevant.indices[relevant.indptr[r] : relevant.indptr[r + 1]]
        hits[r] = np.isin(safe[r], row) & valid[r]
    n_rel = np.maximum(n_relevant.astype(np.float64), 1e-12)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[: int(min(m, k))].sum() for m in n_relevant])
    ndcg = np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    ap = (precision_at * hits).sum(axis=1) / np.minimum(n_rel, k)
    pop = np.clip(item_popularity, 1e-12, None)
    info = -np.log2(pop[safe])
    novelty = float((info * valid).sum() / max(valid.sum(), 1))
    return {
        "precision": float(hits.sum(axis=1).mean() / k),
        "recall": float((hits.sum(axis=1) / n_rel).mean()),
        "ndcg": float(ndcg.mean()),
        "map": float(ap.mean()),
        "hit_rate": float(hits.any(axis=1).mean()),
        "coverage": float(len(np.unique(recs[valid])) / max(n_items, 1)),
        "novelty": novelty,
    }


def metric_names(k: int) -> dict[str, str]:
    return {m: f"{m}_at_{k}" for m in METRICS}


def evaluate_models(
    models: Mapping[str, BaseRecommender | Callable[[], BaseRecommender]],
    train: Interactions,
    test: pd.DataFrame,
    user_col: str,
    item_col: str,
    *,
    k: int = 10,
    exclude_seen: bool = True,
    fit_params: Mapping[str, Mapping[str, Any]] | None = None,
    on_model: Callable[[str], None] | None = None,
    batch_size: int = 2048,
) -> pd.DataFrame:
    """Fit each model on ``train`` and score its top ``k`` against ``test``: one row per model.

    ``exclude_seen``: items a customer already has in train are neither recommended nor counted
    as relevant (the "next new product" question).
    """
    users = pd.Index(train.user_ids).get_indexer(test[user_col].to_numpy())
    items = pd.Index(train.item_ids).get_indexer(test[item_col].to_numpy())
    known_user = users >= 0
    pairs = pd.DataFrame({"u": users[known_user], "i": items[known_user]}).drop_duplicates()
    if exclude_seen:
        inside = pairs["i"].to_numpy() >= 0
        seen = np.zeros(len(pairs), dtype=bool)
        seen[inside] = (
            np.asarray(train.matrix[pairs["u"].to_numpy()[inside], pairs["i"].to_numpy()[inside]]).ravel() > 0
        )
        pairs = pairs[~seen]
    if pairs.empty:
        raise ValidationError("evaluation: no held-out interaction belongs to a customer seen in training")
    eval_users = np.sort(pairs["u"].unique())
    where = pd.Index(eval_users).get_indexer(pairs["u"].to_numpy())
    n_relevant = np.bincount(where, minlength=len(eval_users))
    inside = pairs["i"].to_numpy() >= 0
    relevant = sp.csr_matrix(
        (np.ones(inside.sum(), np.float32), (where[inside], pairs["i"].to_numpy()[inside])),
        shape=(len(eval_users), train.n_items),
    )
    item_pop = np.asarray((train.matrix > 0).sum(axis=0)).ravel() / max(train.n_users, 1)
    rows = []
    names = metric_names(k)
    for name, spec in models.items():
        if on_model:
            on_model(name)
        model = spec() if callable(spec) and not isinstance(spec, BaseRecommender) else spec
        start = time.perf_counter()
        model.fit(train, **dict((fit_params or {}).get(name, {})))
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        blocks = [
            model.top_n(eval_users[s : s + batch_size], k, exclude_purchased=exclude_seen)[0]
            for s in range(0, len(eval_users), batch_size)
        ]
        rec_seconds = time.perf_counter() - start
        scores = ranking_metrics(np.vstack(blocks), relevant, n_relevant, k, item_pop, train.n_items)
        row: dict[str, Any] = {"model": name}
        row.update({names[m]: v for m, v in scores.items()})
        row["fit_seconds"] = fit_seconds
        row["recommend_seconds"] = rec_seconds
        row["users"] = int(len(eval_users))
        rows.append(row)
    return pd.DataFrame(rows)


def best_model(table: pd.DataFrame, k: int = 10, metric: str = "ndcg") -> str:
    column = f"{metric}_at_{k}"
    return str(table.loc[table[column].idxmax(), "model"])

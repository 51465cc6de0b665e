"""File mode: evaluate, fit and apply recommenders on any interactions file (no warehouse)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.recommend.base import BaseRecommender, make_model, model_names
from crmlens.recommend.data import Interactions, interaction_weights, read_interactions
from crmlens.recommend.evaluate import best_model, evaluate_models, metric_names, temporal_split

EVAL_MODELS = ("popularity", "item_knn", "user_knn", "als", "bpr", "ease", "content", "hybrid")


@dataclass
class FileSpec:
    """Which columns of an interactions file mean what, and how rows are weighted."""

    user_col: str
    item_col: str
    time_col: str | None = None
    weight_col: str | None = None
    item_text_col: str | None = None
    recency_steps: float | None = 10.0
    notes: list[str] = field(default_factory=list)


def load_file(
    path: str | Path, spec: FileSpec, sep: str | None = None, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read and clean the file: rows without a customer or item, and rows whose weight is not a
    positive number (cancellations, returns), are dropped and counted in ``spec.notes``."""
    frame = read_interactions(path, sep=sep, names=list(names) if names else None)
    needed = [spec.user_col, spec.item_col, spec.time_col, spec.weight_col, spec.item_text_col]
    missing = [c for c in needed if c is not None and c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{path}: no column {missing[0]!r}; columns are {list(frame.columns)} (use --names for a file without header)"
        )
    before = len(frame)
    frame = frame[frame[spec.user_col].notna() & frame[spec.item_col].notna()]
    if len(frame) < before:
        spec.notes.append(f"{before - len(frame)} rows without {spec.user_col} or {spec.item_col} dropped")
    if spec.weight_col:
        weight = pd.to_numeric(frame[spec.weight_col], errors="coerce")
        bad = ~(weight > 0)
        if bad.any():
            spec.notes.append(
                f"{int(bad.sum())} rows with {spec.weight_col} not > 0 (cancellations, returns) dropped"
            )
        frame = frame[~bad]
    if spec.time_col:
        from crmlens.recommend.data import to_timestamp

        stamp = to_timestamp(frame[spec.time_col])
        if stamp.isna().any():
            raise ValidationError(
                f"{path}: column {spec.time_col!r} has {int(stamp.isna().sum())} values that are not times"
            )
    if frame.empty:
        raise ValidationError(f"{path}: no usable interaction rows")
    return frame.reset_index(drop=True)


def weigh(frame: pd.DataFrame, spec: FileSpec) -> pd.DataFrame:
    return frame.assign(
        _weight=interaction_weights(
            frame,
            quantity_col=spec.weight_col,
            time_col=spec.time_col,
            user_col=spec.user_col,
            recency_steps=spec.recency_steps if spec.time_col else None,
        ).to_numpy()
    )


def item_texts(frame: pd.DataFrame, spec: FileSpec) -> pd.Series | None:
    if not spec.item_text_col:
        return None
    first = frame.dropna(subset=[spec.item_text_col]).drop_duplicates(spec.item_col)
    return pd.Series(first[spec.item_text_col].astype(str).to_numpy(), index=first[spec.item_col].to_numpy())


def fit_kwargs(name: str, text: pd.Series | None) -> dict[str, Any]:
    return {"item_text": text} if name in ("content", "hybrid") and text is not None else {}


def evaluate_file(
    frame: pd.DataFrame,
    spec: FileSpec,
    *,
    models: Sequence[str] | None = None,
    k: int = 10,
    holdout_last: int | None = None,
    holdout_frac: float | None = None,
    basket_col: str | None = None,
    after: str | None = None,
    exclude_seen: bool = True,
    seed: int = 0,
    on_model: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every model on one time-based hold-out: the JSON payload of ``crmlens recommend eval``."""
    if holdout_last is None and holdout_frac is None and after is None:
        holdout_last = 10 if basket_col is None else None
        holdout_frac = 0.2 if basket_col is not None else None
    train_rows, test_rows = temporal_split(
        frame,
        spec.user_col,
        spec.item_col,
        spec.time_col,
        holdout_last=holdout_last,
        holdout_frac=holdout_frac,
        basket_col=basket_col,
        after=after,
        seed=seed,
    )
    if not spec.time_col:
        spec.notes.append("no --time-col: the hold-out is a seeded random one, not time-based")
    text = item_texts(frame, spec)
    chosen = list(models or EVAL_MODELS)
    unknown = [m for m in chosen if m not in model_names()]
    if unknown:
        raise ConfigError(f"--models: unknown {unknown[0]!r}; choose from {', '.join(model_names())}")
    if text is None and "content" in chosen:
        chosen.remove("content")
        spec.notes.append("content model skipped: give --item-text-col to use product text")
    train = Interactions.from_frame(weigh(train_rows, spec), spec.user_col, spec.item_col, "_weight")
    table = evaluate_models(
        {name: _factory(name, seed) for name in chosen},
        train,
        test_rows,
        spec.user_col,
        spec.item_col,
        k=k,
        exclude_seen=exclude_seen,
        fit_params={name: fit_kwargs(name, text) for name in chosen},
        on_model=on_model,
    )
    names = list(metric_names(k).values())
    best = best_model(table, k)
    rows = table.to_dict(orient="records")
    by_model = {r["model"]: {m: r[m] for m in [*names, "fit_seconds"]} for r in rows}
    anchors = {name: by_model[name] for name in ("popularity",) if name in by_model and name != best}
    return {
        "metrics": by_model[best],
        "best_model": best,
        "anchors": anchors,
        "models": rows,
        "split": {
            "train_rows": int(len(train_rows)),
            "test_rows": int(len(test_rows)),
            "customers_evaluated": int(table["users"].iloc[0]) if len(table) else 0,
            "items": int(train.n_items),
            "holdout_last": holdout_last,
            "holdout_frac": holdout_frac,
            "after": after,
            "exclude_seen": exclude_seen,
            "ranking": "all items (no sampled negatives)",
        },
        "notes": spec.notes,
    }


def _factory(name: str, seed: int) -> Callable[[], BaseRecommender]:
    def build() -> BaseRecommender:
        model = make_model(name)
        if "random_state" in model.get_params():
            model.set_params(random_state=seed)
        return model

    return build


def fit_file(frame: pd.DataFrame, spec: FileSpec, model: str = "hybrid", seed: int = 0) -> BaseRecommender:
    """Fit one recommender on the whole file."""
    data = Interactions.from_frame(weigh(frame, spec), spec.user_col, spec.item_col, "_weight")
    estimator = _factory(model, seed)()
    text = item_texts(frame, spec)
    if model == "content" and text is None:
        raise ConfigError("the content model needs --item-text-col (product name or description)")
    estimator.fit(data, **fit_kwargs(model, text))
    if text is not None:  # kept in the model file, so reasons can name products
        estimator.item_names_ = pd.Series(estimator.item_ids_).map(text).fillna("").astype(str).to_numpy()
    return estimator


def parse_customers(values: Sequence[str], model: BaseRecommender) -> np.ndarray:
    """Customer ids typed on a command line, in the type the model was fitted with."""
    dtype = model.user_ids_.dtype
    try:
        return np.asarray(values).astype(dtype)
    except ValueError as exc:
        raise ValidationError(
            f"customer ids {list(values)[:3]} are not of the model's id type {dtype}"
        ) from exc

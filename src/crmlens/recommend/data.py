"""Interactions: who touched what, how strongly, and when, as one sparse customer-item matrix.

Every recommender fits on an :class:`Interactions` (or a bare CSR matrix). Weighting lives here,
in one place, so quantity, recency decay and event strength (view < cart < purchase) are the same
for training, evaluation and the warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlens.exceptions import ConfigError, ValidationError

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "cart": 3.0, "wishlist": 2.0, "purchase": 5.0}


@dataclass
class Interactions:
    """A customer x item matrix with the ids of its rows and columns.

    ``matrix[u, i]`` is the summed weight of customer ``user_ids[u]`` on item ``item_ids[i]``.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        user_col: str = "customer_id",
        item_col: str = "product_id",
        weight_col: str | None = "weight",
        item_ids: np.ndarray | None = None,
        user_ids: np.ndarray | None = None,
    ) -> Interactions:
        """Sum weights per (user, item); ``item_ids``/``user_ids`` fix the index (others are dropped)."""
        for col in [user_col, item_col] + ([weight_col] if weight_col else []):
            if col not in frame.columns:
                raise ValidationError(f"interactions: no column {col!r}; columns are {list(frame.columns)}")
        users = frame[user_col].to_numpy()
        items = frame[item_col].to_numpy()
        weights = (
            frame[weight_col].to_numpy(dtype=np.float64)
            if weight_col and weight_col in frame
            else np.ones(len(frame))
        )
        if user_ids is None:
            user_ids = np.unique(users)
        if item_ids is None:
            item_ids = np.unique(items)
        u = _index_of(user_ids, users)
        i = _index_of(item_ids, items)
        keep = (u >= 0) & (i >= 0)
        matrix = sp.csr_matrix(
            (weights[keep].astype(np.float32), (u[keep], i[keep])), shape=(len(user_ids), len(item_ids))
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return cls(matrix=matrix, user_ids=np.asarray(user_ids), item_ids=np.asarray(item_ids))

    def to_frame(self) -> pd.DataFrame:
        coo = self.matrix.tocoo()
        return pd.DataFrame(
            {"user": self.user_ids[coo.row], "item": self.item_ids[coo.col], "weight": coo.data}
        )


def _index_of(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``ids`` (-1 when absent), without a Python loop."""
    lookup = pd.Index(ids)
    return lookup.get_indexer(values)


def interaction_weights(
    frame: pd.DataFrame,
    *,
    quantity_col: str | None = None,
    time_col: str | None = None,
    event_col: str | None = None,
    event_weights: Mapping[str, float] | None = None,
    quantity: str = "log",
    half_life_days: float | None = None,
    as_of: pd.Timestamp | None = None,
    user_col: str | None = None,
    recency_steps: float | None = None,
    recency_floor: float = 0.05,
) -> pd.Series:
    """Implicit-feedback strength of each row.

    ``quantity``: ``log`` (1 + log1p(q), so a bulk buy counts more but does not drown the rest),
    ``linear`` or ``none``. ``half_life_days`` halves a row's weight per that many days before
    ``as_of`` (default: the latest time in the frame). ``event_weights`` maps event types to
    strengths (default view 1 < wishlist 2 < cart 3 < purchase 5); unknown types weigh 1.
    ``recency_steps`` (with ``user_col`` and ``time_col``) weighs each row by the customer's own
    recency: ``floor + exp(-s / recency_steps)``, where ``s`` counts the customer's later distinct
    times (baskets). What someone took last says most about what they take next, whatever the
    calendar says; this is what lifts a time-based hold-out most.
    """
    weight = pd.Series(1.0, index=frame.index)
    if quantity_col:
        q = pd.to_numeric(frame[quantity_col], errors="coerce").fillna(1.0).clip(lower=0.0)
        if quantity == "log":
            weight = weight * (1.0 + np.log1p(q))
        elif quantity == "linear":
            weight = weight * q
        elif quantity != "none":
            raise ConfigError(f"quantity weighting {quantity!r}: use 'log', 'linear' or 'none'")
    if event_col:
        table = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
        kinds = frame[event_col].astype("string").str.lower()
        weight = weight * kinds.map(table).astype("float64").fillna(1.0)
    if half_life_days and time_col:
        ts = to_timestamp(frame[time_col])
        ref = ts.max() if as_of is None else pd.Timestamp(as_of)
        age_days = (ref - ts).dt.total_seconds().to_numpy() / 86400.0
        weight = weight * np.power(0.5, np.clip(age_days, 0, None) / float(half_life_days))
    if recency_steps and time_col and user_col:
        ts = to_timestamp(frame[time_col])
        steps = (
            pd.DataFrame({"u": frame[user_col].to_numpy(), "t": ts.to_numpy()}, index=frame.index)
            .groupby("u", sort=False)["t"]
            .rank(method="dense", ascending=False)
            .fillna(1.0)
            - 1.0
        )
        weight = weight * (recency_floor + np.exp(-steps.to_numpy() / float(recency_steps)))
    return weight


def to_timestamp(values: pd.Series) -> pd.Series:
    """Datetimes from datetime strings or unix seconds (MovieLens writes unix seconds)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s")
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        return pd.to_datetime(numbers, unit="s")
    return pd.to_datetime(values, errors="coerce")


def read_interactions(
    path: str | Path,
    *,
    sep: str | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read an interactions file: CSV/TSV (optionally gzipped) or Parquet.

    ``names`` gives column names for a file without a header row (MovieLens ``u.data``).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"interactions file not found: {path}")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if sep is None:
        sep = "\t" if any(s in (".tsv", ".data") for s in path.suffixes) else ","
    try:
        return pd.read_csv(
            path,
            sep=sep,
            header=None if names else "infer",
            names=names,
            dtype=str if names is None else None,
            encoding=encoding,
            low_memory=False,
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(f"{path}: cannot parse as a {sep!r}-separated file ({exc}); try --sep") from exc

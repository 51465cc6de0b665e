"""One small recommender base: fit on a customer-item matrix, recommend with business filters.

Every model implements two methods, ``_fit(X)`` and ``_score(rows, X_rows)`` (a dense block of
scores over *all* items for some customers); the base does the rest the same way for all of them:
ids, top-n over the whole catalogue, filters (exclude purchased, candidates, exclusions, a
per-category diversity cap), similar items, and saving to ``.npz`` without pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.recommend.data import Interactions

FORMAT_VERSION = 1
_TIEBREAK = 1e-6  # popularity added to every score: ties and cold-start customers fall back to bestsellers


def as_interactions(X: Interactions | sp.spmatrix | np.ndarray) -> Interactions:
    """An :class:`Interactions` from itself or a bare matrix (ids are then row/column positions)."""
    if isinstance(X, Interactions):
        return X
    if isinstance(X, np.ndarray) or sp.issparse(X):
        matrix = sp.csr_matrix(X, dtype=np.float32)
        return Interactions(matrix, np.arange(matrix.shape[0]), np.arange(matrix.shape[1]))
    raise ValidationError(f"fit needs Interactions or a customer x item matrix, got {type(X).__name__}")


class BaseRecommender(BaseEstimator):
    """Base of every crmlens recommender (scikit-learn estimator contract)."""

    #: fitted attributes (ndarray or sparse) that :func:`save_model` writes
    _state: tuple[str, ...] = ()

    # -- to implement -------------------------------------------------------------------------
    def _fit(self, X: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        """Scores (len(rows) x n_items); ``rows`` are training rows, -1 for an unknown customer."""
        raise NotImplementedError

    def item_matrix(self) -> np.ndarray | sp.csr_matrix | None:
        """``M`` with ``_score(rows, X) == X @ M`` for item-to-item models; None for the others."""
        return None

    # -- shared -------------------------------------------------------------------------------
    def fit(self, X: Interactions | sp.spmatrix, y: Any = None) -> BaseRecommender:
        """Learn from a customer x item matrix of implicit-feedback weights."""
        data = as_interactions(X)
        if data.matrix.nnz == 0:
            raise ValidationError("recommender: the interactions are empty; nothing to learn from")
        self._set_index(data)
        self._fit(self.user_items_)
        return self

    def _set_index(self, data: Interactions) -> None:
        self.user_ids_ = np.asarray(data.user_ids)
        self.item_ids_ = np.asarray(data.item_ids)
        self.user_items_ = sp.csr_matrix(data.matrix, dtype=np.float32)
        counts = np.asarray((self.user_items_ > 0).sum(axis=0)).ravel().astype(np.float32)
        self.item_popularity_ = counts / max(float(counts.max()), 1.0)

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_items_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    @property
    def n_items_(self) -> int:
        return self.user_items_.shape[1]

    def user_rows(self, customers: Iterable[Any] | None) -> np.ndarray:
        """Training row of each customer id (-1 for a customer never seen)."""
        self._check_fitted()
        if customers is None:
            return np.arange(self.user_items_.shape[0])
        return pd.Index(self.user_ids_).get_indexer(self._as_user_ids(customers))

    def _as_user_ids(self, customers: Iterable[Any]) -> np.ndarray:
        """Customer ids in the fitted ids' type where they fit it, else as given (unknown ones)."""
        values = list(customers)
        try:
            return np.asarray(values, dtype=self.user_ids_.dtype)
        except (ValueError, TypeError):
            return np.asarray(values, dtype=object)

    def item_positions(self, items: Iterable[Any]) -> np.ndarray:
        return pd.Index(self.item_ids_).get_indexer(np.asarray(list(items), dtype=self.item_ids_.dtype))

    def _rows_matrix(self, rows: np.ndarray) -> sp.csr_matrix:
        known = np.where(rows >= 0, rows, 0)
        block = self.user_items_[known]
        if (rows < 0).any():
            block = sp.diags((rows >= 0).astype(np.float32)) @ block
            block = sp.csr_matrix(block)
            block.eliminate_zeros()
        return block

    def score_rows(self, rows: np.ndarray, X_rows: sp.csr_matrix | None = None) -> np.ndarray:
        """Dense scores over all items for training rows (or for given interaction rows)."""
        self._check_fitted()
        rows = np.asarray(rows)
        X_rows = self._rows_matrix(rows) if X_rows is None else sp.csr_matrix(X_rows, dtype=np.float32)
        scores = np.asarray(self._score(rows, X_rows), dtype=np.float32)
        return scores + _TIEBREAK * self.item_popularity_

    def top_n(
        self,
        rows: np.ndarray,
        n: int = 10,
        *,
        exclude_purchased: bool = True,
        allowed: np.ndarray | None = None,
        exclude_rows: sp.csr_matrix | None = None,
        groups: np.ndarray | None = None,
        max_per_group: int | None = None,
        X_rows: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item positions and scores for a block of rows, ranked over the whole catalogue.

        Positions are -1 where fewer than ``n`` items pass the filters.
        """
        rows = np.asarray(rows)
        history = self._rows_matrix(rows) if X_rows is None else sp.csr_matrix(X_rows)
        scores = self.score_rows(rows, history)
        if exclude_purchased:
            r, c = history.nonzero()
            scores[r, c] = -np.inf
        if exclude_rows is not None:
            r, c = exclude_rows.nonzero()
            scores[r, c] = -np.inf
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        n_items = scores.shape[1]
        n = min(n, n_items)
        if groups is not None and max_per_group:
            return _diverse_top(scores, n, groups, max_per_group)
        part = (
            np.argpartition(-scores, n - 1, axis=1)[:, :n]
            if n < n_items
            else np.tile(np.arange(n_items), (len(rows), 1))
        )
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        items = np.take_along_axis(part, order, axis=1)
        top = np.take_along_axis(part_scores, order, axis=1)
        items[~np.isfinite(top)] = -1
        return items, top

    def recommend(
        self,
        customers: Iterable[Any] | None = None,
        n: int = 10,
        exclude_purchased: bool = True,
        candidates: Iterable[Any] | None = None,
        exclude: Iterable[Any] | Mapping[Any, Iterable[Any]] | None = None,
        *,
        item_categories: Mapping[Any, Any] | None = None,
        max_per_category: int | None = None,
        batch_size: int = 2048,
    ) -> pd.DataFrame:
        """The next ``n`` products for each customer: ``customer_id, rank, product_id, score``.

        ``candidates`` limits the items that may be offered (in stock, allowed categories, price
        range: see :func:`crmlens.recommend.candidate_items`); ``exclude`` is a list of items never
        to offer, or a mapping customer -> items; ``max_per_category`` caps items of one category
        per customer (needs ``item_categories``). Customers never seen get the bestsellers.
        """
        self._check_fitted()
        customer_ids = self.user_ids_ if customers is None else self._as_user_ids(customers)
        rows = self.user_rows(customer_ids)
        allowed = self._allowed(candidates, exclude)
        per_user = _per_user_exclusions(self, rows, customer_ids, exclude)
        groups = self._groups(item_categories) if max_per_category else None
        out_items, out_scores = [], []
        for start in range(0, len(rows), batch_size):
            block = slice(start, start + batch_size)
            items, scores = self.top_n(
                rows[block],
                n,
                exclude_purchased=exclude_purchased,
                allowed=allowed,
                exclude_rows=None if per_user is None else per_user[block],
                groups=groups,
                max_per_group=max_per_category,
            )
            out_items.append(items)
            out_scores.append(scores)
        return self._frame(
            customer_ids,
            np.vstack(out_items) if out_items else np.empty((0, n), int),
            np.vstack(out_scores) if out_scores else np.empty((0, n)),
        )

    def _frame(self, customer_ids: np.ndarray, items: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        k = items.shape[1]
        mask = items.ravel() >= 0
        return pd.DataFrame(
            {
                "customer_id": np.repeat(customer_ids, k)[mask],
                "rank": np.tile(np.arange(1, k + 1), len(customer_ids))[mask],
                "product_id": self.item_ids_[items.ravel()[mask]],
                "score": scores.ravel()[mask].astype(np.float64),
            }
        )

    def _allowed(self, candidates: Iterable[Any] | None, exclude: Any) -> np.ndarray | None:
        allowed = None
        if candidates is not None:
            pos = self.item_positions(candidates)
            allowed = np.zeros(self.n_items_, dtype=bool)
            allowed[pos[pos >= 0]] = True
        if exclude is not None and not isinstance(exclude, Mapping):
            allowed = np.ones(self.n_items_, dtype=bool) if allowed is None else allowed
            pos = self.item_positions(exclude)
            allowed[pos[pos >= 0]] = False
        return allowed

    def _groups(self, item_categories: Mapping[Any, Any] | None) -> np.ndarray:
        if item_categories is None:
            raise ConfigError("max_per_category needs item_categories (product_id -> category)")
        labels = pd.Series(self.item_ids_).map(dict(item_categories)).fillna("(none)").astype(str)
        return pd.factorize(labels)[0]

    def similar_items(self, items: Iterable[Any], n: int = 10) -> pd.DataFrame:
        """Items most like each given item: ``product_id, rank, similar_product_id, score``."""
        self._check_fitted()
        items = np.asarray(list(items))
        pos = self.item_positions(items)
        if (pos < 0).any():
            raise ValidationError(f"similar_items: unknown items {list(items[pos < 0][:5])}")
        sims = self._item_similarity(pos)
        sims[np.arange(len(pos)), pos] = -np.inf
        n = min(n, self.n_items_ - 1)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        top = np.take_along_axis(sims, order, axis=1)
        frame = self._frame(items, order, top)
        return frame.rename(columns={"customer_id": "product_id", "product_id": "similar_product_id"})

    def _item_similarity(self, positions: np.ndarray) -> np.ndarray:
        """Default: the scores a customer who took only that item would get."""
        one_hot = sp.csr_matrix(
            (np.ones(len(positions), np.float32), (np.arange(len(positions)), positions)),
            shape=(len(positions), self.n_items_),
        )
        return np.asarray(self._score(np.full(len(positions), -1), one_hot), dtype=np.float64)


def _per_user_exclusions(
    model: BaseRecommender, rows: np.ndarray, customer_ids: np.ndarray, exclude: Any
) -> sp.csr_matrix | None:
    if not isinstance(exclude, Mapping):
        return None
    r, c = [], []
    where = {cid: k for k, cid in enumerate(customer_ids.tolist())}
    for cid, items in exclude.items():
        k = where.get(cid)
        if k is None:
            continue
        pos = model.item_positions(items)
        pos = pos[pos >= 0]
        r.extend([k] * len(pos))
        c.extend(pos.tolist())
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(rows), model.n_items_))


def _diverse_top(
    scores: np.ndarray, n: int, groups: np.ndarray, max_per_group: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy top-n that takes at most ``max_per_group`` items from one category."""
    depth = min(scores.shape[1], max(n * 10, 100))
    part = np.argpartition(-scores, depth - 1, axis=1)[:, :depth] if depth < scores.shape[1] else None
    if part is None:
        part = np.tile(np.arange(scores.shape[1]), (len(scores), 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    ranked = np.take_along_axis(part, order, axis=1)
    items = np.full((len(scores), n), -1)
    top = np.full((len(scores), n), -np.inf, dtype=np.float32)
    for r in range(len(scores)):
        counts: dict[int, int] = {}
        k = 0
        for item in ranked[r]:
            s = scores[r, item]
            if not np.isfinite(s):
                break
            g = int(groups[item])
            if counts.get(g, 0) >= max_per_group:
                continue
            counts[g] = counts.get(g, 0) + 1
            items[r, k], top[r, k] = item, s
            k += 1
            if k == n:
                break
    return items, top


# -- saving without pickle ----------------------------------------------------------------------

_REGISTRY: dict[str, type[BaseRecommender]] = {}


def register_model(name: str):  # noqa: ANN201 - class decorator
    """Name a recommender class so it can be built from a name and reloaded from a file."""

    def wrap(cls: type[BaseRecommender]) -> type[BaseRecommender]:
        _REGISTRY[name] = cls
        cls.model_name = name  # type: ignore[attr-defined]
        return cls

    return wrap


def model_names() -> list[str]:
    return list(_REGISTRY)


def make_model(name: str, **params: Any) -> BaseRecommender:
    """A recommender by name (``popularity``, ``item_knn``, ``user_knn``, ``als``, ``bpr``, ``ease`` …)."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown recommender {name!r}; choose one of: {', '.join(_REGISTRY)}")
    return _REGISTRY[name](**params)


def _put(arrays: dict[str, np.ndarray], key: str, value: Any) -> None:
    if sp.issparse(value):
        value = sp.csr_matrix(value)
        arrays[f"{key}.data"] = value.data
        arrays[f"{key}.indices"] = value.indices
        arrays[f"{key}.indptr"] = value.indptr
        arrays[f"{key}.shape"] = np.asarray(value.shape)
    else:
        value = np.asarray(value)
        if value.dtype == object:
            value = value.astype(str)
        arrays[key] = value


def _get(arrays: Mapping[str, np.ndarray], key: str) -> Any:
    if key in arrays:
        return arrays[key]
    return sp.csr_matrix(
        (arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"]),
        shape=tuple(arrays[f"{key}.shape"]),
    )


def state_arrays(model: BaseRecommender, prefix: str = "") -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    index = () if prefix else _INDEX  # item_names_: optional display names, in item order
    for name in (*index, *model._state):
        if hasattr(model, name):
            _put(arrays, prefix + name, getattr(model, name))
    for child_name, child in getattr(model, "components_", {}).items():
        arrays.update(state_arrays(child, f"{prefix}{child_name}/"))
    return arrays


_INDEX = ("user_ids_", "item_ids_", "user_items_", "item_popularity_", "item_names_")


def restore_state(
    model: BaseRecommender,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    prefix: str = "",
    parent: BaseRecommender | None = None,
) -> None:
    if parent is not None:  # parts of a hybrid share its customers, items and matrix
        for name in _INDEX:
            if hasattr(parent, name):
                setattr(model, name, getattr(parent, name))
    for name in (*_INDEX, *model._state):
        key = prefix + name
        if key in arrays or f"{key}.data" in arrays:
            setattr(model, name, _get(arrays, key))
    for child_name, child_meta in meta.get("components", {}).items():
        child = make_model(child_meta["model"], **child_meta["params"])
        restore_state(child, arrays, child_meta, f"{prefix}{child_name}/", parent=model)
        model.components_[child_name] = child  # type: ignore[attr-defined]
    if hasattr(model, "_restore"):
        model._restore()


def _describe(model: BaseRecommender) -> dict[str, Any]:
    meta: dict[str, Any] = {"model": model.model_name, "params": model.get_params(deep=False)}  # type: ignore[attr-defined]
    if hasattr(model, "components_"):
        meta["components"] = {k: _describe(v) for k, v in model.components_.items()}
    return meta


def save_model(model: BaseRecommender, path: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
    """Write a fitted model to one ``.npz`` (arrays plus a JSON header; loads with no pickle)."""
    import hashlib

    from crmlens import __version__

    model._check_fitted()
    arrays = state_arrays(model)
    digest = hashlib.sha256()
    for key in ("user_items_.data", "user_items_.indices", "user_items_.indptr"):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    meta = _describe(model) | {
        "format": FORMAT_VERSION,
        "crmlens_version": __version__,
        "training_data_sha256": digest.hexdigest(),
        "extra": dict(extra or {}),
    }
    arrays["__meta__"] = np.asarray(json.dumps(meta, default=str))
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_model(path: str | Path) -> BaseRecommender:
    """Read a model written by :func:`save_model` (no pickle is ever loaded)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise ValidationError(f"{path}: not a crmlens recommender file ({exc})") from exc
    if "__meta__" not in arrays:
        raise ValidationError(f"{path}: not a crmlens recommender file (no header)")
    meta = json.loads(str(arrays["__meta__"]))
    if meta.get("format") != FORMAT_VERSION:
        raise ValidationError(
            f"{path}: recommender format {meta.get('format')} is not {FORMAT_VERSION}; refit"
        )
    model = make_model(meta["model"], **meta["params"])
    if "components" in meta:
        model.components_ = {}  # type: ignore[attr-defined]
    restore_state(model, arrays, meta)
    model.meta_ = meta  # type: ignore[attr-defined]
    return model

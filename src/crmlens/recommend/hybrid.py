"""The hybrid: blends the recommenders, falls back for cold starts, and says why.

Each part's scores are divided by their typical spread (the median over training customers of
the standard deviation of a customer's scores across the catalogue) and added with weights, so
no part dominates by scale. Parts that score items from items (EASE, item-kNN, content) are
then one matrix: a whole hybrid costs one sparse-dense product per block of customers.

Cold starts: a customer with no history gets the popularity part alone (bestsellers, of their
segment when given); a product nobody has taken yet is scored by the content part alone, at
the weight of all parts. :meth:`HybridRecommender.explain` gives each recommendation a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlens.exceptions import ConfigError
from crmlens.recommend.base import BaseRecommender, make_model, register_model
from crmlens.recommend.data import Interactions

DEFAULT_WEIGHTS: dict[str, float] = {
    "ease": 1.0,
    "item_knn": 0.3,
    "als": 0.3,
    "content": 0.2,
    "popularity": 0.05,
}


def _row_spread(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float64)
    return block.std(axis=1)


@register_model("hybrid")
class HybridRecommender(BaseRecommender):
    """Weighted blend of popularity, item-kNN, ALS, EASE and content (any registered parts).

    ``weights``: part name -> weight (default :data:`DEFAULT_WEIGHTS`; a part with weight 0 is
    not fitted; ``content`` is skipped when no item text is given). ``params``: part name ->
    its parameters.
    """

    _state = ("scales_",)

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        random_state: int = 0,
    ) -> None:
        self.weights = weights
        self.params = params
        self.random_state = random_state

    def fit(
        self, X: Interactions | sp.spmatrix, y: Any = None, item_text: Any = None, segments: Any = None
    ) -> HybridRecommender:
        """Fit every part; ``item_text`` feeds the content part, ``segments`` the popularity part."""
        self._extra = {"item_text": item_text, "segments": segments}
        try:
            super().fit(X)
        finally:
            del self._extra
        return self

    def _fit(self, X: sp.csr_matrix) -> None:
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        if "hybrid" in weights:
            raise ConfigError("hybrid: a hybrid cannot contain itself")
        data = Interactions(self.user_items_, self.user_ids_, self.item_ids_)
        self.components_: dict[str, BaseRecommender] = {}
        for name, weight in weights.items():
            if weight <= 0:
                continue
            params = dict((self.params or {}).get(name, {}))
            model = make_model(name, **params)
            if "random_state" in model.get_params() and "random_state" not in params:
                model.set_params(random_state=self.random_state)
            if name == "content":
                if self._extra["item_text"] is None:
                    continue
                model.fit(data, item_text=self._extra["item_text"])
            elif name == "popularity":
                model.fit(data, segments=self._extra["segments"])
            else:
                model.fit(data)
            self.components_[name] = model
        rng = np.random.default_rng(self.random_state)
        active = np.flatnonzero(np.diff(X.indptr) > 0)
        sample = np.sort(rng.choice(active, size=min(len(active), 1000), replace=False))
        spreads = []
        for model in self.components_.values():
            spread = _row_spread(model._score(sample, X[sample]))
            spread = spread[spread > 1e-12]
            spreads.append(float(np.median(spread)) if len(spread) else 1.0)
        self.scales_ = np.asarray(spreads, dtype=np.float64)
        self._restore()

    def _restore(self) -> None:
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        self.weights_ = {name: float(weights[name]) for name in self.components_}
        combined: np.ndarray | sp.csr_matrix | None = None
        self.other_parts_: list[tuple[float, BaseRecommender]] = []
        for (name, model), scale in zip(self.components_.items(), self.scales_, strict=True):
            factor = self.weights_[name] / scale
            matrix = model.item_matrix()
            if matrix is None:
                self.other_parts_.append((factor, model))
                continue
            term = matrix * np.float32(factor)
            if combined is None:
                combined = term
            elif sp.issparse(combined) and not sp.issparse(term):
                combined = term + combined.toarray()
            elif not sp.issparse(combined) and sp.issparse(term):
                combined = combined + term.toarray()
            else:
                combined = combined + term
        cold = np.flatnonzero(np.diff(sp.csc_matrix(self.user_items_).indptr) == 0)
        self.cold_items_ = cold if "content" in self.components_ and len(cold) else None
        if self.cold_items_ is not None:
            names = list(self.components_)
            content_scale = self.scales_[names.index("content")]
            self.cold_factor_ = sum(self.weights_.values()) / content_scale
        self.item_matrix_ = (
            None
            if combined is None
            else (sp.csr_matrix(combined) if sp.issparse(combined) else np.asarray(combined, np.float32))
        )

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        if self.item_matrix_ is not None:
            block = X_rows @ self.item_matrix_
            total = np.asarray(block.toarray() if sp.issparse(block) else block, dtype=np.float32)
        else:
            total = np.zeros(X_rows.shape, dtype=np.float32)
        for factor, model in self.other_parts_:
            total += np.float32(factor) * np.asarray(model._score(rows, X_rows), dtype=np.float32)
        if self.cold_items_ is not None:
            # nobody has taken these yet: the content part stands in for all the others
            content = X_rows @ self.components_["content"].similarity_[:, self.cold_items_]  # type: ignore[attr-defined]
            dense = content.toarray() if sp.issparse(content) else np.asarray(content)
            total[:, self.cold_items_] = np.float32(self.cold_factor_) * dense
        return total

    # -- reasons --------------------------------------------------------------------------------
    def _cooccurrence(self, purchases: sp.csr_matrix) -> np.ndarray | sp.csr_matrix:
        """Customers who took both items, for every item pair (dense up to 8,000 items)."""
        binary = sp.csr_matrix(purchases, dtype=np.float32, copy=True)
        binary.data[:] = 1.0
        counts = binary.T @ binary
        counts = sp.csr_matrix(counts, dtype=np.float32)
        counts.setdiag(0)
        return counts.toarray() if counts.shape[0] <= 8000 else counts

    def explain(
        self,
        recommendations: pd.DataFrame,
        item_names: Mapping[Any, str] | None = None,
        purchases: Interactions | None = None,
        min_together: int = 2,
        batch_size: int = 2048,
    ) -> pd.Series:
        """A reason per recommendation row (``customer_id``, ``product_id``), in the order given.

        In order of preference: "bought together with X by N customers" (X the item the customer
        bought that most often comes with this one, by confidence; N the customers who bought
        both, from ``purchases``, default the training data), "similar to X, which you viewed/bought" (content), "customers like you
        bought it" (collaborative), "popular with customers" (cold start).
        """
        self._check_fitted()
        names = dict(item_names or {})
        bought = self.user_items_ if purchases is None else _align(purchases, self.user_ids_, self.item_ids_)
        together = self._cooccurrence(bought)
        buyers = np.maximum(np.asarray((bought > 0).sum(axis=0), dtype=np.float64).ravel(), 1.0)
        content = self.components_.get("content")
        sim_t = sp.csr_matrix(content.similarity_.T) if content is not None else None  # type: ignore[attr-defined]
        rows = self.user_rows(recommendations["customer_id"].to_numpy())
        items = self.item_positions(recommendations["product_id"].to_numpy())
        reasons: list[str] = []
        for start in range(0, len(rows), batch_size):
            u, i = rows[start : start + batch_size], items[start : start + batch_size]
            known = u >= 0
            safe_u, safe_i = np.where(known, u, 0), np.where(i >= 0, i, 0)
            mine = _present(bought[safe_u], known)
            seen = _present(self.user_items_[safe_u], known)
            pair = together[safe_i]
            pair = np.where(mine, pair.toarray() if sp.issparse(pair) else pair, 0.0)
            pair[pair < min_together] = 0.0
            # the partner that best predicts the item (confidence), not the bestseller everyone has
            partner = (pair / buyers).argmax(axis=1)
            count = pair[np.arange(len(u)), partner]
            if sim_t is not None:
                near = np.where(seen, sim_t[safe_i].toarray(), -1.0)
                similar, closeness = near.argmax(axis=1), near.max(axis=1)
            else:
                similar, closeness = partner, np.full(len(u), -1.0)
            has_history = seen.any(axis=1)
            for k in range(len(u)):
                if count[k] >= min_together:
                    reasons.append(
                        f"bought together with {self._name(partner[k], names)} by {int(count[k])} customers"
                    )
                elif closeness[k] > 0.1:
                    verb = "bought" if mine[k, similar[k]] else "viewed"
                    reasons.append(f"similar to {self._name(similar[k], names)}, which you {verb}")
                elif has_history[k]:
                    reasons.append("customers like you bought it")
                else:
                    reasons.append("popular with customers")
        return pd.Series(reasons, index=recommendations.index, name="reason", dtype=object)

    def _name(self, position: int, names: Mapping[Any, str]) -> str:
        item = self.item_ids_[position]
        name = names.get(item)
        if name is None and hasattr(item, "item"):
            name = names.get(item.item())
        return str(name) if name else str(item)


def _present(block: sp.csr_matrix, known: np.ndarray) -> np.ndarray:
    dense = block.toarray() > 0
    dense[~known] = False
    return dense


def _align(data: Interactions, user_ids: np.ndarray, item_ids: np.ndarray) -> sp.csr_matrix:
    """``data``'s matrix re-indexed to the model's customers and items (others dropped)."""
    frame = data.to_frame()
    return Interactions.from_frame(
        frame, "user", "item", "weight", item_ids=item_ids, user_ids=user_ids
    ).matrix

"""Content-based recommendations: TF-IDF over product name, category and description.

Chinese text is cut into words by jieba; other text into word tokens. Items are linked by the
cosine of their TF-IDF vectors (implicit's nearest neighbours keep the ``k`` closest), so a
product nobody has bought yet can still be offered to people who took similar ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlens.exceptions import ValidationError
from crmlens.recommend.base import BaseRecommender, register_model
from crmlens.recommend.data import Interactions

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; runs of Chinese characters are segmented with jieba."""
    text = str(text or "").lower()
    if _CJK.search(text):
        import jieba

        jieba.setLogLevel(60)
        tokens = [t.strip() for t in jieba.lcut(text)]
    else:
        tokens = _WORD.findall(text)
    return [t for t in tokens if t and _WORD.fullmatch(t) and not t.isdigit()]


def product_text(
    products: pd.DataFrame, columns: Sequence[str] = ("name", "category", "description")
) -> pd.Series:
    """One text per product: its name, category and description joined (missing parts skipped)."""
    present = [c for c in columns if c in products.columns]
    if not present:
        raise ValidationError(f"products: none of the text columns {list(columns)} is present")
    text = products[present].astype("string").fillna("").agg(" ".join, axis=1)
    return pd.Series(
        text.to_numpy(), index=products["product_id"].to_numpy() if "product_id" in products else None
    )


@register_model("content")
class ContentRecommender(BaseRecommender):
    """Recommends items whose text is like the text of what the customer took."""

    _state = ("similarity_",)

    def __init__(self, k: int = 50, min_df: int = 1, max_features: int = 50000, num_threads: int = 1) -> None:
        self.k = k
        self.min_df = min_df
        self.max_features = max_features
        self.num_threads = num_threads

    def fit(self, X: Interactions | sp.spmatrix, y: Any = None, item_text: Any = None) -> ContentRecommender:
        """``item_text``: a mapping item id -> text, or texts in the order of the items."""
        if item_text is None:
            raise ValidationError(
                "content recommender: fit needs item_text (product name/category/description)"
            )
        self._item_text = item_text
        try:
            super().fit(X)
        finally:
            del self._item_text
        return self

    def _fit(self, X: sp.csr_matrix) -> None:
        from implicit.nearest_neighbours import ItemItemRecommender
        from sklearn.feature_extraction.text import TfidfVectorizer

        from crmlens.recommend.models import quiet

        text = self._item_text
        if (
            isinstance(text, Mapping)
            or isinstance(text, pd.Series)
            and not text.index.equals(pd.RangeIndex(len(text)))
        ):
            docs = pd.Series(self.item_ids_).map(dict(text)).fillna("").astype(str).tolist()
        else:
            docs = [str(t) for t in text]
            if len(docs) != X.shape[1]:
                raise ValidationError(f"content recommender: {len(docs)} texts for {X.shape[1]} items")
        vectorizer = TfidfVectorizer(
            analyzer=tokenize, min_df=self.min_df, max_features=self.max_features, sublinear_tf=True
        )
        try:
            tfidf = vectorizer.fit_transform(docs)
        except ValueError:  # every text empty
            tfidf = sp.csr_matrix((len(docs), 1), dtype=np.float32)
        model = ItemItemRecommender(K=self.k + 1, num_threads=self.num_threads)
        with quiet():
            model.fit(sp.csr_matrix(tfidf.T, dtype=np.float64), show_progress=False)
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.setdiag(0)
        sim.eliminate_zeros()
        self.similarity_ = sim

    def _score(self, rows: np.ndarray, X_rows: sp.csr_matrix) -> np.ndarray:
        block = X_rows @ self.similarity_
        return block.toarray() if sp.issparse(block) else np.asarray(block)

    def item_matrix(self) -> sp.csr_matrix:
        return self.similarity_

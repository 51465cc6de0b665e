"""One encoding of a feature frame that both models read: a float32 matrix, categories as codes.

LightGBM reads the codes as categorical features; the logistic baseline reads the same matrix through
a one-hot (training) or a weight lookup (scoring), so scoring a million rows never builds a one-hot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from crmlens.exceptions import NotFittedError, ValidationError


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Numbers stay numbers (missing = NaN); text and booleans become category codes.

    Parameters
    ----------
    max_categories : int
        Most frequent levels kept per text column; the rest share one "other" code.
    max_cardinality : float
        A text column with more distinct values than this share of rows is dropped (free text, ids).
    """

    def __init__(self, max_categories: int = 100, max_cardinality: float = 0.5) -> None:
        self.max_categories = max_categories
        self.max_cardinality = max_cardinality

    def fit(self, X: pd.DataFrame, y: object = None) -> TabularEncoder:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        if X.shape[1] == 0:
            raise ValidationError("no feature columns left to learn from")
        self.features_: list[str] = []
        self.categorical_: dict[str, list[str]] = {}
        self.dropped_: dict[str, str] = {}
        self.medians_: dict[str, float] = {}
        n = len(X)
        for column in X.columns:
            series = X[column]
            name = str(column)
            if pd.api.types.is_datetime64_any_dtype(series):
                self.dropped_[name] = "date column (use it as --time-col, or derive features from it)"
                continue
            if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
                text = series.dropna().astype(str)
                counts = text.value_counts()
                if counts.size <= 1:
                    self.dropped_[name] = "constant"
                    continue
                if counts.size > max(50, self.max_cardinality * n):
                    self.dropped_[name] = f"{counts.size} distinct text values (free text or an id)"
                    continue
                self.categorical_[name] = [str(v) for v in counts.index[: self.max_categories]]
            else:
                values = pd.to_numeric(series, errors="coerce").astype("float64")
                if values.nunique(dropna=True) <= 1 and not values.isna().any():
                    self.dropped_[name] = "constant"
                    continue
                median = values.median()
                self.medians_[name] = float(median) if pd.notna(median) else 0.0
            self.features_.append(name)
        if not self.features_:
            raise ValidationError(
                "no usable feature columns: " + "; ".join(f"{k}: {v}" for k, v in self.dropped_.items())
            )
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        return self

    @property
    def categorical_indices_(self) -> list[int]:
        return [i for i, name in enumerate(self.features_) if name in self.categorical_]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "features_"):
            raise NotFittedError("TabularEncoder is not fitted; call fit first")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=self.feature_names_in_)
        X = X.rename(columns=str)
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValidationError(f"columns the model was trained on are missing: {', '.join(missing)}")
        out = np.empty((len(X), len(self.features_)), dtype=np.float32)
        for j, name in enumerate(self.features_):
            series = X[name]
            if name in self.categorical_:
                levels = self.categorical_[name]
                present = series.notna().to_numpy()
                if series.dtype == object or pd.api.types.is_string_dtype(series):
                    text = series.to_numpy(dtype=object)  # already text: no per-value conversion
                else:
                    text = series.astype(str).to_numpy(dtype=object)
                codes = pd.Index(levels).get_indexer(text).astype(np.float32)
                other = (codes < 0) & present
                codes[codes < 0] = np.nan
                codes[other] = len(levels)
                codes[~present] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        return out

    def level(self, name: str, code: float) -> str:
        """The readable value of a code of categorical column ``name``."""
        if np.isnan(code):
            return "missing"
        levels = self.categorical_[name]
        return levels[int(code)] if int(code) < len(levels) else "other"

"""The machine-learning alternative: gradient boosting on RFM features to predict next-period value.

Trained honestly on time: features as of ``calibration_end - horizon``, labels from the
``horizon`` that follows (still inside calibration), then applied to features as of
``calibration_end``. Needs a calibration period longer than the horizon it predicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from crmlens.exceptions import NotFittedError, ValidationError

__all__ = ["NextPeriodModel", "FEATURES"]

FEATURES = [
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "total_amount",
    "first_amount",
    "periods_last_28d",
    "periods_last_91d",
]


class NextPeriodModel(BaseEstimator):
    """Two LightGBM models: Poisson for purchases in the next period, Tweedie for spend.

    ``fit(X)`` takes a summary with the :data:`FEATURES` and the labels ``frequency_holdout``
    and ``amount_holdout`` (from :func:`crmlens.clv.summary_sql` with a holdout).
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def _model(self, objective: str) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRegressor(
            objective=objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            random_state=self.random_state,
            n_jobs=1,  # small data: threads only contend on a shared machine
            verbose=-1,
        )

    def fit(self, X: pd.DataFrame, y: Any = None) -> NextPeriodModel:
        missing = [c for c in [*FEATURES, "frequency_holdout", "amount_holdout"] if c not in X.columns]
        if missing:
            raise ValidationError(
                f"clv ML: training summary lacks {missing}; build it with summary_sql(holdout_end=...)"
            )
        if len(X) < 50:
            raise ValidationError(
                f"clv ML: {len(X)} customers are too few to train gradient boosting (need 50+)"
            )
        features = X[FEATURES].astype(float)
        self.purchases_ = self._model("poisson").fit(features, X["frequency_holdout"].astype(float))
        amount = X["amount_holdout"].clip(lower=0).astype(float)
        self.spend_ = self._model("tweedie").fit(features, amount) if amount.sum() > 0 else None
        self.n_train_ = len(X)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected purchases (periods with a purchase) in the next horizon."""
        if not hasattr(self, "purchases_"):
            raise NotFittedError("NextPeriodModel is not fitted")
        return np.clip(self.purchases_.predict(X[FEATURES].astype(float)), 0, None)

    def predict_spend(self, X: pd.DataFrame) -> np.ndarray:
        """Expected total spend in the next horizon (NaN when training had no amounts)."""
        if not hasattr(self, "purchases_"):
            raise NotFittedError("NextPeriodModel is not fitted")
        if self.spend_ is None:
            return np.full(len(X), np.nan)
        return np.clip(self.spend_.predict(X[FEATURES].astype(float)), 0, None)

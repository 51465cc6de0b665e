"""Customer lifetime value: buy-till-you-die models, spend, value tiers and holdout validation.

Warehouse mode reads the canonical ``orders`` table through the Engine
(:func:`summary_sql`, :func:`score_customers`); file mode reads any transactions file
(:func:`read_transactions`, :func:`summary_from_transactions`).
"""

from crmlens.clv.io import read_transactions
from crmlens.clv.ml import NextPeriodModel
from crmlens.clv.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel
from crmlens.clv.report import clv_section
from crmlens.clv.summary import holdout_period_counts, summary_from_transactions, summary_sql
from crmlens.clv.validation import (
    HoldoutValidation,
    holdout_metrics,
    ml_holdout,
    validate_holdout,
    validation_data,
    validation_figures,
)
from crmlens.clv.value import CLVResult, assign_tiers, customer_value, fit_clv, score_customers, scores_frame

__all__ = [
    "BetaGeoModel",
    "ModifiedBetaGeoModel",
    "GammaGammaModel",
    "NextPeriodModel",
    "CLVResult",
    "HoldoutValidation",
    "summary_sql",
    "summary_from_transactions",
    "holdout_period_counts",
    "read_transactions",
    "fit_clv",
    "customer_value",
    "assign_tiers",
    "score_customers",
    "scores_frame",
    "holdout_metrics",
    "validate_holdout",
    "ml_holdout",
    "validation_data",
    "validation_figures",
    "clv_section",
]

"""One supervised engine for churn, lead conversion, campaign response, credit risk and spend, with reasons.

File mode (:func:`train_file`, :func:`score_file`) works on any CSV; warehouse mode (:func:`train_task`,
:func:`score_task`) reads ``customer_360`` and builds labels from ``orders`` by SQL as of a cutoff.
"""

from crmlens.predict.decision import choose_threshold
from crmlens.predict.drift import drift_report, psi
from crmlens.predict.explain import DEFAULT_ACTIONS, explain_frame, global_importance, load_actions
from crmlens.predict.filemode import prepare_file, score_file, train_file
from crmlens.predict.leakage import leakage_check
from crmlens.predict.metrics import binary_metrics, calibration_table, decile_table, regression_metrics
from crmlens.predict.model import PropensityModel, SpendModel
from crmlens.predict.registry import ModelRegistry, load_model, save_model
from crmlens.predict.tasks import TASKS, build_labels, score_task, train_task

__all__ = [
    "DEFAULT_ACTIONS",
    "TASKS",
    "ModelRegistry",
    "PropensityModel",
    "SpendModel",
    "binary_metrics",
    "build_labels",
    "calibration_table",
    "choose_threshold",
    "decile_table",
    "drift_report",
    "explain_frame",
    "global_importance",
    "leakage_check",
    "load_actions",
    "load_model",
    "prepare_file",
    "psi",
    "regression_metrics",
    "save_model",
    "score_file",
    "score_task",
    "train_file",
    "train_task",
]

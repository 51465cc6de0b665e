"""Held-out metrics, in the snake_case names every crmlens output uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    roc_auc_score,
)


def binary_metrics(
    y: np.ndarray, p: np.ndarray, threshold: float = 0.5, top: float = 0.1
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, log loss, Brier, F1 at ``threshold``, and recall/lift in the top ``top`` share."""
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    k = max(1, int(round(top * len(y))))
    order = np.argsort(-p, kind="stable")[:k]
    base = y.mean() if len(y) else 0.0
    pct = int(round(top * 100))
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "f1": float(f1_score(y, (p >= threshold).astype(int), zero_division=0)),
        f"recall_at_{pct}": float(y[order].sum() / max(1, y.sum())),
        f"lift_at_{pct}": float(y[order].mean() / base) if base > 0 else float("nan"),
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted vs observed rate in equal-count bins of the score (the data of a calibration plot)."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    grouped = frame.groupby("bin").agg(rows=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return [
        {
            "bin": int(b) + 1,
            "rows": int(r.rows),
            "predicted": float(r.predicted),
            "observed": float(r.observed),
        }
        for b, r in grouped.iterrows()
    ]


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    return {"mae": float(mean_absolute_error(y, pred)), "rmse": float(np.sqrt(mean_squared_error(y, pred)))}


def decile_table(y: np.ndarray, pred: np.ndarray) -> list[dict[str, float]]:
    """Deciles of the prediction (1 = highest) with mean predicted and actual value."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "pred": np.asarray(pred, dtype=float)})
    frame["decile"] = 10 - pd.qcut(frame["pred"].rank(method="first"), q=min(10, len(frame)), labels=False)
    grouped = frame.groupby("decile").agg(
        rows=("y", "size"), predicted=("pred", "mean"), actual=("y", "mean")
    )
    return [
        {"decile": int(d), "rows": int(r.rows), "predicted": float(r.predicted), "actual": float(r.actual)}
        for d, r in grouped.sort_index().iterrows()
    ]

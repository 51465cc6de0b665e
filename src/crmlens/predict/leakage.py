"""The leakage guard: columns that alone predict the target too well, or that are dated after the cutoff.

A column is flagged when, alone, it ranks the target almost perfectly (ROC-AUC >= 0.95), or when it is
strong (>= 0.75) and far stronger than every other column (by >= 0.10): the signature of information
recorded after the outcome, like the call ``duration`` in the bank-marketing data, which is only known
once the call that sold the deposit is over. Single-column strength is measured out of fold (binned
target rates fitted on one half, scored on the other), so an id-like column cannot flag itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

NEAR_PERFECT = 0.95
DOMINANT = 0.75
MARGIN = 0.10


def _bins(series: pd.Series, n_bins: int = 20) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.to_numeric(series, errors="coerce")
        ranks = values.rank(method="dense")
        if ranks.nunique() > n_bins:
            codes = pd.qcut(values.rank(method="first"), q=n_bins, labels=False, duplicates="drop")
            # equal values share a bin: take each value's first bin
            codes = codes.groupby(values).transform("min")
        else:
            codes = ranks - 1
        return codes.fillna(-1).to_numpy(dtype=np.int64)
    codes, _ = pd.factorize(series.astype(object).where(series.notna(), None), use_na_sentinel=True)
    return codes.astype(np.int64)


def single_column_auc(series: pd.Series, y: np.ndarray, random_state: int = 0) -> float:
    """Out-of-fold ROC-AUC of one column alone (direction-free: at least 0.5)."""
    codes = _bins(series)
    y = np.asarray(y).astype(float)
    prior = y.mean()
    oof = np.empty(len(y))
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=random_state)
    for a, b in folds.split(codes, y):
        frame = pd.DataFrame({"c": codes[a], "y": y[a]}).groupby("c")["y"].agg(["sum", "count"])
        rate = (frame["sum"] + 10 * prior) / (frame["count"] + 10)
        oof[b] = pd.Series(codes[b]).map(rate).fillna(prior).to_numpy()
    if len(np.unique(y)) < 2:
        return 0.5
    auc = roc_auc_score(y, oof)
    return float(max(auc, 1 - auc))


def leakage_check(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    cutoff: Any = None,
    random_state: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Warnings (column, reason, message) and every column's single-column ROC-AUC.

    ``cutoff`` is a timestamp, or a Series of per-row timestamps (the ``--time-col``): date columns
    holding values after it are flagged as known only after the cutoff.
    """
    strength = {str(c): single_column_auc(X[c], y, random_state) for c in X.columns}
    warnings: list[dict[str, Any]] = []
    ranked = sorted(strength.items(), key=lambda kv: -kv[1])
    for i, (column, auc) in enumerate(ranked):
        runner_up = next((a for c, a in ranked if c != column), 0.5)
        if auc >= NEAR_PERFECT:
            warnings.append(
                {
                    "column": column,
                    "reason": "near_perfect",
                    "roc_auc_alone": round(auc, 4),
                    "message": f"column {column!r} alone predicts the target almost perfectly "
                    f"(ROC-AUC {auc:.3f}); it is probably recorded after the outcome",
                }
            )
        elif i == 0 and auc >= DOMINANT and auc - runner_up >= MARGIN:
            warnings.append(
                {
                    "column": column,
                    "reason": "dominant",
                    "roc_auc_alone": round(auc, 4),
                    "message": f"column {column!r} alone predicts the target far better than any other "
                    f"(ROC-AUC {auc:.3f} vs {runner_up:.3f} for the next); check it is known "
                    f"before the decision (e.g. call duration is known only after the call)",
                }
            )
    if cutoff is not None:
        for column in X.columns:
            series = X[column]
            if not pd.api.types.is_datetime64_any_dtype(series):
                if series.dtype != object:
                    continue
                parsed = pd.to_datetime(series, errors="coerce", format="mixed")
                if parsed.notna().mean() < 0.9:
                    continue
                series = parsed
            after = series > (cutoff if not isinstance(cutoff, pd.Series) else cutoff.to_numpy())
            share = float(np.mean(after))
            if share > 0.01:
                warnings.append(
                    {
                        "column": str(column),
                        "reason": "after_cutoff",
                        "share_after": round(share, 4),
                        "message": f"column {column!r} holds dates after the cutoff in {share:.0%} of rows;"
                        f" it cannot be known when the prediction is made",
                    }
                )
    return warnings, strength

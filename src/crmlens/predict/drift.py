"""Population stability index (PSI) between the training data and the data being scored.

PSI = sum((a - e) * ln(a / e)) over bins: training deciles (plus a missing bin) for numbers, levels for
categories. The usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 drift worth retraining for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODERATE = 0.1
DRIFT = 0.25


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """PSI of two vectors of bin shares (each summing to 1)."""
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_shares(x: np.ndarray, edges: list[float]) -> np.ndarray:
    """Shares of ``x`` in the bins cut at ``edges``, with a last bin for missing values."""
    x = np.asarray(x, dtype=float)
    missing = np.isnan(x)
    bins = np.searchsorted(np.asarray(edges), x[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(1, len(x))


def category_shares(codes: np.ndarray, levels: list[int]) -> np.ndarray:
    codes = np.where(np.isnan(codes), -1, codes).astype(int)
    known = {level: i for i, level in enumerate(levels)}
    counts = np.zeros(len(levels) + 1)
    uniq, n = np.unique(codes, return_counts=True)
    for u, c in zip(uniq, n, strict=True):
        counts[known.get(int(u), len(levels))] += c
    return counts / max(1, len(codes))


def drift_report(model: Any, M: np.ndarray) -> list[dict[str, Any]]:
    """PSI per feature of an encoded matrix against the model's training profile, largest first."""
    rows = []
    for j, name in enumerate(model.encoder_.features_):
        entry = model.train_profile_[name]
        if entry["kind"] == "category":
            levels = sorted(entry["share"])
            expected = np.append([entry["share"][level] for level in levels], 0.0)
            actual = category_shares(M[:, j], levels)
        else:
            expected = np.asarray(entry["bin_share"])
            actual = numeric_shares(M[:, j], entry["edges"])
        value = psi(expected, actual)
        status = "drift" if value > DRIFT else "moderate" if value > MODERATE else "stable"
        rows.append({"feature": name, "psi": round(value, 4), "status": status})
    return sorted(rows, key=lambda r: -r["psi"])

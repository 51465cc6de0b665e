"""Turning probabilities into a decision: a threshold by cost and benefit, by capacity, or by F1."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from crmlens.exceptions import ConfigError


def choose_threshold(
    y: np.ndarray,
    p: np.ndarray,
    *,
    benefit: float | None = None,
    cost: float | None = None,
    capacity: int | None = None,
) -> tuple[float, str]:
    """The probability above which to act, and a sentence saying why.

    ``benefit`` is what acting on a true positive is worth (a saved customer's value) and ``cost`` what
    acting on anyone costs (the retention offer): act when ``p * benefit > cost``, so the threshold is
    ``cost / benefit``, since calibrated probabilities make the expected value exact. ``capacity`` (we
    can call N people) takes the N highest scores of ``p``. With neither, the F1-best threshold.
    """
    p = np.asarray(p, dtype=float)
    if capacity is not None:
        if capacity <= 0:
            raise ConfigError("--capacity must be a positive number of people")
        if capacity >= len(p):
            return 0.0, f"capacity {capacity} covers all {len(p)} rows"
        t = float(np.sort(p)[::-1][capacity - 1])
        return t, f"the {capacity} highest scores (capacity)"
    if benefit is not None or cost is not None:
        if not benefit or benefit <= 0 or cost is None or cost < 0:
            raise ConfigError("--benefit must be > 0 and --cost >= 0 to choose a threshold by value")
        t = float(min(1.0, cost / benefit))
        return t, f"act when expected value p x {benefit:g} exceeds the cost {cost:g}"
    precision, recall, thresholds = precision_recall_curve(np.asarray(y).astype(int), p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    t = float(thresholds[best]) if len(thresholds) else 0.5
    return t, "the threshold with the best F1 on out-of-fold scores of the training data"

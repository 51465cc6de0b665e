"""Customers with planted segments, to check that segmentation recovers what was put in.

Each segment draws its behaviour (recency, orders, order value, discount use, tenure, web
visits, review sentiment, preferred channel) from its own distribution; skew, overlap, missing
sentiment and a categorical channel make it look like a real customer profile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLANTED_SEGMENTS", "make_customers"]

# name: (share, recency days, orders, order value, discount share, tenure days, web visits / month,
#        sentiment, channel mix web/store/app)
PLANTED_SEGMENTS: dict[str, tuple] = {
    "high-value loyal": (0.15, 8, 30, 150.0, 0.05, 900, 12, 0.5, (0.4, 0.3, 0.3)),
    "discount-sensitive": (0.25, 30, 10, 35.0, 0.55, 500, 14, 0.1, (0.6, 0.1, 0.3)),
    "new": (0.15, 12, 1.5, 60.0, 0.15, 35, 8, 0.3, (0.5, 0.2, 0.3)),
    "at risk": (0.20, 200, 10, 80.0, 0.10, 800, 1.5, -0.3, (0.3, 0.5, 0.2)),
    "hibernating": (0.25, 330, 2, 40.0, 0.20, 650, 0.5, 0.0, (0.3, 0.6, 0.1)),
}


def make_customers(n: int = 2000, seed: int = 0, spread: float = 0.35) -> tuple[pd.DataFrame, np.ndarray]:
    """A customer profile frame and the planted segment of each customer (names, one per row).

    ``spread`` is the log-normal sigma of each behaviour around its segment's centre: larger
    values make the segments overlap more.

    Examples
    --------
    >>> frame, truth = make_customers(100, seed=1)
    >>> len(frame), len(truth)
    (100, 100)
    """
    rng = np.random.default_rng(seed)
    names = list(PLANTED_SEGMENTS)
    shares = np.array([PLANTED_SEGMENTS[s][0] for s in names])
    truth_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    cols: dict[str, np.ndarray] = {
        k: np.empty(n)
        for k in (
            "recency_days",
            "frequency",
            "avg_order_value",
            "discount_share",
            "tenure_days",
            "web_visits_30d",
        )
    }
    sentiment = np.empty(n)
    channel = np.empty(n, dtype=object)
    for i, name in enumerate(names):
        _, rec, orders, aov, disc, tenure, visits, sent, mix = PLANTED_SEGMENTS[name]
        m = truth_idx == i
        k = int(m.sum())
        if not k:
            continue

        def lognormal(centre: float, size: int = k) -> np.ndarray:
            return centre * np.exp(rng.normal(0.0, spread, size))

        cols["recency_days"][m] = np.round(lognormal(rec))
        cols["frequency"][m] = 1 + rng.poisson(lognormal(max(orders - 1, 0.3)))
        cols["avg_order_value"][m] = np.round(lognormal(aov), 2)
        cols["discount_share"][m] = np.clip(disc + rng.normal(0, spread * 0.25, k), 0, 1)
        cols["tenure_days"][m] = np.round(lognormal(tenure))
        cols["web_visits_30d"][m] = rng.poisson(lognormal(visits + 0.1))
        sentiment[m] = np.clip(sent + rng.normal(0, 0.35, k), -1, 1)
        channel[m] = rng.choice(["web", "store", "app"], size=k, p=mix)
    cols["tenure_days"] = np.maximum(cols["tenure_days"], cols["recency_days"])
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "recency_days": cols["recency_days"],
            "frequency": cols["frequency"].astype(np.int64),
            "monetary": np.round(cols["frequency"] * cols["avg_order_value"], 2),
            "avg_order_value": cols["avg_order_value"],
            "discount_share": np.round(cols["discount_share"], 3),
            "tenure_days": cols["tenure_days"],
            "web_visits_30d": cols["web_visits_30d"].astype(np.int64),
            "review_sentiment": np.where(rng.random(n) < 0.3, np.nan, np.round(sentiment, 3)),
            "preferred_channel": channel,
        }
    )
    return frame, np.array(names, dtype=object)[truth_idx]

"""What a behavioural segmentation of ``customer_360`` clusters on, and who it leaves out.

``customer_360`` holds some fifty columns; clustering on all of them fails in three ways.
Totals (``frequency``, ``monetary``, ``order_lines``, ``spend_90d`` ...) mostly measure how long
someone has been a customer and, being many, outvote everything else; demographics, support
load, reviews and campaign contacts describe the customer but are not buying behaviour, and
add distance without structure; and customers who never ordered have no behaviour to cluster.
So the default is one column per aspect of buying: how recently (``recency_days``), how often
per month of their life as a customer (``orders_per_month``), how steady their rhythm (the
coefficient of variation of the days between orders, ``order_gap_cv``: restockers buy like
clockwork, others at random moments), how much per order and how big the basket
(``avg_order_value``, ``lines_per_order``), how price-driven (``discount_line_share``), how long
they have bought (``tenure_days``), and what and where they buy (the category and channel share
families, each weighing as one column in the preprocessing). Every other column
still describes the segments in their profiles. Customers without an order get one segment of
their own, ``no purchase yet``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BEHAVIOUR_COLUMNS", "NO_PURCHASE", "SHARE_PREFIXES", "behaviour_view", "no_purchase_assignments"]

BEHAVIOUR_COLUMNS = (
    "recency_days",
    "orders_per_month",
    "order_gap_cv",
    "avg_order_value",
    "lines_per_order",
    "discount_line_share",
    "tenure_days",
)
SHARE_PREFIXES = ("cat_share_", "channel_share_")
NO_PURCHASE = "no purchase yet"
_DAYS_PER_MONTH = 30.4
_DERIVED = ("orders_per_month", "order_gap_cv")
_DERIVED_FROM = ("frequency", "ipd_mean_days", "ipd_std_days")


def behaviour_view(profile: pd.DataFrame) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """``customer_360`` with two rates added, the columns to cluster on, and who bought.

    ``orders_per_month`` divides ``frequency`` by the months the customer could have bought in:
    since sign-up (capped at the longest tenure seen, the span of the order history) or since the
    first order when that is longer, and at least one month. ``order_gap_cv`` is
    ``ipd_std_days / ipd_mean_days`` (missing below three orders). Returns
    ``(frame, columns, buyers)`` where ``buyers`` marks customers with at least one order; ``columns`` is empty (cluster on
    every column) when the profile lacks some of the order families' columns.
    """
    frame = profile.copy()
    if "frequency" not in frame.columns:  # not an order profile: every column is behaviour
        return frame, [], np.ones(len(frame), dtype=bool)
    orders = pd.to_numeric(frame["frequency"], errors="coerce").fillna(0).to_numpy(dtype=float)
    buyers = orders > 0
    needed = (set(BEHAVIOUR_COLUMNS) - set(_DERIVED)) | set(_DERIVED_FROM)
    if not needed <= set(frame.columns):
        return frame, [], buyers  # not the full order families: cluster on every column
    tenure = pd.to_numeric(frame["tenure_days"], errors="coerce").to_numpy(dtype=float)
    exposure = np.nan_to_num(tenure, nan=0.0)
    if "days_since_signup" in frame.columns and np.isfinite(tenure).any():
        signup = pd.to_numeric(frame["days_since_signup"], errors="coerce").to_numpy(dtype=float)
        exposure = np.fmax(exposure, np.fmin(signup, np.nanmax(tenure)))
    frame["orders_per_month"] = orders / (np.maximum(exposure, _DAYS_PER_MONTH) / _DAYS_PER_MONTH)
    mean_gap = pd.to_numeric(frame["ipd_mean_days"], errors="coerce")
    frame["order_gap_cv"] = pd.to_numeric(frame["ipd_std_days"], errors="coerce") / mean_gap.where(
        mean_gap > 0
    )
    columns = list(BEHAVIOUR_COLUMNS) + [c for c in frame.columns if str(c).startswith(SHARE_PREFIXES)]
    return frame, columns, buyers


def no_purchase_assignments(ids: pd.Series, segmentation: str) -> pd.DataFrame:
    """``segments`` rows for customers set aside because they never ordered."""
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "segmentation": segmentation,
            "segment": "no_purchase",
            "segment_name": NO_PURCHASE,
        }
    )

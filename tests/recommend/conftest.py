"""Small planted data for the recommender tests: two tastes, each with its own items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.recommend import Interactions


@pytest.fixture(scope="session")
def planted() -> pd.DataFrame:
    """120 customers in two groups; group g buys mostly from items g0..g9, and a shared bestseller."""
    rng = np.random.default_rng(7)
    rows = []
    for c in range(120):
        group = "a" if c < 60 else "b"
        other = "b" if group == "a" else "a"
        mine = rng.choice(10, size=6, replace=False)
        for k, i in enumerate(mine):
            rows.append(
                (c, f"{group}{i}", pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(k * 3 + c % 3)))
            )
        if rng.random() < 0.2:
            rows.append((c, f"{other}{rng.integers(10)}", pd.Timestamp("2024-01-05")))
        rows.append((c, "best", pd.Timestamp("2024-01-02")))
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "ts"])


@pytest.fixture(scope="session")
def planted_data(planted: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(planted.assign(weight=1.0), "customer_id", "product_id", "weight")


@pytest.fixture(scope="session")
def planted_text() -> dict[str, str]:
    text = {f"a{i}": f"garden tool spade {i}" for i in range(10)}
    text |= {f"b{i}": f"kitchen mug ceramic {i}" for i in range(10)}
    text["best"] = "gift card"
    return text

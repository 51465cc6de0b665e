"""Small planted-segment customers shared by the segment tests (kept small: the folder runs in seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.segment.synthetic import make_customers


@pytest.fixture(scope="session")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    return make_customers(1200, seed=3)


@pytest.fixture(scope="session")
def fast() -> dict:
    """Settings that keep tests quick: a small selection sample, two stability subsamples, k 3..6."""
    return {"selection_sample": 800, "n_bootstrap": 2, "k_range": (3, 6)}

"""Fixtures of the prediction tests: a signing key of their own, and small data with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _model_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CRMLENS_MODEL_KEY", raising=False)
    monkeypatch.setenv("CRMLENS_KEY_FILE", str(tmp_path / "model.key"))


def planted(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A churn-like frame whose outcome depends on ``days_inactive`` and ``plan`` only (plus noise)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "days_inactive": rng.exponential(40, n),
            "plan": rng.choice(["monthly", "yearly", "two_year"], n, p=[0.5, 0.3, 0.2]),
            "spend": rng.gamma(2.0, 30.0, n),
            "noise": rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "spend"] = np.nan
    y = (rng.random(n) < true_probability(frame)).astype(int)
    return frame, y


def true_probability(frame: pd.DataFrame) -> np.ndarray:
    """The planted probability of the outcome for each row of :func:`planted`."""
    plan = frame["plan"].map({"monthly": 1.2, "yearly": 0.0, "two_year": -1.0})
    logit = -2.0 + 0.04 * frame["days_inactive"] + plan
    return (1 / (1 + np.exp(-logit))).to_numpy()


@pytest.fixture(scope="session")
def make_planted():
    return planted


@pytest.fixture(scope="session")
def planted_truth():
    return true_probability


@pytest.fixture
def planted_data() -> tuple[pd.DataFrame, np.ndarray]:
    return planted()

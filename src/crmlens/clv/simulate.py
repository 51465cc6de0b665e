"""Customers drawn from the BG/NBD story, with known parameters: for tests and scale benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_bgnbd"]


def simulate_bgnbd(
    n_customers: int,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    T: float | np.ndarray = 39.0,
    holdout: float = 0.0,
    seed: int = 0,
    integer_time: bool = False,
    never_drop: float = 0.0,
) -> pd.DataFrame:
    """Summaries (``frequency, recency, T``, and ``frequency_holdout`` if ``holdout > 0``).

    Each customer buys at rate lambda ~ Gamma(r, alpha) and, after each purchase, drops out with
    probability p ~ Beta(a, b) (Fader, Hardie & Lee 2005). ``integer_time`` rounds purchase
    times up to whole periods and counts distinct periods, like weekly data. A share
    ``never_drop`` of customers never drops out (the ``hardcore`` variant of the models).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    p[rng.random(n_customers) < never_drop] = 0.0  # a loyal share that never drops out
    T_arr = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
    end = T_arr + holdout
    t = np.zeros(n_customers)
    alive = np.ones(n_customers, dtype=bool)
    freq = np.zeros(n_customers)
    rec = np.zeros(n_customers)
    hold = np.zeros(n_customers)
    last_period = np.zeros(n_customers)
    while alive.any():
        idx = np.flatnonzero(alive)
        with np.errstate(divide="ignore"):
            t[idx] += rng.exponential(1.0 / np.maximum(lam[idx], 1e-300))
        inside = t[idx] <= end[idx]
        alive[idx[~inside]] = False
        idx = idx[inside]
        when = np.ceil(t[idx]) if integer_time else t[idx]
        new = when > last_period[idx] if integer_time else np.ones(len(idx), dtype=bool)
        in_cal = when <= T_arr[idx]
        cal_idx = idx[in_cal & new]
        freq[cal_idx] += 1
        rec[cal_idx] = when[in_cal & new]
        hold[idx[~in_cal & new]] += 1
        last_period[idx] = np.maximum(last_period[idx], when)
        died = rng.random(len(idx)) < p[idx]
        alive[idx[died]] = False
    out = pd.DataFrame({"customer_id": np.arange(n_customers), "frequency": freq, "recency": rec, "T": T_arr})
    if holdout > 0:
        out["frequency_holdout"] = hold
        out["duration_holdout"] = float(holdout)
    return out

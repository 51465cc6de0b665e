"""Differential privacy: released figures stay within their stated error at their epsilon, over repeated runs;
k-anonymity suppresses small groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ConfigError
from crmlens.privacy import (
    dp_by_segment,
    dp_count,
    dp_histogram,
    dp_mean,
    dp_sum,
    k_anonymity,
    safe_export,
    suppress_small_groups,
)

RUNS = 300


def _coverage(release, truth: float) -> float:
    inside = 0
    for seed in range(RUNS):
        value, error = release(seed)
        inside += abs(value - truth) <= error
    return inside / RUNS


@pytest.mark.parametrize("epsilon", [0.1, 1.0])
def test_count_sum_mean_within_stated_error(epsilon: float) -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 100, 500)
    assert _coverage(lambda s: dp_count(values, epsilon, 0.95, s), len(values)) >= 0.93
    assert _coverage(lambda s: dp_sum(values, epsilon, (0, 100), 0.95, s), values.sum()) >= 0.93
    assert _coverage(lambda s: dp_mean(values, epsilon, (0, 100), 0.95, s), values.mean()) >= 0.93


def test_noise_is_real_and_scales_with_epsilon() -> None:
    values = np.ones(1000)
    loose = [dp_count(values, 0.05, random_state=s)[0] for s in range(100)]
    tight = [dp_count(values, 5.0, random_state=s)[0] for s in range(100)]
    assert np.std(loose) > 5 * np.std(tight) > 0
    assert dp_count(values, 1.0, random_state=3) == dp_count(values, 1.0, random_state=3)  # seeded


def test_histogram_within_stated_error() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(50, 15, 2000)
    truth, _ = np.histogram(values, bins=10, range=(0, 100))
    inside = total = 0
    for seed in range(100):
        counts, _, error = dp_histogram(values, 0.5, bins=10, range=(0, 100), random_state=seed)
        inside += int((np.abs(counts - truth) <= error).sum())
        total += len(truth)
    assert inside / total >= 0.93
    with pytest.raises(ConfigError, match="range"):
        dp_histogram(values, 0.5, bins=10)


def test_by_segment_errors_and_k_suppression() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"segment": rng.choice(["a", "b", "c"], 3000, p=[0.5, 0.497, 0.003]),
                          "spend": rng.uniform(0, 200, 3000)})  # fmt: skip
    truth = frame.groupby("segment")["spend"].agg(["size", "mean"])
    hits = {"count": 0, "mean": 0}
    for seed in range(100):
        out = dp_by_segment(frame, "segment", 1.0, value="spend", bounds=(0, 200), stats=("count", "mean"),
                            segments=["a", "b", "c", "d"], k=25, random_state=seed).set_index("segment")  # fmt: skip
        assert out.loc["c", "suppressed"] and out.loc["d", "suppressed"] and pd.isna(out.loc["c", "mean"])
        for seg in ("a", "b"):
            hits["count"] += (
                abs(out.loc[seg, "count"] - truth.loc[seg, "size"]) <= out.loc[seg, "count_error"]
            )
            hits["mean"] += abs(out.loc[seg, "mean"] - truth.loc[seg, "mean"]) <= out.loc[seg, "mean_error"]
    assert hits["count"] / 200 >= 0.93 and hits["mean"] / 200 >= 0.93


def test_k_anonymity_and_suppression() -> None:
    frame = pd.DataFrame({"city": ["bj", "bj", "bj", "sh", "sh", "gz"], "age_band": ["30s"] * 5 + ["40s"]})
    assert k_anonymity(frame, ["city", "age_band"]) == 1
    kept, dropped = suppress_small_groups(frame, ["city", "age_band"], k=3)
    assert dropped == 3 and k_anonymity(kept, ["city", "age_band"]) >= 3
    agg = pd.DataFrame({"segment": ["a", "b"], "n": [40, 2]})
    kept, dropped = suppress_small_groups(agg, ["segment"], k=5, count_col="n")
    assert kept["segment"].tolist() == ["a"] and dropped == 1


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="epsilon"):
        dp_count([1, 2], 0)
    with pytest.raises(ConfigError, match="bounds"):
        dp_by_segment(pd.DataFrame({"s": ["a"], "v": [1.0]}), "s", 1.0, stats=("mean",))


def test_safe_export_drops_identifiers_and_enforces_k(tmp_path) -> None:
    from crmlens.privacy import decrypt_file

    frame = pd.DataFrame(
        {
            "email": [f"u{i}@x.com" for i in range(12)],
            "customer_key": ["pz_" + f"{i:032x}" for i in range(12)],
            "city": ["bj"] * 6 + ["sh"] * 5 + ["gz"],
            "gender": ["f"] * 12,
            "spend": np.arange(12.0),
        }
    )
    done = safe_export(frame, tmp_path / "out.csv.enc", k=5, passphrase="export-passphrase-for-tests")
    assert done["dropped_columns"] == ["email"] and done["quasi_identifiers"] == ["city", "gender"]
    assert done["rows_suppressed"] == 1 and done["k_achieved"] == 5 and done["rows"] == 11
    assert b"u1@x.com" not in (tmp_path / "out.csv.enc").read_bytes()
    back = pd.read_csv(
        decrypt_file(tmp_path / "out.csv.enc", tmp_path / "out.csv", "export-passphrase-for-tests")
    )
    assert list(back.columns) == ["customer_key", "city", "gender", "spend"] and "gz" not in set(back["city"])

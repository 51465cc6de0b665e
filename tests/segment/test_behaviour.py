"""The behaviour view of customer_360, and the demo's planted segments recovered through the warehouse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crmlens.config import load_config
from crmlens.datasets.demo import generate_demo
from crmlens.engine import DuckDBEngine
from crmlens.features import FeatureBuilder
from crmlens.identity import resolve_identities
from crmlens.ingest import Loader
from crmlens.segment import run_on_warehouse
from crmlens.segment.behaviour import BEHAVIOUR_COLUMNS, NO_PURCHASE, behaviour_view


def _profile() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "recency_days": [5.0, 40.0, np.nan, 10.0],
            "frequency": [20, 3, 0, 2],
            "tenure_days": [600.0, 60.0, np.nan, 20.0],
            "ipd_mean_days": [30.0, 25.0, np.nan, 20.0],
            "ipd_std_days": [15.0, 20.0, np.nan, np.nan],
            "days_since_signup": [900.0, 70.0, 30.0, 400.0],
            "avg_order_value": [80.0, 40.0, np.nan, 50.0],
            "lines_per_order": [2.0, 1.0, np.nan, 1.5],
            "discount_line_share": [0.0, 0.5, np.nan, 0.2],
            "cat_share_tea": [0.5, 1.0, np.nan, 0.0],
            "cat_share_snacks": [0.5, 0.0, np.nan, 1.0],
            "age": [30.0, 40.0, 50.0, 60.0],
            "tickets_total": [0, 1, 0, 2],
        }
    )


def test_rates_columns_and_buyers():
    frame, columns, buyers = behaviour_view(_profile())
    assert buyers.tolist() == [True, True, False, True]
    assert columns == [*BEHAVIOUR_COLUMNS, "cat_share_tea", "cat_share_snacks"]
    assert "age" not in columns and "frequency" not in columns and "tickets_total" not in columns
    # months since sign-up, capped at the longest tenure (600 days); at least one month
    expected = np.array([20 / (600 / 30.4), 3 / (70 / 30.4), 0.0, 2 / (400 / 30.4)])
    np.testing.assert_allclose(frame["orders_per_month"].to_numpy(), expected)
    np.testing.assert_allclose(frame["order_gap_cv"].to_numpy(), [0.5, 0.8, np.nan, np.nan])


def test_a_profile_without_the_order_families_clusters_on_every_column():
    frame, columns, buyers = behaviour_view(_profile().drop(columns=["lines_per_order"]))
    assert columns == [] and "orders_per_month" not in frame.columns and buyers.sum() == 3
    frame, columns, buyers = behaviour_view(pd.DataFrame({"customer_id": [1, 2], "spend": [1.0, 2.0]}))
    assert columns == [] and buyers.all()


@pytest.mark.slow
def test_demo_segments_recovered_through_the_warehouse(tmp_path: Path, fast: dict) -> None:
    """The demo as the pipeline builds it: the planted segments come back (a small demo, so a low bar)."""
    paths = generate_demo(tmp_path, customers=1500, seed=4)
    with DuckDBEngine(":memory:") as engine:
        Loader(engine, load_config(paths.project_file), paths.project_file.parent).load_all()
        resolve_identities(engine, seed=0)
        FeatureBuilder().build(engine, "2026-07-01")
        result = run_on_warehouse(engine, consent=False, with_rfm=False, **fast)
        segments = engine.table("segments").to_pandas()
        links = engine.table("customer_links").to_pandas()
    truth = pd.read_csv(paths.truth_dir / "customers.csv").merge(links, on=["source", "customer_key"])
    truth = truth.drop_duplicates("customer_id").set_index("customer_id")["true_segment"]
    segments["truth"] = segments["customer_id"].map(truth)
    assert segments["truth"].isna().mean() < 0.01  # customers known only from a quarantined member row
    segments = segments.dropna(subset=["truth"])
    bought = segments[segments["segment_name"] != NO_PURCHASE]
    assert adjusted_rand_score(bought["truth"], bought["segment"]) > 0.65  # 0.74 when written
    never = segments[segments["segment_name"] == NO_PURCHASE]
    assert 0 < len(never) < 0.15 * len(segments)
    assert never["truth"].isin(["new_customers", "drifting"]).mean() > 0.9
    assert result.metrics["n_segments"] >= 4

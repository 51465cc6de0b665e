import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.segment import run_on_profile, run_on_warehouse, segment_frame, transition_matrix
from crmlens.segment.viz import transition_figure


def test_run_on_profile_gives_the_three_frames(planted, fast):
    frame, truth = planted
    profile = frame.assign(as_of=pd.Timestamp("2024-06-30"), churned=(truth == "hibernating").astype(int))
    assignments, profiles, points = run_on_profile(profile, **fast)
    assert list(assignments.columns) == ["customer_id", "segmentation", "segment", "segment_name"]
    assert list(points.columns) == ["customer_id", "x", "y", "segment"]
    assert len(assignments) == len(points) == len(frame)
    assert adjusted_rand_score(truth, assignments["segment"]) >= 0.8
    # the label is profiled, never clustered on
    assert "churn_rate" in profiles.columns and "mean_churned" not in profiles.columns
    assert profiles["size"].sum() == len(frame)
    assert abs(profiles["revenue_share"].sum() - 1.0) < 1e-9
    named = assignments.groupby("segment_name").size()
    assert {"high-value loyal", "new", "hibernating"} <= set(named.index)
    hib = profiles.set_index("segment_name").loc["hibernating"]
    assert hib["churn_rate"] > 0.9


def test_figures_and_map(planted, fast):
    # (the UMAP map is exercised by the benchmark: numba compiles it for minutes on a 2-core machine)
    frame, _ = planted
    small = frame.head(400)
    result = segment_frame(small, map_method="pca", **fast)
    figs = result.figures()
    assert len(figs["map"].data) == result.model.n_clusters_
    assert figs["profiles"].data[0].z.shape[0] == result.model.n_clusters_
    assert np.isfinite(result.map[["x", "y"]].to_numpy()).all()


def test_bad_id_column(planted):
    frame, _ = planted
    with pytest.raises(ValidationError, match="'cust'"):
        segment_frame(frame, id_col="cust")
    with pytest.raises(ValidationError, match="repeats"):
        segment_frame(pd.concat([frame.head(20), frame.head(20)]))


def test_warehouse_round_trip(engine, planted, fast):
    frame, truth = planted
    with pytest.raises(ConfigError, match="customer_360"):
        run_on_warehouse(engine)
    old = frame.assign(as_of=pd.Timestamp("2024-01-01"))
    new = frame.assign(as_of=pd.Timestamp("2024-06-30"), recency_days=frame["recency_days"] + 30)
    engine.write_table("customer_360", pd.concat([old, new], ignore_index=True))
    run_on_warehouse(engine, as_of=pd.Timestamp("2024-01-01"), **fast)
    run_on_warehouse(engine, **fast)  # latest cutoff replaces the same segmentations
    seg = engine.query("SELECT * FROM segments").to_pandas()
    counts = seg.groupby("segmentation").size().to_dict()
    assert counts == {"behaviour": len(frame), "rfm": len(frame)}
    assert (
        seg["customer_id"].is_unique is False
        and seg.groupby("segmentation")["customer_id"].nunique().eq(len(frame)).all()
    )


def test_transition_matrix_rows_sum_to_one():
    before = pd.DataFrame({"customer_id": [1, 2, 3, 4], "segment_name": ["new", "new", "loyal", "loyal"]})
    after = pd.DataFrame({"customer_id": [1, 2, 3, 5], "segment_name": ["loyal", "new", "loyal", "new"]})
    m = transition_matrix(before, after)
    np.testing.assert_allclose(m.sum(axis=1).to_numpy(), 1.0)
    assert m.loc["new", "loyal"] == 0.5 and m.loc["loyal", "(gone)"] == 0.5 and m.loc["(new)", "new"] == 1.0
    assert transition_figure(m).data[0].z.shape == m.shape

import numpy as np
import pandas as pd

from crmlens.segment.profile import detect_roles, name_segments, profile_segments


def test_effect_size_and_shares_by_hand():
    frame = pd.DataFrame({"spend": [1.0, 2.0, 3.0, 10.0, 11.0, 12.0]})
    labels = np.array([0, 0, 0, 1, 1, 1])
    p = profile_segments(frame, labels).set_index("segment")
    # means 2 and 11, both variances 1 -> d = +-9
    assert p.loc[1, "d_spend"] == 9.0 and p.loc[0, "d_spend"] == -9.0
    assert p.loc[1, "revenue_share"] == 33.0 / 39.0
    assert p.loc[0, "size"] == 3 and p.loc[0, "share"] == 0.5
    assert p.loc[1, "distinguishing"].startswith("spend high")


def test_roles_from_column_names():
    roles = detect_roles(
        [
            "Recency",
            "MntWines",
            "NumDealsPurchases",
            "NumWebPurchases",
            "NumWebVisitsMonth",
            "Dt_Customer",
            "churned",
            "clv_12m",
            "Income",
        ]
    )
    assert roles["recency"] == ["Recency"] and roles["monetary"] == ["MntWines"]
    assert roles["discount"] == ["NumDealsPurchases"] and roles["frequency"] == ["NumWebPurchases"]
    assert roles["engagement"] == ["NumWebVisitsMonth"] and roles["tenure"] == ["Dt_Customer"]
    assert roles["churn"] == ["churned"] and roles["clv"] == ["clv_12m"]
    assert "Income" not in sum(roles.values(), [])


def test_names_recover_planted_segments(planted):
    frame, truth = planted
    # profile the planted truth itself: the rules should give each planted segment its own name
    profiles = profile_segments(frame.drop(columns="customer_id"), truth)
    names = name_segments(profiles)
    assert names == {s: s for s in profiles["segment"]}


def test_overrides_and_unique_names():
    frame = pd.DataFrame(
        {"recency_days": [300.0, 310, 320, 305, 5, 6, 7, 8], "monetary": [1.0, 2, 1, 2, 9, 9, 8, 9]}
    )
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    names = name_segments(profile_segments(frame, labels), overrides={"2": "VIP"})
    assert names[2] == "VIP"
    assert len(set(names.values())) == 3


def test_a_steady_rhythm_names_loyal_regulars():
    rng = np.random.default_rng(0)
    n = 300
    labels = np.repeat([0, 1, 2], n)
    frame = pd.DataFrame(
        {
            "recency_days": np.r_[rng.normal(20, 5, n), rng.normal(25, 5, n), rng.normal(300, 30, n)],
            "orders_per_month": np.r_[
                rng.normal(2.0, 0.3, n), rng.normal(0.8, 0.2, n), rng.normal(0.2, 0.05, n)
            ],
            "order_gap_cv": np.r_[rng.normal(1.0, 0.15, n), rng.normal(0.5, 0.1, n), rng.normal(0.9, 0.3, n)],
        }
    )
    assert detect_roles(list(frame.columns))["regularity"] == ["order_gap_cv"]
    names = name_segments(profile_segments(frame, labels))
    assert names == {0: "high-value loyal", 1: "loyal regulars", 2: "hibernating"}

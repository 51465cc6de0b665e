import numpy as np
import pandas as pd
import pytest

from crmlens.predict.drift import drift_report, psi
from crmlens.predict.frame import clean_frame, encode_target, read_table
from crmlens.predict.leakage import leakage_check
from crmlens.predict.model import PropensityModel


def test_leakage_guard_names_duration_in_bank_marketing(shared_data):
    frame, _ = clean_frame(read_table(shared_data / "bank_marketing" / "bank.csv"))
    y, _ = encode_target(frame["y"], "y")
    warnings, strength = leakage_check(frame.drop(columns="y"), y)
    assert [w["column"] for w in warnings] == ["duration"]
    assert "duration" in warnings[0]["message"]
    assert strength["duration"] == max(strength.values())


def test_leakage_guard_is_quiet_on_telco(shared_data):
    frame, _ = clean_frame(read_table(shared_data / "telco_churn" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"))
    frame = frame.sample(3000, random_state=0)
    y, _ = encode_target(frame["Churn"], "Churn")
    warnings, _ = leakage_check(frame.drop(columns=["Churn", "customerID"]), y)
    assert warnings == []


def test_near_perfect_and_after_cutoff(make_planted):
    X, y = make_planted(800, seed=5)
    X = X.assign(status_code=np.where(y == 1, "closed", "open"))
    X["cancelled_at"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.where(y == 1, 40, -40), unit="D")
    warnings, _ = leakage_check(X, y, cutoff=pd.Timestamp("2024-01-01"))
    found = {(w["column"], w["reason"]) for w in warnings}
    assert ("status_code", "near_perfect") in found
    assert ("cancelled_at", "after_cutoff") in found
    assert not any(w["column"] in {"plan", "noise", "spend"} for w in warnings)


def test_psi_by_hand():
    # (0.6-0.5)ln(0.6/0.5) + (0.4-0.5)ln(0.4/0.5)
    assert psi([0.5, 0.5], [0.6, 0.4]) == pytest.approx(0.1 * np.log(1.2) - 0.1 * np.log(0.8))
    assert psi([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_drift_report_flags_the_shifted_feature(make_planted):
    X, y = make_planted(1000, seed=6)
    model = PropensityModel(n_trials=1, imbalance="none", blend="logistic").fit(X, y)
    same = drift_report(model, model._encode(make_planted(1000, seed=9)[0]))
    assert all(d["status"] == "stable" for d in same)
    shifted = make_planted(1000, seed=9)[0]
    shifted["days_inactive"] *= 3
    report = drift_report(model, model._encode(shifted))
    assert report[0]["feature"] == "days_inactive" and report[0]["status"] == "drift"

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from crmlens.cli import app


@pytest.fixture(scope="module")
def telco_sample(shared_data, tmp_path_factory):
    frame = pd.read_csv(shared_data / "telco_churn" / "WA_Fn-UseC_-Telco-Customer-Churn.csv", dtype=str)
    path = tmp_path_factory.mktemp("telco") / "telco_sample.csv"
    frame.sample(1000, random_state=0).to_csv(path, index=False)  # keeps the blank TotalCharges as text
    return path


def test_propensity_train_score_and_models(telco_sample, tmp_path):
    runner = CliRunner()
    registry = tmp_path / "models"
    model = registry / "telco.crmodel"
    result = runner.invoke(
        app,
        [
            "propensity",
            "train",
            str(telco_sample),
            "--target",
            "Churn",
            "--model",
            str(model),
            "--folds",
            "2",
            "--trials",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    metrics = payload["metrics"]
    assert {"roc_auc", "pr_auc", "brier", "log_loss"} <= set(metrics)
    assert metrics["roc_auc"] >= 0.76
    assert set(payload["anchors"]) == {"lightgbm_default", "logistic_baseline"}
    assert metrics["roc_auc"] >= payload["anchors"]["lightgbm_default"]["roc_auc"] - 0.02
    assert payload["positive_class"] == "Yes" and payload["leakage"] == []
    assert any("customerID" in n for n in payload["notes"])
    assert len(payload["calibration"]) == 10

    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        [
            "propensity",
            "score",
            str(telco_sample),
            "--model",
            str(model),
            "--out",
            str(out),
            "--capacity",
            "100",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert list(scores.columns[:3]) == ["customerID", "score", "label"]
    assert (scores["label"] == "high").sum() == 100
    assert scores["reason_1"].str.len().gt(0).mean() > 0.9
    assert json.loads(result.stdout)["rows"] == 1000

    listed = json.loads(runner.invoke(app, ["models", "list", "--registry", str(registry), "--json"]).stdout)
    assert [m["task"] for m in listed["models"]] == ["propensity"]
    shown = json.loads(runner.invoke(app, ["models", "show", str(model), "--json"]).stdout)
    assert shown["model"]["target"] == "Churn" and shown["metrics"]["roc_auc"] == metrics["roc_auc"]


def test_propensity_errors_name_the_column(telco_sample, tmp_path):
    from crmlens.exceptions import ConfigError

    result = CliRunner().invoke(
        app,
        [
            "propensity",
            "train",
            str(telco_sample),
            "--target",
            "churn",
            "--model",
            str(tmp_path / "m.crmodel"),
            "--json",
        ],
    )
    assert isinstance(result.exception, ConfigError)
    assert "did you mean 'Churn'" in str(result.exception)


def test_train_file_results_do_not_depend_on_processes(telco_sample):
    from crmlens.predict import train_file

    serial = train_file(telco_sample, "Churn", folds=2, n_trials=1, n_jobs=1)
    parallel = train_file(telco_sample, "Churn", folds=2, n_trials=1, n_jobs=2)
    for key in ("roc_auc", "pr_auc", "brier", "log_loss"):
        assert serial["metrics"][key] == parallel["metrics"][key]
    assert serial["anchors"] == parallel["anchors"]
    assert serial["model"] == parallel["model"]


def test_train_file_with_a_time_column_uses_forward_splits(telco_sample, tmp_path):
    from crmlens.predict import train_file

    frame = pd.read_csv(telco_sample, dtype=str)
    frame["signup"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").astype(str)
    path = tmp_path / "timed.csv"
    frame.to_csv(path, index=False)
    out = train_file(path, "Churn", time_col="signup", folds=2, n_trials=1)
    assert out["cv"] == "2 forward time splits on 'signup'"
    # the first third is only ever trained on: the calibration table covers the two tested thirds
    assert sum(row["rows"] for row in out["calibration"]) == 2 * (len(frame) // 3)
    assert out["metrics"]["roc_auc"] > 0.7

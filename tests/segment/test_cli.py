import json

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from crmlens.cli import app
from crmlens.exceptions import ConfigError


@pytest.fixture
def customer_csv(tmp_path, planted):
    frame, truth = planted
    path = tmp_path / "customers.csv"
    frame.head(600).to_csv(path, sep=";", index=False)
    return path, truth[:600]


def test_segment_command_json(customer_csv, tmp_path):
    path, truth = customer_csv
    out = tmp_path / "seg.csv"
    result = CliRunner().invoke(
        app,
        ["segment", str(path), "--id-col", "customer_id", "--method", "kmeans", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["n_segments"] >= 3
    assert {"silhouette", "stability", "seconds", "peak_mem_mb"} <= set(payload["metrics"])
    assert all("silhouette" in v for v in payload["anchors"].values())
    written = pd.read_csv(out)
    assert list(written.columns) == ["customer_id", "segment", "segment_name", "x", "y"]
    assert adjusted_rand_score(truth, written["segment"]) >= 0.8


def test_segment_command_rfm_and_names(customer_csv, tmp_path):
    path, _ = customer_csv
    out = tmp_path / "rfm.csv"
    result = CliRunner().invoke(
        app, ["segment", str(path), "--id-col", "customer_id", "--method", "rfm", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "champions" in set(pd.read_csv(out)["segment_name"])


def test_segment_command_errors_name_the_option(customer_csv, tmp_path):
    path, _ = customer_csv
    result = CliRunner().invoke(
        app, ["segment", str(path), "--id-col", "nope", "--out", str(tmp_path / "x.csv")]
    )
    assert isinstance(result.exception, ConfigError) and "--id-col" in str(result.exception)

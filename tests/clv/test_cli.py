"""``crmlens clv fit`` in file mode: one JSON object, per-customer output, one-line errors naming the column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from crmlens.cli import app
from crmlens.exceptions import CrmlensError

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_csv(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = pd.read_csv(
        shared_data / "cdnow" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master", "customer", "date", "cds", "value"],
        dtype={"customer": str},
    )
    raw["customer"] = "c" + raw["customer"].str.zfill(5)  # string ids
    path = tmp_path_factory.mktemp("clv") / "cdnow_sample.csv"
    raw.to_csv(path, index=False)
    return path


def test_fit_with_holdout_json_and_out(sample_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "clv.csv"
    args = ["clv", "fit", str(sample_csv), "--customer-col", "customer", "--date-col", "date"]
    args += ["--amount-col", "value", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30"]
    args += ["--margin", "0.3", "--discount-rate", "0.1", "--out", str(out), "--model", "bgnbd", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    m = payload["metrics"]
    assert {"holdout_total_error_pct", "mae", "rmse", "correlation", "seconds"} <= set(m)
    assert m["actual_total"] > 1500 and abs(m["holdout_total_error_pct"]) < 15
    assert payload["customers"] == 2357 and set(payload["tiers"]) == {"high", "medium", "low"}
    assert payload["model"] == "bgnbd" and set(payload["params"]) >= {"r", "alpha", "a", "b", "gg_p"}
    written = pd.read_csv(out)
    assert len(written) == 2357 and written["customer_id"].str.startswith("c").all()
    assert {"p_alive", "expected_purchases", "expected_spend", "clv", "tier"} <= set(written.columns)


def test_fit_without_holdout_and_holdout_days(sample_csv: Path) -> None:
    base = ["clv", "fit", str(sample_csv), "--customer-col", "customer", "--date-col", "date", "--json"]
    plain = runner.invoke(app, base)
    assert plain.exit_code == 0, plain.output
    payload = json.loads(plain.stdout)
    assert payload["holdout_end"] is None and payload["total_clv"] is None  # no amounts: no money value
    days = runner.invoke(app, [*base, "--amount-col", "value", "--holdout-days", "180", "--model", "bgnbd"])
    assert days.exit_code == 0, days.output
    assert json.loads(days.stdout)["calibration_end"] == "1998-01-01"


def test_bad_column_names_the_column_and_the_choices(sample_csv: Path) -> None:
    result = runner.invoke(
        app, ["clv", "fit", str(sample_csv), "--customer-col", "cust", "--date-col", "date"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, CrmlensError)  # crmlens.cli.main prints it on one line, exit 1
    message = str(result.exception)
    assert "['cust']" in message and "customer" in message and "\n" not in message

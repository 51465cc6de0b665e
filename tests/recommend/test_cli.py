from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from crmlens.cli import app
from crmlens.exceptions import ValidationError

runner = CliRunner()


@pytest.fixture
def interactions_file(tmp_path: Path, planted: pd.DataFrame, planted_text: dict[str, str]) -> Path:
    path = tmp_path / "orders.csv"
    frame = planted.assign(qty=1, title=planted["product_id"].map(planted_text))
    frame.loc[0, "qty"] = -1  # a cancellation: dropped
    frame.to_csv(path, index=False)
    return path


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_eval_prints_every_model(interactions_file: Path) -> None:
    out = _json(
        runner.invoke(
            app,
            [
                "recommend",
                "eval",
                str(interactions_file),
                "--user-col",
                "customer_id",
                "--item-col",
                "product_id",
                "--time-col",
                "ts",
                "--weight-col",
                "qty",
                "--item-text-col",
                "title",
                "--holdout-last",
                "2",
                "--k",
                "5",
                "--models",
                "popularity,item_knn,ease,content,hybrid",
                "--json",
            ],
        )
    )
    assert {r["model"] for r in out["models"]} == {"popularity", "item_knn", "ease", "content", "hybrid"}
    assert out["metrics"]["ndcg_at_5"] > out["anchors"]["popularity"]["ndcg_at_5"]
    assert any("qty not > 0" in note for note in out["notes"])
    assert out["split"]["ranking"].startswith("all items")


def test_fit_then_recommend_for_customers(interactions_file: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    fitted = _json(
        runner.invoke(
            app,
            [
                "recommend",
                "fit",
                str(interactions_file),
                "--user-col",
                "customer_id",
                "--item-col",
                "product_id",
                "--time-col",
                "ts",
                "--item-text-col",
                "title",
                "--out",
                str(model),
                "--json",
            ],
        )
    )
    assert model.exists() and fitted["metrics"]["customers"] == 120
    recs = _json(
        runner.invoke(app, ["recommend", "for", "0", "61", "--model", str(model), "--n", "3", "--json"])
    )
    rows = pd.DataFrame(recs["recommendations"])
    assert rows.groupby("customer_id").size().tolist() == [3, 3]
    assert rows["reason"].str.len().gt(0).all()
    assert (
        rows["reason"].str.contains("garden tool spade|kitchen mug ceramic").any()
    )  # product names, not codes
    out = tmp_path / "all.csv"
    _json(runner.invoke(app, ["recommend", "for", "--model", str(model), "--out", str(out), "--json"]))
    assert pd.read_csv(out)["customer_id"].nunique() == 120


def test_errors_name_the_column(interactions_file: Path) -> None:
    result = runner.invoke(
        app, ["recommend", "eval", str(interactions_file), "--user-col", "client", "--item-col", "product_id"]
    )
    assert isinstance(result.exception, ValidationError)
    assert "'client'" in str(result.exception)

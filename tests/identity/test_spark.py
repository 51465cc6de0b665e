"""Splink on Spark: the same links as on DuckDB, through the same `spark` choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmlens.identity import dedup_frame, read_table
from tests.identity.test_filemode import _pairs

pytestmark = pytest.mark.spark


def test_febrl_links_are_the_same_on_spark(shared_data: Path) -> None:
    from crmlens.engine.spark import SparkEngine

    frame = read_table(shared_data / "febrl" / "dataset1.csv")
    frame = frame[frame["rec_id"].str.extract(r"rec-(\d+)")[0].astype(int) < 200].reset_index(drop=True)
    truth = _pairs(frame["rec_id"].str.extract(r"rec-(\d+)")[0])
    on_duckdb, _ = dedup_frame(frame, "rec_id", seed=0)
    on_spark, summary = dedup_frame(frame, "rec_id", seed=0, spark=SparkEngine())
    found = _pairs(on_spark["resolved_id"])
    assert len(truth & found) / len(truth) >= 0.95 and len(truth & found) / len(found) >= 0.95
    assert found == _pairs(on_duckdb["resolved_id"])
    assert summary["roles"]["date_of_birth"] == "birth_date"


def test_project_engine_spark_sends_splink_to_spark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmlens.engine.spark import SparkEngine
    from crmlens.workspace import open_workspace

    (tmp_path / "crmlens.yaml").write_text("engine: spark\nsources: []\n", encoding="utf-8")
    seen: dict = {}
    monkeypatch.setattr("crmlens.identity.resolve_identities", lambda engine, **options: seen.update(options))
    with open_workspace(tmp_path) as ws:
        ws.resolve_identities()
    assert isinstance(seen["spark"], SparkEngine)

"""The report section: validation plots and tiers from the warehouse, skipped without orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crmlens.clv import score_customers, scores_frame
from crmlens.clv.report import clv_section, holdout_split
from crmlens.engine import DuckDBEngine


def _orders(n: int = 200, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, n + 1):
        rate, life, day = rng.gamma(1.5, 1 / 30), rng.exponential(300), int(rng.integers(0, 60))
        while day < min(life, 365):
            rows.append(
                (f"o{cid}-{day}", cid, pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), 25.0 + cid % 9)
            )
            day += 1 + int(rng.exponential(1 / rate))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ts", "amount"])


def test_section_has_plots_metrics_and_tiers(engine: DuckDBEngine, tmp_path: Path) -> None:
    orders = _orders()
    engine.write_table("orders", orders)
    cal, hold = holdout_split(engine)
    assert pd.Timestamp(hold) - pd.Timestamp(cal) == pd.Timedelta(days=90)
    engine.write_table("scores", scores_frame(score_customers(engine, 365, 0.3, 0.1)))
    section = clv_section(engine)
    assert section is not None and section.title == "Customer lifetime value"
    assert len(section.figures) == 2
    names = [name for name, _ in section.tables]
    assert names == [
        "Holdout validation",
        "Holdout purchases by calibration frequency",
        "CLV tiers (scores table)",
    ]
    tiers = section.tables[-1][1].set_index("tier")
    assert tiers.loc["high", "mean_clv"] > tiers.loc["low", "mean_clv"]
    from crmlens.report.builder import build_report

    out = build_report(engine, tmp_path / "report.html", [clv_section])
    assert "Cumulative repeat purchases in the holdout" in out.read_text(encoding="utf-8")


def test_section_skipped_without_orders() -> None:
    with DuckDBEngine(":memory:") as e:
        assert clv_section(e) is None

import json

import numpy as np
import pandas as pd

from crmlens.engine import DuckDBEngine
from crmlens.predict.metrics import binary_metrics, calibration_table
from crmlens.predict.report import CALIBRATION_TABLE, EVALUATION_TABLE, predict_section, save_evaluation


def _trained(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, 400)
    y = (rng.uniform(0, 1, 400) < p).astype(int)
    return {
        "metrics": binary_metrics(y, p),
        "anchors": {
            "lightgbm_default": binary_metrics(y, p**2),
            "logistic_baseline": binary_metrics(y, 1 - p),
        },
        "calibration": calibration_table(y, p),
        "split": "time",
        "rows_test": 400,
        "manifest": {"version": f"churn-v{seed}"},
    }


def test_section_shows_metrics_beside_anchors_a_calibration_plot_and_reasons():
    with DuckDBEngine(":memory:") as engine:
        assert predict_section(engine) is None
        engine.write_table(
            "scores",
            pd.DataFrame(
                {
                    "customer_id": [1, 2],
                    "task": ["churn", "churn"],
                    "model_version": ["churn-v2", "churn-v2"],
                    "score": [0.9, 0.2],
                    "label": ["high", "low"],
                    "reasons": [json.dumps([{"feature": "recency_days"}]), "[]"],
                }
            ),
        )
        save_evaluation(engine, "churn", _trained(1))
        save_evaluation(engine, "churn", _trained(2))  # a retrain replaces the task's rows
        evaluation = engine.table(EVALUATION_TABLE).to_pandas()
        assert list(evaluation["model"]) == ["crmlens", "lightgbm_default", "logistic_baseline"]
        assert set(evaluation["model_version"]) == {"churn-v2"}
        assert engine.count(CALIBRATION_TABLE) == 10
        section = predict_section(engine)
        titles = [title for title, _ in section.tables]
        assert any(t.startswith("churn: held-out metrics (time split, 400 customers)") for t in titles)
        assert any(t.startswith("churn: calibration") for t in titles)
        assert titles[-1] == "Customers most likely to leave, with reasons"
        assert len(section.figures) == 1
        xs = np.asarray(section.figures[0].data[1].x)
        np.testing.assert_allclose(np.sort(xs), np.sort([r["predicted"] for r in _trained(2)["calibration"]]))

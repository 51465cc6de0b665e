"""The report's prediction section: held-out metrics beside the anchors, a calibration plot, reasons.

Training a warehouse task keeps its held-out evaluation in two small tables, so the report (built later,
from the warehouse alone) can show how good the scores are and whether their probabilities can be
trusted, next to the customers they rank first.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlens.engine.base import Engine

__all__ = [
    "EVALUATION_TABLE",
    "CALIBRATION_TABLE",
    "save_evaluation",
    "calibration_figure",
    "predict_section",
]

EVALUATION_TABLE = "predict_evaluation"
CALIBRATION_TABLE = "predict_calibration"
_SHOWN = ["roc_auc", "pr_auc", "log_loss", "brier", "f1", "recall_at_10", "lift_at_10"]


def _replace_task_rows(engine: Engine, table: str, task: str, frame: pd.DataFrame) -> None:
    if engine.has_table(table):
        engine.execute(f'DELETE FROM "{table}" WHERE task = $task', {"task": task})
        engine.write_table(table, frame, mode="append")
    else:
        engine.write_table(table, frame)


def save_evaluation(engine: Engine, task: str, trained: dict[str, Any]) -> None:
    """Keep a trained yes/no task's held-out metrics (ours and the anchors) and calibration table."""
    if "calibration" not in trained:
        return  # a regression task (spend) has deciles, not a calibration table
    version = trained["manifest"]["version"] if trained.get("manifest") else ""
    rows = [{"model": "crmlens", **trained["metrics"]}]
    rows += [{"model": name, **metrics} for name, metrics in trained["anchors"].items()]
    evaluation = pd.DataFrame(rows)
    keep = ["model"] + [c for c in _SHOWN if c in evaluation.columns]
    evaluation = evaluation[keep].assign(
        task=task, model_version=version, split=trained.get("split", ""), test_rows=trained.get("rows_test")
    )
    calibration = pd.DataFrame(trained["calibration"]).assign(task=task, model_version=version)
    _replace_task_rows(engine, EVALUATION_TABLE, task, evaluation)
    _replace_task_rows(engine, CALIBRATION_TABLE, task, calibration)


def calibration_figure(calibration: pd.DataFrame, title: str = "Calibration on held-out customers") -> Any:
    """Observed rate against mean predicted probability per score bin, with the diagonal of perfect trust."""
    import plotly.graph_objects as go

    top = float(max(calibration["predicted"].max(), calibration["observed"].max(), 0.05))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, top], y=[0, top], mode="lines", name="perfect", line={"dash": "dash", "color": "gray"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=calibration["predicted"],
            y=calibration["observed"],
            mode="lines+markers",
            name="crmlens",
            text=[f"{int(r)} customers" for r in calibration["rows"]],
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="mean predicted probability",
        yaxis_title="observed rate",
        height=360,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


def predict_section(engine: Engine):  # noqa: ANN201 - report Section
    """Report section: scores per task, held-out metrics beside the anchors, calibration plots, and the
    customers most likely to leave with their reasons. ``None`` when nothing was scored."""
    from crmlens.report.builder import Section

    if not engine.has_rows("scores"):
        return None
    tasks = engine.query(
        "SELECT task, model_version, count(*) AS customers, round(avg(score), 4) AS mean_score "
        "FROM scores GROUP BY ALL ORDER BY task"
    ).to_pandas()
    tables: list[tuple[str, pd.DataFrame]] = [("Tasks", tasks)]
    figures = []
    intro = "Model outputs per customer, each with its reasons."
    if engine.has_table(EVALUATION_TABLE):
        evaluation = engine.table(EVALUATION_TABLE).to_pandas()
        for task, frame in evaluation.groupby("task", sort=True):
            split, rows = frame["split"].iloc[0], frame["test_rows"].iloc[0]
            shown = frame.drop(columns=["task", "split", "test_rows"]).round(4)
            tables.append(
                (f"{task}: held-out metrics ({split} split, {rows:,} customers), beside the anchors", shown)
            )
        intro += (
            " Metrics are measured on customers the model never saw (a later cutoff where the history "
            "allows it), beside default LightGBM and a default logistic regression on the same rows."
        )
    if engine.has_table(CALIBRATION_TABLE):
        calibration = engine.table(CALIBRATION_TABLE).to_pandas()
        for task, frame in calibration.groupby("task", sort=True):
            frame = frame.sort_values("bin")
            tables.append(
                (
                    f"{task}: calibration (predicted vs observed per score decile)",
                    frame[["bin", "rows", "predicted", "observed"]].round(4),
                )
            )
            figures.append(calibration_figure(frame, f"{task}: calibration on held-out customers"))
    churn = engine.query(
        "SELECT customer_id, round(score, 3) AS churn_probability, label, reasons::VARCHAR AS reasons FROM scores "
        "WHERE task = 'churn' ORDER BY score DESC LIMIT 10"
    ).to_pandas()
    if len(churn):
        tables.append(("Customers most likely to leave, with reasons", churn))
    return Section("Scores", intro, tables=tables, figures=figures)

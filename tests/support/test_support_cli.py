from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from crmlens.cli import app


@pytest.fixture(scope="module")
def files(tmp_path_factory, banking):
    folder = tmp_path_factory.mktemp("support_cli")
    # four intents keep the CLI round trip fast
    keep = {"card_arrival", "lost_or_stolen_card", "request_refund", "change_pin"}
    rows = [(x, y) for x, y in zip(banking["train_x"], banking["train_y"], strict=True) if y in keep]
    pd.DataFrame(rows, columns=["message", "intent"]).to_csv(folder / "train.csv", index=False)
    test = [(x, y) for x, y in zip(banking["test_x"], banking["test_y"], strict=True) if y in keep]
    pd.DataFrame(test, columns=["message", "intent"]).to_csv(folder / "test.csv", index=False)
    pd.DataFrame(
        {
            "question": [
                "My card has not arrived",
                "I lost my card",
                "How do I get a refund?",
                "怎么申请退款？",
            ],
            "answer": [
                "Cards arrive in 3 to 5 days.",
                "Freeze it in the app.",
                "Use the order page.",
                "在订单页申请。",
            ],
        }
    ).to_csv(folder / "faq.csv", index=False)
    return folder


def _json(result) -> dict:  # noqa: ANN001
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_intent_train_eval_predict(files):
    runner = CliRunner()
    model = files / "intent.joblib"
    out = _json(
        runner.invoke(app, ["intent", "train", str(files / "train.csv"), "--text-col", "message",
                            "--label-col", "intent", "--model", str(model), "--method", "tfidf", "--json"])
    )  # fmt: skip
    assert out["metrics"]["accuracy"] >= 0.85 and out["intents"] == 4 and model.exists()
    out = _json(
        runner.invoke(app, ["intent", "eval", str(files / "test.csv"), "--text-col", "message",
                            "--label-col", "intent", "--model", str(model), "--json"])
    )  # fmt: skip
    metrics = out["metrics"]
    assert metrics["accuracy"] >= 0.85 and 0 <= metrics["automation_rate"] <= 1
    assert {"macro_f1", "automated_precision", "latency_ms"} <= set(metrics)
    assert len(out["per_intent"]) == 4
    out = _json(
        runner.invoke(app, ["intent", "predict", str(files / "test.csv"), "--text-col", "message",
                            "--model", str(model), "--out", str(files / "pred.csv"), "--json"])
    )  # fmt: skip
    pred = pd.read_csv(files / "pred.csv")
    assert {"predicted_intent", "confidence", "queue", "automated"} <= set(pred.columns)
    assert len(pred) == out["rows"] and (pred["predicted_intent"] == pred["intent"]).mean() >= 0.85
    assert (pred.loc[~pred["automated"], "queue"] == "human_triage").all()


def test_intent_eval_holdout_without_model(files):
    out = _json(
        CliRunner().invoke(app, ["intent", "eval", str(files / "train.csv"), "--text-col", "message",
                                 "--label-col", "intent", "--method", "tfidf", "--json"])
    )  # fmt: skip
    assert "holdout" in out["evaluation"] and out["metrics"]["accuracy"] >= 0.8


def test_faq_build_and_ask(files):
    runner = CliRunner()
    index = files / "faq_index"
    out = _json(
        runner.invoke(app, ["faq", "build", str(files / "faq.csv"), "--out", str(index), "--no-embeddings",
                            "--min-score", "0.3", "--json"])
    )  # fmt: skip
    assert out["entries"] == 4
    out = _json(runner.invoke(app, ["faq", "ask", str(index), "how can I get a refund", "--json"]))
    assert out["answered"] and out["answer"] == "Use the order page."
    out = _json(runner.invoke(app, ["faq", "ask", str(index), "我想退款", "--json"]))
    assert out["answer"] == "在订单页申请。"
    out = _json(runner.invoke(app, ["faq", "ask", str(index), "tell me a joke", "--json"]))
    assert out["answered"] is False and out["answer"] is None


def test_errors_name_the_column(files, monkeypatch):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from crmlens.cli import main; main()", "intent", "train", str(files / "train.csv"),
         "--text-col", "body", "--label-col", "intent", "--model", str(files / "x.joblib")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "'body'" in result.stderr and "--text-col" in result.stderr

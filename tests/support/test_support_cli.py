from __future__ import annotations

import json

import numpy as np
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


@pytest.fixture(scope="module")
def faq_files(tmp_path_factory, banking):
    """An FAQ of the twelve intents (5 phrasings each) and labelled questions that are not in it."""
    folder = tmp_path_factory.mktemp("faq_calibration")
    train = pd.DataFrame({"question": banking["train_x"], "intent": banking["train_y"]})
    in_faq = train.groupby("intent", sort=True).head(5)
    answers = {i: f"How we handle {i.replace('_', ' ').lower()}." for i in sorted(set(train["intent"]))}
    pd.DataFrame(
        {"faq_id": in_faq["intent"], "question": in_faq["question"], "answer": in_faq["intent"].map(answers)}
    ).to_csv(folder / "faq.csv", index=False)
    rest = train.drop(index=in_faq.index)
    # labelled by answer text (the FAQ's ids are not needed), plus questions the FAQ cannot answer
    outside = [
        "tell me a joke",
        "what is the weather tomorrow",
        "who won the football match",
        "recommend a film",
    ]
    pd.DataFrame(
        {
            "text": rest["question"].tolist() + outside,
            "right": rest["intent"].map(answers).tolist() + [""] * 4,
        }
    ).to_csv(folder / "labelled.csv", index=False)
    pd.DataFrame({"question": banking["test_x"], "faq_id": banking["test_y"]}).to_csv(
        folder / "test.csv", index=False
    )
    return folder


def test_faq_build_calibrates_min_score(faq_files):
    from crmlens.support import evaluate_faq, load_faq_index

    runner = CliRunner()
    index_dir = faq_files / "calibrated"
    out = _json(
        runner.invoke(app, ["faq", "build", str(faq_files / "faq.csv"), "--out", str(index_dir), "--no-embeddings",
                            "--calibrate", str(faq_files / "labelled.csv"), "--calibrate-question-col", "text",
                            "--calibrate-label-col", "right", "--target-precision", "0.9", "--json"])
    )  # fmt: skip
    calibration = out["calibration"]
    labelled = pd.read_csv(faq_files / "labelled.csv")
    assert calibration["target_precision"] == 0.9 and calibration["questions"] == len(labelled)
    assert calibration["unanswerable"] == 4
    assert out["min_score"] == calibration["min_score"]

    # recompute on the labelled questions from the saved index: the stored score is the lowest that
    # keeps answered precision at 0.9, and answers only part of them
    index = load_faq_index(index_dir)
    assert index.min_score == calibration["min_score"] and index.calibration_ == calibration
    ids, scores = index.rank(labelled["text"].tolist(), k=1)
    expected = index.entry_ids(labelled["right"].tolist())
    correct = (ids[:, 0] == expected) & (expected != "")
    answered = scores[:, 0] >= index.min_score
    assert 0.05 < answered.mean() < 1.0
    assert answered.mean() == pytest.approx(calibration["answer_rate"])
    assert correct[answered].mean() >= 0.9
    below = scores[:, 0] < index.min_score
    next_score = scores[below, 0].max()  # answering down to the next score would miss the target
    assert correct[scores[:, 0] >= next_score].mean() < 0.9

    # held-out questions: the threshold carries over (loosely) to questions it was not chosen on
    test = pd.read_csv(faq_files / "test.csv")
    held = evaluate_faq(index, test["question"].tolist(), test["faq_id"].tolist())
    assert held["answered_precision"] >= 0.8 and 0.05 < held["answer_rate"] < 1.0

    # `faq ask` answers above the calibrated score and says "no good answer" below it
    top_q = labelled["text"][int(np.argmax(np.where(correct, scores[:, 0], -1)))]
    low_q = labelled["text"][int(np.argmin(scores[:, 0]))]
    out = _json(runner.invoke(app, ["faq", "ask", str(index_dir), top_q, "--json"]))
    assert out["answered"] and out["min_score"] == calibration["min_score"] and out["calibration"]
    out = _json(runner.invoke(app, ["faq", "ask", str(index_dir), low_q, "--json"]))
    assert out["answered"] is False and out["answer"] is None
    assert out["matches"][0]["score"] < out["min_score"]
    result = runner.invoke(app, ["faq", "ask", str(index_dir), low_q])
    assert result.exit_code == 0 and "no good answer" in result.stdout


def test_faq_calibration_errors(faq_files):
    runner = CliRunner()
    base = ["faq", "build", str(faq_files / "faq.csv"), "--out", str(faq_files / "bad"), "--no-embeddings",
            "--calibrate", str(faq_files / "labelled.csv"), "--calibrate-question-col", "text"]  # fmt: skip
    result = runner.invoke(app, [*base, "--calibrate-label-col", "right", "--min-score", "0.3"])
    assert result.exit_code != 0 and "not both" in str(result.exception)
    result = runner.invoke(app, [*base, "--calibrate-label-col", "intent"])
    assert result.exit_code != 0 and "'intent'" in str(result.exception)
    result = runner.invoke(app, [*base, "--calibrate-label-col", "text"])  # questions as labels: no entry
    assert result.exit_code != 0 and "names an FAQ entry" in str(result.exception)

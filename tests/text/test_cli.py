"""``crmlens sentiment`` and ``crmlens text`` in file mode: one JSON object, files written, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crmlens.cli import app
from crmlens.exceptions import CrmlensError

runner = CliRunner()


@pytest.fixture(scope="module")
def labelled_csv(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(shared_data / "airline_tweets" / "Tweets.csv").sample(900, random_state=0)
    frame["tweet_created"] = pd.to_datetime(frame["tweet_created"], utc=True).dt.strftime("%Y-%m-%d")
    path = tmp_path_factory.mktemp("text") / "tweets.csv"
    frame[["text", "airline_sentiment", "airline", "tweet_created"]].to_csv(path, index=False)
    return path


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_eval_predict_round_trip(labelled_csv: Path, tmp_path: Path) -> None:
    model = tmp_path / "tweets.npz"
    trained = _json(["sentiment", "train", str(labelled_csv), "--text-col", "text", "--label-col",
                     "airline_sentiment", "--model", str(model), "--cv", "2", "--json"])  # fmt: skip
    assert model.exists() and trained["classes"] == ["negative", "neutral", "positive"]
    assert trained["metrics"]["accuracy"] >= 0.65 and 0 < trained["metrics"]["macro_f1"] <= 1
    evaluated = _json(["sentiment", "eval", str(labelled_csv), "--text-col", "text", "--label-col",
                       "airline_sentiment", "--model", str(model), "--json"])  # fmt: skip
    assert evaluated["metrics"]["accuracy"] > trained["metrics"]["accuracy"]  # training data: optimistic
    assert set(evaluated["per_class"]) == {"negative", "neutral", "positive"}
    out = tmp_path / "scored.csv"
    predicted = _json(
        ["sentiment", "predict", str(labelled_csv), "--text-col", "text", "--out", str(out), "--json"]
    )
    scored = pd.read_csv(out)
    assert predicted["n"] == len(scored) == 900
    assert {"language", "sentiment_label", "sentiment_probability", "sentiment_score", "keywords"} <= set(
        scored
    )
    assert predicted["metrics"]["rows_per_s"] > 0


def test_text_commands(labelled_csv: Path) -> None:
    topics = _json(["text", "topics", str(labelled_csv), "--text-col", "text", "--n-topics", "4",
                    "--negative-only", "--json"])  # fmt: skip
    assert topics["metrics"]["n_topics"] == 4 and len(topics["topics"][0]["examples"]) == 3
    keywords = _json(["text", "keywords", str(labelled_csv), "--text-col", "text", "--top", "5", "--json"])
    assert len(keywords["keywords"]) == 5 and {"aspect", "mentions"} <= set(keywords["aspects"][0])
    trends = _json(["text", "trends", str(labelled_csv), "--text-col", "text", "--time-col", "tweet_created",
                    "--by", "airline", "--freq", "D", "--json"])  # fmt: skip
    assert trends["metrics"]["n_periods"] >= 5 and "negative_share" in trends["trend"][0]


def test_errors_name_the_column(labelled_csv: Path) -> None:
    with pytest.raises(CrmlensError, match="no column"):
        runner.invoke(app, ["sentiment", "eval", str(labelled_csv), "--text-col", "body", "--label-col", "x"],
                      catch_exceptions=False)  # fmt: skip
    with pytest.raises(CrmlensError, match="--model OUT.npz"):
        runner.invoke(app, ["sentiment", "train", str(labelled_csv)], catch_exceptions=False)


@pytest.mark.neural
def test_train_ensemble_then_predict_with_it(labelled_csv: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="the [neural] extra is not installed")
    model = tmp_path / "stack.npz"
    trained = _json(["sentiment", "train", str(labelled_csv), "--text-col", "text", "--label-col",
                     "airline_sentiment", "--kind", "ensemble", "--model", str(model), "--cv", "0", "--json"])  # fmt: skip
    assert trained["kind"] == "ensemble" and set(trained["members"]) == {"tfidf", "minilm"}
    for member in trained["members"].values():  # 3 classes: one coefficient per class and member class
        assert 0.3 < member["inner_accuracy"] <= 1.0 and np.shape(member["coefficients"]) == (3, 3)
    out = tmp_path / "scored.csv"
    _json(["sentiment", "predict", str(labelled_csv), "--text-col", "text", "--model", str(model),
           "--out", str(out), "--top-k", "0", "--json"])  # fmt: skip
    scored = pd.read_csv(out)
    truth = scored["airline_sentiment"].to_numpy()
    assert (scored["sentiment_label"].to_numpy() == truth).mean() >= 0.8  # seen in training: optimistic
    bad = runner.invoke(app, ["sentiment", "train", str(labelled_csv), "--text-col", "text", "--label-col",
                              "airline_sentiment", "--kind", "bert", "--model", str(model)])  # fmt: skip
    assert isinstance(bad.exception, CrmlensError) and "--kind" in str(bad.exception)

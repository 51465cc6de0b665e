"""``crmlens sentiment train|eval|predict`` and ``crmlens text topics|keywords|trends`` on one file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer

from crmlens.cli._output import console, emit, progress
from crmlens.exceptions import ConfigError, ValidationError


def _read(path: Path, columns: list[str]) -> Any:
    import pandas as pd

    if not path.exists():
        raise ConfigError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(path)
        elif suffix in (".json", ".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=suffix != ".json")
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: cannot read it as a table ({exc})") from exc
    missing = [c for c in columns if c and c not in frame.columns]
    if missing:
        raise ValidationError(f"{path}: no column(s) {missing}; columns are {list(frame.columns)}")
    return frame


def _write(frame: Any, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)


def _model(path: Path | None) -> Any:
    from crmlens.text.sentiment import default_model, load_model

    return default_model() if path is None else load_model(path)


def register(app: typer.Typer) -> None:
    sentiment = typer.Typer(
        help="Sentiment of texts (zh and en): train, evaluate, predict.", no_args_is_help=True
    )
    text = typer.Typer(help="Text analytics on a file: topics, keywords and aspects, trends and alerts.",
                       no_args_is_help=True)  # fmt: skip
    app.add_typer(sentiment, name="sentiment")
    app.add_typer(text, name="text")

    @sentiment.command("train")
    def train(
        file: Path = typer.Argument(None, help="CSV/Parquet/XLSX with a text and a label column."),
        text_col: str = typer.Option("text", "--text-col"),
        label_col: str = typer.Option("label", "--label-col"),
        model: Path = typer.Option(
            None, "--model", help="Where to write the model (.npz; a folder for --default)."
        ),
        language: str = typer.Option("auto", "--language", help="auto, zh or en: the word tokenizer."),
        kind: str = typer.Option(
            "tfidf",
            "--kind",
            help="tfidf (fast, the shipped kind) or ensemble (TF-IDF stacked with multilingual-e5 "
            "embeddings for zh, a char CNN without the [multilingual] extra, MiniLM for en; [neural]).",
        ),
        default: str = typer.Option(None, "--default", help="zh, en or all: retrain the shipped models."),
        cv: int = typer.Option(5, "--cv", help="Folds of the cross-validation printed (0: none)."),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Train a sentiment model on your labels (prints k-fold CV metrics), or rebuild the shipped ones."""
        from crmlens.text.sentiment import SentimentClassifier, canonical_labels
        from crmlens.text.training import DEFAULT_PARAMS, cross_validate, load_corpus, train_default

        if default:
            languages = ["zh", "en"] if default == "all" else [default]
            if any(lang not in DEFAULT_PARAMS for lang in languages):
                raise ConfigError(f"--default must be zh, en or all, not {default!r}")
            written, metrics = [], {}
            with progress(not as_json) as bar:
                task = bar.add_task("training shipped models", total=len(languages) * (cv + 1))
                for lang in languages:
                    if cv:
                        texts, labels, _ = load_corpus(lang)
                        params = dict(DEFAULT_PARAMS[lang], random_state=seed)
                        metrics[lang] = cross_validate(SentimentClassifier(**params), texts, labels, cv, seed,
                                                       on_fold=lambda _: bar.advance(task))  # fmt: skip
                    written.append(str(train_default(lang, model, seed)))
                    bar.advance(task)
            payload = {"metrics": metrics.get(languages[0], {}), "per_language": metrics, "models": written}
            emit(
                payload,
                as_json,
                tables=[("cross-validated", [{"language": k, **v} for k, v in metrics.items()])],
            )
            return
        if file is None:
            raise ConfigError(
                "sentiment train: give a FILE with --text-col and --label-col, or --default zh|en|all"
            )
        if model is None:
            raise ConfigError("sentiment train: --model OUT.npz is required (where the model is written)")
        if kind not in ("tfidf", "ensemble"):
            raise ConfigError(f"--kind must be tfidf or ensemble, not {kind!r}")
        frame = _read(file, [text_col, label_col]).dropna(subset=[text_col, label_col])
        texts, labels = frame[text_col].astype(str).tolist(), canonical_labels(frame[label_col])
        if kind == "ensemble":
            from crmlens.text.preprocess import detect_language
            from crmlens.text.training import ensemble_model

            if language not in ("zh", "en"):  # the language most texts are in
                counts = Counter(detect_language(t) for t in texts[:2000])
                language = "zh" if counts["zh"] > counts["en"] else "en"
            estimator = ensemble_model(language, seed)
        else:
            estimator = SentimentClassifier(language=language, random_state=seed)
        metrics = {}
        with progress(not as_json) as bar:
            task = bar.add_task("cross-validating and training", total=cv + 1)
            if cv:
                metrics = cross_validate(
                    estimator, texts, labels, cv, seed, on_fold=lambda _: bar.advance(task)
                )
            fitted = estimator.fit(texts, labels)
            bar.advance(task)
        metadata = {"trained_on": file.name, "n_train": len(texts), "cv": metrics, "kind": kind}
        path = fitted.save(model, metadata=metadata)
        members = {"members": fitted.describe()} if kind == "ensemble" else {}
        emit({"metrics": metrics, "model": str(path), "classes": [str(c) for c in fitted.classes_],
              "n": len(texts), "kind": kind, **members}, as_json, tables=[(f"{cv}-fold CV", [metrics])])  # fmt: skip
        if not as_json:
            console.print(f"model written to {path}")

    @sentiment.command("eval")
    def evaluate_cmd(
        file: Path = typer.Argument(..., help="CSV/Parquet/XLSX with a text and a label column."),
        text_col: str = typer.Option("text", "--text-col"),
        label_col: str = typer.Option("label", "--label-col"),
        model: Path = typer.Option(
            None, "--model", help="A saved model (default: the shipped zh + en models)."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Accuracy, macro-F1, per-class report and texts/s of a model on labelled texts."""
        from crmlens.text.sentiment import canonical_labels
        from crmlens.text.training import evaluate

        frame = _read(file, [text_col, label_col]).dropna(subset=[text_col, label_col])
        scorer = _model(model)
        with progress(not as_json) as bar:
            bar.add_task(f"scoring {len(frame):,} texts", total=None)
            result = evaluate(
                scorer, frame[text_col].astype(str).tolist(), canonical_labels(frame[label_col])
            )
        per_class = result.pop("per_class")
        payload = {"metrics": {k: result[k] for k in ("accuracy", "macro_f1", "rows_per_s")}, "n": result["n"],
                   "per_class": per_class, "model": str(model) if model else "shipped"}  # fmt: skip
        rows = [{"class": k, **v} for k, v in per_class.items()]
        emit(payload, as_json, tables=[("metrics", [payload["metrics"]]), ("per class", rows)])

    @sentiment.command("predict")
    def predict(
        file: Path = typer.Argument(..., help="CSV/Parquet/XLSX with a text column."),
        text_col: str = typer.Option("text", "--text-col"),
        model: Path = typer.Option(
            None, "--model", help="A saved model (default: the shipped zh + en models)."
        ),
        out: Path = typer.Option(..., "--out", help="Output file (.csv or .parquet): the input plus scores."),
        top_k: int = typer.Option(5, "--top-k", help="Keywords per text (0: none)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Label, probability, score, language and keywords for every row."""
        import time

        from crmlens.text.pipeline import annotate

        frame = _read(file, [text_col])
        scorer = _model(model)
        start = time.perf_counter()
        with progress(not as_json) as bar:
            bar.add_task(f"scoring {len(frame):,} texts", total=None)
            scored = annotate(frame, text_col, model=scorer, top_k=top_k)
        seconds = time.perf_counter() - start
        _write(scored, out)
        counts = scored["sentiment_label"].value_counts().to_dict()
        payload = {"metrics": {"rows_per_s": len(scored) / max(seconds, 1e-9), "seconds": seconds},
                   "out": str(out), "n": len(scored), "labels": counts,
                   "languages": scored["language"].value_counts().to_dict()}  # fmt: skip
        emit(payload, as_json, tables=[("labels", [counts])])
        if not as_json:
            console.print(f"written to {out}")

    @text.command("topics")
    def topics(
        file: Path = typer.Argument(..., help="CSV/Parquet/XLSX with a text column."),
        text_col: str = typer.Option("text", "--text-col"),
        n_topics: int = typer.Option(8, "--n-topics"),
        negative_only: bool = typer.Option(
            False, "--negative-only", help="Topics of the negative texts only."
        ),
        model: Path = typer.Option(
            None, "--model", help="Sentiment model for --negative-only (default: shipped)."
        ),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Topics with top terms and example texts (NMF over TF-IDF)."""
        from crmlens.text.topics import discover_topics

        frame = _read(file, [text_col]).dropna(subset=[text_col])
        texts = frame[text_col].astype(str).tolist()
        with progress(not as_json) as bar:
            bar.add_task("finding topics", total=None)
            if negative_only:
                labels = _model(model).predict(texts)
                texts = [t for t, label in zip(texts, labels, strict=True) if label == "negative"]
            result = discover_topics(texts, n_topics=n_topics, random_state=seed)
        rows = result.table.to_dict(orient="records")
        emit({"metrics": {"n_texts": len(texts), "n_topics": len(rows)}, "topics": rows}, as_json,
             tables=[("topics", [{**r, "top_terms": ", ".join(r["top_terms"]),
                                  "examples": " | ".join(e[:60] for e in r["examples"][:2])} for r in rows])])  # fmt: skip

    @text.command("keywords")
    def keywords(
        file: Path = typer.Argument(..., help="CSV/Parquet/XLSX with a text column."),
        text_col: str = typer.Option("text", "--text-col"),
        top: int = typer.Option(20, "--top"),
        method: str = typer.Option("tfidf", "--method", help="tfidf or textrank (Chinese)."),
        aspects: bool = typer.Option(
            True, "--aspects/--no-aspects", help="Also score aspects (delivery, price ...)."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """The collection's keywords, and the sentiment of each aspect customers mention."""
        from crmlens.text.keywords import aspect_sentiment, aspect_summary, top_keywords

        if method not in ("tfidf", "textrank"):
            raise ConfigError(f"--method must be tfidf or textrank, not {method!r}")
        frame = _read(file, [text_col]).dropna(subset=[text_col])
        texts = frame[text_col].astype(str).tolist()
        with progress(not as_json) as bar:
            bar.add_task("extracting keywords", total=None)
            words = top_keywords(texts, top_k=top, method=method)
            summary = aspect_summary(aspect_sentiment(texts)) if aspects else None
        payload = {"metrics": {"n_texts": len(texts)}, "keywords": words.to_dict(orient="records"),
                   "aspects": [] if summary is None else summary.to_dict(orient="records")}  # fmt: skip
        emit(payload, as_json, tables=[("keywords", payload["keywords"]), ("aspects", payload["aspects"])])

    @text.command("trends")
    def trends(
        file: Path = typer.Argument(..., help="CSV/Parquet/XLSX with a text and a time column."),
        text_col: str = typer.Option("text", "--text-col"),
        time_col: str = typer.Option("ts", "--time-col"),
        by: str = typer.Option(None, "--by", help="Group column: product, category, channel, segment ..."),
        freq: str = typer.Option("W", "--freq", help="D, W or M."),
        sigma: float = typer.Option(3.0, "--sigma", help="Control limit in binomial standard errors."),
        min_count: int = typer.Option(10, "--min-count", help="Fewest texts per period to judge it."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Sentiment per period (and group), and alerts where the negative share spikes."""
        from crmlens.text.pipeline import annotate
        from crmlens.text.trends import sentiment_alerts, sentiment_trend

        if freq not in ("D", "W", "M"):
            raise ConfigError(f"--freq must be D, W or M, not {freq!r}")
        frame = _read(file, [text_col, time_col, by] if by else [text_col, time_col])
        with progress(not as_json) as bar:
            bar.add_task(f"scoring {len(frame):,} texts", total=None)
            scored = annotate(frame, text_col, top_k=0)
            trend = sentiment_trend(scored, time_col, by, freq)
            alerts = sentiment_alerts(scored, time_col, by, freq, text_col=text_col, sigma=sigma,
                                      min_count=min_count)  # fmt: skip
        payload = {"metrics": {"n_texts": len(scored), "n_periods": int(trend["period"].nunique()),
                               "n_alerts": len(alerts)},
                   "trend": trend.to_dict(orient="records"), "alerts": alerts.to_dict(orient="records")}  # fmt: skip
        emit(payload, as_json, tables=[("trend", payload["trend"][-30:]), ("alerts", payload["alerts"])])

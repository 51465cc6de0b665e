"""``crmlens intent train|eval|predict`` and ``crmlens faq build|ask``: support automation on files."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from crmlens.cli._output import emit, progress
from crmlens.exceptions import ConfigError, ValidationError

_METHOD_HELP = "auto (ensemble with the [neural] extra, else tfidf), tfidf, embed or ensemble."


def _read(path: Path) -> pd.DataFrame:
    """A CSV / TSV / Parquet / Excel / JSON-lines file as a frame, or an error naming the file."""
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith((".xlsx", ".xls")):
            return pd.read_excel(path)
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True)
        if name.endswith((".tsv", ".tsv.gz")):
            return pd.read_csv(path, sep="\t")
        return pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as a table: {exc}") from None


def _column(frame: pd.DataFrame, col: str, path: Path, option: str) -> pd.Series:
    if col not in frame.columns:
        raise ValidationError(
            f"{path}: no column {col!r} for {option} (columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[col]


def _labelled(frame: pd.DataFrame, path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    texts = _column(frame, text_col, path, "--text-col")
    labels = _column(frame, label_col, path, "--label-col")
    keep = texts.notna() & labels.notna()
    if keep.sum() < 4:
        raise ValidationError(f"{path}: fewer than 4 rows with both {text_col!r} and {label_col!r}")
    return texts[keep].astype(str).tolist(), labels[keep].astype(str).tolist()


def _support_config(project: Path | None):  # noqa: ANN202 - SupportConfig
    from crmlens.support import SupportConfig

    if project is None:
        return SupportConfig()
    from crmlens.config import load_config

    return SupportConfig.from_mapping(load_config(project).support, str(project))


def register(app: typer.Typer) -> None:
    intent = typer.Typer(help="Intent of support messages: train, evaluate, predict (English and Chinese).")
    faq = typer.Typer(help="FAQ answers: build a hybrid BM25 + embedding index, ask it questions.")
    app.add_typer(intent, name="intent")
    app.add_typer(faq, name="faq")

    @intent.command("train")
    def intent_train(
        file: Path = typer.Argument(..., help="Labelled messages (CSV, TSV, Parquet, Excel, JSON lines)."),
        text_col: str = typer.Option(..., "--text-col", help="Column of the message text."),
        label_col: str = typer.Option(..., "--label-col", help="Column of the intent label."),
        model_out: Path = typer.Option(..., "--model", help="Where to save the model (a .joblib file)."),
        method: str = typer.Option("auto", "--method", help=_METHOD_HELP),
        target_precision: float = typer.Option(0.95, "--target-precision", help="Precision of automation."),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Train an intent model; prints out-of-fold accuracy and the automation rate at the target precision."""
        from sklearn.metrics import f1_score

        from crmlens.support import IntentClassifier

        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("reading", total=3)
            texts, labels = _labelled(_read(file), file, text_col, label_col)
            bar.update(task, advance=1, description=f"training ({method}, {len(texts):,} messages)")
            model = IntentClassifier(model=method, target_precision=target_precision, random_state=seed)
            model.fit(texts, labels)
            bar.update(task, advance=1, description="saving")
            model.save(model_out)
            bar.update(task, advance=1, description="done")
        metrics: dict[str, float] = {"seconds": time.perf_counter() - start}
        if len(model.oof_pred_):
            truth = [str(v) for v in labels]
            metrics |= {
                "accuracy": float(model.oof_correct_.mean()),
                "macro_f1": float(
                    f1_score(truth, model.oof_pred_.astype(str), average="macro", zero_division=0)
                ),
                "automation_rate": float(model.oof_automation_rate_),
                "threshold": float(model.threshold_),
            }
        payload = {
            "metrics": metrics,
            "anchors": {},
            "evaluation": f"{model.calibration_cv}-fold out-of-fold on the training file",
            "model": model.model_,
            "intents": len(model.classes_),
            "rows": len(texts),
            "target_precision": target_precision,
            "saved": str(model_out),
        }
        emit(payload, as_json, [("intent train", [{"model": model.model_, "rows": len(texts), **metrics}])])

    @intent.command("eval")
    def intent_eval(
        file: Path = typer.Argument(..., help="Labelled messages."),
        text_col: str = typer.Option(..., "--text-col"),
        label_col: str = typer.Option(..., "--label-col"),
        model_path: Path = typer.Option(
            None, "--model", help="A saved model to test on the whole file; without it, hold out --test-size."
        ),
        method: str = typer.Option("auto", "--method", help=_METHOD_HELP),
        test_size: float = typer.Option(0.25, "--test-size", help="Held-out share when no --model is given."),
        target_precision: float = typer.Option(0.95, "--target-precision"),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Accuracy, macro-F1, a per-intent report and the automation rate at the target precision."""
        from sklearn.model_selection import train_test_split

        from crmlens.support import IntentClassifier, evaluate_intents, load_intent_model
        from crmlens.support.evaluate import single_message_latency

        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("reading", total=3)
            texts, labels = _labelled(_read(file), file, text_col, label_col)
            bar.update(task, advance=1)
            if model_path is not None:
                model = load_intent_model(model_path)
                test_texts, test_labels, how = texts, labels, f"saved model {model_path} on all rows"
            else:
                if not 0 < test_size < 1:
                    raise ConfigError("intent eval: --test-size must be between 0 and 1")
                counts = pd.Series(labels).value_counts()
                stratify = labels if counts.min() >= 2 else None
                tr_x, test_texts, tr_y, test_labels = train_test_split(
                    texts, labels, test_size=test_size, random_state=seed, stratify=stratify
                )
                bar.update(task, description=f"training ({method}, {len(tr_x):,} messages)")
                model = IntentClassifier(model=method, target_precision=target_precision, random_state=seed)
                model.fit(tr_x, tr_y)
                how = f"trained on {1 - test_size:.0%}, tested on a stratified {test_size:.0%} holdout"
            bar.update(task, advance=1, description="evaluating")
            metrics, report = evaluate_intents(model, test_texts, test_labels, target_precision)
            metrics |= single_message_latency(model, test_texts, repeats=100)
            bar.update(task, advance=1, description="done")
        metrics["seconds"] = time.perf_counter() - start
        payload = {
            "metrics": metrics,
            "anchors": {},
            "evaluation": how,
            "model": model.model_,
            "rows": len(test_texts),
            "per_intent": report.to_dict("records"),
        }
        worst = report.sort_values("f1").head(15).to_dict("records")
        shown = (
            "accuracy", "macro_f1", "automation_rate", "automated_precision", "threshold", "latency_ms",
            "latency_p95_ms",
        )  # fmt: skip
        summary = {"model": model.model_, "rows": len(test_texts)} | {k: metrics[k] for k in shown}
        emit(
            payload,
            as_json,
            [("intent eval", [summary]), ("weakest intents", worst)],
        )

    @intent.command("predict")
    def intent_predict(
        file: Path = typer.Argument(..., help="Messages to classify."),
        text_col: str = typer.Option(..., "--text-col"),
        model_path: Path = typer.Option(..., "--model", help="A model saved by `crmlens intent train`."),
        out: Path = typer.Option(
            ..., "--out", help="Output file (.csv or .parquet): input + intent columns."
        ),
        project: Path = typer.Option(
            None, "--project", help="crmlens.yaml whose support: section maps intents to queues."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Intent, calibrated confidence, queue and whether it can be automated, for every row."""
        from crmlens.support import Router, load_intent_model
        from crmlens.support.triage import _threshold

        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("reading", total=3)
            frame = _read(file)
            texts = _column(frame, text_col, file, "--text-col").fillna("").astype(str).tolist()
            model = load_intent_model(model_path)
            config = _support_config(project)
            bar.update(task, advance=1, description=f"predicting {len(texts):,} messages")
            intents, conf = model.predict_with_confidence(texts)
            router = Router.from_config(config, _threshold(model, config))
            out_frame = frame.copy()
            out_frame["predicted_intent"] = intents
            out_frame["confidence"] = conf
            out_frame["queue"] = router.route(list(intents), list(conf))  # queue of the predicted intent
            out_frame["automated"] = out_frame["queue"] != router.human_queue
            bar.update(task, advance=1, description="writing")
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".parquet":
                out_frame.to_parquet(out, index=False)
            else:
                out_frame.to_csv(out, index=False)
            bar.update(task, advance=1, description="done")
        seconds = time.perf_counter() - start
        payload = {
            "metrics": {
                "automation_rate": float(out_frame["automated"].mean()) if len(out_frame) else 0.0,
                "rows_per_s": len(texts) / seconds if seconds else None,
                "seconds": seconds,
            },
            "anchors": {},
            "rows": len(texts),
            "threshold": router.threshold,
            "out": str(out),
            "intents": out_frame["predicted_intent"].value_counts().head(20).to_dict(),
        }
        top = [{"intent": k, "messages": v} for k, v in payload["intents"].items()]
        emit(
            payload,
            as_json,
            [("intent predict", [payload["metrics"] | {"rows": len(texts)}]), ("intents", top)],
        )

    @faq.command("build")
    def faq_build(
        file: Path = typer.Argument(..., help="FAQ table: one row per question phrasing."),
        out: Path = typer.Option(..., "--out", help="Index folder to write."),
        question_col: str = typer.Option("question", "--question-col"),
        answer_col: str = typer.Option("answer", "--answer-col"),
        language_col: str = typer.Option("language", "--language-col", help="Optional; detected if absent."),
        id_col: str = typer.Option("faq_id", "--id-col", help="Optional: rows sharing it are one entry."),
        min_score: float = typer.Option(
            None, "--min-score", help="Below this score: no good answer (default 0.45, or --calibrate)."
        ),
        calibrate: Path = typer.Option(
            None,
            "--calibrate",
            help="Labelled questions (not in the FAQ) to choose --min-score for --target-precision.",
        ),
        calibrate_question_col: str = typer.Option(
            "question", "--calibrate-question-col", help="Question column of the --calibrate file."
        ),
        calibrate_label_col: str = typer.Option(
            "faq_id",
            "--calibrate-label-col",
            help="Its right entry: a faq_id or the answer text; no match = the FAQ cannot answer it.",
        ),
        target_precision: float = typer.Option(
            0.9, "--target-precision", help="Share of answered questions that must get the right entry."
        ),
        lexical_weight: float = typer.Option(0.2, "--lexical-weight", help="BM25 share of the hybrid score."),
        embeddings: bool = typer.Option(
            True, "--embeddings/--no-embeddings", help="Use sentence embeddings."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Index an FAQ for `crmlens faq ask`; with --calibrate, choose its no-answer score from labelled questions."""
        from crmlens.support import FaqIndex
        from crmlens.support.embeddings import neural_available

        if calibrate is not None and min_score is not None:
            raise ConfigError("faq build: give --min-score or --calibrate, not both")
        if not 0 < target_precision <= 1:
            raise ConfigError(f"faq build: --target-precision must be in (0, 1], got {target_precision}")
        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("reading", total=3)
            frame = _read(file)
            questions: list[str] = []
            labels: list[object] = []
            if calibrate is not None:
                labelled = _read(calibrate)
                asked = _column(labelled, calibrate_question_col, calibrate, "--calibrate-question-col")
                named = _column(labelled, calibrate_label_col, calibrate, "--calibrate-label-col")
                keep = asked.notna() & (asked.astype(str).str.strip() != "")
                questions = asked[keep].astype(str).tolist()
                labels = named[keep].tolist()
                if not questions:
                    raise ValidationError(f"{calibrate}: no questions in column {calibrate_question_col!r}")
            bar.update(task, advance=1, description=f"indexing {len(frame):,} questions")
            use = "auto" if embeddings else False
            if embeddings and not neural_available():
                use = False
            index = FaqIndex(
                lexical_weight=lexical_weight,
                use_embeddings=use,
                min_score=0.45 if min_score is None else min_score,
            ).fit(frame, question_col, answer_col, language_col, id_col)
            bar.update(task, advance=1, description=f"calibrating on {len(questions):,} questions")
            if questions:
                expected = index.entry_ids(labels)
                if not (expected != "").any():
                    raise ValidationError(
                        f"{calibrate}: no value of {calibrate_label_col!r} names an FAQ entry (a faq_id or "
                        "an answer of the FAQ); name the right column with --calibrate-label-col"
                    )
                index.calibrate(questions, labels, target_precision)
            index.save(out)
            bar.update(task, advance=1, description="done")
        calibration = getattr(index, "calibration_", None) if questions else None
        payload = {
            "metrics": {"seconds": time.perf_counter() - start},
            "anchors": {},
            "questions": len(index.rows_),
            "entries": len(index.entries_),
            "embeddings": bool(index.use_embeddings_),
            "min_score": index.min_score,
            "calibration": calibration,
            "out": str(out),
        }
        summary = {k: v for k, v in payload.items() if k not in ("metrics", "anchors", "calibration")}
        tables = [("faq build", [summary])]
        if calibration:
            title = f"calibration: min_score for {target_precision:.0%} answered precision"
            if calibration["answer_rate"] == 0:
                title = f"calibration: no score reaches {target_precision:.0%} precision, every question goes to a person"
            tables.append((title, [calibration]))
        emit(payload, as_json, tables)

    @faq.command("ask")
    def faq_ask(
        index_path: Path = typer.Argument(..., help="Index folder from `crmlens faq build`."),
        question: str = typer.Argument(..., help="The customer's question."),
        k: int = typer.Option(3, "--k", help="How many entries to show."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """The best FAQ answers with their scores, or 'no good answer'."""
        from crmlens.support import load_faq_index

        index = load_faq_index(index_path)
        matches = index.ask(question, k=k)
        answered = bool(matches and matches[0].answered)
        payload: dict[str, object] = {
            "metrics": {},
            "anchors": {},
            "question": question,
            "answered": answered,
            "answer": matches[0].answer if answered else None,
            "min_score": index.min_score,
            "calibration": getattr(index, "calibration_", None),
            "matches": [m.to_dict() for m in matches],
        }
        rows = [{"rank": i + 1, **m.to_dict()} for i, m in enumerate(matches)]
        title = "faq ask" if answered else f"faq ask: no good answer (best score below {index.min_score:.2f})"
        emit(payload, as_json, [(title, rows)])

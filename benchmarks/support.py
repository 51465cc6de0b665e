"""Support benchmark on BANKING77 (train split): intents, automation at 95% precision, FAQ retrieval.

The official test split is not used here: every figure is measured on a stratified 25% holdout of
the train split, with the automation threshold chosen on out-of-fold predictions of the other 75%.
Anchors, measured in the same run on the same split:

- ``tfidf_logreg``: TF-IDF word 1-2-grams + char 2-5-grams with logistic regression (the usual
  strong baseline; its threshold is chosen the same way, on 3-fold out-of-fold probabilities).
- ``bm25_only`` and ``embedding_only``: the two halves of the hybrid FAQ retriever.

Learning curve: the default intent model and ``tfidf_logreg`` are also trained on a stratified half
of the training part and scored on the same holdout, to show how accuracy grows with more data.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.pipeline import make_pipeline, make_union

from crmlens.benchmarking import BenchOptions, measure
from crmlens.datasets.shared import shared_file
from crmlens.support import FaqIndex, IntentClassifier, evaluate_faq, evaluate_intents
from crmlens.support.embeddings import encode, neural_available
from crmlens.support.evaluate import single_message_latency
from crmlens.support.routing import automation_at_precision, threshold_for_precision
from crmlens.text.preprocess import normalize

TARGET = 0.95
FAQ_PHRASINGS = 5
FAQ_TARGET = 0.90
LATENCY_MESSAGES = 300


def _anchor_logreg(train_x, train_y, test_x, test_y, seed: int, with_oof: bool) -> dict:
    def pipe():  # noqa: ANN202
        return make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
            ),
            LogisticRegression(C=10, max_iter=1000),
        )

    with measure() as m:
        model = pipe().fit(train_x, train_y)
    proba = model.predict_proba(test_x)
    pred = model.classes_[proba.argmax(axis=1)]
    conf = proba.max(axis=1)
    correct = pred == np.asarray(test_y, dtype=object)
    out = {
        "accuracy": float(accuracy_score(test_y, pred)),
        "macro_f1": float(f1_score(test_y, pred, average="macro")),
        "automation_rate_oracle": threshold_for_precision(conf, correct, TARGET)[1],
        "seconds": m.seconds,
        "peak_mem_mb": m.peak_mem_mb,
        "latency_ms": _latency(lambda t: model.predict_proba(t), test_x),
        "train_rows": len(train_x),
    }
    if with_oof:
        oof = cross_val_predict(pipe(), train_x, train_y, cv=3, method="predict_proba")
        classes = np.unique(train_y)
        oof_ok = classes[oof.argmax(axis=1)] == np.asarray(train_y, dtype=object)
        threshold = threshold_for_precision(oof.max(axis=1), oof_ok, TARGET)[0]
        out["automation_rate"], out["automated_precision"] = automation_at_precision(conf, correct, threshold)
    return out


def _latency(predict, texts) -> float:  # noqa: ANN001
    times = []
    for i, text in enumerate(list(texts)[:LATENCY_MESSAGES]):
        start = time.perf_counter()
        predict([f"{text} ({i})"])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:]))


def run(options: BenchOptions) -> dict:
    data = pd.read_csv(shared_file("banking77", "train.csv"))
    notes = [
        "BANKING77 train split (10,003 queries, 77 intents); figures on a stratified 25% holdout "
        "(the official test split is not in the shared data).",
        "automation_rate: share of holdout messages at or above the confidence threshold chosen on "
        "3-fold out-of-fold predictions of the training part for 95% precision; automated_precision "
        "is the precision those messages actually got.",
        "inner_cv_accuracy: 3-fold out-of-fold accuracy inside the training part, where every setting "
        "of the models was chosen; ensemble_linear is the ensemble without its RBF-kernel block.",
        "peak_mem_mb of the intent rows: peak resident memory of this process and the worker processes "
        "that train the fold models beside the final one, above this process's memory at the start.",
        f"latency: one new message at a time, {LATENCY_MESSAGES} holdout messages; latency_ms is the median "
        "wall time, latency_p95_ms the 95th percentile, latency_cpu_ms the median CPU time (what a "
        "message costs when the machine is busy and wall time waits for a core).",
    ]
    if options.quick or options.rows:
        n = options.rows or 2500
        data = data.sample(n=min(n, len(data)), random_state=options.seed)
        data = data[data["category"].map(data["category"].value_counts()) >= 6]
    texts = data["text"].astype(str).to_numpy(dtype=object)
    labels = data["category"].astype(str).to_numpy(dtype=object)
    train, test = train_test_split(
        np.arange(len(texts)), test_size=0.25, stratify=labels, random_state=options.seed
    )
    dataset = f"banking77 holdout ({len(test):,} of {len(texts):,})"
    results: list[dict] = []
    anchors: dict[str, dict] = {}

    neural = neural_available()
    if neural:
        with measure() as m:
            encode([normalize(t) for t in texts])
        notes.append(
            f"sentence embeddings of all {len(texts):,} texts: {m.seconds:.0f} s (cached for every model)"
        )

    per_model: dict[str, dict] = {}
    # "ensemble_linear": the ensemble without its kernel block (the previous default), for comparison
    variants = {
        "tfidf": {"model": "tfidf"},
        "embed": {"model": "embed"},
        "ensemble_linear": {"model": "ensemble", "kernel_components": 0, "embedding_weight": 1.5},
        "ensemble": {"model": "ensemble"},
    }
    chosen = "ensemble" if neural else "tfidf"
    # learning curve: the default model and the anchor also learn from a stratified half of the
    # training part (same seed) and are scored on the same holdout
    half = train_test_split(train, train_size=0.5, stratify=labels[train], random_state=options.seed)[0]
    runs = [(kind, params, train) for kind, params in variants.items()] if neural else []
    runs = runs or [("tfidf", variants["tfidf"], train)]
    runs.append((chosen, variants[chosen], half))
    for kind, params, rows in runs:
        with measure(children=True) as m:  # the fold models train in worker processes
            model = IntentClassifier(**params, target_precision=TARGET, random_state=options.seed)
            model.fit(texts[rows], labels[rows])
        metrics, _ = evaluate_intents(model, texts[test], labels[test])
        # 3-fold out-of-fold accuracy inside the training part: what the model's choices were made on
        metrics["inner_cv_accuracy"] = float(model.oof_correct_.mean()) if len(model.oof_correct_) else None
        metrics |= single_message_latency(model, texts[test], repeats=LATENCY_MESSAGES)
        metrics["seconds"] = m.seconds
        metrics["peak_mem_mb"] = m.peak_mem_mb
        metrics["train_rows"] = len(rows)
        name = kind if rows is train else f"{kind}_half"
        per_model[name] = metrics
        results.append({"dataset": dataset, "model": f"intent {name}", **_intent_cols(metrics)})

    for name, rows in (("tfidf_logreg", train), ("tfidf_logreg_half", half)):
        anchor = _anchor_logreg(
            list(texts[rows]),
            list(labels[rows]),
            list(texts[test]),
            list(labels[test]),
            options.seed,
            with_oof=not options.quick and rows is train,
        )
        anchors[name] = anchor
        results.append({"dataset": dataset, "model": f"anchor {name}", **_intent_cols(anchor)})
    notes.append(
        f"learning curve: '{chosen}_half' and 'tfidf_logreg_half' learn from a stratified half of the "
        f"training part ({len(half):,} of {len(train):,} messages, same seed), scored on the same "
        "holdout; the other rows learn from all of it."
    )

    # FAQ retrieval: each intent is one FAQ entry, phrased by FAQ_PHRASINGS training questions;
    # the score threshold is calibrated on other training questions, recall measured on the holdout.
    train_frame = pd.DataFrame({"text": texts[train], "intent": labels[train]})
    in_faq = train_frame.groupby("intent", sort=True).head(FAQ_PHRASINGS)
    faq = pd.DataFrame({"faq_id": in_faq["intent"], "question": in_faq["text"], "answer": in_faq["intent"]})
    rest = train_frame.drop(index=in_faq.index)
    calib = rest.sample(n=min(1500, len(rest)), random_state=options.seed)
    faq_rows = {}
    variants = [("hybrid", {}), ("bm25_only", {"use_embeddings": False})]
    if neural:
        variants.append(("embedding_only", {"lexical_weight": 0.0}))
    else:
        variants = variants[1:]
    for name, params in variants:
        with measure() as m:
            index = FaqIndex(**params).fit(faq)
            index.calibrate(calib["text"].tolist(), calib["intent"].tolist(), FAQ_TARGET)
        scores = evaluate_faq(index, list(texts[test]), list(labels[test]))
        scores["seconds"] = m.seconds
        faq_rows[name] = scores
        label = "faq hybrid" if name == "hybrid" else f"anchor faq {name}"
        results.append(
            {"dataset": f"banking77 as FAQ ({FAQ_PHRASINGS} phrasings/intent)", "model": label, **scores}
        )
    notes.append(
        f"FAQ: 77 entries x {FAQ_PHRASINGS} training phrasings; 'no good answer' threshold calibrated for "
        f"{FAQ_TARGET:.0%} answered precision on 1,500 other training questions; answer_rate and "
        "answered_precision are what that threshold gives on the holdout."
    )
    for name in ("bm25_only", "embedding_only"):
        if name in faq_rows:
            anchors[name] = faq_rows[name]

    headline = dict(per_model[chosen])
    faq_key = "hybrid" if neural else "bm25_only"
    headline |= {f"faq_{k}": v for k, v in faq_rows[faq_key].items() if k != "seconds"}
    notes.append(f"metrics: the default model ('auto' = {chosen}) and the {faq_key} FAQ retriever.")
    return {"metrics": headline, "anchors": anchors, "results": results, "notes": notes}


def _intent_cols(metrics: dict) -> dict:
    keys = (
        "accuracy", "macro_f1", "inner_cv_accuracy", "automation_rate", "automated_precision", "automation_rate_oracle",
        "latency_ms", "latency_p95_ms", "latency_cpu_ms", "seconds", "peak_mem_mb", "train_rows",
    )  # fmt: skip
    return {k: metrics.get(k) for k in keys}

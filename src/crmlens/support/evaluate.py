"""Honest evaluation of intent models and FAQ retrieval, shared by the CLI and the benchmark.

The automation threshold is always the one chosen on training data (out-of-fold); the test set
only measures what that threshold gives. The "oracle" rate (the threshold chosen on the test set
itself) is reported beside it for reference, never used for decisions.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from crmlens.support.faq import FaqIndex
from crmlens.support.intents import IntentClassifier
from crmlens.support.routing import automation_at_precision, threshold_for_precision

__all__ = ["evaluate_faq", "evaluate_intents", "single_message_latency"]

_RUNS = itertools.count()


def evaluate_intents(
    model: IntentClassifier,
    texts: Sequence[str],
    labels: Sequence[Any],
    target_precision: float | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Metrics on labelled texts and a per-intent report (precision, recall, f1, support).

    Metrics: ``accuracy``, ``macro_f1``, ``log_loss``, ``automation_rate`` and
    ``automated_precision`` at the model's threshold (or one re-chosen on the model's out-of-fold
    predictions for ``target_precision``), ``threshold`` and ``automation_rate_oracle``.
    """
    truth = np.asarray([str(v) for v in labels], dtype=object)
    start = time.perf_counter()
    proba = model.predict_proba(list(texts))
    seconds = time.perf_counter() - start
    pred = model.classes_[proba.argmax(axis=1)]
    conf = proba.max(axis=1)
    correct = pred == truth
    target = model.target_precision if target_precision is None else target_precision
    threshold = model.threshold_
    if target_precision is not None and len(model.oof_confidence_):
        threshold = threshold_for_precision(model.oof_confidence_, model.oof_correct_, target)[0]
    rate, precision = automation_at_precision(conf, correct, threshold)
    _, oracle, _ = threshold_for_precision(conf, correct, target)
    index = {c: i for i, c in enumerate(model.classes_)}
    known = np.array([t in index for t in truth])
    p_true = np.array(
        [proba[i, index[t]] if k else 0.0 for i, (t, k) in enumerate(zip(truth, known, strict=True))]
    )
    metrics = {
        "accuracy": float(accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
        "log_loss": float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0)))),
        "target_precision": float(target),
        "threshold": float(threshold),
        "automation_rate": rate,
        "automated_precision": precision,
        "automation_rate_oracle": oracle,
        "rows_per_s": len(truth) / seconds if seconds > 0 else float("nan"),
    }
    names = sorted(set(truth) | set(pred))
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=names, zero_division=0)
    report = pd.DataFrame({"intent": names, "precision": p, "recall": r, "f1": f, "support": s})
    return metrics, report


def single_message_latency(
    model: IntentClassifier, texts: Sequence[str], repeats: int = 300
) -> dict[str, float]:
    """Wall time of predicting one new message at a time: ``latency_ms`` (median), ``latency_p95_ms``.

    ``latency_cpu_ms`` is the median CPU time of the process per message: on a busy machine wall
    time waits for a free core, CPU time shows what the prediction itself costs. Texts are suffixed
    so that none was embedded before (no cache hit). Texts are reused in turn when fewer than
    ``repeats`` are given.
    """
    run = next(_RUNS)  # fresh texts on every call: no embedding cache hit from an earlier measurement
    pool = list(texts)
    sample = [f"{pool[i % len(pool)]} ({run}.{i})" for i in range(repeats + 1)]
    model.predict_with_confidence([sample[0]])  # warm-up
    wall, cpu = [], []
    for text in sample[1:]:
        start, start_cpu = time.perf_counter(), time.process_time()
        model.predict_with_confidence([text])
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return {
        "latency_ms": float(np.median(wall)),
        "latency_p95_ms": float(np.percentile(wall, 95)),
        "latency_cpu_ms": float(np.median(cpu)),
    }


def evaluate_faq(index: FaqIndex, questions: Sequence[str], expected_ids: Sequence[Any]) -> dict[str, float]:
    """``recall_at_1``, ``recall_at_3``, ``mrr_at_3``, and the answered share and its precision at ``min_score``."""
    ids, scores = index.rank(list(questions), k=3)
    expected = np.asarray([str(e) for e in expected_ids], dtype=object)
    hits = ids.astype(str) == expected[:, None]
    ranks = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    answered = scores[:, 0] >= index.min_score
    return {
        "recall_at_1": float(hits[:, 0].mean()),
        "recall_at_3": float(hits.any(axis=1).mean()),
        "mrr_at_3": float(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0).mean()),
        "answer_rate": float(answered.mean()),
        "answered_precision": float(hits[answered, 0].mean()) if answered.any() else float("nan"),
    }

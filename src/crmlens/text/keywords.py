"""Keywords and aspects: what a text is about, and how the customer feels about each aspect.

Chinese keywords come from ``jieba.analyse`` (TF-IDF against jieba's own IDF table, or TextRank);
English keywords from a TF-IDF fitted on the batch itself. Aspects are dictionary terms (delivery,
price, quality, service ... and 物流, 价格, 质量, 服务 ...) scored with the sentiment of the clause they
appear in, so "the food was great but delivery took ages" is positive on food, negative on delivery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from crmlens.text.preprocess import CHINESE_STOP_WORDS, detect_language, normalize, tokenize

__all__ = ["ASPECT_TERMS", "aspect_sentiment", "aspect_summary", "extract_keywords", "top_keywords"]

# aspect -> terms; English terms match whole words (plural s allowed), Chinese terms match substrings.
ASPECT_TERMS: dict[str, tuple[str, ...]] = {
    "delivery": (
        "delivery", "deliver", "delivered", "shipping", "shipment", "ship", "shipped", "courier", "arrive",
        "arrived", "package", "parcel", "tracking", "物流", "快递", "送货", "配送", "发货", "送餐", "送达",
        "送到", "骑手", "外卖小哥", "派送", "速度",
    ),
    "price": (
        "price", "prices", "pricing", "cheap", "expensive", "cost", "costs", "overpriced", "value", "fee",
        "fees", "refund", "money", "价格", "价钱", "便宜", "贵", "性价比", "实惠", "划算", "退款", "收费",
    ),
    "quality": (
        "quality", "broken", "defect", "defective", "damaged", "durable", "material", "质量", "品质",
        "做工", "材质", "坏了", "破损",
    ),
    "service": (
        "service", "staff", "support", "agent", "agents", "crew", "attendant", "attendants", "customer service",
        "rude", "helpful", "服务", "客服", "态度", "前台", "服务员", "商家",
    ),
    "food": (
        "food", "meal", "taste", "tasty", "drink", "drinks", "snack", "味道", "口味", "口感", "好吃",
        "难吃", "菜", "饭", "分量", "份量", "咸", "辣",
    ),
    "room": ("room", "bed", "bathroom", "clean", "dirty", "noise", "noisy", "房间", "卫生", "床", "隔音",
             "设施", "早餐", "环境"),
    "schedule": (
        "delay", "delayed", "late", "cancelled", "canceled", "cancellation", "wait", "waiting", "hold",
        "on time", "missed", "connection", "延误", "晚点", "等了", "太慢", "慢",
    ),
    "booking": ("booking", "book", "reservation", "website", "app", "online", "check-in", "checkin", "预订",
                "订单", "预定", "入住", "退房"),
}  # fmt: skip

_CLAUSE_RE = re.compile(r"[。！？!?；;\n]+|[.,，、](?:\s|$)|,|，|\bbut\b|但是|不过|可是", re.IGNORECASE)


@lru_cache(maxsize=1)
def _jieba_tfidf():  # noqa: ANN202 - jieba has no types
    import jieba.analyse

    from crmlens.text.preprocess import _jieba

    _jieba()
    extractor = jieba.analyse.TFIDF()
    extractor.stop_words = set(extractor.stop_words) | set(CHINESE_STOP_WORDS)
    return extractor


@lru_cache(maxsize=1)
def _jieba_textrank():  # noqa: ANN202
    import jieba.analyse

    from crmlens.text.preprocess import _jieba

    _jieba()
    extractor = jieba.analyse.TextRank()
    extractor.stop_words = set(extractor.stop_words) | set(CHINESE_STOP_WORDS)
    return extractor


def _keyword_token(token: str) -> bool:
    return len(token) > 1 and not token.isdigit() and not token.startswith(("@", "<")) and "_" not in token


def extract_keywords(
    texts: Sequence[str], top_k: int = 5, languages: Sequence[str] | None = None
) -> list[list[str]]:
    """The ``top_k`` keywords of each text (Chinese: jieba TF-IDF; other: TF-IDF fitted on the batch)."""
    normalized = [normalize(t) for t in texts]
    langs = list(languages) if languages is not None else [detect_language(t) for t in normalized]
    out: list[list[str]] = [[] for _ in normalized]
    zh_idx = [i for i, lang in enumerate(langs) if lang == "zh"]
    if zh_idx:
        extractor = _jieba_tfidf()
        for i in zh_idx:
            out[i] = [w.lower() for w in extractor.extract_tags(normalized[i], topK=top_k)]
    other_idx = [i for i, lang in enumerate(langs) if lang != "zh"]
    if other_idx:
        docs = [
            [t for t in tokenize(normalized[i], langs[i], negation=False) if _keyword_token(t)]
            for i in other_idx
        ]
        if any(docs):
            vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True)
            matrix = vec.fit_transform(docs).tocsr()
            terms = vec.get_feature_names_out()
            for row, i in enumerate(other_idx):
                start, end = matrix.indptr[row], matrix.indptr[row + 1]
                cols, weights = matrix.indices[start:end], matrix.data[start:end]
                order = np.lexsort((terms[cols], -weights))[:top_k]
                out[i] = [str(terms[cols[j]]) for j in order]
    return out


def top_keywords(
    texts: Sequence[str], top_k: int = 20, language: str | None = None, method: str = "tfidf"
) -> pd.DataFrame:
    """The keywords of a whole collection: ``keyword``, ``score`` and ``documents`` (texts holding it).

    ``method="textrank"`` uses jieba's TextRank for Chinese; English always uses summed TF-IDF.
    """
    normalized = [normalize(t) for t in texts if isinstance(t, str) and t.strip()]
    if not normalized:
        return pd.DataFrame(columns=["keyword", "score", "documents"])
    if language is None:
        langs = [detect_language(t) for t in normalized[:500]]
        language = max(set(langs), key=langs.count)
    if language == "zh":
        extractor = _jieba_textrank() if method == "textrank" else _jieba_tfidf()
        joined = "\n".join(normalized)
        pairs = (
            extractor.extract_tags(joined, topK=top_k, withWeight=True)
            if method != "textrank"
            else (extractor.textrank(joined, topK=top_k, withWeight=True))
        )
        rows = [(w.lower(), float(s), sum(w in t for t in normalized)) for w, s in pairs]
    else:
        docs = [[t for t in tokenize(x, language, negation=False) if _keyword_token(t)] for x in normalized]
        vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=min(2, len(docs)))
        matrix = vec.fit_transform(docs)
        scores = np.asarray(matrix.sum(axis=0)).ravel()
        counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        terms = vec.get_feature_names_out()
        order = np.lexsort((terms, -scores))[:top_k]
        rows = [(str(terms[j]), float(scores[j] / len(docs)), int(counts[j])) for j in order]
    return pd.DataFrame(rows, columns=["keyword", "score", "documents"])


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_RE.split(text) if c and c.strip()]


@lru_cache(maxsize=8)
def _term_patterns(items: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, str, re.Pattern[str]]]:
    out = []
    for aspect, terms in items:
        for term in terms:
            if re.search(r"[\u4e00-\u9fff]", term):
                out.append((aspect, term, re.compile(re.escape(term))))
            else:
                out.append((aspect, term, re.compile(rf"\b{re.escape(term)}(?:s|es)?\b", re.IGNORECASE)))
    return out


def aspect_sentiment(
    texts: Sequence[str],
    model: Any = None,
    aspects: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """One row per (text, aspect) mention: ``row, aspect, term, clause, sentiment_label, sentiment_score``.

    ``row`` is the position of the text in ``texts``. The clause (split at sentence punctuation,
    commas and "but") around the term is scored with ``model`` (default: the shipped model);
    ``sentiment_score`` is P(positive) - P(negative). The first matching term of an aspect in a
    clause counts once.
    """
    from crmlens.text.sentiment import default_model

    table = aspects if aspects is not None else ASPECT_TERMS
    patterns = _term_patterns(tuple((a, tuple(t)) for a, t in table.items()))
    hits: list[tuple[int, str, str, str]] = []
    for row, text in enumerate(texts):
        for clause in _clauses(normalize(text)):
            seen: set[str] = set()
            for aspect, term, pattern in patterns:
                if aspect not in seen and pattern.search(clause):
                    seen.add(aspect)
                    hits.append((row, aspect, term, clause))
    frame = pd.DataFrame(hits, columns=["row", "aspect", "term", "clause"])
    if frame.empty:
        return frame.assign(sentiment_label=pd.Series(dtype=object), sentiment_score=pd.Series(dtype=float))
    scorer = model if model is not None else default_model()
    clauses = frame["clause"].drop_duplicates().tolist()
    proba = scorer.predict_proba(clauses)
    classes = [str(c) for c in scorer.classes_]
    pos = proba[:, classes.index("positive")] if "positive" in classes else 0.0
    neg = proba[:, classes.index("negative")] if "negative" in classes else 0.0
    labels = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]
    lookup = pd.DataFrame({"clause": clauses, "sentiment_label": labels, "sentiment_score": pos - neg})
    return frame.merge(lookup, on="clause", how="left")


def aspect_summary(mentions: pd.DataFrame) -> pd.DataFrame:
    """Per aspect: mentions, negative share and mean score, most talked-about first."""
    if mentions.empty:
        return pd.DataFrame(columns=["aspect", "mentions", "negative_share", "mean_score"])
    grouped = mentions.assign(negative=mentions["sentiment_label"].eq("negative")).groupby("aspect")
    out = grouped.agg(
        mentions=("row", "size"), negative_share=("negative", "mean"), mean_score=("sentiment_score", "mean")
    )
    return out.reset_index().sort_values(["mentions", "aspect"], ascending=[False, True], ignore_index=True)

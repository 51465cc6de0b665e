"""Topics: what groups of texts (typically the negative ones) are about, with words and examples.

NMF over TF-IDF of :func:`~crmlens.text.preprocess.tokenize` tokens (jieba for Chinese): fast,
deterministic under a seed, and its topics read well on short customer texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from crmlens.exceptions import ValidationError
from crmlens.text.preprocess import detect_language, normalize, tokenize

__all__ = ["TopicModel", "Topics", "discover_topics"]


@dataclass
class Topics:
    """The result of :func:`discover_topics`: one row per topic and one topic per text."""

    table: pd.DataFrame  # topic, size, share, top_terms (list), examples (list)
    assignments: np.ndarray  # topic per input text (-1 for empty texts)


def _topic_tokens(text: str, language: str | None) -> list[str]:
    return [
        t
        for t in tokenize(text, language, negation=False)
        if len(t) > 1 and not t.isdigit() and not t.startswith(("@", "<", "#"))
    ]


class TopicModel:
    """NMF topic model over TF-IDF, with the scikit-learn fit/transform shape.

    Parameters
    ----------
    n_topics : int
    language : str or None
        Tokeniser language; ``None`` detects it per text.
    max_df : float
        Ignore terms in more than this share of texts (they name no topic).
    min_df : int
    random_state : int
    """

    def __init__(
        self,
        n_topics: int = 8,
        language: str | None = None,
        max_df: float = 0.5,
        min_df: int = 2,
        random_state: int = 0,
    ) -> None:
        self.n_topics = n_topics
        self.language = language
        self.max_df = max_df
        self.min_df = min_df
        self.random_state = random_state

    def fit(self, texts: Sequence[str]) -> TopicModel:
        """Learn the vocabulary and the topic-term matrix."""
        docs = [_topic_tokens(normalize(t), self.language) for t in texts]
        if sum(bool(d) for d in docs) < max(2, self.min_df):
            raise ValidationError(f"topics: only {sum(bool(d) for d in docs)} non-empty texts; need more")
        self.vectorizer_ = TfidfVectorizer(
            analyzer=lambda d: d, min_df=min(self.min_df, len(docs)), max_df=self.max_df, sublinear_tf=True
        )
        try:
            matrix = self.vectorizer_.fit_transform(docs)
        except ValueError:  # max_df/min_df pruned every term on a tiny corpus
            self.vectorizer_ = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True)
            matrix = self.vectorizer_.fit_transform(docs)
        k = max(1, min(self.n_topics, matrix.shape[0] - 1, matrix.shape[1]))
        self.nmf_ = NMF(n_components=k, init="nndsvda", random_state=self.random_state, max_iter=400)
        with np.errstate(invalid="ignore"):  # a perfect fit on tiny corpora makes sklearn take sqrt(-0.0)
            self.doc_topic_ = self.nmf_.fit_transform(matrix)
        self.terms_ = self.vectorizer_.get_feature_names_out()
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Topic weights per text."""
        docs = [_topic_tokens(normalize(t), self.language) for t in texts]
        return self.nmf_.transform(self.vectorizer_.transform(docs))

    def top_terms(self, n_terms: int = 10) -> list[list[str]]:
        return [[str(self.terms_[j]) for j in np.argsort(-row)[:n_terms]] for row in self.nmf_.components_]


def discover_topics(
    texts: Sequence[str],
    n_topics: int = 8,
    language: str | None = None,
    n_terms: int = 8,
    n_examples: int = 3,
    random_state: int = 0,
) -> Topics:
    """Topics of a collection: top terms, size, share and the most typical example texts of each.

    Examples
    --------
    >>> texts = ["late delivery again", "delivery was late", "rude staff at the desk",
    ...          "staff were rude", "late delivery", "so rude staff"]
    >>> discover_topics(texts, n_topics=2, n_terms=2).table["top_terms"].map(sorted).tolist()
    [['delivery', 'late'], ['rude', 'staff']]
    """
    texts = ["" if not isinstance(t, str) else t for t in texts]
    if language is None and texts:
        langs = [detect_language(t) for t in texts[:500] if t]
        language = max(set(langs), key=langs.count) if langs else None
    model = TopicModel(n_topics=n_topics, language=language, random_state=random_state).fit(texts)
    weights = model.doc_topic_
    assignments = np.where(weights.sum(axis=1) > 0, weights.argmax(axis=1), -1)
    rows = []
    for k, terms in enumerate(model.top_terms(n_terms)):
        members = np.flatnonzero(assignments == k)
        best: list[int] = []  # the most typical texts, each distinct text once
        for i in members[np.argsort(-weights[members, k], kind="stable")]:
            if len(best) == n_examples:
                break
            if all(texts[i] != texts[j] for j in best):
                best.append(int(i))
        rows.append(
            {
                "topic": k,
                "size": int(len(members)),
                "share": float(len(members) / max(1, (assignments >= 0).sum())),
                "top_terms": terms,
                "examples": [texts[i] for i in best],
            }
        )
    table = pd.DataFrame(rows).sort_values(["size", "topic"], ascending=[False, True], ignore_index=True)
    return Topics(table=table, assignments=assignments)

"""FAQ answers: hybrid BM25 + sentence-embedding retrieval, with "no good answer" below a score.

An FAQ is a table of ``question, answer[, language][, faq_id]``; rows that share a ``faq_id`` (or,
without one, the same answer) are alternative phrasings of one entry, and an entry scores as its
best phrasing. BM25 comes from ``bm25s`` over the shared tokenizer (jieba for Chinese). Its score is
divided by the score a question made of exactly the query's words would get, so it lies in [0, 1]
and means "share of the query's weighted words that the entry covers"; the embedding score is the
cosine similarity. The hybrid score is their weighted mean; Chinese queries use BM25 alone, since
the bundled embedding model is English. Indexes save as Parquet + NumPy + JSON, never pickle.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.support.embeddings import ENCODER, encode, neural_available
from crmlens.text.preprocess import detect_language, normalize, tokenize

__all__ = ["FaqIndex", "FaqMatch", "load_faq_index"]

_FORMAT = "crmlens-faq-1"


@dataclass(frozen=True)
class FaqMatch:
    """One retrieved FAQ entry: its answer, the phrasing that matched, and how well."""

    faq_id: str
    question: str
    answer: str
    score: float
    lexical: float
    semantic: float | None
    answered: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _terms(text: str, language: str | None = None) -> list[str]:
    return tokenize(text, language=language, negation=False)


class FaqIndex:
    """Hybrid FAQ retriever.

    Parameters
    ----------
    lexical_weight : float
        Weight of the normalised BM25 score; the embedding cosine gets the rest.
    use_embeddings : {"auto", True, False}
        ``auto`` uses embeddings when the ``[neural]`` extra is installed.
    min_score : float
        Hybrid score under which :meth:`ask` reports no good answer.
    k1, b : float
        BM25 parameters.

    Examples
    --------
    >>> faq = pd.DataFrame({"question": ["How do I reset my password?", "When will my card arrive?"],
    ...                     "answer": ["Use 'Forgot password' on the login page.", "Cards arrive in 5 days."]})
    >>> index = FaqIndex(use_embeddings=False, min_score=0.3).fit(faq)
    >>> index.ask("forgot my password")[0].answer
    "Use 'Forgot password' on the login page."
    """

    def __init__(
        self,
        lexical_weight: float = 0.2,
        use_embeddings: str | bool = "auto",
        min_score: float = 0.45,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        self.lexical_weight = lexical_weight
        self.use_embeddings = use_embeddings
        self.min_score = min_score
        self.k1 = k1
        self.b = b

    # -- building -------------------------------------------------------------------------------
    def fit(
        self,
        faq: pd.DataFrame,
        question_col: str = "question",
        answer_col: str = "answer",
        language_col: str | None = "language",
        id_col: str | None = "faq_id",
    ) -> FaqIndex:
        """Index an FAQ table (one row per phrasing)."""
        for col in (question_col, answer_col):
            if col not in faq.columns:
                raise ValidationError(
                    f"FAQ: column {col!r} not found (columns: {', '.join(map(str, faq.columns))}); "
                    "name it with --question-col / --answer-col"
                )
        frame = faq.dropna(subset=[question_col, answer_col])
        if frame.empty:
            raise ValidationError("FAQ: no rows with both a question and an answer")
        questions = [normalize(q) for q in frame[question_col]]
        answers = [str(a).strip() for a in frame[answer_col]]
        if language_col and language_col in frame.columns:
            languages = [
                str(v) if isinstance(v, str) and v else detect_language(q)
                for v, q in zip(frame[language_col], questions, strict=True)
            ]
        else:
            languages = [detect_language(q) for q in questions]
        if id_col and id_col in frame.columns:
            ids = [str(v) for v in frame[id_col]]
        else:
            first: dict[str, str] = {}
            ids = [first.setdefault(a, str(len(first) + 1)) for a in answers]
        self.rows_ = pd.DataFrame(
            {"faq_id": ids, "question": questions, "answer": answers, "language": languages}
        )
        self._build()
        return self

    def _build(self, embeddings: np.ndarray | None = None) -> None:
        import bm25s

        self.use_embeddings_ = (
            neural_available() if self.use_embeddings == "auto" else bool(self.use_embeddings)
        )
        docs = [
            _terms(q, lang) for q, lang in zip(self.rows_["question"], self.rows_["language"], strict=True)
        ]
        n = len(docs)
        df = Counter(t for d in docs for t in set(d))
        self.idf_ = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.unseen_idf_ = math.log(1 + (n + 0.5) / 0.5)
        self.avgdl_ = float(np.mean([len(d) for d in docs])) if n else 1.0
        self.bm25_ = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        # an empty document list breaks bm25s; a placeholder token keeps every row indexable
        self.bm25_.index([d or ["<empty>"] for d in docs], show_progress=False)
        if self.use_embeddings_:
            self.embeddings_ = (
                embeddings if embeddings is not None else encode(self.rows_["question"].tolist())
            )
        else:
            self.embeddings_ = None
        self.entry_codes_, self.entries_ = pd.factorize(self.rows_["faq_id"], sort=False)

    # -- scoring --------------------------------------------------------------------------------
    def _ideal(self, terms: Sequence[str]) -> float:
        """BM25 score of a document made of exactly the query's distinct words (the reachable top)."""
        if not terms:
            return 0.0
        unique = set(terms)
        norm = 1 - self.b + self.b * len(unique) / max(self.avgdl_, 1e-9)
        tf_part = 1 / (1 + self.k1 * norm)  # bm25s "lucene" scoring has no (k1 + 1) factor
        return sum(self.idf_.get(t, self.unseen_idf_) for t in unique) * tf_part

    def _row_scores(self, questions: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Lexical [0, 1] and cosine scores of every row for every question, and the lexical weight used."""
        texts = [normalize(q) for q in questions]
        langs = [detect_language(t) for t in texts]
        lexical = np.zeros((len(texts), len(self.rows_)), dtype=np.float64)
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            terms = _terms(text, lang)
            known = [t for t in terms if t in self.idf_]
            if known:
                raw = self.bm25_.get_scores(known)
                lexical[i] = np.clip(raw / max(self._ideal(terms), 1e-9), 0.0, 1.0)
        weights = np.array([1.0 if lang == "zh" else self.lexical_weight for lang in langs])
        semantic = None
        if self.use_embeddings_ and self.embeddings_ is not None:
            semantic = np.clip(encode(texts) @ self.embeddings_.T, 0.0, 1.0).astype(np.float64)
        return lexical, semantic, weights

    def _entry_scores(
        self, questions: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Per entry: best hybrid score, the row that gave it, and that row's lexical and cosine parts."""
        lexical, semantic, weights = self._row_scores(questions)
        hybrid = (
            lexical if semantic is None else weights[:, None] * lexical + (1 - weights[:, None]) * semantic
        )
        n_entries = len(self.entries_)
        best = np.full((hybrid.shape[0], n_entries), -1.0)
        best_row = np.zeros((hybrid.shape[0], n_entries), dtype=np.int64)
        for row, code in enumerate(self.entry_codes_):
            better = hybrid[:, row] > best[:, code]
            best[better, code] = hybrid[better, row]
            best_row[better, code] = row
        return best, best_row, lexical, semantic

    def _check(self) -> None:
        if not hasattr(self, "rows_"):
            raise NotFittedError("FAQ index is empty: build it with fit or `crmlens faq build`")

    def ask(self, question: str, k: int = 3) -> list[FaqMatch]:
        """The ``k`` best entries, best first; ``answered`` is False when the score is below ``min_score``."""
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: Sequence[str], k: int = 3) -> list[list[FaqMatch]]:
        self._check()
        if not len(questions):
            return []
        best, best_row, lexical, semantic = self._entry_scores(list(questions))
        out: list[list[FaqMatch]] = []
        for i in range(best.shape[0]):
            order = np.argsort(-best[i], kind="stable")[: max(1, k)]
            matches = []
            for code in order:
                row = int(best_row[i, code])
                record = self.rows_.iloc[row]
                score = float(best[i, code])
                matches.append(
                    FaqMatch(
                        faq_id=str(record["faq_id"]),
                        question=str(record["question"]),
                        answer=str(record["answer"]),
                        score=round(score, 6),
                        lexical=round(float(lexical[i, row]), 6),
                        semantic=None if semantic is None else round(float(semantic[i, row]), 6),
                        answered=score >= self.min_score,
                    )
                )
            out.append(matches)
        return out

    def best_answer(self, question: str) -> FaqMatch | None:
        """The top entry when it clears ``min_score``, else None (hand over to a person)."""
        top = self.ask(question, k=1)[0]
        return top if top.answered else None

    def rank(self, questions: Sequence[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` entry ids and scores per question (for evaluation: recall@k)."""
        self._check()
        best, _, _, _ = self._entry_scores(list(questions))
        order = np.argsort(-best, axis=1, kind="stable")[:, :k]
        return np.asarray(self.entries_)[order], np.take_along_axis(best, order, axis=1)

    def entry_ids(self, labels: Sequence[object]) -> np.ndarray:
        """The ``faq_id`` each label names: a label is an entry's id or, failing that, its answer text.

        Labels that name no entry (and empty ones) become ``""``: questions the FAQ has no answer for,
        so that any answer given to them counts as wrong when calibrating.
        """
        self._check()
        ids = set(self.rows_["faq_id"].astype(str))
        by_answer = dict(zip(self.rows_["answer"].astype(str), self.rows_["faq_id"].astype(str), strict=True))
        out = []
        for label in labels:
            text = (
                "" if label is None or (isinstance(label, float) and label != label) else str(label).strip()
            )
            out.append(text if text in ids else by_answer.get(text, ""))
        return np.asarray(out, dtype=object)

    def calibrate(
        self, questions: Sequence[str], expected_ids: Sequence[object], target_precision: float = 0.9
    ) -> FaqIndex:
        """Set ``min_score`` so that answered questions reach ``target_precision`` on labelled examples.

        ``expected_ids`` names the right entry of each question (its ``faq_id`` or its answer text, see
        :meth:`entry_ids`); a question whose label names no entry should get no answer. Use questions
        that are not in the index. When no score reaches the target, ``min_score`` goes above 1: every
        question is handed over. Sets ``answer_rate_`` (share answered at that score) and
        ``calibration_`` (target, questions, answer rate, precision got, unanswerable questions).
        """
        from crmlens.support.routing import threshold_for_precision

        if len(questions) != len(expected_ids):
            raise ValidationError(
                f"FAQ calibration: {len(questions)} questions but {len(expected_ids)} labels"
            )
        if not len(questions):
            raise ValidationError("FAQ calibration: no labelled questions")
        expected = self.entry_ids(expected_ids)
        ids, scores = self.rank(questions, k=1)
        correct = (ids[:, 0].astype(str) == expected) & (expected != "")
        self.min_score, self.answer_rate_, precision = threshold_for_precision(
            scores[:, 0], correct, target_precision
        )
        self.calibration_ = {
            "target_precision": float(target_precision),
            "questions": len(expected),
            "unanswerable": int((expected == "").sum()),
            "min_score": float(self.min_score),
            "answer_rate": float(self.answer_rate_),
            "answered_precision": float(precision),
            "recall_at_1": float(correct.mean()),
        }
        return self

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``faq.parquet``, ``embeddings.npy`` (if any) and ``index.json`` into ``folder``."""
        self._check()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.rows_.to_parquet(folder / "faq.parquet", index=False)
        if self.embeddings_ is not None:
            np.save(folder / "embeddings.npy", self.embeddings_)
        meta = {
            "format": _FORMAT,
            "params": {
                "lexical_weight": self.lexical_weight,
                "use_embeddings": self.use_embeddings_,
                "min_score": self.min_score,
                "k1": self.k1,
                "b": self.b,
            },
            "encoder": ENCODER if self.embeddings_ is not None else None,
            "calibration": getattr(self, "calibration_", None),
            "rows": len(self.rows_),
            "entries": len(self.entries_),
        }
        (folder / "index.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder


def load_faq_index(folder: str | Path) -> FaqIndex:
    """Reload an index written by :meth:`FaqIndex.save` (BM25 is rebuilt: it takes milliseconds)."""
    folder = Path(folder)
    meta_path = folder / "index.json"
    if not meta_path.exists():
        raise ConfigError(
            f"{folder}: no FAQ index here; build one with `crmlens faq build FAQ.csv --out {folder}`"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != _FORMAT:
        raise ConfigError(f"{meta_path}: not a crmlens FAQ index (format {meta.get('format')!r})")
    index = FaqIndex(**meta["params"])
    if meta.get("calibration"):
        index.calibration_ = meta["calibration"]
        index.answer_rate_ = meta["calibration"]["answer_rate"]
    index.rows_ = pd.read_parquet(folder / "faq.parquet")
    stored = folder / "embeddings.npy"
    index.use_embeddings = bool(meta["params"]["use_embeddings"]) and stored.exists()
    # vectors from another encoder would not compare with this version's query vectors: re-embed
    reuse = index.use_embeddings and meta.get("encoder") == ENCODER
    index._build(np.load(stored) if reuse else None)
    return index

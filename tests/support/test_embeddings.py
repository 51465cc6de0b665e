from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.neural


def test_vector_of_a_text_does_not_depend_on_its_neighbours():
    # dynamic int8 scales activations per forward pass: a batch would tie a text's vector to the others
    from crmlens.support import embeddings

    texts = ["my card has not arrived yet", "I was charged twice for the same coffee, why?", "hi"]
    together = embeddings.encode(texts)
    embeddings._CACHE.clear()
    alone = np.vstack([embeddings.encode([t]) for t in texts])
    assert np.array_equal(together, alone)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1, atol=1e-5)
    # close phrasings are closer than unrelated ones
    near = embeddings.encode(["where is my new card"])[0]
    assert near @ together[0] > near @ together[1] + 0.2


def test_encoder_is_one_traced_graph_of_int8_layers():
    # int8 layers in one traced graph are what keep one message well under 20 ms (`crmlens bench support`)
    import torch

    from crmlens.support.embeddings import _encoder

    _, pooled_of = _encoder()
    assert isinstance(pooled_of, torch.jit.ScriptModule)  # the plain network costs twice the CPU
    graph = str(pooled_of.inlined_graph)
    # 6 transformer blocks x (4 attention + 2 feed-forward) linear layers, none left in float
    assert graph.count("quantized::linear_dynamic") == 36
    assert "aten::linear" not in graph


def test_a_trace_that_does_not_reproduce_the_network_is_not_used(monkeypatch):
    import types

    import torch

    from crmlens.support import embeddings

    tokenizer, _ = embeddings._encoder()

    class Network(torch.nn.Module):
        def forward(self, input_ids, attention_mask):  # noqa: ANN001, ANN201
            return types.SimpleNamespace(last_hidden_state=input_ids[..., None].float())

    monkeypatch.setattr(torch.jit, "trace", lambda module, example, **kw: lambda ids, mask: torch.zeros(1, 1))
    pooled_of = embeddings._traced(tokenizer, Network())
    tokens = tokenizer(["card"], return_tensors="pt")
    expected = tokens["input_ids"].float().mean(dim=1, keepdim=True)
    assert torch.equal(pooled_of(tokens["input_ids"], tokens["attention_mask"]), expected)

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


def test_every_linear_layer_is_int8():
    # the int8 layers are what keep one message under 20 ms (timings: `crmlens bench support`)
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    from crmlens.support.embeddings import _encoder

    _, network = _encoder()
    layers = [m for m in network.modules() if isinstance(m, (torch.nn.Linear, DynamicInt8Linear))]
    assert len(layers) >= 36  # 6 transformer blocks x (4 attention + 2 feed-forward)
    assert all(isinstance(m, DynamicInt8Linear) for m in layers)

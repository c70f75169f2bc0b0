"""A GRU language model's weights for the page's own forward pass (``gru.js``), as float16 bytes.

The page runs the model itself (the reader's text, interventions), so it carries the weights: the
lowest layer's input side folded per token into a table (embedding times W_x0 plus b_x0, or W_x0
plus b_x0 for one-hot inputs: V rows of 3h), then each layer's ``weight_hh``/``bias_hh`` and,
above the lowest, ``weight_ih``/``bias_ih`` in ``nn.GRU``'s layout ((3h, h), gates r, z, n), and
the head. float16 keeps 11 significant bits: half the bytes of float32, and the page's test
perplexity within 0.5% of PyTorch's (tests/test_gru_js.py measures both).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from d2lutil.data import Vocab
from d2lutil.models import RNNLM, GRUScratch


def page_model(model: RNNLM, vocab: Vocab) -> tuple[dict[str, Any], bytes] | None:
    """(spec, float16 bytes) for ``gru.js``'s GRULanguageModel, or None for a model it cannot run
    (a GRUScratch with the reset before the matmul). spec: layers, hidden, vocab (the tokens),
    tensors: name -> [offset, length] in values."""
    rnn = model.rnn
    if isinstance(rnn, GRUScratch) and rnn.reset != "after":
        return None
    assert isinstance(rnn, (nn.GRU, GRUScratch)), "check_explorable admits only nn.GRU and GRUScratch"
    with torch.no_grad():
        parts = _parts(model, rnn)
    spec: dict[str, Any] = {
        "layers": int(getattr(rnn, "num_layers", 1)),
        "hidden": int(rnn.hidden_size),
        "vocab": list(vocab.idx_to_token),
        "tensors": {},
    }
    chunks, offset = [], 0
    for name, tensor in parts.items():
        values = tensor.detach().float().cpu().numpy().astype(np.float16).ravel()
        spec["tensors"][name] = [offset, int(values.size)]
        chunks.append(values)
        offset += values.size
    return spec, np.concatenate(chunks).astype("<f2").tobytes()


def _parts(model: RNNLM, rnn: nn.GRU | GRUScratch) -> dict[str, Tensor]:
    if isinstance(rnn, GRUScratch):  # W_x (d, 3h) and W_h (h, 3h): nn.GRU's layout is their transpose
        inputs = torch.eye(model.vocab_size) if model.embedding is None else model.embedding.weight
        return {
            "table": inputs @ rnn.W_x + rnn.b_x,
            "weight_hh_l0": rnn.W_h.T,
            "bias_hh_l0": rnn.b_h,
            "head_weight": model.head.weight,
            "head_bias": model.head.bias,
        }
    inputs = torch.eye(model.vocab_size) if model.embedding is None else model.embedding.weight
    W_x0, b_x0 = rnn.weight_ih_l0, rnn.bias_ih_l0
    assert isinstance(W_x0, Tensor) and isinstance(b_x0, Tensor)
    parts = {"table": inputs @ W_x0.T + b_x0}
    for layer in range(rnn.num_layers):
        if layer > 0:
            parts[f"weight_ih_l{layer}"] = getattr(rnn, f"weight_ih_l{layer}")
            parts[f"bias_ih_l{layer}"] = getattr(rnn, f"bias_ih_l{layer}")
        parts[f"weight_hh_l{layer}"] = getattr(rnn, f"weight_hh_l{layer}")
        parts[f"bias_hh_l{layer}"] = getattr(rnn, f"bias_hh_l{layer}")
    return {**parts, "head_weight": model.head.weight, "head_bias": model.head.bias}

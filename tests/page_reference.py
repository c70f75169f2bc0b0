"""The model the explorer page computes with, read back into PyTorch (for the page's agreement tests)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from d2lutil.explorer.weights import page_model
from d2lutil.models import RNNLM


def page_reference(model: RNNLM, vocab) -> RNNLM:
    """The model the page computes: its float16 parts, read back into an RNNLM (one-hot inputs,
    the folded table as weight_ih_l0, no input bias)."""
    spec, data = page_model(model, vocab)
    values = np.frombuffer(data, dtype="<f2").astype(np.float32)
    part = {name: torch.from_numpy(values[a : a + n].copy()) for name, (a, n) in spec["tensors"].items()}
    h, L, V = spec["hidden"], spec["layers"], len(spec["vocab"])
    lm = RNNLM(nn.GRU(V, h, L), V).eval()
    with torch.no_grad():
        lm.rnn.weight_ih_l0.copy_(part["table"].reshape(V, 3 * h).T)
        lm.rnn.bias_ih_l0.zero_()
        for name, p in lm.rnn.named_parameters():
            if name in part:
                p.copy_(part[name].reshape(p.shape))
        lm.head.weight.copy_(part["head_weight"].reshape(V, h))
        lm.head.bias.copy_(part["head_bias"])
    return lm

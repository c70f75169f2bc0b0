"""Looking inside a trained GRU: its gates at every step and unit, and how often they saturate."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from d2lutil.models import RNNLM, GateValues, GRUScratch, gru_step


def _layer_weights(gru: nn.GRU, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(W_x (d, 3h), b_x (3h,), W_h (h, 3h), b_h (3h,)) of one layer of an ``nn.GRU``."""
    return (
        getattr(gru, f"weight_ih_l{layer}").T,
        getattr(gru, f"bias_ih_l{layer}"),
        getattr(gru, f"weight_hh_l{layer}").T,
        getattr(gru, f"bias_hh_l{layer}"),
    )


@torch.no_grad()
def trace_gates(rnn: nn.Module, X: Tensor, layer: int | None = None, H: Tensor | None = None) -> GateValues:
    """Run a GRU over X and return its gates and states at every step and unit.

    ``rnn``: an ``nn.GRU`` (any depth, time-major), a ``GRUScratch``, or an ``RNNLM`` around
    either; X: (T, B, d) inputs, or (B, T) token indices for an ``RNNLM``; ``layer``: which layer
    to trace (default: the top one); H: initial state (num_layers, B, h) or None.
    Returns R, Z, N (the candidate, H-tilde) and H, each (T, B, h), from the same arithmetic
    ``nn.GRU`` performs (reset after), so H equals the layer's outputs.
    """
    if isinstance(rnn, RNNLM):
        X, rnn = rnn.embed(X), rnn.rnn
    if isinstance(rnn, GRUScratch):
        if layer not in (None, 0):
            raise ValueError(f"GRUScratch has one layer; got layer={layer}")
        return rnn.trace(X, H)
    if not isinstance(rnn, nn.GRU):
        raise ValueError(f"trace_gates needs nn.GRU, GRUScratch or an RNNLM around one, got {type(rnn).__name__}")
    if rnn.batch_first:
        raise ValueError("trace_gates expects a time-major nn.GRU (batch_first=False)")
    if rnn.bidirectional or not rnn.bias:
        raise ValueError("the gate tracer handles one-directional nn.GRU layers with biases")
    top = rnn.num_layers - 1
    layer = top if layer is None else layer
    if not 0 <= layer <= top:
        raise ValueError(f"layer must lie in 0..{top} for this {rnn.num_layers}-layer GRU, got {layer}")
    if X.dim() != 3 or X.shape[-1] != rnn.input_size:
        raise ValueError(f"expected X of shape (num_steps, batch_size, {rnn.input_size}), got {tuple(X.shape)}")
    inputs = X if layer == 0 else _gru_layers(rnn, 0, layer)(X, None if H is None else H[:layer].contiguous())[0]
    h0 = inputs.new_zeros(1, inputs.shape[1], rnn.hidden_size) if H is None else H[layer : layer + 1]
    # nn.GRU's own fast loop yields every state; the gates then follow for all steps in one batch.
    states, _ = _gru_layers(rnn, layer, layer + 1)(inputs, h0.contiguous())
    h_prev = torch.cat([h0, states[:-1]])  # (T, B, h): the state each step starts from
    W_x, b_x, W_h, b_h = _layer_weights(rnn, layer)
    T, B, _ = inputs.shape
    step = gru_step((inputs @ W_x + b_x).reshape(T * B, -1), h_prev.reshape(T * B, -1), W_h, b_h, "after")
    return GateValues(*(part.reshape(T, B, -1) for part in step))


def _gru_layers(rnn: nn.GRU, first: int, stop: int) -> nn.GRU:
    """Layers first..stop-1 of ``rnn`` as an nn.GRU of their own (eval mode: no dropout between them)."""
    size = rnn.input_size if first == 0 else rnn.hidden_size
    weight = next(rnn.parameters())
    part = nn.GRU(size, rnn.hidden_size, stop - first).to(weight.device, weight.dtype)
    part.load_state_dict(
        {
            f"{k.rsplit('_l', 1)[0]}_l{int(k.rsplit('_l', 1)[1]) - first}": v
            for k, v in rnn.state_dict().items()
            if first <= int(k.rsplit("_l", 1)[1]) < stop
        }
    )
    return part.eval()


def saturation(gate: Tensor, low: float = 0.1, high: float = 0.9) -> tuple[Tensor, Tensor]:
    """How often each unit's gate is saturated (Karpathy, Johnson & Fei-Fei, 2015).

    gate: (T, B, h) or (T, h) values in [0, 1]. Returns (fraction below ``low``, fraction above
    ``high``), each (h,): the left- and right-saturated fractions of every unit.
    """
    if gate.dim() not in (2, 3):
        raise ValueError(f"gate must be (T, B, h) or (T, h), got shape {tuple(gate.shape)}")
    flat = gate.reshape(-1, gate.shape[-1]).float()
    return (flat < low).float().mean(0), (flat > high).float().mean(0)

"""Looking inside a trained GRU: its gates at every step and unit, and how often they saturate."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from d2lutil._checks import check_int, check_real, check_tensor, show
from d2lutil.models import RNNLM, GateValues, GRUScratch, gru_step


def layer_weights(gru: nn.GRU, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
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
    layer = None if layer is None else check_int("layer", layer, minimum=0)
    if isinstance(rnn, RNNLM):
        X, rnn = rnn.embed(X), rnn.rnn
    if isinstance(rnn, GRUScratch):
        if layer not in (None, 0):
            raise ValueError(f"GRUScratch has one layer; got layer={layer}")
        return rnn.trace(X, H)
    if not isinstance(rnn, nn.GRU):
        raise ValueError(
            f"trace_gates needs nn.GRU, GRUScratch or an RNNLM around one, got {show(rnn)}: "
            "only a GRU has reset and update gates"
        )
    if rnn.batch_first:
        raise ValueError("trace_gates expects a time-major nn.GRU (batch_first=False)")
    if rnn.bidirectional or not rnn.bias:
        raise ValueError("the gate tracer handles one-directional nn.GRU layers with biases")
    top = rnn.num_layers - 1
    layer = top if layer is None else layer
    if not 0 <= layer <= top:
        raise ValueError(f"layer must lie in 0..{top} for this {rnn.num_layers}-layer GRU, got {layer}")
    _check_gru_input(rnn, X, H)
    inputs = X if layer == 0 else _gru_layers(rnn, 0, layer)(X, None if H is None else H[:layer].contiguous())[0]
    h0 = inputs.new_zeros(1, inputs.shape[1], rnn.hidden_size) if H is None else H[layer : layer + 1]
    # nn.GRU's own fast loop yields every state; the gates then follow for all steps in one batch.
    states, _ = _gru_layers(rnn, layer, layer + 1)(inputs, h0.contiguous())
    h_prev = torch.cat([h0, states[:-1]])  # (T, B, h): the state each step starts from
    W_x, b_x, W_h, b_h = layer_weights(rnn, layer)
    T, B, _ = inputs.shape
    step = gru_step((inputs @ W_x + b_x).reshape(T * B, -1), h_prev.reshape(T * B, -1), W_h, b_h, "after")
    return GateValues(*(part.reshape(T, B, -1) for part in step))


def _check_gru_input(rnn: nn.GRU, X: Tensor, H: Tensor | None) -> None:
    """Refuse inputs an nn.GRU would reject deep inside (or, empty, trace into nothing)."""
    check_tensor("X", X, (3,), f"(num_steps, batch_size, {rnn.input_size})")
    if X.shape[-1] != rnn.input_size or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"expected X of shape (num_steps, batch_size, {rnn.input_size}) with at least one step and one "
            f"sequence, got {tuple(X.shape)}"
        )
    dtype = next(rnn.parameters()).dtype
    if X.dtype != dtype:
        raise ValueError(f"X has dtype {X.dtype} but the GRU's weights are {dtype}: convert one with .to()")
    if H is not None:
        shape = (rnn.num_layers, X.shape[1], rnn.hidden_size)
        check_tensor("H", H, (3,), f"{shape}")
        if tuple(H.shape) != shape or H.dtype != dtype:
            raise ValueError(f"H must be a {dtype} tensor of shape {shape}, got {H.dtype} {tuple(H.shape)}")


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
    check_tensor("gate", gate, (2, 3), "(T, B, h) or (T, h)")
    low, high = check_real("low", low, 0.0, 1.0), check_real("high", high, 0.0, 1.0)
    if low > high:
        raise ValueError(f"low must not exceed high, got low={low} and high={high}")
    if gate.numel() == 0:
        raise ValueError(f"gate holds no values (shape {tuple(gate.shape)}): trace at least one step")
    if gate.dtype.is_complex or not gate.dtype.is_floating_point:
        raise TypeError(f"gate must hold gate values (a float tensor), got dtype {gate.dtype}")
    if not bool(((gate >= 0) & (gate <= 1)).all()):
        raise ValueError(
            "gate values must lie in [0, 1] (a reset or update gate, .r or .z); got values from "
            f"{float(gate.min()):.3g} to {float(gate.max()):.3g}: the candidate .n and state .h are not gates"
        )
    flat = gate.reshape(-1, gate.shape[-1]).float()
    return (flat < low).float().mean(0), (flat > high).float().mean(0)

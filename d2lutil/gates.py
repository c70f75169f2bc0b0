"""Looking inside a trained GRU: its gates at every step and unit, how often they saturate, and
what happens when they are changed.

:func:`trace_layers` reads a passage with a GRU language model once, layer by layer (each layer's
states feed the next, the top states feed the head), and returns every gate and state with the
log-probabilities of the next character; :class:`Intervention` changes that run (a gate clamped,
a unit silenced, the state cut).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from d2lutil._checks import check_choice, check_int, check_real, check_tensor, show
from d2lutil.models import RNNLM, GateValues, GRUScratch, Reset, gru_step

KINDS = ("update", "reset", "silence", "cut")


def layer_weights(gru: nn.GRU, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(W_x (d, 3h), b_x (3h,), W_h (h, 3h), b_h (3h,)) of one layer of an ``nn.GRU``."""
    return (
        getattr(gru, f"weight_ih_l{layer}").T,
        getattr(gru, f"bias_ih_l{layer}"),
        getattr(gru, f"weight_hh_l{layer}").T,
        getattr(gru, f"bias_hh_l{layer}"),
    )


@dataclass(frozen=True)
class Intervention:
    """One change to a GRU's run, for :func:`trace_layers`.

    ``kind``: "update" sets the update gate Z of ``unit`` to ``value`` at every step, "reset" the
    reset gate R likewise; "silence" holds the unit's state at 0 (set to 0 after every step);
    "cut" sets the whole state to 0 after character ``at``, so that character ``at + 1`` is read
    from a zero state (a break). ``layer``: the layer (0 is the lowest), None for every layer;
    ``unit``: None for every unit of the layer ("cut" always takes the whole state).
    """

    kind: str
    layer: int | None
    unit: int | None = None
    value: float | None = None
    at: int | None = None

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        if self.layer is not None:
            object.__setattr__(self, "layer", check_int("layer", self.layer, minimum=0))
        gate, cut = self.kind in ("update", "reset"), self.kind == "cut"
        if self.unit is not None:
            if cut:
                raise ValueError("unit must be None for a 'cut': it zeroes the whole state of the layer")
            object.__setattr__(self, "unit", check_int("unit", self.unit, minimum=0))
        if gate != (self.value is not None):
            raise ValueError(
                f"value is {'required' if gate else 'not taken'} for kind={self.kind!r}: "
                + ("give the gate's value in [0, 1]" if gate else "leave value=None")
            )
        if gate:
            object.__setattr__(self, "value", check_real("value", self.value, 0.0, 1.0))
        if cut != (self.at is not None):
            raise ValueError(
                f"at is {'required' if cut else 'not taken'} for kind={self.kind!r}: "
                + ("give the character after which the state is cut" if cut else "leave at=None")
            )
        if cut:
            object.__setattr__(self, "at", check_int("at", self.at, minimum=0))


@dataclass
class LayerTrace:
    """One run of a GRU language model. T steps, B sequences, L layers, h units, V tokens.

    x: (T, B, d) the lowest layer's inputs; r, z, n, h: (L, T, B, h) the reset gate, update gate,
    candidate and state of every layer after every step (as used, interventions included);
    h_prev: (L, T, B, h) the state each step starts from; log_probs: (B, T, V) the log-probability
    of each next token; interventions: what was changed.
    """

    x: Tensor
    r: Tensor
    z: Tensor
    n: Tensor
    h: Tensor
    h_prev: Tensor
    log_probs: Tensor
    interventions: tuple[Intervention, ...]


def check_gru_lm(name: str, model: Any) -> nn.GRU | GRUScratch:
    """The recurrent layer of ``model`` if it is an RNNLM around an ``nn.GRU`` (time-major,
    one-directional, with biases) or a ``GRUScratch``; TypeError otherwise."""
    rnn = model.rnn if isinstance(model, RNNLM) else None
    if not isinstance(rnn, (nn.GRU, GRUScratch)):
        around = f" around {type(rnn).__name__}" if isinstance(model, RNNLM) else ""
        raise TypeError(
            f"{name} must be an RNNLM around an nn.GRU or a GRUScratch (e.g. the model that "
            f"load_checkpoint('gru_lm') returns), got {show(model)}{around}"
        )
    _check_gru(rnn)
    return rnn


def _check_gru(rnn: nn.Module) -> None:
    if isinstance(rnn, nn.GRU):
        if rnn.batch_first:
            raise ValueError("the gate tracer expects a time-major nn.GRU (batch_first=False)")
        if rnn.bidirectional or not rnn.bias:
            raise ValueError("the gate tracer handles one-directional nn.GRU layers with biases")


@torch.no_grad()
def trace_layers(model: RNNLM, tokens: Tensor, interventions: Sequence[Intervention] = ()) -> LayerTrace:
    """Read ``tokens`` (B, T) with ``model`` (an RNNLM around an ``nn.GRU`` or a ``GRUScratch``)
    once, layer by layer, each layer's states feeding the next and the top states the head, with
    ``interventions`` applied; dropout off. Returns a :class:`LayerTrace`."""
    rnn = check_gru_lm("model", model)
    x = model.embed(tokens)  # (T, B, d); checks the tokens
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"tokens must hold at least one sequence of one token, got shape {tuple(tokens.shape)}")
    changes = check_interventions(interventions, _num_layers(rnn), int(rnn.hidden_size), x.shape[0])
    inputs, steps, starts = x, [], []
    for layer in range(_num_layers(rnn)):
        values, h_prev = _run_layer(rnn, layer, inputs, None, [c for c in changes if c.layer in (None, layer)])
        steps.append(values)
        starts.append(h_prev)
        inputs = values.h
    log_probs = model.head(inputs).log_softmax(-1).transpose(0, 1)
    r, z, n, h = (torch.stack(parts) for parts in zip(*steps, strict=True))
    return LayerTrace(x, r, z, n, h, torch.stack(starts), log_probs, changes)


def check_interventions(interventions: Any, layers: int, units: int, steps: int) -> tuple[Intervention, ...]:
    """``interventions`` as a tuple, each within a GRU of ``layers`` layers of ``units`` units
    reading ``steps`` characters."""
    if isinstance(interventions, Intervention):
        interventions = (interventions,)
    if not isinstance(interventions, (list, tuple)) or not all(isinstance(c, Intervention) for c in interventions):
        raise TypeError(
            f"interventions must be a list of Intervention, got {show(interventions)}: "
            "e.g. [Intervention('update', layer=1, value=0.9)]"
        )
    for c in interventions:
        if c.layer is not None and c.layer >= layers:
            raise ValueError(f"{c} names layer {c.layer}, but the GRU has layers 0..{layers - 1}")
        if c.unit is not None and c.unit >= units:
            raise ValueError(f"{c} names unit {c.unit}, but each layer has units 0..{units - 1}")
        if c.at is not None and c.at >= steps:
            raise ValueError(f"{c} cuts after character {c.at}, but the passage has characters 0..{steps - 1}")
    return tuple(interventions)


def _num_layers(rnn: nn.Module) -> int:
    return int(getattr(rnn, "num_layers", 1))


def _layer(rnn: nn.GRU | GRUScratch, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Reset, Callable[..., Tensor]]:
    """W_x, b_x, W_h, b_h, the reset convention and run(X (T, B, d), h0 (1, B, h)) -> states
    (T, B, h): the layer's own fast loop."""
    if isinstance(rnn, GRUScratch):
        return rnn.W_x, rnn.b_x, rnn.W_h, rnn.b_h, rnn.reset, lambda X, h0: rnn(X, h0)[0]
    own = _gru_layer(rnn, layer)
    return (*layer_weights(rnn, layer), "after", lambda X, h0: own(X, h0)[0])


def _run_layer(
    rnn: nn.GRU | GRUScratch, layer: int, inputs: Tensor, h0: Tensor | None, changes: Sequence[Intervention]
) -> tuple[GateValues, Tensor]:
    """One layer over inputs (T, B, d) from h0 (B, h) or zeros: its gates and states (each (T, B,
    h)) and the state each step starts from (T, B, h)."""
    W_x, b_x, W_h, b_h, reset, run = _layer(rnn, layer)
    T, B, _ = inputs.shape
    h0 = inputs.new_zeros(B, int(rnn.hidden_size)) if h0 is None else h0
    gi = inputs @ W_x + b_x  # (T, B, 3h): the input side of every step at once
    restart = sorted({c.at + 1 for c in changes if c.at is not None and c.at + 1 < T})  # steps read from zeros (cuts)
    clamps = [c for c in changes if c.kind != "cut"]
    if clamps:  # the gates change what each step reads: step by step
        fix = _Clamps(clamps, h0)
        h, prevs, steps = h0, [], []
        for t in range(T):
            h = torch.zeros_like(h) if t in restart else h
            prevs.append(h)
            steps.append(fix.step(gi[t], h, W_h, b_h, reset))
            h = steps[-1].h
        return GateValues(*(torch.stack(parts) for parts in zip(*steps, strict=True))), torch.stack(prevs)
    # The layer's own loop yields every state (restarted at each cut); the gates then follow for
    # all steps in one batch.
    bounds = [0, *restart, T]
    states = torch.cat(
        [run(inputs[a:b], (h0 if a == 0 else torch.zeros_like(h0))[None]) for a, b in itertools.pairwise(bounds)]
    )
    h_prev = torch.cat([h0[None], states[:-1]])
    h_prev[restart] = 0
    r, z, n, _ = gru_step(gi.reshape(T * B, -1), h_prev.reshape(T * B, -1), W_h, b_h, reset)
    r, z, n = (part.reshape(T, B, -1) for part in (r, z, n))
    return GateValues(r, z, n, states), h_prev  # H: the states of the layer's own loop


class _Clamps:
    """The clamps of one layer as masks: which units' R and Z are set and to what, which are silent."""

    def __init__(self, clamps: Sequence[Intervention], like: Tensor):
        units = like.shape[-1]
        self.mask = {
            k: torch.zeros(units, dtype=torch.bool, device=like.device) for k in ("reset", "update", "silence")
        }
        self.value = {k: like.new_zeros(units) for k in ("reset", "update")}
        for c in clamps:  # a later one wins where two cover the same unit
            where = slice(None) if c.unit is None else c.unit
            self.mask[c.kind][where] = True
            if c.value is not None:
                self.value[c.kind][where] = c.value

    def step(self, gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor, reset: Reset) -> GateValues:
        """gru_step's arithmetic with the clamped gates put in where the sigmoid's would be."""
        hidden = h.shape[-1]
        gi_r, gi_z, gi_n = gi.split(hidden, dim=-1)
        gh_r, gh_z, gh_n = torch.addmm(b_h, h, W_h).split(hidden, dim=-1)
        r = torch.where(self.mask["reset"], self.value["reset"], torch.sigmoid(gi_r + gh_r))
        z = torch.where(self.mask["update"], self.value["update"], torch.sigmoid(gi_z + gh_z))
        if reset == "after":
            n = torch.tanh(gi_n + r * gh_n)
        else:
            n = torch.tanh(gi_n + torch.addmm(b_h[2 * hidden :], r * h, W_h[:, 2 * hidden :]))
        h_new = torch.lerp(n, h, z).masked_fill(self.mask["silence"], 0.0)
        return GateValues(r, z, n, h_new)


@torch.no_grad()
def trace_gates(rnn: nn.Module, X: Tensor, layer: int | None = None, H: Tensor | None = None) -> GateValues:
    """Run a GRU over X and return its gates and states at every step and unit.

    ``rnn``: an ``nn.GRU`` (any depth, time-major), a ``GRUScratch``, or an ``RNNLM`` around
    either; X: (T, B, d) inputs, or (B, T) token indices for an ``RNNLM``; ``layer``: which layer
    to trace (default: the top one); H: initial state (num_layers, B, h) or None.
    Returns R, Z, N (the candidate, H-tilde) and H, each (T, B, h), from the same arithmetic
    ``nn.GRU`` performs (reset after), so H equals the layer's outputs. The layers below
    ``layer`` are each run once, feeding the next.
    """
    layer = None if layer is None else check_int("layer", layer, minimum=0)
    time_major = isinstance(rnn, RNNLM)  # tokens (B, T) leave no doubt which axis is time
    if isinstance(rnn, RNNLM):
        X, rnn = rnn.embed(X), rnn.rnn
    if not isinstance(rnn, (nn.GRU, GRUScratch)):
        raise TypeError(
            f"trace_gates needs nn.GRU, GRUScratch or an RNNLM around one, got {show(rnn)}: "
            "only a GRU has reset and update gates"
        )
    _check_gru(rnn)
    top = _num_layers(rnn) - 1
    layer = top if layer is None else layer
    if layer > top:
        raise ValueError(f"layer must lie in 0..{top} for this {top + 1}-layer GRU, got {layer}")
    _check_gru_input(rnn, X, H, time_major)
    inputs = X
    for below in range(layer + 1):
        values, _ = _run_layer(rnn, below, inputs, None if H is None else H[below], ())
        inputs = values.h
    return values


def _check_gru_input(rnn: nn.GRU | GRUScratch, X: Tensor, H: Tensor | None, time_major: bool) -> None:
    """Refuse inputs the GRU would reject deep inside, read silently the wrong way, or trace into nothing."""
    check_tensor("X", X, (3,), f"(num_steps, batch_size, {rnn.input_size})")
    if X.shape[-1] != rnn.input_size or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"expected X of shape (num_steps, batch_size, {rnn.input_size}) with at least one step and one "
            f"sequence, got {tuple(X.shape)}"
        )
    if not time_major and X.shape[0] == 1 and X.shape[1] > 1:
        raise ValueError(
            f"X of shape {tuple(X.shape)} would be read as one time step of {X.shape[1]} sequences, which is how "
            f"one batch-first sequence of {X.shape[1]} steps looks: the tracer reads time-major (num_steps, "
            "batch_size, d), so pass X.transpose(0, 1)"
        )
    dtype = next(rnn.parameters()).dtype
    if X.dtype != dtype:
        raise ValueError(f"X has dtype {X.dtype} but the GRU's weights are {dtype}: convert one with .to()")
    if H is not None:
        shape = (_num_layers(rnn), X.shape[1], rnn.hidden_size)
        check_tensor("H", H, (3,), f"{shape}")
        if tuple(H.shape) != shape or H.dtype != dtype:
            raise ValueError(f"H must be a {dtype} tensor of shape {shape}, got {H.dtype} {tuple(H.shape)}")


def _gru_layer(rnn: nn.GRU, layer: int) -> nn.GRU:
    """Layer ``layer`` of ``rnn`` as a one-layer nn.GRU of its own (its fast loop, no dropout)."""
    size = rnn.input_size if layer == 0 else rnn.hidden_size
    weight = next(rnn.parameters())
    own = nn.GRU(size, rnn.hidden_size).to(weight.device, weight.dtype)
    own.load_state_dict(
        {k.replace(f"_l{layer}", "_l0"): v for k, v in rnn.state_dict().items() if k.endswith(f"_l{layer}")}
    )
    return own.eval()


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

"""The cell variants the exercises build: one-gate cells (exercise 4) and a GRU whose update gate
weights the candidate instead of the old state (exercise 6)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from d2lutil._checks import check_callable, check_model, show
from d2lutil.models import (
    GateValues,
    GRUScratch,
    RecurrentLayer,
    check_sizes,
    gru_step,
    project_inputs,
    uniform_parameter,
)

StepFn = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


def update_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """One step of a cell with only an update gate (a GRU with R pinned at 1).

    gi: (B, 2h) = X_t W_x + b_x stacked (z, n); h: (B, h); W_h: (h, 2h); b_h: (2h,). Returns H_t (B, h).
    """
    hidden = h.shape[-1]
    gh = h @ W_h + b_h
    z = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
    n = torch.tanh(gi[:, hidden:] + gh[:, hidden:])
    return z * h + (1 - z) * n


class OneGateRNN(RecurrentLayer):
    """A recurrent layer with one gate and a candidate, stepped by ``step`` (see :func:`update_only_step`).

    Parameters are laid out like :class:`d2lutil.models.GRUScratch` with two blocks instead of
    three: W_x (d, 2h), W_h (h, 2h), b_x (2h,), b_h (2h,), initialised uniformly in +-1/sqrt(h).
    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h)), as nn.GRU.
    """

    def __init__(self, input_size: int, hidden_size: int, step: StepFn):
        super().__init__()
        input_size, hidden_size = check_sizes(input_size, hidden_size)
        check_callable("step", step, "(gi (B, 2h), h (B, h), W_h (h, 2h), b_h (2h,)) -> new state (B, h)")
        self.input_size, self.hidden_size, self.step = input_size, hidden_size, step
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = uniform_parameter(input_size, 2 * hidden_size, bound=bound)
        self.W_h = uniform_parameter(hidden_size, 2 * hidden_size, bound=bound)
        self.b_x = uniform_parameter(2 * hidden_size, bound=bound)
        self.b_h = uniform_parameter(2 * hidden_size, bound=bound)

    def step_inputs(self, X: Tensor) -> tuple[Tensor, ...]:
        """gi_t = X_t W_x + b_x for every step, each (B, 2h)."""
        return project_inputs(X, self.W_x, self.b_x)

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        return self.step(x, h, self.W_h, self.b_h)


class UpdateOnlyGRU(OneGateRNN):
    """A GRU without its reset gate: H_t = Z * H + (1 - Z) * tanh(X W_xn + b_xn + H W_hn + b_hn)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, update_only_step)


class FlippedGRU(GRUScratch):
    """A GRU with the update gate weighting the candidate: H' = Z * N + (1 - Z) * H (reset after).

    Same parameters, layout and gate arithmetic as :class:`d2lutil.models.GRUScratch` (W_x (d, 3h),
    W_h (h, 3h), b_x, b_h (3h,), stacked r, z, n); only the final mix is flipped.
    forward(X (T, B, d), H or None) -> (outputs, H_T), as nn.GRU.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, reset="after")

    def gates(self, gi: Tensor, h: Tensor) -> GateValues:
        r, z, n, _ = gru_step(gi, h, self.W_h, self.b_h, "after")
        return GateValues(r, z, n, torch.lerp(h, n, z))  # H' = Z * N + (1 - Z) * H


def load_weights(layer: nn.Module, W_x: Tensor, W_h: Tensor, b_x: Tensor, b_h: Tensor) -> nn.Module:
    """Copy the four weight tensors into a GRUScratch-layout layer (in place; returns it)."""
    check_model("layer", layer)
    with torch.no_grad():
        for name, value in (("W_x", W_x), ("W_h", W_h), ("b_x", b_x), ("b_h", b_h)):
            target = getattr(layer, name, None)
            if not isinstance(target, nn.Parameter):
                raise TypeError(f"layer must have GRUScratch's parameters (W_x, W_h, b_x, b_h), got {show(layer)}")
            if not isinstance(value, Tensor) or not value.dtype.is_floating_point:
                raise TypeError(f"{name} must be a float tensor {tuple(target.shape)}, got {show(value)}")
            if target.shape != value.shape:
                raise ValueError(f"{name} must have shape {tuple(target.shape)}, got {tuple(value.shape)}")
            target.copy_(value)
    return layer

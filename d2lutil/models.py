"""Recurrent layers written as the chapter's equations, and a language model around any of them.

Shapes follow ``torch.nn.GRU`` (time-major): inputs ``X`` are (T, B, d), outputs (T, B, h), and the
state is (1, B, h), so a scratch layer and ``nn.GRU`` are interchangeable inside :class:`RNNLM`.

Gate order in the stacked weights is (r, z, n), the order ``nn.GRU`` uses, so weights copy across
without shuffling. With reset gate R, update gate Z and candidate N (the chapter's H-tilde)::

    R = sigmoid(X W_xr + b_xr + H W_hr + b_hr)
    Z = sigmoid(X W_xz + b_xz + H W_hz + b_hz)
    N = tanh(X W_xn + b_xn + R * (H W_hn + b_hn))       reset="after"  (nn.GRU, cuDNN)
    N = tanh(X W_xn + b_xn + (R * H) W_hn + b_hn)       reset="before" (the d2l text)
    H' = Z * H + (1 - Z) * N
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Reset = Literal["after", "before"]


class GateValues(NamedTuple):
    """One GRU step's gates and states, each (B, h)."""

    r: Tensor
    z: Tensor
    n: Tensor
    h: Tensor


def gru_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor, reset: Reset = "after") -> GateValues:
    """One GRU step from precomputed input projections.

    gi: (B, 3h) = X_t W_x + b_x, stacked (r, z, n); h: (B, h); W_h: (h, 3h); b_h: (3h,).
    Returns the reset gate, update gate, candidate state and new state, each (B, h).
    """
    hidden = h.shape[-1]
    # split (one view per part; backward joins the parts' gradients in one copy), not slicing
    # gh[:, :2h] and gh[:, 2h:]: each slice's backward writes a zero-filled (B, 3h) gradient.
    gi_rz, gi_n = gi.split([2 * hidden, hidden], dim=1)
    if reset == "after":
        gh_rz, gh_n = torch.addmm(b_h, h, W_h).split([2 * hidden, hidden], dim=1)  # one matmul for all gates
        r, z = torch.sigmoid(gi_rz + gh_rz).chunk(2, dim=1)
        n = torch.tanh(torch.addcmul(gi_n, r, gh_n))  # gi_n + r * gh_n
    else:
        W_rz, W_n = W_h.split([2 * hidden, hidden], dim=1)
        b_rz, b_n = b_h.split([2 * hidden, hidden])
        r, z = torch.sigmoid(gi_rz + torch.addmm(b_rz, h, W_rz)).chunk(2, dim=1)
        n = torch.tanh(gi_n + torch.addmm(b_n, r * h, W_n))
    h_new = torch.lerp(n, h, z)  # n + z * (h - n) = z * h + (1 - z) * n, one op instead of four
    return GateValues(r, z, n, h_new)


def _check_input(X: Tensor, input_size: int, H: Tensor | None, hidden_size: int, dtype: torch.dtype) -> None:
    if X.dim() != 3 or X.shape[-1] != input_size:
        raise ValueError(
            f"expected X of shape (num_steps, batch_size, {input_size}), got {tuple(X.shape)}; "
            "inputs are time-major, as in nn.GRU (transpose a (B, T, d) batch with X.transpose(0, 1))"
        )
    if X.dtype != dtype:
        raise ValueError(f"X has dtype {X.dtype} but the layer's weights are {dtype}: convert one with .to()")
    if H is not None and tuple(H.shape) != (1, X.shape[1], hidden_size):
        raise ValueError(f"expected state of shape (1, {X.shape[1]}, {hidden_size}), got {tuple(H.shape)}")


def _uniform(*shape: int, bound: float) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class GRUScratch(nn.Module):
    """A one-layer GRU as the chapter writes it, fast enough to train.

    The input projections of all gates for all steps are one matmul before the loop; each step
    then costs one (B, h) x (h, 3h) matmul (reset="after") or two (reset="before").
    Weights are initialised like ``nn.GRU``: uniform in +-1/sqrt(hidden_size).

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int, reset: Reset = "after"):
        super().__init__()
        if reset not in ("after", "before"):
            raise ValueError(f"reset must be 'after' (nn.GRU) or 'before' (the d2l text), got {reset!r}")
        self.input_size, self.hidden_size, self.reset = input_size, hidden_size, reset
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = _uniform(input_size, 3 * hidden_size, bound=bound)  # columns: r, z, n
        self.W_h = _uniform(hidden_size, 3 * hidden_size, bound=bound)
        self.b_x = _uniform(3 * hidden_size, bound=bound)
        self.b_h = _uniform(3 * hidden_size, bound=bound)

    def _input_projections(self, X: Tensor) -> tuple[Tensor, ...]:
        """X (T, B, d) -> T tensors gi_t = X_t W_x + b_x, each (B, 3h), from one matmul."""
        T, B, d = X.shape
        return torch.addmm(self.b_x, X.reshape(T * B, d), self.W_x).view(T, B, -1).unbind(0)

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_input(X, self.input_size, H, self.hidden_size, self.W_x.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        outputs = []
        for gi in self._input_projections(X):  # unbind, not gi_all[t]: indexing makes backward quadratic in T
            h = gru_step(gi, h, self.W_h, self.b_h, self.reset).h
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)

    def trace(self, X: Tensor, H: Tensor | None = None) -> GateValues:
        """Run over X (T, B, d) and return R, Z, N and H at every step, each (T, B, h)."""
        _check_input(X, self.input_size, H, self.hidden_size, self.W_x.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        steps = []
        for gi in self._input_projections(X):
            step = gru_step(gi, h, self.W_h, self.b_h, self.reset)
            steps.append(step)
            h = step.h
        return GateValues(*(torch.stack(parts) for parts in zip(*steps, strict=True)))


class GRUD2LStyle(nn.Module):
    """The GRU as the d2l text codes it: nine weight matrices, three input and three hidden
    matmuls every step, reset before the matmul. Kept as the readable baseline for timings.

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1 / math.sqrt(hidden_size)

        def triple() -> tuple[nn.Parameter, nn.Parameter, nn.Parameter]:
            return (
                _uniform(input_size, hidden_size, bound=bound),
                _uniform(hidden_size, hidden_size, bound=bound),
                _uniform(hidden_size, bound=bound),
            )

        self.W_xz, self.W_hz, self.b_z = triple()  # update gate
        self.W_xr, self.W_hr, self.b_r = triple()  # reset gate
        self.W_xh, self.W_hh, self.b_h = triple()  # candidate state

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_input(X, self.input_size, H, self.hidden_size, self.W_xz.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        outputs = []
        for x in X.unbind(0):
            z = torch.sigmoid(x @ self.W_xz + h @ self.W_hz + self.b_z)
            r = torch.sigmoid(x @ self.W_xr + h @ self.W_hr + self.b_r)
            h_tilde = torch.tanh(x @ self.W_xh + (r * h) @ self.W_hh + self.b_h)
            h = z * h + (1 - z) * h_tilde
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)


class RNNScratch(nn.Module):
    """A plain tanh RNN, H' = tanh(X W_x + b_x + H W_h + b_h), with ``nn.RNN``'s layout and init.

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = _uniform(input_size, hidden_size, bound=bound)
        self.W_h = _uniform(hidden_size, hidden_size, bound=bound)
        self.b_x = _uniform(hidden_size, bound=bound)
        self.b_h = _uniform(hidden_size, bound=bound)

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_input(X, self.input_size, H, self.hidden_size, self.W_x.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        outputs = []
        for gi in (X @ self.W_x + self.b_x).unbind(0):
            h = torch.tanh(gi + h @ self.W_h + self.b_h)
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)


def layer_size(rnn: nn.Module, name: str) -> int:
    """``rnn.input_size`` or ``rnn.hidden_size`` of a recurrent layer, typed as the int it is."""
    return int(getattr(rnn, name))


def copy_nn_gru_to_scratch(src: nn.GRU, dst: GRUScratch) -> GRUScratch:
    """Copy a one-layer ``nn.GRU``'s weights into a ``GRUScratch`` (in place; returns ``dst``)."""
    _check_pair(src, dst)
    with torch.no_grad():
        dst.W_x.copy_(src.get_parameter("weight_ih_l0").T)
        dst.W_h.copy_(src.get_parameter("weight_hh_l0").T)
        dst.b_x.copy_(src.get_parameter("bias_ih_l0"))
        dst.b_h.copy_(src.get_parameter("bias_hh_l0"))
    return dst


def copy_scratch_to_nn_gru(src: GRUScratch, dst: nn.GRU) -> nn.GRU:
    """Copy a ``GRUScratch``'s weights into a one-layer ``nn.GRU`` (in place; returns ``dst``)."""
    _check_pair(dst, src)
    with torch.no_grad():
        dst.get_parameter("weight_ih_l0").copy_(src.W_x.T)
        dst.get_parameter("weight_hh_l0").copy_(src.W_h.T)
        dst.get_parameter("bias_ih_l0").copy_(src.b_x)
        dst.get_parameter("bias_hh_l0").copy_(src.b_h)
    return dst


def _check_pair(gru: nn.GRU, scratch: GRUScratch) -> None:
    if gru.num_layers != 1 or gru.bidirectional or not gru.bias or gru.batch_first:
        raise ValueError("only a one-layer, one-directional, time-major nn.GRU with biases maps onto GRUScratch")
    if (gru.input_size, gru.hidden_size) != (scratch.input_size, scratch.hidden_size):
        raise ValueError(
            f"sizes differ: nn.GRU({gru.input_size}, {gru.hidden_size}) vs "
            f"GRUScratch({scratch.input_size}, {scratch.hidden_size})"
        )
    if scratch.reset != "after":
        raise ValueError("nn.GRU computes reset-after; build the GRUScratch with reset='after' to match it")


class RNNLM(nn.Module):
    """A character language model: one-hot (or embedded) input, a recurrent layer, a linear head.

    ``rnn`` is any layer with nn.GRU's interface (``nn.GRU``, ``nn.RNN``, ``GRUScratch``, ...).
    With ``embed_size=None`` the input is one-hot, as in d2l, and ``rnn.input_size`` must equal
    ``vocab_size``; otherwise an ``nn.Embedding(vocab_size, embed_size)`` feeds the layer.

    forward(tokens (B, T) int64, state or None) -> (logits (B, T, vocab_size), state)
    """

    def __init__(self, rnn: nn.Module, vocab_size: int, embed_size: int | None = None, dropout: float = 0.0):
        super().__init__()
        expected = vocab_size if embed_size is None else embed_size
        if rnn.input_size != expected:
            raise ValueError(
                f"the recurrent layer takes inputs of size {rnn.input_size}, but "
                + ("one-hot inputs have size vocab_size=" if embed_size is None else "embed_size=")
                + f"{expected}: build it with input_size={expected}"
            )
        self.rnn, self.vocab_size, self.embed_size = rnn, vocab_size, embed_size
        self.embedding = nn.Embedding(vocab_size, embed_size) if embed_size is not None else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(layer_size(rnn, "hidden_size"), vocab_size)

    def embed(self, tokens: Tensor) -> Tensor:
        """tokens (B, T) -> time-major inputs (T, B, d)."""
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"tokens must be a (batch_size, num_steps) int64 tensor, got {tuple(tokens.shape)} {tokens.dtype}"
            )
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(
                f"token indices must lie in [0, {self.vocab_size}); got {int(tokens.min())}..{int(tokens.max())}"
            )
        if self.embedding is None:
            return F.one_hot(tokens.T, self.vocab_size).to(self.head.weight.dtype)
        return self.embedding(tokens.T)

    def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        outputs, state = self.rnn(self.embed(tokens), state)
        return self.head(self.dropout(outputs)).transpose(0, 1), state


def build_lm(
    kind: str,
    vocab_size: int,
    hidden_size: int,
    num_layers: int = 1,
    embed_size: int | None = None,
    dropout: float = 0.0,
) -> RNNLM:
    """A language model by name: ``"gru"`` / ``"rnn"`` (``nn.GRU`` / ``nn.RNN``, any depth),
    ``"gru_scratch"``, ``"gru_d2l_style"``, ``"rnn_scratch"`` (one layer each)."""
    d = vocab_size if embed_size is None else embed_size
    inner_dropout = dropout if num_layers > 1 else 0.0
    layers: dict[str, type[nn.Module]] = {
        "gru_scratch": GRUScratch,
        "gru_d2l_style": GRUD2LStyle,
        "rnn_scratch": RNNScratch,
    }
    if kind == "gru":
        rnn: nn.Module = nn.GRU(d, hidden_size, num_layers, dropout=inner_dropout)
    elif kind == "rnn":
        rnn = nn.RNN(d, hidden_size, num_layers, dropout=inner_dropout)
    elif kind in layers:
        if num_layers != 1:
            raise ValueError(f"{kind} has one layer; use kind='gru' or 'rnn' for num_layers={num_layers}")
        rnn = layers[kind](d, hidden_size)
    else:
        raise ValueError(f"unknown kind {kind!r}: choose one of 'gru', 'rnn', {', '.join(map(repr, layers))}")
    return RNNLM(rnn, vocab_size, embed_size, dropout)

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

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, NamedTuple, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from d2lutil._checks import check_choice, check_int, check_real, check_tensor, show

Reset = Literal["after", "before"]
RESETS: tuple[Reset, ...] = ("after", "before")


class GateValues(NamedTuple):
    """One GRU step's gates and states, each (B, h)."""

    r: Tensor
    z: Tensor
    n: Tensor
    h: Tensor


def gru_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor, reset: Reset = "after") -> GateValues:
    """One GRU step from precomputed input projections.

    gi: (B, 3h) = X_t W_x + b_x, stacked (r, z, n); h: (B, h); W_h: (h, 3h); b_h: (3h,).
    ``reset`` is "after" or "before" (any other value reads as "before"; the layers check it once).
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


def uniform_parameter(*shape: int, bound: float) -> nn.Parameter:
    """A parameter of the given shape drawn uniformly from [-bound, bound] (``nn.GRU``'s initialisation)."""
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


def project_inputs(X: Tensor, W_x: Tensor, b_x: Tensor) -> tuple[Tensor, ...]:
    """X (T, B, d) -> T tensors X_t W_x + b_x, each (B, k), from one matmul before the loop.

    Returned as ``unbind(0)`` views, not indexed as ``gi_all[t]`` inside the loop: each index's
    backward writes a full-size zero gradient, which makes backward quadratic in T.
    """
    T, B, d = X.shape
    return torch.addmm(b_x, X.reshape(T * B, d), W_x).view(T, B, -1).unbind(0)


Record = TypeVar("Record")
Model = TypeVar("Model", bound=nn.Module)


@contextlib.contextmanager
def eval_mode(model: Model) -> Iterator[Model]:
    """``with eval_mode(model):`` runs the block with ``model`` in eval mode (no dropout) and gives
    back its train/eval mode afterwards, also when the block raises or is interrupted."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_sizes(input_size: object, hidden_size: object) -> tuple[int, int]:
    """A layer's sizes as positive ints (a NumPy integer counts; 2.0 or '8' does not)."""
    return check_int("input_size", input_size, minimum=1), check_int("hidden_size", hidden_size, minimum=1)


class RecurrentLayer(nn.Module):
    """The loop every scratch layer shares, with ``nn.GRU``'s interface.

    A subclass sets ``input_size`` and ``hidden_size`` and defines :meth:`cell`, one step
    ``(x_t, h) -> h'``; it may override :meth:`step_inputs` to precompute what the cell reads
    at each step (by default X_t itself).

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    input_size: int
    hidden_size: int

    def step_inputs(self, X: Tensor) -> Sequence[Tensor]:
        """What the cell reads at each step: here X_t, each (B, d)."""
        return X.unbind(0)

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        """One step: the new state (B, h) from the step's input and the state (B, h)."""
        raise NotImplementedError(f"{type(self).__name__} must define cell(x, h) -> new state")

    def scan(
        self, X: Tensor, H: Tensor | None, step: Callable[[Tensor, Tensor], tuple[Tensor, Record]]
    ) -> list[Record]:
        """Run ``step(x_t, h) -> (h', record)`` over time from H (zeros when None); returns the records.

        X: (T, B, d) time-major, as in ``nn.GRU``; H: (1, B, h) or None.
        """
        self.check_input(X, H)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        records = []
        for x in self.step_inputs(X):
            h, record = step(x, h)
            records.append(record)
        return records

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        def step(x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
            h = self.cell(x, h)
            return h, h

        outputs = torch.stack(self.scan(X, H, step))
        return outputs, outputs[-1:]

    def check_input(self, X: Tensor, H: Tensor | None) -> None:
        """Refuse X or H of the wrong type (TypeError), or of the wrong shape or dtype (ValueError)."""
        T, B, d = check_tensor("X", X, (3,), f"(num_steps, batch_size, {self.input_size})").shape
        if d != self.input_size:
            raise ValueError(
                f"X must be a tensor (num_steps, batch_size, {self.input_size}), got shape {tuple(X.shape)}: "
                "inputs are time-major, as in nn.GRU (transpose a (B, T, d) batch with X.transpose(0, 1))"
            )
        if T == 0 or B == 0:
            raise ValueError(f"X has shape {tuple(X.shape)}: give at least one time step and one sequence")
        if H is not None:
            check_tensor("H", H, (3,), f"(1, batch_size, {self.hidden_size}) or None")
            if tuple(H.shape) != (1, B, self.hidden_size):
                raise ValueError(f"H must be a tensor (1, {B}, {self.hidden_size}) for this X, got {tuple(H.shape)}")
        dtype = next(self.parameters()).dtype
        for name, value in (("X", X), ("H", H)):
            if value is not None and value.dtype != dtype:
                raise ValueError(
                    f"{name} has dtype {value.dtype} but the layer's weights are {dtype}: convert it with "
                    f"{name}.to({dtype})"
                )


class GRUScratch(RecurrentLayer):
    """A one-layer GRU as the chapter writes it, fast enough to train.

    The input projections of all gates for all steps are one matmul before the loop; each step
    then costs one (B, h) x (h, 3h) matmul (reset="after") or two (reset="before").
    Weights are initialised like ``nn.GRU``: uniform in +-1/sqrt(hidden_size).

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int, reset: Reset = "after"):
        super().__init__()
        input_size, hidden_size = check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.reset = cast(Reset, check_choice("reset", reset, RESETS))
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = uniform_parameter(input_size, 3 * hidden_size, bound=bound)  # columns: r, z, n
        self.W_h = uniform_parameter(hidden_size, 3 * hidden_size, bound=bound)
        self.b_x = uniform_parameter(3 * hidden_size, bound=bound)
        self.b_h = uniform_parameter(3 * hidden_size, bound=bound)

    def step_inputs(self, X: Tensor) -> Sequence[Tensor]:
        """gi_t = X_t W_x + b_x for every step, each (B, 3h)."""
        return project_inputs(X, self.W_x, self.b_x)

    def gates(self, gi: Tensor, h: Tensor) -> GateValues:
        """One step's gates and states from gi_t (B, 3h) and h (B, h)."""
        return gru_step(gi, h, self.W_h, self.b_h, self.reset)

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        return self.gates(x, h).h

    def trace(self, X: Tensor, H: Tensor | None = None) -> GateValues:
        """Run over X (T, B, d) and return R, Z, N and H at every step, each (T, B, h)."""

        def step(gi: Tensor, h: Tensor) -> tuple[Tensor, GateValues]:
            values = self.gates(gi, h)
            return values.h, values

        steps = self.scan(X, H, step)
        return GateValues(*(torch.stack(parts) for parts in zip(*steps, strict=True)))


class GRUD2LStyle(RecurrentLayer):
    """The GRU as the d2l text codes it: six weight matrices and three biases, three input and
    three hidden matmuls every step, reset before the matmul. Kept as the readable baseline for timings.

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = check_sizes(input_size, hidden_size)
        bound = 1 / math.sqrt(hidden_size)

        def triple() -> tuple[nn.Parameter, nn.Parameter, nn.Parameter]:
            return (
                uniform_parameter(input_size, hidden_size, bound=bound),
                uniform_parameter(hidden_size, hidden_size, bound=bound),
                uniform_parameter(hidden_size, bound=bound),
            )

        self.W_xz, self.W_hz, self.b_z = triple()  # update gate
        self.W_xr, self.W_hr, self.b_r = triple()  # reset gate
        self.W_xh, self.W_hh, self.b_h = triple()  # candidate state

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        z = torch.sigmoid(x @ self.W_xz + h @ self.W_hz + self.b_z)
        r = torch.sigmoid(x @ self.W_xr + h @ self.W_hr + self.b_r)
        h_tilde = torch.tanh(x @ self.W_xh + (r * h) @ self.W_hh + self.b_h)
        return z * h + (1 - z) * h_tilde


class RNNScratch(RecurrentLayer):
    """A plain tanh RNN, H' = tanh(X W_x + b_x + H W_h + b_h), with ``nn.RNN``'s layout and init.

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = check_sizes(input_size, hidden_size)
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = uniform_parameter(input_size, hidden_size, bound=bound)
        self.W_h = uniform_parameter(hidden_size, hidden_size, bound=bound)
        self.b_x = uniform_parameter(hidden_size, bound=bound)
        self.b_h = uniform_parameter(hidden_size, bound=bound)

    def step_inputs(self, X: Tensor) -> Sequence[Tensor]:
        return project_inputs(X, self.W_x, self.b_x)

    def cell(self, x: Tensor, h: Tensor) -> Tensor:
        return torch.tanh(x + h @ self.W_h + self.b_h)


def layer_size(rnn: nn.Module, name: str) -> int:
    """``rnn.input_size`` or ``rnn.hidden_size`` of a recurrent layer, typed as the int it is."""
    if not isinstance(rnn, nn.Module) or not isinstance(getattr(rnn, name, None), int):
        raise TypeError(
            f"rnn must be a recurrent layer with nn.GRU's interface (an int {name}), got {show(rnn)}: "
            "use nn.GRU, nn.RNN, GRUScratch or RNNScratch"
        )
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


def _check_pair(gru: nn.GRU, scratch: GRUScratch) -> None:
    if not isinstance(gru, nn.GRU):
        raise TypeError(f"src must be an nn.GRU, got {show(gru)}")
    if not isinstance(scratch, GRUScratch):
        raise TypeError(f"dst must be a GRUScratch, got {show(scratch)}")
    if gru.num_layers != 1 or gru.bidirectional or not gru.bias or gru.batch_first:
        raise ValueError(f"src must be a one-layer, one-directional, time-major nn.GRU with biases, got {gru}")
    if (gru.input_size, gru.hidden_size) != (scratch.input_size, scratch.hidden_size):
        raise ValueError(
            f"dst must have src's sizes: nn.GRU({gru.input_size}, {gru.hidden_size}) vs "
            f"GRUScratch({scratch.input_size}, {scratch.hidden_size})"
        )
    if scratch.reset != "after":
        raise ValueError("dst must be built with reset='after': nn.GRU computes reset-after")


def check_time_major(rnn: nn.Module) -> None:
    """Refuse a layer that reads (B, T, d) or runs both ways: the head reads (T, B, hidden_size)."""
    layer_size(rnn, "hidden_size")
    if getattr(rnn, "batch_first", False):
        raise ValueError(
            f"rnn is batch_first, but RNNLM feeds it time-major inputs (T, B, d): it would recur across the "
            f"batch. Build it with batch_first=False: {type(rnn).__name__}(..., batch_first=False)"
        )
    if getattr(rnn, "bidirectional", False):
        raise ValueError("rnn is bidirectional: it reads the future it must predict. Build it with bidirectional=False")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("rnn has a projection, but RNNLM's head reads hidden_size features: build it with proj_size=0")


def check_lm_args(
    vocab_size: object, embed_size: object, dropout: object, embed_dropout: object
) -> tuple[int, int | None, float, float]:
    """The arguments :class:`RNNLM` and :func:`build_lm` share, checked (the one place they are)."""
    return (
        check_int("vocab_size", vocab_size, minimum=2, fix="len(vocab): <unk> and one token at least"),
        None if embed_size is None else check_int("embed_size", embed_size, minimum=1),
        check_real("dropout", dropout, 0.0, 1.0, inclusive=(True, False)),
        check_real("embed_dropout", embed_dropout, 0.0, 1.0, inclusive=(True, False)),
    )


class RNNLM(nn.Module):
    """A character language model: one-hot (or embedded) input, a recurrent layer, a linear head.

    ``rnn`` is any layer with nn.GRU's interface (``nn.GRU``, ``nn.LSTM``, ``nn.RNN``, ``GRUScratch``, ...).
    With ``embed_size=None`` the input is one-hot, as in d2l, and ``rnn.input_size`` must equal
    ``vocab_size``; otherwise an ``nn.Embedding(vocab_size, embed_size)`` feeds the layer.
    In training, ``embed_dropout`` drops inputs to the layer and ``dropout`` its outputs before the head.

    forward(tokens (B, T) int64, state or None) -> (logits (B, T, vocab_size), state)
    """

    def __init__(
        self,
        rnn: nn.Module,
        vocab_size: int,
        embed_size: int | None = None,
        dropout: float = 0.0,
        embed_dropout: float = 0.0,
    ):
        super().__init__()
        vocab_size, embed_size, dropout, embed_dropout = check_lm_args(vocab_size, embed_size, dropout, embed_dropout)
        check_time_major(rnn)
        expected = vocab_size if embed_size is None else embed_size
        if layer_size(rnn, "input_size") != expected:
            raise ValueError(
                f"rnn takes inputs of size {rnn.input_size}, but "
                + ("one-hot inputs have size vocab_size=" if embed_size is None else "embed_size=")
                + f"{expected}: build it with input_size={expected}"
            )
        self.rnn, self.vocab_size, self.embed_size = rnn, vocab_size, embed_size
        self.embedding = nn.Embedding(vocab_size, embed_size) if embed_size is not None else None
        self.dropout = nn.Dropout(dropout)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.head = nn.Linear(layer_size(rnn, "hidden_size"), vocab_size)

    def embed(self, tokens: Tensor) -> Tensor:
        """tokens (B, T) -> time-major inputs (T, B, d)."""
        if not isinstance(tokens, Tensor):
            raise TypeError(f"tokens must be a (batch_size, num_steps) int64 tensor, got {show(tokens)}")
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"tokens must be a (batch_size, num_steps) int64 tensor, got {tuple(tokens.shape)} {tokens.dtype}"
            )
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(
                f"tokens must hold indices in [0, {self.vocab_size}), got {int(tokens.min())}..{int(tokens.max())}"
            )
        if self.embedding is None:
            return F.one_hot(tokens.T, self.vocab_size).to(self.head.weight.dtype)
        return self.embedding(tokens.T)

    def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        outputs, state = self.rnn(self.embed_dropout(self.embed(tokens)), state)
        return self.head(self.dropout(outputs)).transpose(0, 1), state


def build_lm(
    kind: str,
    vocab_size: int,
    hidden_size: int,
    num_layers: int = 1,
    embed_size: int | None = None,
    dropout: float = 0.0,
    embed_dropout: float = 0.0,
) -> RNNLM:
    """A language model by name: ``"gru"`` / ``"lstm"`` / ``"rnn"`` (``nn.GRU`` / ``nn.LSTM`` / ``nn.RNN``, any depth),
    ``"gru_scratch"``, ``"gru_d2l_style"``, ``"rnn_scratch"`` (one layer each)."""
    torch_layers: dict[str, Callable[..., nn.Module]] = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
    scratch_layers: dict[str, type[RecurrentLayer]] = {
        "gru_scratch": GRUScratch,
        "gru_d2l_style": GRUD2LStyle,
        "rnn_scratch": RNNScratch,
    }
    kind = check_choice("kind", kind, (*torch_layers, *scratch_layers))
    # checked here as well as in RNNLM (the same function): the layer's input size depends on them
    vocab_size, embed_size, dropout, embed_dropout = check_lm_args(vocab_size, embed_size, dropout, embed_dropout)
    hidden_size = check_int("hidden_size", hidden_size, minimum=1)
    num_layers = check_int("num_layers", num_layers, minimum=1)
    d = vocab_size if embed_size is None else embed_size
    rnn: nn.Module
    if kind in torch_layers:
        rnn = torch_layers[kind](d, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0.0)
    elif num_layers == 1:
        rnn = scratch_layers[kind](d, hidden_size)
    else:
        raise ValueError(f"num_layers must be 1 for {kind} (one layer); use kind='gru' or 'rnn' for {num_layers}")
    return RNNLM(rnn, vocab_size, embed_size, dropout, embed_dropout)

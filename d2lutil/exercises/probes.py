"""Exercise 2's instrument: an ``nn.GRU`` whose gates follow a schedule set by hand, and how much
its last state depends on each input and on the initial state."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from d2lutil._checks import check_int, check_real, check_tensor, show
from d2lutil.models import check_sizes

SATURATED_LOGIT = 40.0  # a gate logit this large gives sigmoid = 1 (or 0) to float64 precision


def gate_logit(v: float) -> float:
    """The logit that makes a sigmoid gate equal ``v`` in [0, 1] (+-SATURATED_LOGIT for 1 and 0)."""
    v = check_real("a gate value", v, 0.0, 1.0)  # in [0, 1]: it is a sigmoid
    if v <= 0.0:
        return -SATURATED_LOGIT
    if v >= 1.0:
        return SATURATED_LOGIT
    return math.log(v / (1.0 - v))


def _check_schedule(name: str, values: object) -> list[float]:
    """A gate schedule as a list of floats in [0, 1], one per step (at least one step)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of gate values in [0, 1], one per step, got {show(values)}")
    if not values:
        raise ValueError(f"{name} is empty: give one gate value per step")
    return [check_real(f"{name}[{t}]", v, 0.0, 1.0) for t, v in enumerate(values)]


def hand_set_gru(
    r: Sequence[float], z: Sequence[float], input_size: int = 3, hidden_size: int = 4, seed: int = 0
) -> nn.GRU:
    """An ``nn.GRU`` (float64) whose reset and update gates follow the schedules ``r`` and ``z``.

    The gates cannot see the data: their weights on the data and on the state are zero, and the
    input carries, besides ``input_size`` data features, a one-hot clock of ``T = len(r)``
    channels whose weight into each gate at step t is the logit of ``r[t]`` / ``z[t]`` (+-40 for
    1 and 0, so the sigmoid gives exactly 1 or 0). The candidate has random weights on the data
    and the state. Feed it ``with_clock(X)``: X (T, B, input_size) -> (T, B, input_size + T).
    """
    r, z = _check_schedule("r", r), _check_schedule("z", z)
    T = len(r)
    if len(z) != T:
        raise ValueError(f"r and z must have one value per step, got {len(r)} and {len(z)}")
    input_size, hidden_size = check_sizes(input_size, hidden_size)
    gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    h, d = hidden_size, input_size
    gru = nn.GRU(d + T, h).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        w_ih, w_hh = (
            gru.get_parameter("weight_ih_l0"),
            gru.get_parameter("weight_hh_l0"),
        )  # (3h, d+T), (3h, h), rows r, z, n
        for t in range(T):
            w_ih[:h, d + t] = gate_logit(float(r[t]))
            w_ih[h : 2 * h, d + t] = gate_logit(float(z[t]))
        w_ih[2 * h :, :d] = torch.randn(h, d, generator=gen, dtype=torch.float64)
        w_hh[2 * h :] = torch.randn(h, h, generator=gen, dtype=torch.float64) / math.sqrt(h)
        gru.get_parameter("bias_ih_l0")[2 * h :] = 0.1 * torch.randn(h, generator=gen, dtype=torch.float64)
        gru.get_parameter("bias_hh_l0")[2 * h :] = 0.1 * torch.randn(h, generator=gen, dtype=torch.float64)
    return gru


def with_clock(X: Tensor) -> Tensor:
    """Append a one-hot clock to inputs X (T, B, d): returns (T, B, d + T)."""
    check_tensor("X", X, (3,), "(T, B, d)")
    T, B, _ = X.shape
    clock = torch.eye(T, dtype=X.dtype, device=X.device)[:, None, :].expand(T, B, T)
    return torch.cat([X, clock], dim=-1)


def input_sensitivity(
    r: Sequence[float], z: Sequence[float], input_size: int = 3, hidden_size: int = 4, seed: int = 0
) -> tuple[Tensor, float]:
    """How much the last state of :func:`hand_set_gru` depends on each input and on the initial state.

    Runs the GRU from a random initial state H_0 over random inputs x_0..x_{T-1} and returns
    (the gradient norm of a random projection of H_{T-1} with respect to each x_t, shape (T,),
    the same gradient norm with respect to H_0). Zero means "does not depend on it".
    """
    gru = hand_set_gru(r, z, input_size, hidden_size, seed)
    T = len(r)
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(T, 1, input_size, generator=gen, dtype=torch.float64, requires_grad=True)
    H0 = torch.randn(1, 1, hidden_size, generator=gen, dtype=torch.float64, requires_grad=True)
    _, H = gru(with_clock(X), H0)
    w = torch.randn(hidden_size, generator=gen, dtype=torch.float64)
    (H[0, 0] @ w).backward()
    assert X.grad is not None and H0.grad is not None
    return X.grad[:, 0].norm(dim=-1), float(H0.grad.norm())

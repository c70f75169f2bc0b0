"""The exercises' worked answers and the break task's data, shared by the exercise tests.

tests/test_exercises.py checks that the self-checks accept these and reject wrong answers;
tests/test_bad_inputs_exercises.py uses them as the right answer beside each bad one.
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import Tensor

from d2lutil.training import Recipe


def gates_solution(s: int, t_prime: int) -> tuple[float | None, float | None]:
    """Exercise 2: (reset, update) at step s so that only x_{t'} reaches the output (None: free)."""
    if s < t_prime:
        return (None, None)
    if s == t_prime:
        return (0, 0)
    return (None, 1)


SWEEP_RECIPE = Recipe(batch_size=64, num_steps=32, lr=1e-2, optimizer="adam", num_epochs=1, train_chars=60_000)


def sweep() -> list[dict[str, object]]:
    """Exercise 3: the baseline over two seeds (spread 0.2), then one run per change: changing batch_size
    lowers the perplexity by more than the spread and takes longest by more than 25%; the other changes
    stay within the spread or make it worse."""
    base = {"kind": "gru", "layer": "GRU", "budget": "quick", "hidden_size": 32, **asdict(SWEEP_RECIPE)}
    rows = [
        dict(base, seed=0, seconds=1.0, val_ppl=12.0, sample="x"),
        dict(base, seed=1, seconds=1.1, val_ppl=12.2, sample="x"),
    ]
    changes = {
        "hidden_size": (64, 11.95),
        "num_steps": (8, 12.3),
        "lr": (2e-3, 20.0),
        "clip": (None, 12.0),
        "batch_size": (16, 10.0),
    }
    for i, (name, (value, ppl)) in enumerate(changes.items()):
        rows.append(
            dict(
                base, **{name: value}, seed=0, seconds=9.0 if name == "batch_size" else 2.0 + i, val_ppl=ppl, sample="x"
            )
        )
    return rows


def reset_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """Exercise 4's reset-only cell: a GRU with Z = 0, reset after the matmul. gi (B, 2h), h (B, h) -> (B, h)."""
    k = h.shape[-1]
    gh = h @ W_h + b_h
    r = torch.sigmoid(gi[:, :k] + gh[:, :k])
    return torch.tanh(gi[:, k:] + r * gh[:, k:])


def gluon_reset_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """Exercise 4's reset-only cell as gluonbook's code computes the candidate: tanh(gi_n + R * (h W_hn) + b_hn)."""
    k = h.shape[-1]
    r = torch.sigmoid(gi[:, :k] + h @ W_h[:, :k] + b_h[:k])
    return torch.tanh(gi[:, k:] + r * (h @ W_h[:, k:]) + b_h[k:])


BREAK = 0  # exercise 5's break token
CLASSES = 4  # exercise 5: the first token of the sequence and of every segment is one of 1..4


def last_segment_label(X: Tensor) -> Tensor:
    """The class of the first token after the last break (the first token when there is none). X (B, T) -> (B,)."""
    pos = torch.arange(X.shape[1])
    last = torch.where(X == BREAK, pos, torch.full_like(pos, -1)).max(1).values
    return X[torch.arange(len(X)), last + 1] - 1


def label_of(X: Tensor) -> Tensor:
    """Exercise 5's label: the pair (first token, first token after the last break) as one of 16 classes."""
    return (X[:, 0] - 1) * CLASSES + last_segment_label(X)


def make_break_batch(batch_size: int, generator: torch.Generator, T: int = 20) -> tuple[Tensor, Tensor]:
    """Exercise 5's data: sequences (B, T) with occasional breaks, and their labels (B,)."""
    X = torch.randint(1, 9, (batch_size, T), generator=generator)
    breaks = torch.zeros(batch_size, T, dtype=torch.bool)
    breaks[:, 1:-1] = torch.rand(batch_size, T - 2, generator=generator) < 1.5 / (T - 2)
    starts = torch.zeros_like(breaks)
    starts[:, 0], starts[:, 1:] = True, breaks[:, :-1]
    X = torch.where(starts, torch.randint(1, CLASSES + 1, (batch_size, T), generator=generator), X)
    X[breaks] = BREAK
    return X, label_of(X)


def flip(W_x: Tensor, W_h: Tensor, b_x: Tensor, b_h: Tensor) -> tuple[Tensor, ...]:
    """Exercise 6: nn.GRU's weights for the flipped convention (negate the update gate's block)."""
    k = W_h.shape[0]
    sign = torch.ones(3 * k, dtype=W_x.dtype)
    sign[k : 2 * k] = -1
    return W_x * sign, W_h * sign, b_x * sign, b_h * sign


def gru_jacobian(gru: torch.nn.GRU, x: Tensor, h: Tensor) -> Tensor:
    """Exercise 7: dH_t/dH_(t-1) of one nn.GRU step, x (d,), h (h,) -> (h, h), J[i, j] = dH_t[i]/dh[j]."""
    k = h.shape[0]
    gi = gru.weight_ih_l0 @ x + gru.bias_ih_l0
    gh = gru.weight_hh_l0 @ h + gru.bias_hh_l0
    r = torch.sigmoid(gi[:k] + gh[:k])
    z = torch.sigmoid(gi[k : 2 * k] + gh[k : 2 * k])
    n = torch.tanh(gi[2 * k :] + r * gh[2 * k :])
    W_r, W_z, W_n = gru.weight_hh_l0.split(k)  # (h, h) each, row i = unit i
    dz = (z * (1 - z))[:, None] * W_z
    dr = (r * (1 - r))[:, None] * W_r
    dn = (1 - n**2)[:, None] * (r[:, None] * W_n + gh[2 * k :, None] * dr)
    return torch.diag(z) + (h - n)[:, None] * dz + (1 - z)[:, None] * dn


def count_parameters(kind: str, input_size: int, hidden_size: int) -> int:
    """Exercise 8: parameters of one nn.RNN / nn.GRU / nn.LSTM layer: per block h(d + h) + 2h."""
    blocks = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    return blocks * (hidden_size * (input_size + hidden_size) + 2 * hidden_size)

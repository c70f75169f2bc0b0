"""The exercises' worked answers and the break task's data, shared by the exercise tests.

tests/test_exercises.py checks that the self-checks accept these and reject wrong answers;
tests/test_bad_inputs_exercises.py uses them as the right answer beside each bad one.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gates_solution(s: int, t_prime: int) -> tuple[float | None, float | None]:
    """Exercise 2: (reset, update) at step s so that only x_{t'} reaches the output (None: free)."""
    if s < t_prime:
        return (None, None)
    if s == t_prime:
        return (0, 0)
    return (None, 1)


def sweep() -> list[dict[str, object]]:
    """Exercise 3: a baseline run and one run per changed setting (changing batch_size is best and slowest)."""
    base = {"hidden_size": 32, "num_steps": 32, "lr": 1e-2, "clip": 1.0, "batch_size": 64}
    changes = {"hidden_size": 64, "num_steps": 8, "lr": 2e-3, "clip": None, "batch_size": 16}
    rows = [dict(base, seconds=1.0, val_ppl=12.0, sample="time traveller")]
    for i, (name, value) in enumerate(changes.items()):
        rows.append(
            dict(base, **{name: value}, seconds=2.0 + i, val_ppl=11.0 - i * 0.1 if name != "lr" else 20.0, sample="x")
        )
    return rows


def reset_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """Exercise 4's reset-only cell: a GRU with Z = 0, reset after the matmul. gi (B, 2h), h (B, h) -> (B, h)."""
    k = h.shape[-1]
    gh = h @ W_h + b_h
    r = torch.sigmoid(gi[:, :k] + gh[:, :k])
    return torch.tanh(gi[:, k:] + r * gh[:, k:])


BREAK = 0  # exercise 5's break token


def label_of(X: Tensor) -> Tensor:
    """Exercise 5's label: the class of the first token after the last break. X (B, T) -> (B,)."""
    pos = torch.arange(X.shape[1])
    last = torch.where(X == BREAK, pos, torch.full_like(pos, -1)).max(1).values
    return X[torch.arange(len(X)), last + 1] - 1


def make_break_batch(batch_size: int, generator: torch.Generator, T: int = 20) -> tuple[Tensor, Tensor]:
    """Exercise 5's data: sequences (B, T) with occasional breaks, and their labels (B,)."""
    X = torch.randint(1, 9, (batch_size, T), generator=generator)
    breaks = torch.zeros(batch_size, T, dtype=torch.bool)
    breaks[:, 1:-1] = torch.rand(batch_size, T - 2, generator=generator) < 1.5 / (T - 2)
    starts = torch.zeros_like(breaks)
    starts[:, 0], starts[:, 1:] = True, breaks[:, :-1]
    X = torch.where(starts, torch.randint(1, 5, (batch_size, T), generator=generator), X)
    X[breaks] = BREAK
    return X, label_of(X)


def flip(W_x: Tensor, W_h: Tensor, b_x: Tensor, b_h: Tensor) -> tuple[Tensor, ...]:
    """Exercise 6: nn.GRU's weights for the flipped convention (negate the update gate's block)."""
    k = W_h.shape[0]
    sign = torch.ones(3 * k, dtype=W_x.dtype)
    sign[k : 2 * k] = -1
    return W_x * sign, W_h * sign, b_x * sign, b_h * sign

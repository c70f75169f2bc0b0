"""A small synthetic sequence task that needs long memory, a model to read it, and its training.

First-token recall: the first token (one of ``num_classes``) decides the label; a long stretch of
random symbols follows. Chance accuracy is 1 / num_classes. Exercises 4 to 6 train the same
classifier on tasks of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from d2lutil._checks import check_callable, check_choice, check_int, check_model, check_positive, show
from d2lutil.models import check_time_major, layer_size
from d2lutil.training import OPTIMIZERS, Optimizer, check_clip, make_optimizer, optimize

MakeBatch = Callable[[int, torch.Generator], tuple[Tensor, Tensor]]


def _check_sizes(batch_size: int, length: int) -> tuple[int, int]:
    return check_int("batch_size", batch_size, minimum=1), check_int("length", length, minimum=2)


def first_token_recall(
    batch_size: int, length: int, num_classes: int = 4, num_symbols: int = 8, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Sequences whose label is their first token.

    Returns X (B, T) int64 symbols in [0, num_symbols), the first one in [0, num_classes), and
    y (B,) int64 = X[:, 0]. The other T - 1 symbols are uniform noise over all symbols.
    """
    batch_size, length = _check_sizes(batch_size, length)
    num_classes, num_symbols = check_int("num_classes", num_classes), check_int("num_symbols", num_symbols)
    if not 2 <= num_classes <= num_symbols:
        raise ValueError(f"need 2 <= num_classes <= num_symbols, got {num_classes} and {num_symbols}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {show(generator)}")
    X = torch.randint(0, num_symbols, (batch_size, length), generator=generator)
    X[:, 0] = torch.randint(0, num_classes, (batch_size,), generator=generator)
    return X, X[:, 0].clone()


class SequenceModel(nn.Module):
    """Reads a whole sequence with a recurrent layer and predicts from its last state.

    ``rnn``: any layer with nn.GRU's interface. Inputs are tokens (B, T) int64 when
    ``vocab_size`` is given (embedded with ``embed_size``), else features (B, T, d).
    forward(X) -> (B, out_size) logits or regression outputs.
    """

    def __init__(self, rnn: nn.Module, out_size: int, vocab_size: int | None = None, embed_size: int | None = None):
        super().__init__()
        check_time_major(rnn)  # it reads (T, B, d) and predicts from the last state
        out_size = check_int("out_size", out_size, minimum=1)
        vocab_size = None if vocab_size is None else check_int("vocab_size", vocab_size, minimum=1)
        embed_size = None if embed_size is None else check_int("embed_size", embed_size, minimum=1)
        self.rnn = rnn
        self.embedding = nn.Embedding(vocab_size, embed_size or layer_size(rnn, "input_size")) if vocab_size else None
        self.head = nn.Linear(layer_size(rnn, "hidden_size"), out_size)

    def forward(self, X: Tensor) -> Tensor:
        inputs = self.embedding(X) if self.embedding is not None else X
        _, state = self.rnn(inputs.transpose(0, 1))  # time-major (T, B, d)
        return self.head(state[-1])


def _check_batch(batch: object, size: int) -> tuple[Tensor, Tensor]:
    """What ``make_batch(size, generator)`` returned, if it is (X (size, ...), y (size,) int64)."""
    if not (isinstance(batch, tuple) and len(batch) == 2 and all(isinstance(t, Tensor) for t in batch)):
        raise TypeError(f"make_batch must return a pair of tensors (X, y), got {show(batch)}")
    X, y = batch
    if X.dim() < 2 or X.shape[0] != size or tuple(y.shape) != (size,) or y.dtype != torch.long:
        raise ValueError(
            f"make_batch({size}, generator) must return X ({size}, T, ...) and y ({size},) int64 class "
            f"indices, got X {tuple(X.shape)} and y {tuple(y.shape)} {y.dtype}"
        )
    return X, y


@dataclass
class TaskResult:
    """What training on a synthetic task produced."""

    steps: list[int]
    losses: list[float]  # training loss, averaged over each logging interval
    test_score: float  # accuracy on the held-out examples
    seconds: float


def train_on_task(
    model: nn.Module,
    make_batch: MakeBatch,
    num_steps: int,
    batch_size: int = 128,
    lr: float = 1e-2,
    optimizer: Optimizer = "adam",
    clip: float | None = 1.0,
    test_size: int = 2048,
    log_every: int = 50,
    seed: int = 0,
) -> TaskResult:
    """Train the classifier ``model`` on fresh batches ``make_batch(batch_size, generator) -> (X, y)``
    (y: (B,) class indices) and score its accuracy on ``test_size`` held-out examples.
    """
    check_model("model", model)
    check_callable("make_batch", make_batch, "(batch_size, generator) -> (X, y)")
    num_steps, batch_size = check_int("num_steps", num_steps, minimum=1), check_int("batch_size", batch_size, minimum=1)
    lr, clip = check_positive("lr", lr), check_clip(clip)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    test_size, log_every = check_int("test_size", test_size, minimum=1), check_int("log_every", log_every, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    test_X, test_y = _check_batch(make_batch(test_size, torch.Generator().manual_seed(seed + 1)), test_size)

    def loss_of(X: Tensor, y: Tensor) -> tuple[Tensor, int]:
        out, y = model(X.to(device)), y.to(device)
        return F.cross_entropy(out, y), len(y)

    batches = (make_batch(batch_size, gen) for _ in range(num_steps))
    opt = make_optimizer(model, optimizer, lr)
    logged_steps, losses, running = [], [], 0.0
    start = time.perf_counter()
    model.train()
    for step, result in enumerate(optimize(model, batches, loss_of, opt, clip), start=1):
        running += result.loss
        if step % log_every == 0 or step == num_steps:
            logged_steps.append(step)
            losses.append(running / (log_every if step % log_every == 0 else step % log_every))
            running = 0.0
    seconds = time.perf_counter() - start
    model.eval()  # the trained classifier is handed back ready to use
    with torch.no_grad():
        accuracy = float((model(test_X.to(device)).argmax(-1) == test_y.to(device)).float().mean())
    return TaskResult(logged_steps, losses, accuracy, seconds)

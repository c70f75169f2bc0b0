"""The measured runs the exercises compare: a character language model on The Time Machine
(exercises 1, 3, 4) and a small sequence classifier (exercises 4 to 6), and a table of results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from d2lutil._checks import check_callable, check_int, check_model, show
from d2lutil.data import TimeMachine
from d2lutil.generation import predict
from d2lutil.models import RNNLM, build_lm
from d2lutil.settings import set_seed
from d2lutil.tasks import SequenceModel, train_on_task
from d2lutil.training import Optimizer, Recipe, train

LM_KINDS = ("rnn_scratch", "rnn", "gru_scratch", "gru")


def lm_trial(
    data: TimeMachine,
    kind: str | nn.Module,
    hidden_size: int = 64,
    batch_size: int = 128,
    num_steps: int = 32,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    num_epochs: int = 1,
    train_chars: int | None = None,
    optimizer: Optimizer = "adam",
    seed: int = 0,
    prefix: str = "time traveller",
    num_preds: int = 40,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Train one character LM and measure it; returns a row for a results table.

    ``kind``: a :func:`d2lutil.build_lm` kind (``"gru"``, ``"rnn_scratch"``, ...) with one-hot
    input, or a recurrent layer with nn.GRU's interface whose ``input_size`` is the vocabulary
    size. ``train_chars`` limits training to the first that many characters of the training part
    (None: all of it, the book's first 85%). The row holds the hyper-parameters, ``model``,
    ``seconds`` (training steps only), ``tokens_per_s``, ``train_ppl``, ``val_ppl`` (validation
    perplexity, on ``data.val_tokens``: the figure to compare runs by) and ``sample`` (greedy
    continuation of ``prefix``). The test part is never read: comparing runs is a choice, made on validation.
    """
    if not isinstance(data, TimeMachine):
        raise TypeError(f"data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if not isinstance(kind, (str, nn.Module)):
        raise TypeError(f"kind must be a build_lm kind such as 'gru' or a recurrent layer, got {show(kind)}")
    set_seed(seed)
    vocab_size = len(data.vocab)
    if isinstance(kind, str):
        model = build_lm(kind, vocab_size, hidden_size)
        name = kind
    else:
        model = RNNLM(kind, vocab_size)
        name = type(kind).__name__
    device = device or torch.device("cpu")
    recipe = Recipe(
        batch_size=batch_size,
        num_steps=num_steps,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        num_epochs=num_epochs,
        seed=seed,
        train_chars=train_chars,
    )
    check_int("num_preds", num_preds, minimum=0)
    predict(prefix, 0, model.to(device), data.vocab, device=device)  # refuses a bad prefix before training
    history = train(model.to(device), data.train_tokens, data.val_tokens, recipe, device=device, progress=False)
    return {
        "kind": name,
        "hidden_size": hidden_size,
        "num_steps": num_steps,
        "lr": lr,
        "clip": clip,
        "batch_size": batch_size,
        "model": model,
        "seconds": history.train_seconds,
        "tokens_per_s": history.tokens / max(history.train_seconds, 1e-9),
        "train_ppl": history.train_ppl[-1],
        "val_ppl": history.val_ppl[-1],
        "sample": predict(prefix, num_preds, model, data.vocab, device=device),
    }


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of ``rows`` (dicts) with the given columns; floats get 3 significant digits."""
    if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a list of dicts (one per run), got {show(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"rows[{i}] must be a dict column -> value, got {show(row)}")
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence) or not columns:
        raise TypeError(f"columns must be a non-empty list of column names, got {show(columns)}")
    for i, column in enumerate(columns):
        if not isinstance(column, str):
            raise TypeError(f"columns[{i}] must be a str (a key of the rows), got {show(column)}")

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
        return str(value)

    body = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def accuracy_run(
    rnn: nn.Module,
    make_batch: Callable[[int, torch.Generator], tuple[Tensor, Tensor]],
    num_classes: int,
    vocab_size: int,
    num_steps: int,
    embed_size: int = 16,
    lr: float = 1e-2,
    batch_size: int = 128,
    seed: int = 0,
    log_every: int = 50,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Any]:
    """Train ``SequenceModel(rnn)`` on a synthetic classification task; returns accuracy, time, losses.

    The model is built on ``rnn``'s device in ``dtype``; ``losses`` are training losses averaged
    over every ``log_every`` steps (logged at ``steps``).
    """
    check_model("rnn", rnn)
    check_callable("make_batch", make_batch, "(batch_size, generator) -> (X, y)")
    num_classes = check_int("num_classes", num_classes, minimum=2)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a float torch.dtype such as torch.float32, got {show(dtype)}")
    device = next(rnn.parameters()).device
    model = SequenceModel(rnn, num_classes, vocab_size=vocab_size, embed_size=embed_size).to(device, dtype)
    start = time.perf_counter()
    result = train_on_task(
        model, make_batch, num_steps, batch_size=batch_size, lr=lr, seed=seed, test_size=1024, log_every=log_every
    )
    return {
        "accuracy": result.test_score,
        "seconds": time.perf_counter() - start,
        "steps": result.steps,
        "losses": result.losses,
        "model": model,
    }

"""The training loop, perplexity and generation for the chapter's models.

:func:`optimize` is the one optimisation loop of the package (forward, backward, clipping, a
step, timed); :func:`train` runs it over epochs of a language model's windows, measures training
and validation perplexity and tells its callbacks after every epoch, as minGPT's trainer does: the
loop prints nothing itself but a tqdm bar, and a live plot (:class:`d2lutil.plot.LivePlot`) is one
such callback. :class:`Recipe` names a run's hyper-parameters once; :func:`train_recipe` trains
a model on The Time Machine with it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from d2lutil._checks import (
    check_bool,
    check_choice,
    check_device,
    check_int,
    check_model,
    check_positive,
    check_real,
    check_tokens,
    show,
)
from d2lutil.data import TimeMachine, WindowLoader

Optimizer = Literal["sgd", "adam", "adamw"]
OPTIMIZERS: tuple[Optimizer, ...] = ("sgd", "adam", "adamw")
Schedule = Literal["constant", "cosine"]
SCHEDULES: tuple[Schedule, ...] = ("constant", "cosine")


@dataclass
class History:
    """Per-epoch figures of one training run."""

    epochs: list[float] = field(default_factory=list)  # may end in a fraction when stopped by time
    train_ppl: list[float] = field(default_factory=list)
    val_ppl: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    train_seconds: float = 0.0  # time spent in training steps, evaluation excluded
    tokens: int = 0

    @property
    def best_val_ppl(self) -> float:
        return min(self.val_ppl) if self.val_ppl else math.nan

    def summary(self) -> str:
        return (
            f"train perplexity {self.train_ppl[-1]:.2f}, validation perplexity {self.val_ppl[-1]:.2f} "
            f"(best {self.best_val_ppl:.2f}), {self.tokens / max(self.train_seconds, 1e-9):,.0f} tokens/s, "
            f"{self.train_seconds:.1f} s of training"
        )


class TrainingDiverged(RuntimeError):
    """Training stopped because the loss or a perplexity became infinite or NaN.

    ``history`` holds the figures measured before the run diverged (the epoch that diverged
    included when its perplexities were measured); with ``restore_best=True`` the model holds
    the best finite weights again (its starting weights when no epoch finished).
    """

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


def perplexity(mean_loss: float) -> float:
    """exp(mean cross-entropy in nats): ``math.inf`` where that overflows (a diverged model), NaN stays NaN."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


def check_clip(clip: object) -> float | None:
    """``clip`` as None (no clipping) or a positive finite float; 0 would freeze the model, < 0 ascend."""
    if clip is None:
        return None
    return check_positive("clip", clip, fix="it bounds the gradient's norm; pass None for no clipping")


def _check_eval_tokens(name: str, tokens: Tensor, batch_size: int) -> None:
    check_tokens(name, tokens)
    if len(tokens) < 2 * batch_size:
        raise ValueError(
            f"{name} must be a 1-D tensor of at least {2 * batch_size} indices (two per stream of "
            f"batch_size={batch_size}), got {len(tokens)}: give more text or a smaller batch_size"
        )


@torch.no_grad()
def evaluate_perplexity(model: nn.Module, tokens: Tensor, batch_size: int = 8, num_steps: int = 256) -> float:
    """Perplexity of ``model`` on a token sequence (n,), read in order with the state carried.

    The sequence is cut into ``batch_size`` contiguous streams that are read ``num_steps`` at a
    time; every token but the first of each stream is predicted. Deterministic for given sizes.
    A model whose loss overflows has perplexity ``math.inf``.
    """
    check_model("model", model)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    num_steps = check_int("num_steps", num_steps, minimum=1)
    _check_eval_tokens("tokens", tokens, batch_size)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = (len(tokens) - 1) // batch_size * batch_size
    xs = tokens[:n].reshape(batch_size, -1).to(device)
    ys = tokens[1 : n + 1].reshape(batch_size, -1).to(device)
    state, total, count = None, 0.0, 0
    for i in range(0, xs.shape[1], num_steps):
        logits, state = model(xs[:, i : i + num_steps], state)
        y = ys[:, i : i + num_steps]
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return perplexity(total / count)


def _detach(state: Tensor | tuple[Tensor, ...] | None) -> Tensor | tuple[Tensor, ...] | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def make_optimizer(model: nn.Module, name: Optimizer, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD, Adam or AdamW over the model's parameters."""
    check_model("model", model)
    lr = check_positive("lr", lr, fix="try 1e-2 for adam, 1.0 for sgd")
    weight_decay = check_real("weight_decay", weight_decay, low=0.0)
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {show(name)}")
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: choose 'sgd', 'adam' or 'adamw'")


class Callback:
    """What :func:`train` tells the code that follows a run (a live plot, a logger, a test).

    Subclass it and override the events you need; the others do nothing.
    """

    def on_epoch_end(self, history: History) -> None:
        """After every epoch, once the epoch's figures are in ``history``."""

    def on_train_end(self, history: History) -> None:
        """Once, when training stops."""


class StepResult(NamedTuple):
    """One optimisation step: its mean loss, how many targets it averaged over, its time in seconds."""

    loss: float
    targets: int
    seconds: float


def optimize(
    model: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    loss_of: Callable[[Tensor, Tensor], tuple[Tensor, int]],
    opt: torch.optim.Optimizer,
    clip: float | None = 1.0,
) -> Iterator[StepResult]:
    """Take one optimisation step per batch, yielding each step's figures; the caller decides when to stop.

    ``loss_of(X, Y) -> (mean loss, number of targets)`` runs the model (moving the batch to its
    device is part of it, and of the timed step). ``clip`` bounds the gradient's global norm
    (None: no clipping).
    """
    clip = check_clip(clip)
    for X, Y in batches:
        start = time.perf_counter()
        loss, count = loss_of(X, Y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        value = float(loss.detach())  # float() waits for the device, so the timing is honest
        yield StepResult(value, count, time.perf_counter() - start)


class LanguageModelLoss:
    """Cross-entropy of a language model on windows (B, T); with a sequential loader the state
    is carried from one window to the next (detached, so backward stops at the window's start)."""

    def __init__(self, model: nn.Module, device: torch.device, carry_state: bool):
        self.model, self.device, self.carry_state = model, device, carry_state
        self.state: Tensor | tuple[Tensor, ...] | None = None

    def reset(self) -> None:
        """Start the next window from a zero state (at an epoch's start)."""
        self.state = None

    def __call__(self, X: Tensor, Y: Tensor) -> tuple[Tensor, int]:
        X, Y = X.to(self.device), Y.to(self.device)
        logits, state = self.model(X, self.state if self.carry_state else None)
        self.state = _detach(state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1)), Y.numel()


def train(
    model: nn.Module,
    train_iter: WindowLoader,
    val_tokens: Tensor,
    num_epochs: int,
    lr: float,
    optimizer: Optimizer = "sgd",
    clip: float | None = 1.0,
    weight_decay: float = 0.0,
    device: torch.device | None = None,
    max_seconds: float | None = None,
    restore_best: bool = False,
    progress: bool = True,
    title: str = "",
    callbacks: Sequence[Callback] = (),
    schedule: Schedule = "constant",
    ema_decay: float | None = None,
) -> History:
    """Train a language model ``model(tokens (B, T)) -> (logits (B, T, V), state)``.

    After every epoch the validation perplexity on ``val_tokens`` (n,) is measured with
    :func:`evaluate_perplexity` and every callback's ``on_epoch_end(history)`` is called.
    ``max_seconds`` stops training once that much training time has passed (the last epoch is
    then partial). ``restore_best`` loads back the weights of the epoch with the lowest validation
    perplexity. ``progress`` shows a tqdm bar titled ``title``. ``schedule="cosine"`` lowers the
    learning rate from ``lr`` to 0 along a half cosine over all the run's steps. ``ema_decay``
    keeps an exponential moving average of the weights (``torch.optim.swa_utils.AveragedModel``):
    the validation perplexity is then measured on the average, and the model ends holding it.

    A loss or perplexity that becomes infinite or NaN stops the run with :class:`TrainingDiverged`,
    which carries the history so far (after restoring the best weights when ``restore_best``).
    """
    check_model("model", model)
    if not isinstance(train_iter, WindowLoader):
        raise TypeError(
            f"train_iter must be a d2lutil.data.WindowLoader, got {show(train_iter)}: "
            "build one with WindowLoader(tokens, batch_size, num_steps) or data.train_iter(batch_size, num_steps)"
        )
    _check_eval_tokens("val_tokens", val_tokens, 8)
    num_epochs = check_int("num_epochs", num_epochs, minimum=1)
    clip = check_clip(clip)
    if max_seconds is not None:
        max_seconds = check_real("max_seconds", max_seconds, low=0.0)
    restore_best, progress = check_bool("restore_best", restore_best), check_bool("progress", progress)
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {show(title)}")
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise TypeError(f"callbacks must be a list of d2lutil.training.Callback, got {show(callbacks)}")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks[{i}] must be a d2lutil.training.Callback, got {show(callback)}")
    check_choice("schedule", schedule, SCHEDULES)
    if ema_decay is not None:
        ema_decay = check_real("ema_decay", ema_decay, 0.0, 1.0, inclusive=(False, False))
    device = check_device(device) or next(model.parameters()).device
    model.to(device)
    opt = make_optimizer(model, optimizer, lr, weight_decay)
    batches = len(train_iter)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_epochs * batches) if schedule == "cosine" else None
    )
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay)) if ema_decay is not None else None
    scored = model if averaged is None else averaged.module  # the weights validation judges
    loss_of = LanguageModelLoss(model, device, carry_state=train_iter.sequential)
    history = History()
    # with restore_best, the starting weights are what a run that diverges in its first epoch goes back to
    best = (math.inf, copy.deepcopy(model.state_dict())) if restore_best else None
    bar = tqdm(total=num_epochs * batches, disable=not progress, desc=title or "training", unit="batch")
    stop, diverged = False, ""
    for epoch in range(num_epochs):
        model.train()
        loss_of.reset()
        loss_sum, count, done = 0.0, 0, 0
        for step in optimize(model, train_iter, loss_of, opt, clip):
            if not math.isfinite(step.loss):
                diverged = f"the training loss became {step.loss} at step {done + 1} of epoch {epoch + 1}"
                break
            loss_sum += step.loss * step.targets
            count += step.targets
            done += 1
            history.train_seconds += step.seconds
            history.tokens += step.targets
            if scheduler is not None:
                scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            bar.update(1)
            if max_seconds is not None and history.train_seconds >= max_seconds:
                stop = True
                break
        if diverged:
            break
        history.epochs.append(epoch + done / batches)
        history.train_ppl.append(perplexity(loss_sum / max(count, 1)))
        history.val_ppl.append(evaluate_perplexity(scored, val_tokens))
        history.tokens_per_s.append(history.tokens / max(history.train_seconds, 1e-9))
        bar.set_postfix(train_ppl=f"{history.train_ppl[-1]:.2f}", val_ppl=f"{history.val_ppl[-1]:.2f}")
        if not (math.isfinite(history.train_ppl[-1]) and math.isfinite(history.val_ppl[-1])):
            diverged = (
                f"epoch {epoch + 1} ended with training perplexity {history.train_ppl[-1]} "
                f"and validation perplexity {history.val_ppl[-1]}"
            )
            break
        if best is not None and history.val_ppl[-1] <= best[0]:
            best = (history.val_ppl[-1], copy.deepcopy(scored.state_dict()))
        for callback in callbacks:
            callback.on_epoch_end(history)
        if stop:
            break
    bar.close()
    for callback in callbacks:
        callback.on_train_end(history)
    if best is not None:
        model.load_state_dict(best[1])
    elif averaged is not None:
        model.load_state_dict(averaged.module.state_dict())
    if diverged:
        kept = (
            "the model holds the weights of the best finite epoch again (its starting weights if none finished)"
            if best is not None
            else "the model's weights are no longer usable: rebuild it, or train with restore_best=True"
        )
        raise TrainingDiverged(
            f"training diverged: {diverged} (lr={lr}, clip={clip}). Lower lr or clip the gradient "
            f"(e.g. clip=1.0); {kept}. The exception's .history holds the {len(history.epochs)} measured epoch(s).",
            history,
        )
    return history


@dataclass(frozen=True)
class Recipe:
    """The hyper-parameters of one language-model run, named once.

    Windows of ``num_steps`` characters in batches of ``batch_size``; the optimizer, its learning
    rate, gradient clipping and weight decay; ``num_epochs`` passes over the training part, or
    fewer when ``max_seconds`` of training time run out first; the learning-rate ``schedule``, an
    average of the weights (``ema_decay``) and whether windows follow each other with the state
    carried (``sequential``) are described in :func:`train` and :class:`WindowLoader`.
    """

    batch_size: int
    num_steps: int
    lr: float
    optimizer: Optimizer = "sgd"
    clip: float | None = 1.0
    weight_decay: float = 0.0
    num_epochs: int = 1
    max_seconds: float | None = None
    schedule: Schedule = "constant"
    ema_decay: float | None = None
    sequential: bool = False

    def __post_init__(self) -> None:
        """Refuse impossible settings when the recipe is written, not after the first epoch."""
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("num_steps", self.num_steps, minimum=1)
        check_positive("lr", self.lr)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_clip(self.clip)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_int("num_epochs", self.num_epochs, minimum=1)
        if self.max_seconds is not None:
            check_real("max_seconds", self.max_seconds, low=0.0)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.ema_decay is not None:
            check_real("ema_decay", self.ema_decay, 0.0, 1.0, inclusive=(False, False))
        check_bool("sequential", self.sequential)


def train_recipe(
    model: nn.Module,
    train_tokens: Tensor,
    val_tokens: Tensor,
    recipe: Recipe | None = None,  # required: None only lets the old call (model, data, recipe) reach the clear error
    seed: int = 0,
    train_chars: int | None = None,
    device: torch.device | None = None,
    restore_best: bool = False,
    progress: bool = False,
    title: str = "",
) -> History:
    """Train ``model`` on ``train_tokens`` (n,) as ``recipe`` says, measuring ``val_tokens`` (m,) after each epoch.

    Pass the book's training and validation parts (``data.train_tokens, data.val_tokens``): the
    test part is never an argument of training, so nothing chosen here can have seen it.
    ``seed`` orders the random windows; ``train_chars`` keeps only the first that many training
    characters (None: all of them).
    """
    for name, tokens in (("train_tokens", train_tokens), ("val_tokens", val_tokens)):
        if isinstance(tokens, TimeMachine):
            raise TypeError(
                f"{name} must be a tensor of tokens, got the whole book (a TimeMachine): pass its parts, "
                "train_recipe(model, data.train_tokens, data.val_tokens, recipe); "
                "training never receives data.test_tokens"
            )
    train_tokens = check_tokens("train_tokens", train_tokens)
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a d2lutil.training.Recipe, got {show(recipe)}")
    seed = check_int("seed", seed)
    if train_chars is not None:
        train_chars = check_int("train_chars", train_chars, minimum=recipe.num_steps + 1)
    tokens = train_tokens if train_chars is None else train_tokens[:train_chars]
    return train(
        model,
        WindowLoader(tokens, recipe.batch_size, recipe.num_steps, sequential=recipe.sequential, seed=seed),
        val_tokens,
        num_epochs=recipe.num_epochs,
        lr=recipe.lr,
        optimizer=recipe.optimizer,
        clip=recipe.clip,
        weight_decay=recipe.weight_decay,
        device=device,
        max_seconds=recipe.max_seconds,
        restore_best=restore_best,
        progress=progress,
        title=title,
        schedule=recipe.schedule,
        ema_decay=recipe.ema_decay,
    )

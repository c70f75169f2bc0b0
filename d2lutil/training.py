"""The training loop and perplexity for the chapter's models.

:class:`Recipe` is the one description of a training run (checked once, when it is written);
:func:`train` runs a language model through it: :func:`optimize`, the package's one optimisation
loop (forward, backward, clipping, a step, timed), over epochs of windows, measuring training and
validation perplexity and telling its callbacks after every epoch, as minGPT's trainer does. The
loop prints nothing itself but a tqdm bar; a live plot (:class:`d2lutil.plot.LivePlot`) is a callback.
"""

from __future__ import annotations

import copy
import itertools
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
from d2lutil.models import eval_mode

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
    device = next(model.parameters()).device
    n = (len(tokens) - 1) // batch_size * batch_size
    xs = tokens[:n].reshape(batch_size, -1).to(device)
    ys = tokens[1 : n + 1].reshape(batch_size, -1).to(device)
    state, total, count = None, 0.0, 0
    with eval_mode(model):
        for i in range(0, xs.shape[1], num_steps):
            logits, state = model(xs[:, i : i + num_steps], state)
            y = ys[:, i : i + num_steps]
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
            count += y.numel()
    return perplexity(total / count)


def _detach(state: Tensor | tuple[Tensor, ...] | None) -> Tensor | tuple[Tensor, ...] | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def make_optimizer(model: nn.Module, name: Optimizer, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD, Adam or AdamW over the model's parameters (``name``, ``lr`` and ``weight_decay`` checked by the caller)."""
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return kind(model.parameters(), lr=lr, weight_decay=weight_decay)


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
    (None: no clipping); the caller has checked it (:func:`check_clip`).
    """
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


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a language-model training run, named once and checked here.

    Windows of ``num_steps`` characters in minibatches of ``batch_size``, drawn at random
    (``seed`` orders them) or, with ``sequential``, following each other with the state carried
    (:class:`d2lutil.data.WindowLoader`); only the first ``train_chars`` training characters when
    set. The ``optimizer`` with learning rate ``lr``, ``weight_decay`` and gradient clipping at
    ``clip`` (None: no clipping); ``schedule="cosine"`` lowers the rate to 0 along a half cosine
    over ``num_epochs``. ``ema_decay`` keeps an exponential moving average of the weights, which
    validation scores and the model ends with. ``restore_best`` keeps the weights of the epoch
    with the lowest validation perplexity.

    The run lasts ``num_epochs`` passes over the training part, or until ``max_seconds`` of
    training time have passed, whichever comes first; ``num_epochs=None`` with ``max_seconds``
    is a pure time budget.
    """

    batch_size: int
    num_steps: int
    lr: float
    optimizer: Optimizer = "sgd"
    clip: float | None = 1.0
    weight_decay: float = 0.0
    num_epochs: int | None = 1
    max_seconds: float | None = None
    schedule: Schedule = "constant"
    ema_decay: float | None = None
    sequential: bool = False
    restore_best: bool = False
    seed: int = 0
    train_chars: int | None = None

    def __post_init__(self) -> None:
        """Refuse impossible settings when the recipe is written, not after the first epoch."""
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("num_steps", self.num_steps, minimum=1)
        check_positive("lr", self.lr, fix="try 1e-2 for adam, 1.0 for sgd")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_clip(self.clip)
        check_real("weight_decay", self.weight_decay, low=0.0)
        if self.num_epochs is not None:
            check_int("num_epochs", self.num_epochs, minimum=1)
        if self.max_seconds is not None:
            check_real("max_seconds", self.max_seconds, low=0.0)
        elif self.num_epochs is None:
            raise ValueError("num_epochs is None and max_seconds is None: give num_epochs, max_seconds, or both")
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.schedule == "cosine" and self.num_epochs is None:
            raise ValueError("schedule='cosine' needs num_epochs (its length): give num_epochs or use 'constant'")
        if self.ema_decay is not None:
            check_real("ema_decay", self.ema_decay, 0.0, 1.0, inclusive=(False, False))
        check_bool("sequential", self.sequential)
        check_bool("restore_best", self.restore_best)
        check_int("seed", self.seed)
        if self.train_chars is not None:
            check_int("train_chars", self.train_chars, minimum=self.num_steps + 1)


def _check_callbacks(callbacks: object) -> Sequence[Callback]:
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise TypeError(f"callbacks must be a list of d2lutil.training.Callback, got {show(callbacks)}")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks[{i}] must be a d2lutil.training.Callback, got {show(callback)}")
    return callbacks


class _Run:
    """What one call of :func:`train` holds while it runs: the optimizer and its schedule, the
    weight average, the loss that carries the state, the best weights so far and the history."""

    def __init__(self, model: nn.Module, loader: WindowLoader, recipe: Recipe, device: torch.device):
        self.model, self.loader, self.recipe = model, loader, recipe
        self.opt = make_optimizer(model, recipe.optimizer, recipe.lr, recipe.weight_decay)
        self.scheduler = None
        if recipe.schedule == "cosine":
            assert recipe.num_epochs is not None  # Recipe refuses cosine without it
            steps = recipe.num_epochs * len(loader)
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=steps)
        self.averaged = None
        if recipe.ema_decay is not None:
            self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(recipe.ema_decay))
        self.scored = model if self.averaged is None else self.averaged.module  # what validation judges
        self.loss_of = LanguageModelLoss(model, device, carry_state=recipe.sequential)
        # with restore_best, the starting weights are what a run that diverges in its first epoch goes back to
        self.best = (math.inf, copy.deepcopy(model.state_dict())) if recipe.restore_best else None
        self.history = History()

    def out_of_time(self) -> bool:
        limit = self.recipe.max_seconds
        return limit is not None and self.history.train_seconds >= limit

    def epoch(self, bar: tqdm) -> tuple[float, int, str]:
        """One pass over the loader (or until time runs out): mean training loss, steps taken,
        and why it diverged ("" when it did not)."""
        self.model.train()
        self.loss_of.reset()  # every epoch starts from a zero state
        loss_sum, count, done = 0.0, 0, 0
        for step in optimize(self.model, self.loader, self.loss_of, self.opt, self.recipe.clip):
            if not math.isfinite(step.loss):
                return math.nan, done, f"the training loss became {step.loss} at step {done + 1}"
            loss_sum, count, done = loss_sum + step.loss * step.targets, count + step.targets, done + 1
            self.history.train_seconds += step.seconds
            self.history.tokens += step.targets
            if self.scheduler is not None:
                self.scheduler.step()
            if self.averaged is not None:
                self.averaged.update_parameters(self.model)
            bar.update(1)
            if self.out_of_time():
                break
        return loss_sum / max(count, 1), done, ""

    def measure(self, epoch: int, mean_loss: float, done: int, val_tokens: Tensor) -> str:
        """Record the epoch's figures and keep the best weights; why it diverged, or ""."""
        h = self.history
        h.epochs.append(epoch + done / len(self.loader))
        h.train_ppl.append(perplexity(mean_loss))
        h.val_ppl.append(evaluate_perplexity(self.scored, val_tokens))
        h.tokens_per_s.append(h.tokens / max(h.train_seconds, 1e-9))
        if not (math.isfinite(h.train_ppl[-1]) and math.isfinite(h.val_ppl[-1])):
            return f"training perplexity {h.train_ppl[-1]} and validation perplexity {h.val_ppl[-1]}"
        if self.best is not None and h.val_ppl[-1] <= self.best[0]:
            self.best = (h.val_ppl[-1], copy.deepcopy(self.scored.state_dict()))
        return ""

    def finish(self, diverged: str) -> History:
        """Leave the model holding the weights the recipe keeps; raise if the run diverged."""
        if self.best is not None:
            self.model.load_state_dict(self.best[1])
        elif self.averaged is not None:
            self.model.load_state_dict(self.averaged.module.state_dict())
        if diverged:
            kept = (
                "the model holds the weights of the best finite epoch again (its starting weights if none finished)"
                if self.best is not None
                else "the model's weights are no longer usable: rebuild it, or train with restore_best=True"
            )
            raise TrainingDiverged(
                f"training diverged: {diverged} (lr={self.recipe.lr}, clip={self.recipe.clip}). Lower lr or clip "
                f"the gradient (e.g. clip=1.0); {kept}. The exception's .history holds the "
                f"{len(self.history.epochs)} measured epoch(s).",
                self.history,
            )
        return self.history


def train(
    model: nn.Module,
    train_tokens: Tensor,
    val_tokens: Tensor,
    recipe: Recipe,
    *,
    callbacks: Sequence[Callback] = (),
    device: torch.device | str | None = None,
    progress: bool = True,
    title: str = "",
) -> History:
    """Train the language model ``model(tokens (B, T)) -> (logits (B, T, V), state)`` as ``recipe`` says.

    ``train_tokens`` (n,) is what it learns from; after every epoch the validation perplexity on
    ``val_tokens`` (m,) is measured (:func:`evaluate_perplexity`) and every callback's
    ``on_epoch_end(history)`` is called (a live plot is one: :class:`d2lutil.plot.LivePlot`).
    Pass the book's training and validation parts (``data.train_tokens, data.val_tokens``): the
    test part is never an argument of training, so nothing chosen here has seen it. ``device``
    (default: the model's) is where the model trains; ``progress`` shows a tqdm bar titled
    ``title``. Returns the per-epoch :class:`History`.

    A loss or perplexity that becomes infinite or NaN stops the run with :class:`TrainingDiverged`,
    which carries the history so far (after restoring the best weights with ``restore_best``).
    """
    check_model("model", model)
    for name, tokens in (("train_tokens", train_tokens), ("val_tokens", val_tokens)):
        if isinstance(tokens, TimeMachine):
            raise TypeError(
                f"{name} must be a tensor of tokens, got the whole book (a TimeMachine): pass its parts, "
                "train(model, data.train_tokens, data.val_tokens, recipe); training never receives data.test_tokens"
            )
    check_tokens("train_tokens", train_tokens)
    _check_eval_tokens("val_tokens", val_tokens, 8)
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a d2lutil.Recipe, got {show(recipe)}: write Recipe(batch_size=..., ...)")
    callbacks = _check_callbacks(callbacks)
    progress = check_bool("progress", progress)
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {show(title)}")
    device = check_device(device) or next(model.parameters()).device
    tokens = train_tokens if recipe.train_chars is None else train_tokens[: recipe.train_chars]
    loader = WindowLoader(tokens, recipe.batch_size, recipe.num_steps, sequential=recipe.sequential, seed=recipe.seed)

    run = _Run(model.to(device), loader, recipe, device)
    total = None if recipe.num_epochs is None else recipe.num_epochs * len(loader)
    bar = tqdm(total=total, disable=not progress, desc=title or "training", unit="batch")
    epochs = itertools.count() if recipe.num_epochs is None else range(recipe.num_epochs)
    diverged = ""
    for epoch in epochs:
        mean_loss, done, diverged = run.epoch(bar)
        if diverged:
            diverged += f" of epoch {epoch + 1}"
            break
        diverged = run.measure(epoch, mean_loss, done, val_tokens)
        if diverged:
            diverged = f"epoch {epoch + 1} ended with {diverged}"
            break
        bar.set_postfix(train_ppl=f"{run.history.train_ppl[-1]:.2f}", val_ppl=f"{run.history.val_ppl[-1]:.2f}")
        for callback in callbacks:
            callback.on_epoch_end(run.history)
        if run.out_of_time():
            break
    bar.close()
    for callback in callbacks:
        callback.on_train_end(run.history)
    return run.finish(diverged)

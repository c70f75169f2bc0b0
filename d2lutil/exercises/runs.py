"""The measured runs the exercises compare: a character language model on The Time Machine
(exercises 1, 3, 4, 10), interleaved timings of training steps (1), a small sequence classifier
(exercises 5, 6, 9), and a table of results. Every run records the set-up a check compares by."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import Tensor, nn

from d2lutil._checks import check_callable, check_int, check_model, check_real, show
from d2lutil.data import TimeMachine
from d2lutil.generation import predict
from d2lutil.models import RNNLM, build_lm, layer_size
from d2lutil.settings import budget as settings_budget
from d2lutil.settings import set_seed
from d2lutil.tasks import SequenceModel, first_token_recall, train_on_task
from d2lutil.training import Recipe, train

LM_KINDS = ("rnn_scratch", "rnn", "gru_scratch", "gru")


def lm_trial(
    data: TimeMachine,
    kind: str | nn.Module,
    recipe: Recipe,
    hidden_size: int = 64,
    prefix: str = "time traveller",
    num_preds: int = 40,
    device: torch.device | None = None,
    budget: str | None = None,
) -> dict[str, Any]:
    """Train one character LM by ``recipe`` and measure it; returns a row for a results table.

    ``kind``: a :func:`d2lutil.build_lm` kind (``"gru"``, ``"rnn_scratch"``, ...) with one-hot
    input and ``hidden_size`` units, or a recurrent layer with nn.GRU's interface whose
    ``input_size`` is the vocabulary size (``hidden_size`` is then the layer's). ``recipe``: a
    :class:`d2lutil.Recipe`, the whole training run; its ``seed`` seeds the model and the batches
    (vary it with ``dataclasses.replace(recipe, seed=1)``). The row holds every field of the recipe
    (``batch_size``, ``num_steps``, ``lr``, ``clip``, ``optimizer``, ``num_epochs``,
    ``train_chars``, ``seed``, ...), ``hidden_size``, ``model``, ``seconds`` (training steps
    only), ``tokens_per_s``, ``train_ppl``, ``val_ppl`` (validation perplexity, on
    ``data.val_tokens``: the figure to compare runs by) and ``sample`` (greedy continuation of
    ``prefix``). The test part is never read: comparing runs is a choice, made on validation.
    The row also records the set-up a check compares runs by: ``layer`` (the recurrent layer's
    class), ``params`` (the model's parameter count) and ``budget`` (given, or
    :func:`d2lutil.budget` of ``device``).
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"recipe must be a d2lutil.Recipe, got {show(recipe)}: write "
            "d2lutil.Recipe(batch_size=64, num_steps=32, lr=1e-2, optimizer='adam', num_epochs=1)"
        )
    settings = {"hidden_size": hidden_size, **asdict(recipe)}
    for name, value in settings.items():
        if isinstance(value, Tensor):
            raise TypeError(
                f"{name} must be a plain number, got a tensor {show(value)}: write {name}={value.item()!r}, "
                "so that the row records a number that runs can be compared by"
            )
    if not isinstance(data, TimeMachine):
        raise TypeError(f"data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if not isinstance(kind, (str, nn.Module)):
        raise TypeError(f"kind must be a build_lm kind such as 'gru' or a recurrent layer, got {show(kind)}")
    set_seed(recipe.seed)
    vocab_size = len(data.vocab)
    if isinstance(kind, str):
        model = build_lm(kind, vocab_size, hidden_size)
        name = kind
    else:
        model = RNNLM(kind, vocab_size)
        name = type(kind).__name__
        settings["hidden_size"] = layer_size(kind, "hidden_size")
    device = device or torch.device("cpu")
    check_int("num_preds", num_preds, minimum=0)
    predict(prefix, 0, model.to(device), data.vocab, device=device)  # refuses a bad prefix before training
    history = train(model.to(device), data.train_tokens, data.val_tokens, recipe, device=device, progress=False)
    return {
        "kind": name,
        "layer": layer_name(model.rnn),
        "params": sum(p.numel() for p in model.parameters()),
        "budget": budget or settings_budget(device),
        **settings,
        "model": model,
        "seconds": history.train_seconds,
        "tokens_per_s": history.tokens / max(history.train_seconds, 1e-9),
        "train_ppl": history.train_ppl[-1],
        "val_ppl": history.val_ppl[-1],
        "sample": predict(prefix, num_preds, model, data.vocab, device=device),
    }


def layer_name(rnn: nn.Module) -> str:
    """The recurrent layer's class, with its reset convention where it has one: ``"GRUScratch(reset='before')"``."""
    reset = getattr(rnn, "reset", None)
    return type(rnn).__name__ + (f"(reset={reset!r})" if isinstance(reset, str) else "")


def count_parameters(model: nn.Module) -> int:
    """How many numbers ``model`` trains (the sum of its parameters' sizes)."""
    check_model("model", model)
    return sum(p.numel() for p in model.parameters())


def matching_hidden_size(kind: str, target: nn.Module, vocab_size: int) -> int:
    """The hidden size at which a one-hot :func:`d2lutil.build_lm` model of ``kind`` has the parameter
    count closest to ``target``'s (a whole language model), found by building the candidates."""
    goal = count_parameters(target)
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)

    def gap(h: int) -> int:
        return abs(count_parameters(build_lm(kind, vocab_size, h)) - goal)

    low, high = 1, 1
    while count_parameters(build_lm(kind, vocab_size, high)) < goal:
        low, high = high, 2 * high
    while high - low > 1:  # the count grows with h: bisect for the last size below the goal
        mid = (low + high) // 2
        low, high = (mid, high) if count_parameters(build_lm(kind, vocab_size, mid)) < goal else (low, mid)
    return min((low, high), key=gap)


def time_training_steps(
    data: TimeMachine,
    kinds: Sequence[str] = LM_KINDS,
    hidden_size: int = 64,
    batch_size: int = 64,
    num_steps: int = 32,
    rounds: int = 5,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Time one training step (forward, backward, Adam) of each kind's LM, interleaved round-robin.

    Every model is warmed up by one step first; then each round times one step of each kind in
    turn, on the same minibatch (B = ``batch_size``, T = ``num_steps``), so a busy machine slows
    all kinds of a round alike. Returns ``{"seconds": {kind: [one time per round]}, "layers":
    {kind: layer class}, "params": {kind: count}, "setup": {hidden_size, batch_size, num_steps,
    rounds, threads, device}}``: compare kinds by their per-round ratios (:func:`timing_verdict`).
    """
    if not isinstance(data, TimeMachine):
        raise TypeError(f"data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or len(kinds) < 2:
        raise TypeError(f"kinds must be a list of two or more build_lm kinds such as ['rnn', 'gru'], got {show(kinds)}")
    rounds = check_int("rounds", rounds, minimum=3, fix="three rounds at least, so that a median means something")
    device = device or torch.device("cpu")
    set_seed(0)
    models = {kind: build_lm(kind, len(data.vocab), hidden_size).to(device) for kind in kinds}
    batch_size, num_steps = check_int("batch_size", batch_size, minimum=1), check_int("num_steps", num_steps, minimum=1)
    window = data.train_tokens[: batch_size * (num_steps + 1)]
    if len(window) < batch_size * (num_steps + 1):
        raise ValueError(
            f"batch_size x (num_steps + 1) = {batch_size * (num_steps + 1):,} characters are needed for the timing "
            f"minibatch, but the training part has {len(window):,}: use a smaller batch or fewer steps"
        )
    X = window.reshape(batch_size, num_steps + 1).to(device)
    optimizers = {kind: torch.optim.Adam(m.parameters(), lr=1e-3) for kind, m in models.items()}

    def step(kind: str) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        logits, _ = models[kind](X[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), X[:, 1:].reshape(-1))
        optimizers[kind].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[kind].step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for kind in kinds:
        step(kind)  # warm-up: allocations and kernel choice are not timed
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            seconds[kind].append(step(kind))
    return {
        "seconds": seconds,
        "layers": {kind: layer_name(m.rnn) for kind, m in models.items()},
        "params": {kind: count_parameters(m) for kind, m in models.items()},
        "setup": {
            "hidden_size": hidden_size,
            "batch_size": batch_size,
            "num_steps": num_steps,
            "rounds": rounds,
            "threads": torch.get_num_threads(),
            "device": str(device),
        },
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
    budget: str | None = None,
) -> dict[str, Any]:
    """Train ``SequenceModel(rnn)`` on a synthetic classification task; returns accuracy, time, losses.

    The model is built on ``rnn``'s device in ``dtype``; ``losses`` are training losses averaged
    over every ``log_every`` steps (logged at ``steps``). The result also records the set-up a
    check compares runs by: ``layer``, ``hidden_size``, ``params``, ``num_steps``, ``lr``,
    ``batch_size``, ``embed_size``, ``seed`` and ``budget`` (given, or :func:`d2lutil.budget`).
    The layer's weights are as the caller made them: seed before building it.
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
        "layer": layer_name(rnn),
        "hidden_size": layer_size(rnn, "hidden_size"),
        "params": count_parameters(model),
        "num_steps": num_steps,
        "lr": lr,
        "batch_size": batch_size,
        "embed_size": embed_size,
        "seed": seed,
        "budget": budget or settings_budget(device),
    }


def recall_trial(
    z_bias: float,
    seed: int = 0,
    length: int = 50,
    num_steps: int = 300,
    hidden_size: int = 32,
    device: torch.device | None = None,
    budget: str | None = None,
) -> dict[str, Any]:
    """First-token recall (4 classes, 8 symbols; notebook 1's task) learned by an ``nn.GRU`` whose update
    gate starts with bias ``z_bias`` (``bias_ih``'s z block; ``bias_hh``'s z block 0), embedding 16,
    Adam 1e-2, clipping 1, batch 128. ``seed`` sets the weights and the batches. Returns the
    :func:`accuracy_run` result with ``z_bias`` and ``length`` recorded.
    """
    z_bias = check_real("z_bias", z_bias)
    length = check_int("length", length, minimum=2)
    set_seed(check_int("seed", seed, minimum=0))
    rnn = nn.GRU(16, check_int("hidden_size", hidden_size, minimum=1))
    with torch.no_grad():  # nn.GRU stacks its blocks (r, z, n)
        rnn.get_parameter("bias_ih_l0")[hidden_size : 2 * hidden_size] = z_bias
        rnn.get_parameter("bias_hh_l0")[hidden_size : 2 * hidden_size] = 0.0
    run = accuracy_run(
        rnn.to(device or torch.device("cpu")),
        lambda b, g: first_token_recall(b, length, generator=g),
        num_classes=4,
        vocab_size=8,
        num_steps=num_steps,
        seed=seed,
        budget=budget,
    )
    return {**run, "z_bias": z_bias, "length": length}

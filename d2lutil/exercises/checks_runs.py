"""The self-checks of the exercises about measured runs: RNN vs GRU (1), a hyper-parameter sweep
(3) and a task that needs the reset gate (5). They re-measure the reader's figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import torch
from torch import Tensor

from d2lutil._checks import show
from d2lutil.data import TimeMachine
from d2lutil.exercises.runs import layer_name
from d2lutil.exercises.verdict import (
    NO_CLEAR_WINNER,
    Comparison,
    answer_callable,
    answer_choice,
    answer_dict,
    answer_number,
    not_attempted,
    passed,
    same_setup,
    seed_verdict,
    timing_verdict,
)
from d2lutil.training import Recipe, evaluate_perplexity

HYPER_PARAMETERS = ("hidden_size", "num_steps", "lr", "clip", "batch_size")


# what runs that are compared must share: every field of their Recipe but the seed, and the budget
RECIPE_KEYS = (*(f.name for f in fields(Recipe) if f.name != "seed"), "budget")
CHOICES_1 = ("rnn", "gru", NO_CLEAR_WINNER)
PARAMETER_TOLERANCE = 0.1  # models whose parameter counts differ by more than 10% are not compared on perplexity


def check_exercise_1_prediction(ratio: float | None) -> bool | None:
    """Check the prediction: how many times the multiply-adds of one nn.RNN step one nn.GRU step does.

    Per example and step an RNN computes X_t W_xh (d x h) and H W_hh (h x h); a GRU does the same
    for each of its three parts (r, z and the candidate), so the answer is 3, whatever d and h.
    """
    if ratio is None:
        return not_attempted(1, "`ex1_prediction`")
    value = answer_number(1, "ex1_prediction", ratio)
    hints = {
        1.0: "both layers stack their products into one matmul per side, but the GRU's are three times as wide",
        2.0: "count every part that has its own weights: the reset gate, the update gate and the candidate",
        4.0: "four blocks is the LSTM (input, forget, output gates and the cell candidate); the GRU has three",
        6.0: "six matrices, but the RNN has two as well (W_xh and W_hh): compare like with like",
    }
    assert math.isclose(value, 3.0, abs_tol=0.05), (
        f"ex1_prediction = {value:g} is not the ratio of multiply-adds. "
        + hints.get(round(value), "Count, per step, the products with d x h and h x h matrices in each layer.")
    )
    return passed(
        1,
        "A GRU step does 3x the multiply-adds of an RNN step: 3(dh + h^2) against dh + h^2. If the matmuls "
        "dominate, nn.RNN trains up to 3x faster; overheads that both pay (the loop, the head, the optimizer) "
        "bring the measured ratio below 3.",
    )


def _check_timing(timing: object) -> Comparison:
    """The interleaved timing record (time_training_steps) of nn.RNN against nn.GRU, and its verdict."""
    answer_dict(1, "ex1_timing", timing, ("seconds", "layers", "setup"))
    assert isinstance(timing, dict)
    seconds, layers = timing["seconds"], timing["layers"]
    if not isinstance(seconds, dict) or not isinstance(layers, dict):
        raise TypeError(f"Exercise 1: ex1_timing must come from ex.time_training_steps, got {show(timing)}")
    for kind, layer in (("rnn", "RNN"), ("gru", "GRU")):
        assert kind in seconds and kind in layers, f"ex1_timing has no {kind!r}: time nn.RNN and nn.GRU together"
        assert layers[kind] == layer, (
            f"the {kind!r} timing is of a {layers[kind]} layer, not nn.{layer}: time the built-in layers, "
            "so that the verdict is about them"
        )
        values = seconds[kind]
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise TypeError(f"Exercise 1: ex1_timing['seconds'][{kind!r}] must be a list of times, got {show(values)}")
        for i, v in enumerate(values):
            assert answer_number(1, f"ex1_timing['seconds'][{kind!r}][{i}]", v) > 0, f"a time must be positive: {v}"
    assert len(seconds["rnn"]) == len(seconds["gru"]) >= 3, (
        f"ex1_timing has {len(seconds['rnn'])} and {len(seconds['gru'])} rounds: a single sequential time per "
        "model certifies noise (the first model also pays the warm-up). Time three rounds or more, interleaved, "
        "with ex.time_training_steps"
    )
    return timing_verdict(seconds, "rnn", "gru")


def _check_seed(n: int, seed: object, where: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Exercise {n}: {where} must be an integer seed, got {show(seed)}")


def lm_runs_by_layer(
    n: int, runs: object, layers: dict[str, str], data: TimeMachine, name: str, setup: Sequence[str] = RECIPE_KEYS
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Validation perplexities per seed of :func:`lm_trial` rows, grouped by ``layers`` (answer -> layer class).

    The layer is read from each row's model (not from what the row says), each perplexity is
    measured again on ``data.val_tokens``, and runs that differ in a ``setup`` key or in their
    seeds are refused by name. Returns the scores and each group's parameter count.
    """
    if not isinstance(data, TimeMachine):
        raise TypeError(f"Exercise {n}: data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if isinstance(runs, (str, bytes, dict)) or not isinstance(runs, (list, tuple)):
        raise TypeError(f"Exercise {n}: {name} must be a list of lm_trial rows, got {show(runs)}")
    by_layer = {layer: key for key, layer in layers.items()}
    scores: dict[str, dict[int, float]] = {key: {} for key in layers}
    params: dict[str, int] = {}
    for i, row in enumerate(runs):
        if not isinstance(row, dict):
            raise TypeError(f"Exercise {n}: {name}[{i}] must be a dict (as lm_trial returns), got {show(row)}")
        lacking = [k for k in ("model", "val_ppl", "seed", *setup) if k not in row]
        assert not lacking, f"{name}[{i}] lacks {lacking}: record runs with ex.lm_trial, which records its set-up"
        model = row["model"]
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"Exercise {n}: {name}[{i}] must hold its trained model, got {show(model)}")
        rnn = getattr(model, "rnn", None)
        assert isinstance(rnn, torch.nn.Module), f"{name}[{i}]: its model has no recurrent layer .rnn (use lm_trial)"
        layer = layer_name(rnn)
        assert layer in by_layer, f"{name}[{i}] trained a {layer}: compare {', '.join(layers.values())} only"
        key = by_layer[layer]
        assert row.get("kind", key) == key or row.get("kind") not in layers, (
            f"{name}[{i}] says {row.get('kind')!r} but its layer is a {layer}, so it is {key!r}"
        )
        val_ppl = answer_number(n, f"{name}[{i}]['val_ppl']", row["val_ppl"])
        measured = evaluate_perplexity(model, data.val_tokens)
        assert math.isclose(measured, val_ppl, rel_tol=1e-3), (
            f"{name}[{i}] ({key}) says validation perplexity {val_ppl:.3f}, but its model scores {measured:.3f} "
            "on the validation part (data.val_tokens). Is it the training perplexity, or another model's?"
        )
        _check_seed(n, row["seed"], f"{name}[{i}]['seed']")
        assert row["seed"] not in scores[key], f"{name} has two {key!r} runs with seed {row['seed']}: one per seed"
        scores[key][row["seed"]] = val_ppl
        params.setdefault(key, sum(p.numel() for p in model.parameters()))
    missing = [k for k, v in scores.items() if not v]
    assert not missing, f"{name} has no run of {missing}: train each of {list(layers)} on the same seeds"
    same_setup(n, list(runs), setup, f"the runs in {name}")
    seeds = {k: sorted(v) for k, v in scores.items()}
    assert len({tuple(v) for v in seeds.values()}) == 1, (
        f"the runs in {name} differ in their seeds ({seeds}): a gap could come from the seeds; use the same ones"
    )
    return {k: list(v.values()) for k, v in scores.items()}, params


def _check_runs(runs: object, data: TimeMachine) -> Comparison:
    """The perplexity runs of nn.RNN and nn.GRU over seeds, refused when confounded; their verdict."""
    scores, params = lm_runs_by_layer(1, runs, {"rnn": "RNN", "gru": "GRU"}, data, "ex1_runs")
    small, large = sorted(params.values())
    assert large <= small * (1 + PARAMETER_TOLERANCE), (
        f"the models differ in parameters (rnn {params['rnn']:,}, gru {params['gru']:,}): a perplexity gap "
        "could come from size as much as from the gates. Give the RNN the width at which its parameters match "
        "(ex.matching_hidden_size('rnn', gru_model, len(data.vocab)))"
    )
    return seed_verdict(scores)


def check_exercise_1(
    timing: dict[str, Any] | None, runs: list[dict[str, Any]] | None, answer: dict[str, str] | None, data: TimeMachine
) -> bool | None:
    """Check the RNN-vs-GRU comparison: speed from interleaved timings, perplexity over seeds at equal size.

    ``timing``: :func:`time_training_steps` of at least ``"rnn"`` and ``"gru"`` (nn.RNN, nn.GRU).
    ``runs``: :func:`lm_trial` rows of ``"rnn"`` and ``"gru"``, the same seeds, recipe and budget,
    with parameter counts within 10%; each row's validation perplexity is measured again.
    ``answer``: ``{"faster": ..., "lower_perplexity": ...}``, each ``"rnn"``, ``"gru"`` or
    ``"no clear winner"``, as the measurements support (:func:`timing_verdict`, :func:`seed_verdict`).
    """
    if not isinstance(data, TimeMachine):
        raise TypeError(f"Exercise 1: data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if timing is None and runs is None and answer is None:
        return not_attempted(1, "`ex1_timing`, `ex1_runs` and `ex1_answer`")
    assert timing is not None, "fill in ex1_timing: ex.time_training_steps(data, ex.LM_KINDS, ...)"
    speed = _check_timing(timing)
    assert runs is not None, "fill in ex1_runs: lm_trial rows of 'rnn' and 'gru' over the same seeds"
    quality = _check_runs(runs, data)
    assert answer is not None, 'fill in ex1_answer: {"faster": ..., "lower_perplexity": ...}'
    answer_dict(1, "ex1_answer", answer, ("faster", "lower_perplexity"))
    for key in ("faster", "lower_perplexity"):
        answer_choice(1, f"ex1_answer[{key!r}]", answer[key], CHOICES_1)
    assert answer["faster"] == speed.winner, (
        f"your timings say {speed.winner!r} ({speed.reason}), not {answer['faster']!r}"
    )
    assert answer["lower_perplexity"] == quality.winner, (
        f"your runs say {quality.winner!r} for the lower validation perplexity (means "
        f"{', '.join(f'{k} {v:.3f}' for k, v in quality.means.items())}; {quality.reason}), "
        f"not {answer['lower_perplexity']!r}"
    )
    return passed(
        1,
        f"Speed: {speed.winner} ({speed.reason}). Validation perplexity at equal size: {quality.winner} "
        f"({quality.reason}).",
    )


SETUP_KEYS_3 = ("kind", "layer", *(k for k in RECIPE_KEYS if k not in HYPER_PARAMETERS))
CHOICES_3 = ("baseline", *HYPER_PARAMETERS, NO_CLEAR_WINNER)
TIME_TOLERANCE_3 = 0.25  # one timing per run: the slowest must beat the runner-up by 25% to count


def check_exercise_3(rows: Sequence[dict[str, Any]] | None, answer: dict[str, str] | None) -> bool | None:
    """Check a one-factor-at-a-time sweep and what was read from it.

    ``rows``: :func:`lm_trial` rows. The baseline (the hyper-parameters of ``rows[0]``) is run with
    two seeds or more, which measures the noise; every other run changes exactly one of
    ``hidden_size, num_steps, lr, clip, batch_size`` (each changed at least once) and nothing of
    the set-up (``kind``, ``layer``, the budget and every other field of the recipe: ``optimizer``,
    ``num_epochs``, ``train_chars``, ...; a run that also trains longer is refused by name).
    ``answer``: ``{"best": ..., "slowest": ...}``:
    ``best`` the hyper-parameter whose change lowered the validation perplexity below the
    baseline's mean by more than the baseline's seed spread (``"baseline"`` when none did,
    ``"no clear winner"`` when the two best changes are within that spread of each other);
    ``slowest`` the change with the longest training, when it is 25% longer than the runner-up's
    (else ``"no clear winner"``).
    """
    if rows is None and answer is None:
        return not_attempted(3, "`ex3_rows` and `ex3_answer`")
    assert rows is not None, "fill in ex3_rows: the baseline runs first (two seeds or more), then one run per change"
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"Exercise 3: ex3_rows must be a list of runs (dicts, as lm_trial returns), got {show(rows)}")
    assert len(rows) >= 2, "ex3_rows must be a list of runs: the baseline first, then one run per change"
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"Exercise 3: run {i} must be a dict (as lm_trial returns), got {show(row)}")
        lacking = [
            k for k in (*HYPER_PARAMETERS, *SETUP_KEYS_3, "seed", "seconds", "val_ppl", "sample") if k not in row
        ]
        assert not lacking, f"run {i} lacks {lacking}: record every run with ex.lm_trial, which records its set-up"
        for key in HYPER_PARAMETERS:
            if isinstance(row[key], (Tensor, np.ndarray)):
                raise TypeError(
                    f"Exercise 3: run {i}'s {key} is a tensor ({show(row[key])}): write hyper-parameters as plain "
                    f"numbers ({key}={row[key].item()!r}), so that runs compare by value"
                )
        answer_number(3, f"run {i}'s seconds", row["seconds"])
        answer_number(3, f"run {i}'s val_ppl", row["val_ppl"])
        assert row["seconds"] > 0, f"run {i}: seconds must be the measured training time, got {row['seconds']}"
        assert 1.0 <= row["val_ppl"] < 1e3, (
            f"run {i}: validation perplexity {row['val_ppl']} is not a perplexity of a character model"
        )
    same_setup(3, rows, SETUP_KEYS_3, "the sweep's runs")
    base = rows[0]
    labels: list[str] = []
    for i, row in enumerate(rows):
        diff = [k for k in HYPER_PARAMETERS if row[k] != base[k]]
        assert len(diff) <= 1, (
            f"run {i} changes {diff} relative to the baseline (run 0): change exactly one hyper-parameter "
            "per run, so that each difference in the table has one cause"
        )
        labels.append(diff[0] if diff else "baseline")
    base_seeds = [r["seed"] for r, label in zip(rows, labels, strict=True) if label == "baseline"]
    assert len(set(base_seeds)) >= 2, (
        f"the baseline ran with seed(s) {sorted(set(base_seeds))} only: run it with two seeds or more (seed=0, "
        "seed=1) to measure how much a change of seed alone moves the perplexity, or no change can be called better"
    )
    unvaried = [k for k in HYPER_PARAMETERS if k not in labels]
    assert not unvaried, f"no run changes {unvaried}: vary each of {list(HYPER_PARAMETERS)} at least once"
    assert answer is not None, 'fill in ex3_answer: {"best": ..., "slowest": ...}'
    answer_dict(3, "ex3_answer", answer, ("best", "slowest"))
    for key in ("best", "slowest"):
        answer_choice(3, f"ex3_answer[{key!r}]", answer[key], CHOICES_3)
    verdict = sweep_verdict(rows)
    best, why, slowest, why_slow = verdict["best"], verdict["why_best"], verdict["slowest"], verdict["why_slowest"]
    assert answer["best"] == best, f"your table says best = {best!r} ({why}), not {answer['best']!r}"
    assert answer["slowest"] == slowest, (
        f"your table says slowest = {slowest!r} ({why_slow}), not {answer['slowest']!r}"
    )
    return passed(
        3, f"A clean one-factor sweep of {len(rows)} runs. Best: {best} ({why}). Slowest: {slowest} ({why_slow})."
    )


def sweep_verdict(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """What a one-factor sweep shows (the rules of :func:`check_exercise_3`): ``best`` and ``slowest``
    with the reasons ``why_best`` and ``why_slowest``. ``rows[0]`` holds the baseline's hyper-parameters."""
    labels = [next((k for k in HYPER_PARAMETERS if row[k] != rows[0][k]), "baseline") for row in rows]
    base_ppl = [float(r["val_ppl"]) for r, label in zip(rows, labels, strict=True) if label == "baseline"]
    best, why_best = _best_change(rows, labels, base_ppl)
    slowest, why_slowest = _slowest_change(rows, labels)
    return {"best": best, "why_best": why_best, "slowest": slowest, "why_slowest": why_slowest}


def _best_change(rows: Sequence[dict[str, Any]], labels: list[str], base_ppl: list[float]) -> tuple[str, str]:
    """The change that beats the baseline by more than its seed spread, and why (see check_exercise_3)."""
    mean, spread = float(np.mean(base_ppl)), float(np.max(base_ppl) - np.min(base_ppl))
    better = sorted(
        (float(r["val_ppl"]), label)
        for r, label in zip(rows, labels, strict=True)
        if label != "baseline" and mean - float(r["val_ppl"]) > spread
    )
    noise = f"the baseline's mean is {mean:.3f} and its seed spread {spread:.3f}"
    if not better:
        return "baseline", f"no change lowers the perplexity by more than the seed spread; {noise}"
    if len(better) > 1 and better[1][0] - better[0][0] <= spread and better[1][1] != better[0][1]:
        return NO_CLEAR_WINNER, f"{better[0][1]} and {better[1][1]} are within the seed spread of each other; {noise}"
    return better[0][1], f"changing it gave {better[0][0]:.3f}; {noise}"


def _slowest_change(rows: Sequence[dict[str, Any]], labels: list[str]) -> tuple[str, str]:
    """The label of the longest run when it is 25% longer than the runner-up of another label."""
    longest: dict[str, float] = {}
    for row, label in zip(rows, labels, strict=True):
        longest[label] = max(longest.get(label, 0.0), float(row["seconds"]))
    order = sorted(longest, key=longest.__getitem__, reverse=True)
    first, second = longest[order[0]], longest[order[1]]
    where = f"{order[0]} {first:.2f} s, then {order[1]} {second:.2f} s"
    if first > (1 + TIME_TOLERANCE_3) * second:
        return order[0], where
    return NO_CLEAR_WINNER, f"{where}: within {TIME_TOLERANCE_3:.0%}, which one timing per run cannot tell apart"


TASK_SETUP_KEYS = ("hidden_size", "embed_size", "num_steps", "lr", "batch_size", "budget")
LAYERS_5 = {"gru": "GRU", "update_only": "UpdateOnlyGRU"}
CHOICES_5 = ("gru", "update_only", NO_CLEAR_WINNER)


def task_runs_by_layer(n: int, runs: object, layers: dict[str, str], name: str) -> dict[str, list[float]]:
    """Accuracies per seed of :func:`accuracy_run` results, grouped by ``layers`` (answer name -> layer class).

    Refuses, naming the field, runs whose set-up differs in anything but the layer, a layer not
    in ``layers``, and groups trained on different seeds.
    """
    if isinstance(runs, (str, bytes, dict)) or not isinstance(runs, (list, tuple)):
        raise TypeError(f"Exercise {n}: {name} must be a list of ex.accuracy_run results, got {show(runs)}")
    by_layer = {layer: key for key, layer in layers.items()}
    scores: dict[str, dict[int, float]] = {key: {} for key in layers}
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise TypeError(f"Exercise {n}: {name}[{i}] must be a dict (as accuracy_run returns), got {show(run)}")
        lacking = [k for k in ("layer", "seed", "accuracy", *TASK_SETUP_KEYS) if k not in run]
        assert not lacking, f"{name}[{i}] lacks {lacking}: record runs with ex.accuracy_run, which records its set-up"
        assert run["layer"] in by_layer, (
            f"{name}[{i}] trained a {run['layer']}: compare {' and '.join(layers.values())} only"
        )
        accuracy = answer_number(n, f"{name}[{i}]['accuracy']", run["accuracy"])
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"Exercise {n}: {name}[{i}]['accuracy'] = {accuracy} is not an accuracy in [0, 1]")
        _check_seed(n, run["seed"], f"{name}[{i}]['seed']")
        group = scores[by_layer[run["layer"]]]
        assert run["seed"] not in group, f"{name} has two {run['layer']} runs with seed {run['seed']}: one per seed"
        group[run["seed"]] = accuracy
    same_setup(n, list(runs), TASK_SETUP_KEYS, f"the runs in {name}")
    missing = [layers[k] for k, v in scores.items() if not v]
    assert not missing, f"{name} has no run of {missing}: train every layer on the same seeds"
    seeds = {k: sorted(v) for k, v in scores.items()}
    assert len({tuple(v) for v in seeds.values()}) == 1, (
        f"the layers were trained on different seeds ({seeds}): a gap could come from the seeds; use the same ones"
    )
    return {k: list(v.values()) for k, v in scores.items()}


def check_exercise_5(
    make_batch: Callable[[int, torch.Generator], tuple[Tensor, Tensor]] | None,
    label_of: Callable[[Tensor], Tensor] | None,
    break_token: int | None,
    runs: Sequence[dict[str, Any]] | None = None,
    answer: str | None = None,
) -> bool | None:
    """Check a task that needs the reset gate and, once measured, the verdict drawn from it.

    ``make_batch(batch_size, generator) -> (X (B, T) int64, y (B,) int64)``; ``label_of(X) -> y``
    recomputes the labels; ``break_token`` is the symbol of a break. The task must need both a
    kept and a reset part of the state: the label depends on the first token (changing it changes
    labels often), on what follows the last break (removing the last break changes labels often),
    and on nothing in between (changing any token strictly between the first one and the last
    break never changes a label). With ``runs`` (:func:`accuracy_run` results of ``nn.GRU`` and
    ``UpdateOnlyGRU`` over the same seeds and set-up), ``answer`` is ``"gru"``, ``"update_only"``
    or ``"no clear winner"``, as :func:`seed_verdict` reads the accuracies.
    """
    if make_batch is None and label_of is None:
        return not_attempted(5, "`make_break_batch`, `label_of` and `BREAK`")
    assert make_batch is not None and label_of is not None and break_token is not None, (
        "give all three: make_break_batch(batch_size, generator), label_of(X) and the BREAK token"
    )
    answer_callable(5, "make_break_batch", make_batch, "(batch_size, generator) -> (X, y)")
    answer_callable(5, "label_of", label_of, "(X) -> y")
    if isinstance(break_token, bool) or not isinstance(break_token, (int, np.integer)):
        raise TypeError(f"Exercise 5: BREAK must be the break's token, an integer, got {show(break_token)}")
    if not 0 <= break_token < 2**63:  # a token id: a negative or huge one cannot appear in the batches
        raise ValueError(f"Exercise 5: BREAK must be the break's token, a non-negative token id, got {break_token}")
    if answer is not None:
        answer_choice(5, "ex5_answer", answer, CHOICES_5)
    scores = None if runs is None else task_runs_by_layer(5, runs, LAYERS_5, "ex5_runs")
    kept, reset = _check_break_task(make_batch, label_of, int(break_token))
    if scores is None:
        return passed(
            5,
            f"The task needs both: {kept:.0%} of labels change with the first token (keep it), {reset:.0%} if the "
            "last break were missed (reset the rest), none with what lies between. Now measure.",
        )
    verdict = seed_verdict(scores, lower_is_better=False)
    assert answer is not None, 'fill in ex5_answer: "gru", "update_only" or "no clear winner", from your runs'
    means = ", ".join(f"{k} {v:.3f}" for k, v in verdict.means.items())
    assert answer == verdict.winner, (
        f"your runs say {verdict.winner!r} (mean accuracy {means}; {verdict.reason}), not {answer!r}"
    )
    return passed(
        5, f"The task needs a partial reset; measured: {verdict.winner} (mean accuracy {means}; {verdict.reason})."
    )


def _check_break_task(
    make_batch: Callable[..., Any], label_of: Callable[..., Any], break_token: int
) -> tuple[float, float]:
    """The fractions of labels that change with the first token and without the last break; see check_exercise_5."""
    batch = make_batch(512, torch.Generator().manual_seed(123))
    assert isinstance(batch, tuple) and len(batch) == 2, (
        f"make_break_batch must return a pair (X, y), got {show(batch)}"
    )
    X, y = batch
    assert isinstance(X, Tensor) and X.dtype == torch.long and X.dim() == 2, (
        f"X must be a (B, T) int64 tensor, got {getattr(X, 'shape', X)}"
    )
    assert isinstance(y, Tensor) and y.shape == (X.shape[0],), (
        f"y must have shape ({X.shape[0]},), got {tuple(getattr(y, 'shape', ()))}"
    )
    labels = label_of(X.clone())
    assert isinstance(labels, Tensor), f"label_of(X) must return the labels as a tensor (B,), got {show(labels)}"
    assert torch.equal(labels, y), "label_of(X) does not reproduce the labels y that make_break_batch returned"
    is_break = X == break_token
    has_break = is_break.any(1)
    assert has_break.float().mean() >= 0.5, (
        f"only {float(has_break.float().mean()):.0%} of the sequences hold a break; make most of them hold one"
    )
    T = X.shape[1]
    pos = torch.arange(T)
    last = torch.where(is_break, pos, torch.full_like(pos, -1)).max(1).values  # (B,), -1 when none
    symbols = X[~is_break].unique()
    assert len(symbols) >= 2, "give the sequences at least two symbols besides the break"
    gen = torch.Generator().manual_seed(7)
    noise = symbols[torch.randint(0, len(symbols), X.shape, generator=gen)]
    between = (pos[None, :] > 0) & (pos[None, :] < last[:, None]) & ~is_break
    same = label_of(torch.where(between, noise, X)) == y
    assert bool(same.all()), (
        f"changing tokens between the first one and the last break changed {int((~same).sum())} of {len(y)} labels: "
        "the label must depend only on the first token and on what follows the last break"
    )
    X_first = X.clone()
    X_first[:, 0] = X[:, 0].roll(1)  # another sequence's first token: a valid one
    kept = float((label_of(X_first) != y).float().mean())
    assert kept >= 0.25, (
        f"changing the first token changes only {kept:.0%} of the labels: no part of the state has to survive "
        "the break, so the update gate alone can reset it all. Let the label depend on the first token too"
    )
    rows = torch.nonzero(has_break).squeeze(1)
    X_merged = X.clone()
    X_merged[rows, last[rows]] = noise[rows, last[rows]]
    reset = float((label_of(X_merged)[rows] != y[rows]).float().mean())
    assert reset >= 0.25, (
        f"removing the last break changes only {reset:.0%} of the labels: the part before the break is no "
        "distractor, so a model that never resets loses nothing. Make the earlier segments look like the last one"
    )
    return kept, reset

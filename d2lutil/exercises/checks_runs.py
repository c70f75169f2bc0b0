"""The self-checks of the exercises about measured runs: RNN vs GRU (1), a hyper-parameter sweep
(3) and a task that needs the reset gate (5). They re-measure the reader's figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from d2lutil._checks import show
from d2lutil.data import TimeMachine
from d2lutil.exercises.runs import LM_KINDS
from d2lutil.exercises.verdict import (
    answer_bool,
    answer_callable,
    answer_choice,
    answer_dict,
    answer_number,
    not_attempted,
    passed,
)
from d2lutil.training import evaluate_perplexity

HYPER_PARAMETERS = ("hidden_size", "num_steps", "lr", "clip", "batch_size")


def _family(kind: str) -> str:
    return "gru" if kind.startswith("gru") else "rnn"


def check_exercise_1(
    results: dict[str, dict[str, Any]] | None, answer: dict[str, str] | None, data: TimeMachine
) -> bool | None:
    """Check the RNN-vs-GRU comparison.

    ``results``: kind -> row for each of ``"rnn_scratch"``, ``"rnn"``, ``"gru_scratch"``, ``"gru"``,
    each row with ``model``, ``seconds``, ``val_ppl`` and ``sample`` (as :func:`lm_trial` returns).
    The validation perplexity of every model is measured again (on ``data.val_tokens``) and must
    match the row's.
    ``answer``: ``{"faster": "rnn" or "gru", "lower_perplexity": "rnn" or "gru"}``, read from the
    table: ``faster`` compares ``nn.RNN`` with ``nn.GRU`` (fewer seconds for the same budget),
    ``lower_perplexity`` the best validation perplexity of each family.
    """
    if not isinstance(data, TimeMachine):
        raise TypeError(f"Exercise 1: data must be the book's TimeMachine (load_time_machine()), got {show(data)}")
    if results is None and answer is None:
        return not_attempted(1, "`ex1_results` and `ex1_answer`")
    assert results is not None, "fill in ex1_results: train every kind with lm_trial, kind -> row"
    if not isinstance(results, dict):
        raise TypeError(f"Exercise 1: ex1_results must be a dict kind -> row, got {show(results)}")
    missing = [k for k in LM_KINDS if k not in results]
    assert not missing, f"ex1_results lacks {missing}: train every one of {list(LM_KINDS)} with the same budget"
    for kind in LM_KINDS:
        row = results[kind]
        if not isinstance(row, dict):
            raise TypeError(f"Exercise 1: the row of {kind!r} must be a dict (as lm_trial returns), got {show(row)}")
        for key in ("model", "seconds", "val_ppl", "sample"):
            assert key in row, f"the row of {kind!r} lacks {key!r} (it has {sorted(map(str, row))})"
        if not isinstance(row["model"], torch.nn.Module):
            raise TypeError(f"Exercise 1: the row of {kind!r} must hold its trained model, got {show(row['model'])}")
        answer_number(1, f"the {kind!r} row's seconds", row["seconds"])
        answer_number(1, f"the {kind!r} row's val_ppl", row["val_ppl"])
        assert row["seconds"] > 0, f"{kind}: seconds must be the measured training time, got {row['seconds']}"
        measured = evaluate_perplexity(row["model"], data.val_tokens)
        assert math.isclose(measured, row["val_ppl"], rel_tol=1e-3), (
            f"{kind}: the table says validation perplexity {row['val_ppl']:.3f}, but the model scores {measured:.3f} "
            "on the validation part (data.val_tokens, read with evaluate_perplexity). Is it the training perplexity, "
            "or the perplexity of another model?"
        )
        assert isinstance(row["sample"], str) and len(row["sample"]) > len("time traveller"), (
            f"{kind}: 'sample' must be generated text (predict(prefix, num_preds, model, vocab)), got {row['sample']!r}"
        )
    assert answer is not None, 'fill in ex1_answer: {"faster": "rnn" or "gru", "lower_perplexity": "rnn" or "gru"}'
    answer_dict(1, "ex1_answer", answer, ("faster", "lower_perplexity"))
    for key in ("faster", "lower_perplexity"):
        answer_choice(1, f"ex1_answer[{key!r}]", answer[key], ("rnn", "gru"))
    faster = "rnn" if results["rnn"]["seconds"] < results["gru"]["seconds"] else "gru"
    best = {
        fam: min(r["val_ppl"] for k, r in results.items() if k in LM_KINDS and _family(k) == fam)
        for fam in ("rnn", "gru")
    }
    lower = "rnn" if best["rnn"] < best["gru"] else "gru"
    assert answer["faster"] == faster, (
        f"your table says nn.RNN took {results['rnn']['seconds']:.2f} s and nn.GRU {results['gru']['seconds']:.2f} s "
        f"for the same budget, so the faster one is {faster!r}, not {answer['faster']!r}"
    )
    assert answer["lower_perplexity"] == lower, (
        f"your table's best validation perplexities are RNN {best['rnn']:.2f} and GRU {best['gru']:.2f}, "
        f"so the lower one is {lower!r}, not {answer['lower_perplexity']!r}"
    )
    return passed(
        1,
        f"The measurements are consistent: {faster.upper()} is faster, {lower.upper()} reaches the "
        "lower validation perplexity.",
    )


def check_exercise_3(rows: Sequence[dict[str, Any]] | None, answer: dict[str, str] | None) -> bool | None:
    """Check a one-factor-at-a-time sweep and what was read from it.

    ``rows``: the baseline run first, then runs that each change exactly one of
    ``hidden_size, num_steps, lr, clip, batch_size`` (every one changed at least once); each row
    has those five keys and ``seconds``, ``val_ppl``, ``sample`` (as :func:`lm_trial` returns).
    ``answer``: ``{"best": ..., "slowest": ...}``, each the hyper-parameter whose change gave the
    lowest validation perplexity / the longest training time, or ``"baseline"`` if no change beat it.
    """
    if rows is None and answer is None:
        return not_attempted(3, "`ex3_rows` and `ex3_answer`")
    assert rows is not None, "fill in ex3_rows: the baseline run first, then one run per change"
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"Exercise 3: ex3_rows must be a list of runs (dicts, as lm_trial returns), got {show(rows)}")
    assert len(rows) >= 2, "ex3_rows must be a list of runs: the baseline first, then one run per change"
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"Exercise 3: run {i} must be a dict (as lm_trial returns), got {show(row)}")
        lacking = [k for k in (*HYPER_PARAMETERS, "seconds", "val_ppl", "sample") if k not in row]
        assert not lacking, f"run {i} lacks {lacking}"
        answer_number(3, f"run {i}'s seconds", row["seconds"])
        answer_number(3, f"run {i}'s val_ppl", row["val_ppl"])
        assert row["seconds"] > 0, f"run {i}: seconds must be the measured training time, got {row['seconds']}"
        assert 1.0 <= row["val_ppl"] < 1e3, (
            f"run {i}: validation perplexity {row['val_ppl']} is not a perplexity of a character model"
        )
    base = rows[0]
    changed_by: list[str] = []
    for i, row in enumerate(rows[1:], start=1):
        diff = [k for k in HYPER_PARAMETERS if row[k] != base[k]]
        assert len(diff) == 1, (
            f"run {i} changes {diff or 'nothing'} relative to the baseline (run 0): change exactly one hyper-parameter "
            "per run, so that each difference in the table has one cause"
        )
        changed_by.append(diff[0])
    unvaried = [k for k in HYPER_PARAMETERS if k not in changed_by]
    assert not unvaried, f"no run changes {unvaried}: vary each of {list(HYPER_PARAMETERS)} at least once"
    assert answer is not None, 'fill in ex3_answer: {"best": ..., "slowest": ...}'
    answer_dict(3, "ex3_answer", answer, ("best", "slowest"))
    for key in ("best", "slowest"):
        answer_choice(3, f"ex3_answer[{key!r}]", answer[key], ("baseline", *HYPER_PARAMETERS))
    labels = ["baseline", *changed_by]
    best = labels[min(range(len(rows)), key=lambda i: rows[i]["val_ppl"])]
    slowest = labels[max(range(len(rows)), key=lambda i: rows[i]["seconds"])]
    assert answer["best"] == best, (
        f"in your table the lowest validation perplexity comes from changing {best!r}, not {answer['best']!r}"
    )
    assert answer["slowest"] == slowest, (
        f"in your table the longest training comes from changing {slowest!r}, not {answer['slowest']!r}"
    )
    return passed(
        3,
        f"A clean one-factor sweep of {len(rows)} runs; changing {best} helped most, changing "
        f"{slowest} cost the most time.",
    )


def _check_accuracies(accuracies: object) -> None:
    """``{"gru": [...], "update_only": [...]}``, each a non-empty list of accuracies in [0, 1]."""
    answer_dict(5, "accuracies", accuracies, ("gru", "update_only"))
    assert isinstance(accuracies, dict)  # for mypy: answer_dict refused the rest
    for key in ("gru", "update_only"):
        values = accuracies[key]
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise TypeError(f"Exercise 5: accuracies[{key!r}] must be a list of accuracies, got {show(values)}")
        if not values:
            raise ValueError(f"Exercise 5: accuracies[{key!r}] is empty: measure at least one seed")
        for i, value in enumerate(values):
            if not 0.0 <= answer_number(5, f"accuracies[{key!r}][{i}]", value) <= 1.0:
                raise ValueError(f"Exercise 5: accuracies[{key!r}][{i}] = {value} is not an accuracy in [0, 1]")


def check_exercise_5(
    make_batch: Callable[[int, torch.Generator], tuple[Tensor, Tensor]] | None,
    label_of: Callable[[Tensor], Tensor] | None,
    break_token: int | None,
    accuracies: dict[str, Sequence[float]] | None = None,
    reset_gate_helped: bool | None = None,
) -> bool | None:
    """Check a break task and, once measured, the conclusion drawn from it.

    ``make_batch(batch_size, generator) -> (X (B, T) int64, y (B,) int64)``; ``label_of(X) -> y``
    recomputes the labels; ``break_token`` is the symbol of a break. The task must be one where
    the state has to be reset: the label depends only on what follows the last break (changing
    anything before it never changes the label), yet the earlier part is a real distractor
    (removing the last break changes the label often), most sequences hold a break, and there are
    at least two labels. With ``accuracies`` (``{"gru": [...], "update_only": [...]}``, test
    accuracy per seed), ``reset_gate_helped`` must say whether the GRU's mean accuracy beats the
    update-only cell's by more than 0.05.
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
    if accuracies is not None:
        _check_accuracies(accuracies)
    if reset_gate_helped is not None:
        answer_bool(5, "reset_gate_helped", reset_gate_helped)
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
    assert y.unique().numel() >= 2, "every label is the same: a classifier could answer without reading anything"
    is_break = X == break_token
    has_break = is_break.any(1)
    assert has_break.float().mean() >= 0.5, (
        f"only {float(has_break.float().mean()):.0%} of the sequences hold a break; make most of them hold one"
    )
    T = X.shape[1]
    pos = torch.arange(T)
    last = torch.where(is_break, pos, torch.full_like(pos, -1)).max(1).values  # (B,), -1 when none
    symbols = X[~is_break].unique()
    assert len(symbols), "every token is a break: give the sequences symbols between the breaks"
    gen = torch.Generator().manual_seed(7)
    noise = symbols[torch.randint(0, len(symbols), X.shape, generator=gen)]
    before = pos[None, :] < last[:, None]  # strictly before the last break
    X_changed = torch.where(before & ~is_break, noise, X)
    same = label_of(X_changed) == y
    assert bool(same.all()), (
        f"changing tokens before the last break changed {int((~same).sum())} of {len(y)} labels: the "
        "label must depend only on "
        "what follows the last break (that is what makes a reset necessary)"
    )
    rows = torch.nonzero(has_break).squeeze(1)
    X_merged = X.clone()
    X_merged[rows, last[rows]] = noise[rows, last[rows]]
    flipped = float((label_of(X_merged)[rows] != y[rows]).float().mean())
    assert flipped >= 0.25, (
        f"removing the last break changes only {flipped:.0%} of the labels: the part before the break "
        "is no distractor, so a "
        "model that never resets loses nothing. Make the earlier segments look like the last one"
    )
    if accuracies is None:
        return passed(
            5,
            f"The task needs a reset: the label ignores everything before the last break, and {flipped:.0%} of "
            "labels would change if the break were missed. Now measure.",
        )
    assert reset_gate_helped is not None, "fill in reset_gate_helped (True or False) from your measurements"
    gap = sum(accuracies["gru"]) / len(accuracies["gru"]) - sum(accuracies["update_only"]) / len(
        accuracies["update_only"]
    )
    helped = gap > 0.05
    assert bool(reset_gate_helped) == helped, (
        f"the GRU's mean accuracy is {gap:+.3f} from the update-only cell's, so reset_gate_helped should be {helped} "
        "(it counts as help when the gap exceeds 0.05)"
    )
    return passed(
        5,
        f"The task needs a reset, and your measured gap of {gap:+.3f} says the reset gate "
        f"{'helped' if helped else 'did not help clearly'}.",
    )

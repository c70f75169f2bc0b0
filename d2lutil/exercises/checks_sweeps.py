"""The self-checks of the exercises that compare trained models over seeds: what each one-gate
cell loses (exercise 4's report), the update gate's initial bias on first-token recall (9), and the
reset before or after the matmul (10). A difference within the seed spread is no finding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from d2lutil._checks import show
from d2lutil.data import TimeMachine
from d2lutil.exercises.checks_runs import RECIPE_KEYS, lm_runs_by_layer, task_runs_by_layer
from d2lutil.exercises.verdict import (
    NO_CLEAR_WINNER,
    answer_choice,
    answer_number,
    not_attempted,
    passed,
    same_setup,
    seed_verdict,
)

CELLS_4 = {
    "plain RNN": "RNN",
    "reset only": "OneGateRNN",
    "update only": "UpdateOnlyGRU",
    "GRU": "GRUScratch(reset='after')",
}
RESETS_10 = {"before": "GRUScratch(reset='before')", "after": "GRUScratch(reset='after')"}


def _means(verdict_means: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in verdict_means.items())


def _lm_verdict(
    exercise: int,
    runs: Sequence[dict[str, Any]],
    cells: dict[str, str],
    data: TimeMachine,
    names: tuple[str, str],
    answer: str,
    says: str,
) -> tuple[dict[str, list[float]], dict[str, int], Any]:
    """The runs grouped by cell (same recipe, hidden size, budget and seeds), the seed verdict on their
    validation perplexities, and the student's ``answer`` held against it; ``names``: (runs, answer) as
    the notebook calls them; ``says``: how the refusal starts ("your runs say")."""
    scores, params = lm_runs_by_layer(exercise, runs, cells, data, names[0], (*RECIPE_KEYS, "hidden_size"))
    answer_choice(exercise, names[1], answer, (*cells, NO_CLEAR_WINNER))
    verdict = seed_verdict(scores)
    assert answer == verdict.winner, (
        f"{says} {verdict.winner!r} (mean validation perplexity {_means(verdict.means)}; "
        f"{verdict.reason}), not {answer!r}"
    )
    return scores, params, verdict


def check_exercise_4_report(
    runs: Sequence[dict[str, Any]] | None, answer: str | None, data: TimeMachine
) -> bool | None:
    """Check the report of exercise 4: the four cells' validation perplexities over seeds, and its verdict.

    ``runs``: :func:`lm_trial` rows whose layers are ``nn.RNN``, the reset-only ``OneGateRNN``,
    ``UpdateOnlyGRU`` and ``GRUScratch`` (reset after), all on the same recipe, hidden size, budget
    and seeds. ``answer``: the cell with the lowest validation perplexity (``"plain RNN"``,
    ``"reset only"``, ``"update only"``, ``"GRU"``) or ``"no clear winner"``, as :func:`seed_verdict` reads them.
    """
    if runs is None and answer is None:
        return not_attempted(4, "`ex4_report` and `ex4_lowest`")
    assert runs is not None, "fill in ex4_report: lm_trial rows of the four cells over the same seeds"
    assert answer is not None, 'fill in ex4_lowest: a cell\'s name or "no clear winner", from your report'
    scores, params, verdict = _lm_verdict(
        4, runs, CELLS_4, data, ("ex4_report", "ex4_lowest"), answer, "your report says"
    )
    sizes = ", ".join(f"{k} {v:,}" for k, v in params.items())
    return passed(4, f"Lowest validation perplexity: {verdict.winner} ({verdict.reason}). Parameters: {sizes}.")


def check_exercise_9(prediction: object, runs: Sequence[dict[str, Any]] | None, answer: object) -> bool | None:
    """Check the update-gate bias sweep on first-token recall: a prediction written first, the runs, the verdict.

    ``prediction``: the initial update-gate bias you expect to recall best (a number), or ``"no clear
    winner"``; any honest prediction passes, and the check reports whether the runs bore it out.
    ``runs``: :func:`recall_trial` results, two biases or more over the same seeds and set-up.
    ``answer``: the bias with the highest mean accuracy, or ``"no clear winner"`` (:func:`seed_verdict`).
    """
    if prediction is None and runs is None and answer is None:
        return not_attempted(9, "`ex9_prediction`, then `ex9_runs` and `ex9_answer`")
    assert prediction is not None, "write ex9_prediction before you train: which bias do you expect to recall best?"
    if prediction != NO_CLEAR_WINNER:
        prediction = answer_number(9, "ex9_prediction", prediction)
    assert runs is not None, "fill in ex9_runs: ex.recall_trial(bias, seed=s, ...) for each bias and seed"
    if isinstance(runs, (str, bytes, dict)) or not isinstance(runs, (list, tuple)):
        raise TypeError(f"Exercise 9: ex9_runs must be a list of ex.recall_trial results, got {show(runs)}")
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise TypeError(f"Exercise 9: ex9_runs[{i}] must be a dict (as recall_trial returns), got {show(run)}")
        assert "z_bias" in run and "length" in run, f"ex9_runs[{i}] lacks z_bias or length: use ex.recall_trial"
        answer_number(9, f"ex9_runs[{i}]['z_bias']", run["z_bias"])
    same_setup(9, list(runs), ("layer", "length"), "the runs in ex9_runs")
    biases = sorted({float(run["z_bias"]) for run in runs})
    assert len(biases) >= 2, f"ex9_runs tries one bias ({biases}): sweep two or more"
    labels = {b: f"{b:g}" for b in biases}
    tagged = [dict(run, layer=labels[float(run["z_bias"])]) for run in runs]
    scores = task_runs_by_layer(9, tagged, {v: v for v in labels.values()}, "ex9_runs")
    verdict = seed_verdict(scores, lower_is_better=False)
    assert answer is not None, 'fill in ex9_answer: the best bias (a number) or "no clear winner", from your runs'
    if isinstance(answer, str):
        answer_choice(9, "ex9_answer", answer, (NO_CLEAR_WINNER,))
    else:
        answer = f"{answer_number(9, 'ex9_answer', answer):g}"
    assert answer == verdict.winner, (
        f"your runs say {verdict.winner!r} (mean accuracy per bias: {_means(verdict.means)}; {verdict.reason}), "
        f"not {answer!r}"
    )
    predicted = prediction if isinstance(prediction, str) else f"{prediction:g}"
    outcome = "bore it out" if predicted == verdict.winner else "did not bear it out: worth asking why"
    return passed(9, f"Measured: {verdict.winner} ({verdict.reason}). You predicted {predicted}; the runs {outcome}.")


def check_exercise_10(runs: Sequence[dict[str, Any]] | None, answer: str | None, data: TimeMachine) -> bool | None:
    """Check the reset-before vs reset-after comparison: :func:`lm_trial` rows of ``GRUScratch(reset=...)``.

    Both conventions on the same recipe, hidden size, budget and seeds; ``answer`` is ``"before"``,
    ``"after"`` or ``"no clear winner"``, as :func:`seed_verdict` reads the validation perplexities.
    """
    if runs is None and answer is None:
        return not_attempted(10, "`ex10_runs` and `ex10_answer`")
    assert runs is not None, "fill in ex10_runs: lm_trial rows of GRUScratch(V, h, reset='before') and 'after'"
    assert answer is not None, 'fill in ex10_answer: "before", "after" or "no clear winner"'
    scores, _, verdict = _lm_verdict(10, runs, RESETS_10, data, ("ex10_runs", "ex10_answer"), answer, "your runs say")
    claim = (
        "consistent with the claim that the choice costs no accuracy (in this budget: a bound, not a proof)"
        if verdict.winner == NO_CLEAR_WINNER
        else f"a gap beyond the seed spread in this budget, against the claim: reset {verdict.winner} was better"
    )
    n = min(len(v) for v in scores.values())
    spread = float(np.nan if n < 2 else verdict.spread)
    return passed(10, f"{_means(verdict.means)} over {n} seeds (spread {spread:.3f}): {claim}.")

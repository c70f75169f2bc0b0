"""Self-checks and small helpers for the chapter's exercises (notebook 6: ``from d2lutil import exercises as ex``).

Every ``check_exercise_N`` prints ``Exercise N: not attempted yet ...`` and returns None while its
scaffold is untouched (the answer is still ``None``), raises ``AssertionError`` with a message that
says what is wrong on a wrong answer, and prints a short confirmation and returns True on a right
one. An answer of the wrong kind (the string ``"False"`` where ``False`` is meant, a number where a
function is) is refused with ``TypeError``, and one outside the allowed choices (``"GRU"`` for
``"gru"``) with ``ValueError``, each naming the answer and what is expected. The checks test
behaviour, not text: they run the reader's code or re-measure the reader's figures.

    runs          lm_trial (a character LM trained and measured: exercises 1, 3, 4, 10),
                  time_training_steps (interleaved timings, 1), matching_hidden_size, count_parameters,
                  accuracy_run (a small sequence classifier: 5, 6), recall_trial (9), format_table
    cells         OneGateRNN, UpdateOnlyGRU, update_only_step (exercise 4), FlippedGRU, load_weights (6)
    probes        hand_set_gru, with_clock, input_sensitivity: gates set by hand (exercise 2)
    checks_runs   check_exercise_1 (and its prediction), 3, 5: they re-measure the reader's runs
    checks_cells  check_exercise_2, 4, 6: they run the reader's cell arithmetic
    checks_math   check_exercise_7 (the step Jacobian), 8 (parameter counts): against PyTorch itself
    checks_sweeps check_exercise_4_report, 9, 10: trained models compared over seeds
    verdict       how a check reports, and when a difference is evidence (seed_verdict, timing_verdict)
                  or a set-up is confounded (same_setup)

A check that compares measurements accepts "no clear winner" when the gap is within the noise,
and refuses, naming the field, runs that differ in more than what is compared.
"""

from d2lutil.exercises.cells import FlippedGRU, OneGateRNN, UpdateOnlyGRU, load_weights, update_only_step
from d2lutil.exercises.checks_cells import check_exercise_2, check_exercise_4, check_exercise_6
from d2lutil.exercises.checks_math import check_exercise_7, check_exercise_8, step_jacobian
from d2lutil.exercises.checks_runs import (
    check_exercise_1,
    check_exercise_1_prediction,
    check_exercise_3,
    check_exercise_5,
    sweep_verdict,
)
from d2lutil.exercises.checks_sweeps import check_exercise_4_report, check_exercise_9, check_exercise_10
from d2lutil.exercises.probes import hand_set_gru, input_sensitivity, with_clock
from d2lutil.exercises.runs import (
    LM_KINDS,
    accuracy_run,
    count_parameters,
    format_table,
    layer_name,
    lm_trial,
    matching_hidden_size,
    recall_trial,
    time_training_steps,
)
from d2lutil.exercises.verdict import NO_CLEAR_WINNER, seed_verdict, timing_verdict

__all__ = [
    "LM_KINDS",
    "NO_CLEAR_WINNER",
    "FlippedGRU",
    "OneGateRNN",
    "UpdateOnlyGRU",
    "accuracy_run",
    "check_exercise_1",
    "check_exercise_1_prediction",
    "check_exercise_2",
    "check_exercise_3",
    "check_exercise_4",
    "check_exercise_4_report",
    "check_exercise_5",
    "check_exercise_6",
    "check_exercise_7",
    "check_exercise_8",
    "check_exercise_9",
    "check_exercise_10",
    "count_parameters",
    "format_table",
    "hand_set_gru",
    "input_sensitivity",
    "layer_name",
    "lm_trial",
    "load_weights",
    "matching_hidden_size",
    "recall_trial",
    "seed_verdict",
    "step_jacobian",
    "sweep_verdict",
    "time_training_steps",
    "timing_verdict",
    "update_only_step",
    "with_clock",
]

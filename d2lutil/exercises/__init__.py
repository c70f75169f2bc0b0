"""Self-checks and small helpers for the chapter's exercises (notebook 6: ``from d2lutil import exercises as ex``).

Every ``check_exercise_N`` prints ``Exercise N: not attempted yet ...`` and returns None while its
scaffold is untouched (the answer is still ``None``), raises ``AssertionError`` with a message that
says what is wrong on a wrong answer, and prints a short confirmation and returns True on a right
one. An answer of the wrong kind (the string ``"False"`` where ``False`` is meant, a number where a
function is) is refused with ``TypeError``, and one outside the allowed choices (``"GRU"`` for
``"gru"``) with ``ValueError``, each naming the answer and what is expected. The checks test
behaviour, not text: they run the reader's code or re-measure the reader's figures.

    runs          lm_trial (a character LM trained and measured: exercises 1, 3, 4), accuracy_run
                  (a small sequence classifier: exercises 4 to 6), format_table
    cells         OneGateRNN, UpdateOnlyGRU, update_only_step (exercise 4), FlippedGRU, load_weights (6)
    probes        hand_set_gru, with_clock, input_sensitivity: gates set by hand (exercise 2)
    checks_runs   check_exercise_1, 3, 5: they re-measure the reader's runs
    checks_cells  check_exercise_2, 4, 6: they run the reader's cell arithmetic
    verdict       how a check reports
"""

from d2lutil.exercises.cells import FlippedGRU, OneGateRNN, UpdateOnlyGRU, load_weights, update_only_step
from d2lutil.exercises.checks_cells import check_exercise_2, check_exercise_4, check_exercise_6
from d2lutil.exercises.checks_runs import check_exercise_1, check_exercise_3, check_exercise_5
from d2lutil.exercises.probes import hand_set_gru, input_sensitivity, with_clock
from d2lutil.exercises.runs import LM_KINDS, accuracy_run, format_table, lm_trial

__all__ = [
    "LM_KINDS",
    "FlippedGRU",
    "OneGateRNN",
    "UpdateOnlyGRU",
    "accuracy_run",
    "check_exercise_1",
    "check_exercise_2",
    "check_exercise_3",
    "check_exercise_4",
    "check_exercise_5",
    "check_exercise_6",
    "format_table",
    "hand_set_gru",
    "input_sensitivity",
    "lm_trial",
    "load_weights",
    "update_only_step",
    "with_clock",
]

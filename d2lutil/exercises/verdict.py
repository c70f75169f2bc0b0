"""How every self-check of notebook 6 reports: not attempted yet, or passed (a wrong answer raises
AssertionError), and how it refuses an answer of the wrong kind (TypeError, ValueError); and when
a measured difference counts as evidence (seeds, interleaved timings) and runs share a set-up."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from d2lutil._checks import show


def answer_callable(n: int, name: str, value: Any, signature: str) -> Callable[..., Any]:
    """``value`` if it is a function; otherwise a TypeError that says what exercise ``n`` expects."""
    if not callable(value):
        raise TypeError(f"Exercise {n}: {name} must be a function {signature}, got {show(value)}")
    return value


def answer_bool(n: int, name: str, value: Any) -> bool:
    """``value`` if it is True or False: a string such as 'False' is refused (it would count as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Exercise {n}: {name} must be True or False (no quotes), got {show(value)}")
    return bool(value)


def answer_number(n: int, name: str, value: Any) -> float:
    """``value`` as a finite float: an int, a float or a NumPy number, not a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Exercise {n}: {name} must be a number, got {show(value)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"Exercise {n}: {name} must be a finite number, got {value}")
    return float(value)


def answer_choice(n: int, name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices`` (spelled exactly)."""
    if not isinstance(value, str):
        raise TypeError(f"Exercise {n}: {name} must be one of {', '.join(map(repr, choices))}, got {show(value)}")
    if value not in choices:
        raise ValueError(f"Exercise {n}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def answer_dict(n: int, name: str, value: Any, keys: tuple[str, ...]) -> dict[Any, Any]:
    """``value`` if it is a dict holding at least ``keys``."""
    if not isinstance(value, dict):
        raise TypeError(f"Exercise {n}: {name} must be a dict with keys {list(keys)}, got {show(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"Exercise {n}: {name} lacks the keys {missing} (it has {sorted(map(str, value))})")
    return value


def not_attempted(n: int, what: str) -> bool | None:
    """Say the scaffold is untouched; returns None (neither passed nor failed)."""
    print(f"Exercise {n}: not attempted yet. Fill in {what} above, then run this cell again.")
    return None


def passed(n: int, message: str) -> bool:
    """Confirm a right answer; returns True."""
    print(f"Exercise {n}: correct. {message}")
    return True


# ---- evidence: when a measured difference is a finding and when it is noise

NO_CLEAR_WINNER = "no clear winner"


@dataclass(frozen=True)
class Comparison:
    """What repeated measurements say: the ``winner`` (a name or ``NO_CLEAR_WINNER``) and why."""

    winner: str
    means: dict[str, float]
    gap: float  # between the best mean and the runner-up's
    spread: float  # the largest range (max - min) over seeds within one group; nan with one seed
    reason: str


def seed_verdict(scores: Mapping[str, Sequence[float]], lower_is_better: bool = True) -> Comparison:
    """Which group of per-seed scores is best, or ``NO_CLEAR_WINNER`` when the gap is within the noise.

    ``scores``: name -> one score per seed (a perplexity, an accuracy), at least two groups. The
    best mean wins only when every group has two seeds or more and its lead over the runner-up is
    larger than the seed spread (the widest range, max - min, of any group's scores): a gap that
    a change of seed alone produces is no finding.
    """
    if len(scores) < 2 or not all(len(values) for values in scores.values()):
        raise ValueError(f"seed_verdict needs two groups or more, each with a score, got {dict(scores)}")
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    order = sorted(means, key=means.__getitem__, reverse=not lower_is_better)
    gap = abs(means[order[0]] - means[order[1]])
    if min(len(v) for v in scores.values()) < 2:
        return Comparison(NO_CLEAR_WINNER, means, gap, math.nan, "one seed per model: the seed spread is unknown")
    spread = max(float(np.max(v) - np.min(v)) for v in scores.values())
    if gap > spread:
        return Comparison(order[0], means, gap, spread, f"its lead {gap:.3g} exceeds the seed spread {spread:.3g}")
    return Comparison(NO_CLEAR_WINNER, means, gap, spread, f"the gap {gap:.3g} is within the seed spread {spread:.3g}")


TIMING_TOLERANCE = 0.1  # a median speed ratio within 10% of 1 is no finding on a shared machine


def timing_verdict(seconds: Mapping[str, Sequence[float]], a: str, b: str) -> Comparison:
    """Which of ``a`` and ``b`` trains faster, from per-round times measured interleaved (round i of each together).

    The ratio t_b / t_a is taken round by round; ``a`` is faster when the median ratio exceeds
    1 + TIMING_TOLERANCE and at least 80% of the rounds agree (and ``b`` likewise), else
    ``NO_CLEAR_WINNER``. Needs three rounds or more. ``spread`` holds the interquartile range
    of the ratios, ``gap`` the median ratio minus 1.
    """
    if len(seconds[a]) != len(seconds[b]) or len(seconds[a]) < 3:
        raise ValueError(f"timing_verdict needs three rounds or more of both {a!r} and {b!r}, paired round by round")
    ratios = np.asarray(seconds[b], dtype=float) / np.asarray(seconds[a], dtype=float)
    median = float(np.median(ratios))
    iqr = float(np.subtract(*np.percentile(ratios, [75, 25])))
    means = {a: float(np.median(seconds[a])), b: float(np.median(seconds[b]))}
    where = f"median time ratio {b}/{a} = {median:.2f} over {len(ratios)} interleaved rounds"
    if median > 1 + TIMING_TOLERANCE and np.mean(ratios > 1) >= 0.8:
        return Comparison(a, means, median - 1, iqr, where)
    if median < 1 / (1 + TIMING_TOLERANCE) and np.mean(ratios < 1) >= 0.8:
        return Comparison(b, means, median - 1, iqr, where)
    return Comparison(NO_CLEAR_WINNER, means, median - 1, iqr, f"{where}: within {TIMING_TOLERANCE:.0%} of 1 or mixed")


def same_setup(n: int, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], what: str = "the runs") -> None:
    """Refuse, naming the field, runs that should differ only in what is compared but differ in ``keys`` too.

    A key that some rows lack counts as a difference (the run did not record its set-up).
    """
    for key in keys:
        values = [row.get(key, "(not recorded)") for row in rows]
        distinct = []
        for value in values:
            if isinstance(value, (torch.Tensor, np.ndarray)) and not isinstance(value, np.generic):
                raise TypeError(
                    f"Exercise {n}: {key} is recorded as a tensor ({show(value)}): write settings as plain "
                    f"numbers ({key}=0.01, not torch.tensor(0.01)), so that runs compare by value"
                )
            if value not in distinct:
                distinct.append(value)
        assert len(distinct) == 1, (
            f"{what} differ in {key} ({', '.join(map(repr, distinct))}): confounded, since a difference in the "
            f"results could come from {key} as much as from what you compare. Give every run the same {key}"
        )

"""How every self-check of notebook 6 reports: not attempted yet, or passed (a wrong answer raises
AssertionError), and how it refuses an answer of the wrong kind (TypeError, ValueError)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

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

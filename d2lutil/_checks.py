"""Argument checks shared by the public functions: one place for what counts as an int, a real, a bool.

A NumPy integer (or a 0-d integer tensor) is an integer and a NumPy float a real number; a bool is
neither, and a string is never a number or a bool. Each check raises ``TypeError`` (wrong kind) or
``ValueError`` (right kind, wrong value) with a message that names the argument, shows what was
given, says what is expected and how to fix it. Lowest layer: imports nothing of d2lutil.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


def show(value: Any) -> str:
    """A short description of ``value`` for an error message: its repr (cut) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.dtype in (torch.bool, np.bool_)


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None, fix: str = "") -> int:
    """``value`` as a Python int: an int, a NumPy integer or a 0-d integer tensor, within the bounds."""
    try:
        if _is_bool(value):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        hint = f"pass a whole number ({fix})" if fix else "pass a whole number"
        raise TypeError(f"{name} must be an integer, got {show(value)}: {hint}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = (
            f"between {minimum} and {maximum}"
            if minimum is not None and maximum is not None
            else f"at least {minimum}"
            if minimum is not None
            else f"at most {maximum}"
        )
        raise ValueError(f"{name} must be an integer {bounds}, got {number}" + (f": {fix}" if fix else ""))
    return number


def check_real(
    name: str, value: Any, low: float = -math.inf, high: float = math.inf, inclusive: tuple[bool, bool] = (True, True)
) -> float:
    """``value`` as a finite Python float: an int, a float or a NumPy number (not a bool), within the bounds."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {show(value)}: pass a number such as 0.5")
    number = float(value)
    above = number >= low if inclusive[0] else number > low
    below = number <= high if inclusive[1] else number < high
    if not (math.isfinite(number) and above and below):
        left, right = "[" if inclusive[0] else "(", "]" if inclusive[1] else ")"
        raise ValueError(f"{name} must be a finite number in {left}{low}, {high}{right}, got {number}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a Python bool: only ``True``/``False`` (or a NumPy bool); 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {show(value)}: a string such as 'False' is not a bool")
    return bool(value)


def check_path(name: str, value: Any) -> Path:
    """``value`` as a Path: a non-empty str or an ``os.PathLike``."""
    if isinstance(value, str) and value.strip() and "\0" not in value:
        return Path(value).expanduser()
    if isinstance(value, os.PathLike) and not isinstance(value, (bytes, bytearray)):
        path = Path(value)
        if "\0" not in str(path):
            return path.expanduser()
    raise TypeError(f"{name} must be a path (a non-empty str or pathlib.Path), got {show(value)}")


def check_tokens(name: str, tokens: Any) -> torch.Tensor:
    """``tokens`` as given, after checking it is a 1-D integer tensor of non-negative token indices."""
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(
            f"{name} must be a 1-D torch tensor of token indices, got {show(tokens)}: "
            "convert with torch.tensor(vocab[list(text)])"
        )
    if tokens.dim() != 1:
        raise ValueError(f"{name} must be a 1-D tensor of token indices, got shape {tuple(tokens.shape)}: flatten it")
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token indices, got dtype {tokens.dtype}: use .long()")
    if len(tokens) and int(tokens.min()) < 0:
        raise ValueError(f"{name} holds a negative token index ({int(tokens.min())}): indices start at 0")
    return tokens


def check_positive(name: str, value: Any, fix: str = "") -> float:
    """``value`` as a finite Python float above 0 (an int, a float or a NumPy number; not a bool)."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {show(value)}: pass a number such as 0.01")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be positive and finite, got {number}" + (f": {fix}" if fix else ""))
    return number


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` as one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise (ValueError if isinstance(value, str) else TypeError)(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {show(value)}"
        )
    return value


def check_callable(name: str, value: Any, signature: str) -> Any:
    """``value`` if it can be called; ``signature`` shows the call that is expected, e.g. ``f(x) -> y``."""
    if not callable(value):
        raise TypeError(f"{name} must be a function {signature}, got {show(value)}")
    return value


def check_model(name: str, value: Any) -> torch.nn.Module:
    """``value`` if it is a ``torch.nn.Module`` with at least one parameter (its device is read from them)."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {show(value)}")
    if next(value.parameters(), None) is None:
        raise ValueError(f"{name} ({type(value).__name__}) has no parameters: give a model with weights")
    return value


def check_tensor(name: str, value: Any, dims: tuple[int, ...], what: str) -> torch.Tensor:
    """``value`` if it is a tensor with one of the numbers of dimensions ``dims``; ``what`` names its shape."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor {what}, got {show(value)}")
    if value.dim() not in dims:
        raise ValueError(f"{name} must be a tensor {what}, got shape {tuple(value.shape)}")
    return value


def check_device(device: object) -> torch.device | None:
    """``device`` as a torch.device that exists on this machine (None stays None: the model's own device)."""
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a torch.device, a str such as 'cpu' or None, got {show(device)}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {device!r} is not a device name: use 'cpu', 'cuda' or 'cuda:0'") from None
    missing = (dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count()) or (
        dev.type == "mps" and not torch.backends.mps.is_available()
    )
    if missing:
        raise ValueError(f"device {str(dev)!r} is not available here: use d2lutil.try_gpu() (the CPU when no GPU)")
    return dev

"""How a bad-input row is judged: the documented exception type, and a message that names the argument.

A row asserts what a caller relies on (TypeError for a wrong kind, ValueError for a wrong value,
and the name of the argument to fix), not the wording, so a message can be reworded in one place.
The format of the messages that ``d2lutil._checks`` writes is pinned once, in tests/test_checks.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest


def names(message: str, argument: str) -> bool:
    """True when ``argument`` (e.g. ``batch_size`` or ``tokens[1]``) stands in ``message`` as a whole word."""
    return re.search(rf"(?<!\w){re.escape(argument)}(?!\w)", message) is not None


def assert_refused(call: Callable[[], Any], error: type[Exception], argument: str) -> None:
    """``call()`` raises exactly ``error`` (not a subclass, not torch's own error) naming ``argument``."""
    with pytest.raises(Exception) as caught:
        call()
    raised = caught.value
    assert type(raised) is error, f"expected {error.__name__}, got {type(raised).__name__}: {raised}"
    assert names(str(raised), argument), f"the message does not name {argument!r}: {raised}"

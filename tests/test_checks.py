"""The message format of d2lutil._checks, pinned once: every bad-input row elsewhere asserts only the
exception type and the argument named (tests/refusals.py), so a message is reworded here and nowhere else.

Format: ``{name} must be {what is expected}, got {value shown}[: {the fix}]``, where a value is shown
as its repr (cut at 60 characters) and its type; TypeError for a wrong kind, ValueError for a wrong value.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from refusals import names
from torch import nn

from d2lutil import _checks as checks


def _message(call, error):
    with pytest.raises(error) as err:
        call()
    assert type(err.value) is error
    return str(err.value)


@pytest.mark.parametrize(
    "call,error,message",
    [
        (
            lambda: checks.check_int("batch_size", 2.5),
            TypeError,
            "batch_size must be an integer, got 2.5 (float): pass a whole number",
        ),
        (lambda: checks.check_int("n", True), TypeError, "n must be an integer, got True (bool): pass a whole number"),
        (
            lambda: checks.check_int("n", "3", fix="e.g. 3"),
            TypeError,
            "n must be an integer, got '3' (str): pass a whole number (e.g. 3)",
        ),
        (lambda: checks.check_int("n", 0, minimum=1), ValueError, "n must be an integer at least 1, got 0"),
        (lambda: checks.check_int("n", 9, maximum=8), ValueError, "n must be an integer at most 8, got 9"),
        (
            lambda: checks.check_int("i", -1, 0, 5, fix="6 tokens"),
            ValueError,
            "i must be an integer between 0 and 5, got -1: 6 tokens",
        ),
        (
            lambda: checks.check_real("lr", "0.1"),
            TypeError,
            "lr must be a real number, got '0.1' (str): pass a number such as 0.5",
        ),
        (
            lambda: checks.check_real("p", math.nan, 0.0, 1.0),
            ValueError,
            "p must be a finite number in [0.0, 1.0], got nan",
        ),
        (
            lambda: checks.check_real("p", 1.0, 0.0, 1.0, (True, False)),
            ValueError,
            "p must be a finite number in [0.0, 1.0), got 1.0",
        ),
        (
            lambda: checks.check_positive("lr", 0, fix="e.g. 0.01"),
            ValueError,
            "lr must be positive and finite, got 0.0: e.g. 0.01",
        ),
        (
            lambda: checks.check_positive("lr", None),
            TypeError,
            "lr must be a positive number, got None (NoneType): pass a number such as 0.01",
        ),
        (
            lambda: checks.check_bool("clear", "False"),
            TypeError,
            "clear must be True or False, got 'False' (str): a string such as 'False' is not a bool",
        ),
        (
            lambda: checks.check_path("data_dir", 42),
            TypeError,
            "data_dir must be a path (a non-empty str or pathlib.Path), got 42 (int)",
        ),
        (
            lambda: checks.check_choice("kind", "LSTM", ("gru", "lstm")),
            ValueError,
            "kind must be one of 'gru', 'lstm', got 'LSTM' (str)",
        ),
        (lambda: checks.check_choice("kind", 3, ("gru",)), TypeError, "kind must be one of 'gru', got 3 (int)"),
        (
            lambda: checks.check_callable("draw", 3, "draw(fig)"),
            TypeError,
            "draw must be a function draw(fig), got 3 (int)",
        ),
        (lambda: checks.check_model("model", "m"), TypeError, "model must be a torch.nn.Module, got 'm' (str)"),
        (
            lambda: checks.check_model("model", nn.ReLU()),
            ValueError,
            "model (ReLU) has no parameters: give a model with weights",
        ),
        (
            lambda: checks.check_tensor("X", [1], (3,), "(T, B, d)"),
            TypeError,
            "X must be a torch tensor (T, B, d), got [1] (list)",
        ),
        (
            lambda: checks.check_tensor("X", torch.zeros(2), (3,), "(T, B, d)"),
            ValueError,
            "X must be a tensor (T, B, d), got shape (2,)",
        ),
        (
            lambda: checks.check_tokens("tokens", torch.zeros(2, 2, dtype=torch.long)),
            ValueError,
            "tokens must be a 1-D tensor of token indices, got shape (2, 2): flatten it",
        ),
        (
            lambda: checks.check_tokens("tokens", torch.zeros(3)),
            TypeError,
            "tokens must hold integer token indices, got dtype torch.float32: use .long()",
        ),
        (
            lambda: checks.check_device(5),
            TypeError,
            "device must be a torch.device, a str such as 'cpu' or None, got 5 (int)",
        ),
        (
            lambda: checks.check_device("gpu"),
            ValueError,
            "device 'gpu' is not a device name: use 'cpu', 'cuda' or 'cuda:0'",
        ),
        (
            lambda: checks.check_device("cuda:99"),
            ValueError,
            "device 'cuda:99' is not available here: use d2lutil.try_gpu() (the CPU when no GPU)",
        ),
    ],
)
def test_the_message_format_is_pinned(call, error, message):
    assert _message(call, error) == message


def test_a_long_value_is_cut_to_sixty_characters_and_keeps_its_type():
    shown = checks.show("x" * 100)
    assert shown == repr("x" * 100)[:57] + "... (str)" and len(shown) == 60 + len(" (str)")


@pytest.mark.parametrize("argument", ["batch_size", "tokens[1]", "X", "H"])
def test_names_finds_an_argument_only_as_a_whole_word(argument):
    assert names(f"{argument} must be an integer, got 2.5", argument)
    assert names(f"give {argument}=3 instead", argument)
    assert not names(f"my_{argument}s must be an integer", argument)


def test_look_alikes_come_back_as_python_values():
    assert checks.check_int("n", np.int64(3)) == 3 and type(checks.check_int("n", torch.tensor(3))) is int
    assert checks.check_real("p", np.float32(0.5)) == 0.5 and type(checks.check_real("p", 1)) is float
    assert checks.check_bool("b", np.bool_(True)) is True
    assert checks.check_path("p", "~/x") == Path.home() / "x"
    assert checks.check_device(None) is None and checks.check_device("cpu") == torch.device("cpu")


def test_a_device_is_checked_against_this_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)  # a machine without CUDA, GPU or not
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        assert names(_message(lambda device=device: checks.check_device(device), ValueError), "device")

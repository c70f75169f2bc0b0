"""Test-wide settings: the quick budget, and the data folder beside the repository when present."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("D2LUTIL_QUICK", "1")
if "D2LUTIL_DATA_DIR" not in os.environ and (SHARED_DATA / "timemachine.txt").is_file():
    os.environ["D2LUTIL_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def time_machine():
    """The book split 90/10, loaded once per test session."""
    from d2lutil.data import load_time_machine

    return load_time_machine()

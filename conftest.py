"""Test-wide settings: the quick budget; the book is the copy shipped in the package unless overridden."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("D2LUTIL_QUICK", "1")
if os.environ.get("D2LUTIL_DATA_DIR"):
    # Absolute, so that a relative value means the same in the kernels that nbval starts in the
    # notebooks' folder and that the browser test starts.
    os.environ["D2LUTIL_DATA_DIR"] = str(Path(os.environ["D2LUTIL_DATA_DIR"]).expanduser().resolve())


@pytest.fixture(scope="session")
def time_machine():
    """The book split 85/5/10 (train, validation, test), loaded once per test session."""
    from d2lutil.data import load_time_machine

    return load_time_machine()


# --- Per-notebook wall time, printed at the end of every run (CI's budget: issue 6) ------------
_NOTEBOOK_SECONDS: dict[tuple[str, str], float] = {}


def _notebook_of(nodeid: str) -> tuple[str, str] | None:
    """(notebook name, how it ran) for an nbval cell or a browser-test item, else None."""
    path = nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        return Path(path).name, "nbval"
    if path.endswith("test_browser.py") and "[" in nodeid:
        return nodeid.rsplit("[", 1)[1].rstrip("]"), "browser"
    return None


def pytest_runtest_logreport(report):
    key = _notebook_of(report.nodeid)
    if key is not None:
        _NOTEBOOK_SECONDS[key] = _NOTEBOOK_SECONDS.get(key, 0.0) + report.duration


# Figures a test measures (the explorer's frame times) are printed at the end of every run, passed or
# not, so that CI's log carries them: a test adds (title, text) through the `final_summary` fixture.
_REPORTS: list[tuple[str, str]] = []


@pytest.fixture
def final_summary():
    """final_summary(title, text): print ``text`` under ``title`` in the run's final summary."""
    return lambda title, text: _REPORTS.append((title, text))


def pytest_terminal_summary(terminalreporter):
    for title, text in _REPORTS:
        terminalreporter.section(title)
        terminalreporter.write_line(text)
    if not _NOTEBOOK_SECONDS:
        return
    names = sorted({name for name, _ in _NOTEBOOK_SECONDS})
    kinds = [k for k in ("nbval", "browser") if any(kind == k for _, kind in _NOTEBOOK_SECONDS)]
    terminalreporter.section("wall time per notebook (seconds)")
    terminalreporter.write_line(f"{'notebook':<32}" + "".join(f"{k:>10}" for k in kinds))
    for name in names:
        cells = "".join(
            f"{_NOTEBOOK_SECONDS[(name, k)]:>10.1f}" if (name, k) in _NOTEBOOK_SECONDS else f"{'-':>10}" for k in kinds
        )
        terminalreporter.write_line(f"{name:<32}{cells}")
    totals = "".join(f"{sum(v for (_, kk), v in _NOTEBOOK_SECONDS.items() if kk == k):>10.1f}" for k in kinds)
    terminalreporter.write_line(f"{'total':<32}{totals}")

"""The maintainer's checks, run by the README's test command: Ruff lint, Ruff format, mypy.

The configuration lives in pyproject.toml ([tool.ruff], [tool.mypy]). Ruff reads the notebooks
too. To fix what these report: ``ruff check --fix .``, ``ruff format .``; mypy's errors by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CHECKS = {
    "ruff-check": [str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", "."],
    "ruff-format": [str(BIN / "ruff"), "format", "--no-cache", "--check", "--diff", "."],
    "mypy": [sys.executable, "-m", "mypy", "d2lutil"],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_clean(name: str) -> None:
    cmd = CHECKS[name]
    if not Path(cmd[0]).exists():
        cmd = [sys.executable, "-m", *cmd[1:]] if name.startswith("ruff") else cmd
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"`{' '.join(cmd[1:] if name != 'mypy' else cmd[2:])}` failed:\n{output[-20000:]}"

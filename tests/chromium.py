"""Debian's Chromium for the browser tests (notebooks in JupyterLab, the explorer page, the website)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, and no calls home: on an offline machine each refused connection is noise.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip the test when Chromium is missing, or fail it when D2LUTIL_REQUIRE_BROWSER is set (as in CI)."""
    if CHROMIUM.is_file():
        return
    if os.environ.get("D2LUTIL_REQUIRE_BROWSER"):
        pytest.fail(f"D2LUTIL_REQUIRE_BROWSER is set but {CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); set D2LUTIL_REQUIRE_BROWSER=1 to fail instead")

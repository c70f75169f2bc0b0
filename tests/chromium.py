"""Debian's Chromium for the browser tests (notebooks in JupyterLab, the explorer page, the website)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """Headless Chromium through Playwright, closed afterwards (skips or fails as require_chromium)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def offline_context(launched: Any, width: int = 1100, height: int = 1400) -> tuple[Any, list[str]]:
    """A browser context that serves only file:// (every other request refused and listed)."""
    context = launched.new_context(viewport={"width": width, "height": height}, offline=True)
    refused: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    return context, refused

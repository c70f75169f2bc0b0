"""The chapter's website, as a reader opens it: built, served locally, every page in headless Chromium, offline.

Once per session ``scripts/build_site.py`` builds the site into a temporary folder (executing the
notebooks in the quick setting the root conftest sets; any Sphinx warning fails the build). Then

* over all built pages, parsed as HTML: every internal link, image, script and stylesheet points
  at a file of the site, and every ``#anchor`` at an id of its page;
* each notebook's page carries an "Open in Colab" badge to
  ``https://colab.research.google.com/github/<owner/name>/blob/main/notebooks/<its notebook>.ipynb``,
  with ``owner/name`` from pyproject's ``[project.urls] Repository``, and the landing page all six;
* each page, served by ``python -m http.server`` on 127.0.0.1 and opened in Debian's Chromium
  (Playwright, no Playwright browser download) with every request to another host aborted:
  no console error or uncaught exception, no request to another host, every equation typeset by
  the site's own MathJax (no raw ``$``, ``\\(`` or ``\\[`` left in the text), every image loaded
  (``naturalWidth > 0``), no ``<Figure size`` text. A full-page screenshot of each page goes to
  ``artifacts/screenshots/site/``.

``D2LUTIL_SITE_HTML=DIR`` checks an existing build (the ``_build/site/_build/html`` of
``python scripts/build_site.py``) instead of building one. ``D2LUTIL_REQUIRE_BROWSER=1`` (set by
``.ci/run``) turns a missing Chromium into a failure instead of a skip.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from chromium import CHROMIUM, CHROMIUM_FLAGS, require_chromium

REPO = Path(__file__).resolve().parents[1]

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = REPO / "artifacts" / "screenshots" / "site"
BUILD_TIMEOUT_S = 1800

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# --------------------------------------------------------------------------------------------
# The site: built once, served once
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the built HTML pages."""
    existing = os.environ.get("D2LUTIL_SITE_HTML")
    if existing:
        return Path(existing).resolve()
    out = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_site.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"scripts/build_site.py failed ({result.returncode}):\n{log[-12000:]}"
    for line in result.stdout.splitlines():
        if line.startswith("["):  # the script's own timing lines
            print(line)
    print(f"site built in {time.monotonic() - start:.0f} s")
    return out / "_build" / "html"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    """The site's address on a local ``http.server`` (stopped at the end of the session)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/index.html", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"python -m http.server did not answer on {base}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def pages(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("*.html"))


# --------------------------------------------------------------------------------------------
# The HTML, parsed: links, anchors, badges
# --------------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The ids, and the URLs of links, images, scripts and stylesheets, of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("id", "name"):
            if found.get(key) and (key == "id" or tag == "a"):
                self.ids.add(found[key] or "")
        for key in ("href", "src"):
            if found.get(key):
                self.links.append((tag, found[key] or ""))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_notebook_is_a_page(site: Path) -> None:
    """The landing page, one page per notebook (from the .ipynb only, not its .md twin), Sphinx's index and search."""
    assert len(NOTEBOOKS) == 7, NOTEBOOKS  # six lessons and the engineering appendix
    expected = {"index.html", "genindex.html", "search.html", *(nb.replace(".ipynb", ".html") for nb in NOTEBOOKS)}
    assert set(pages(site)) == expected


def test_no_broken_internal_link_or_anchor(site: Path) -> None:
    # the built pages (not the theme's Jinja templates that Sphinx copies into _static/)
    built = [p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts]
    parsed = {p.relative_to(site).as_posix(): _parse(p) for p in built}
    broken = []
    for name, page in parsed.items():
        for tag, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (site / name).parent / unquote(parts.path) if parts.path else site / name
            target_name = target.resolve().relative_to(site.resolve()).as_posix() if parts.path else name
            if not target.resolve().is_file():
                broken.append(f"{name}: <{tag}> {url} -> no file {target_name}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target_name in parsed and fragment not in parsed[target_name].ids:
                broken.append(f"{name}: <{tag}> {url} -> {target_name} has no id {fragment!r}")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _colab_links(path: Path) -> set[str]:
    return {url for _, url in _parse(path).links if url.startswith("https://colab.research.google.com/")}


def test_colab_badges_point_at_the_notebooks(site: Path) -> None:
    with open(REPO / "pyproject.toml", "rb") as f:
        repository = tomllib.load(f)["project"]["urls"]["Repository"]
    owner_name = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", repository)
    assert owner_name, f"[project.urls] Repository should be https://github.com/OWNER/NAME, is {repository}"
    expected = {
        nb: f"https://colab.research.google.com/github/{owner_name.group(1)}/blob/main/notebooks/{nb}"
        for nb in NOTEBOOKS
    }
    for nb, url in expected.items():
        assert _colab_links(site / nb.replace(".ipynb", ".html")) == {url}, f"{nb}'s page should link to {url}"
    assert _colab_links(site / "index.html") == set(expected.values())


def test_landing_page_shows_the_readme_results(site: Path) -> None:
    """The measured results on the landing page are README's (one source): every cell of its tables."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- results -->", 1)[1].split("<!-- /results -->", 1)[0]
    page = html.unescape(re.sub(r"<[^>]+>", " ", (site / "index.html").read_text(encoding="utf-8")))
    text = " ".join(page.replace("\u2019", "'").split())  # Sphinx's smart quotes: ’ -> '

    cells = {
        " ".join(re.sub(r"[`*]|&nbsp;", " ", cell).split())
        for line in section.splitlines()
        if line.startswith("|") and not line.startswith("|---")
        for cell in line.strip("|").split("|")
    }
    missing = sorted(c for c in cells if c and c not in text)
    assert len(cells) > 50 and not missing, f"README results missing from the landing page: {missing}"


# --------------------------------------------------------------------------------------------
# Every page in the browser, offline
# --------------------------------------------------------------------------------------------

# Text left in the page outside code: raw TeX delimiters that MathJax did not typeset, and a figure
# shown as its repr. Code (pre, code), scripts and MathJax's own output are removed before looking.
_PAGE_REPORT = """() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  const text = copy.textContent;
  const maths = [...document.querySelectorAll('.math')];
  return {
    raw_tex: ['$', '\\\\(', '\\\\[', '\\\\)', '\\\\]'].filter(d => text.includes(d)),
    figure_repr: document.body.innerText.includes('<Figure size'),
    maths: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    images: [...document.images].map(
      i => ({src: i.getAttribute('src').slice(0, 120), ok: i.complete && i.naturalWidth > 0})),
  };
}"""


# The explorer's self-contained page (written by python -m d2lutil.explorer) is opened too when it is there.
EXPLORER = ["_static/gate_explorer.html"] if (REPO / "book" / "_static" / "gate_explorer.html").is_file() else []
NOTEBOOK_PAGES = [nb.replace(".ipynb", ".html") for nb in NOTEBOOKS]
BROWSED = ["index.html", *NOTEBOOK_PAGES, "genindex.html", "search.html", *EXPLORER]


@pytest.mark.parametrize("name", BROWSED)
def test_page_in_the_browser(name: str, site: Path, server: str, browser) -> None:
    assert (site / name).is_file(), f"{name} was not built"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []

    def only_local(route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
    try:
        page.goto(f"{server}/{name}", wait_until="load", timeout=60_000)
        # Ready when every image has settled and MathJax (where the page loads it) has typeset the page.
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)
        if page.evaluate("() => Boolean(window.MathJax && MathJax.startup && MathJax.startup.promise)"):
            page.evaluate("() => MathJax.startup.promise")
        report = page.evaluate(_PAGE_REPORT)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / Path(name).with_suffix(".png").name
        page.screenshot(path=str(shot), full_page=True)
        print(f"{name}: {report['maths']} equations, {len(report['images'])} images; screenshot {shot}")
    finally:
        context.close()
    assert not errors, f"{name}: JavaScript errors:\n" + "\n".join(errors)
    assert not elsewhere, f"{name} asked other hosts for: {elsewhere}"
    assert not report["untypeset"], f"{name}: equations MathJax did not typeset: {report['untypeset']}"
    assert not report["raw_tex"], f"{name}: raw TeX delimiters {report['raw_tex']} left in the text"
    assert not report["figure_repr"], f"{name}: a figure shows as '<Figure size ...>' text"
    broken = [i["src"] for i in report["images"] if not i["ok"]]
    assert not broken, f"{name}: images that did not load: {broken}"
    if name.replace(".html", ".ipynb") in NOTEBOOKS:
        assert report["images"], f"{name} shows no image at all"
        assert report["maths"], f"{name} has no typeset equation at all"

"""The chapter as a student meets it: every notebook opened in JupyterLab in headless Chromium.

One JupyterLab server for the session (127.0.0.1, a free port, a random token), one headless
Debian Chromium driven by Playwright for Python (no Playwright browser download). For each
notebook: Run > Run All Cells, wait until every cell has run and the kernel is idle, then check

* no cell has an error output (read from the saved copy of the run notebook and from the page);
* every widget rendered: no "Loading widget...", "Error displaying widget" or ``<Figure size``
  text in place of a figure;
* for each interactive figure (a widget box holding a slider and the image it redraws), dragging
  the first slider with the mouse replaces the picture (the image's bytes differ before and after);
* no JavaScript error in the page (console errors and uncaught exceptions).

The server runs on a copy of ``notebooks/`` in a temporary folder, so that JupyterLab's autosave
never writes outputs into the committed notebooks, and so that the notebooks are shown to run
from a folder outside the repository. The server and its kernels are stopped whatever happens.
Screenshots go to ``artifacts/screenshots/`` (printed, so CI logs list them).

Environment: ``D2LUTIL_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns a missing Chromium into a
failure instead of a skip; ``D2LUTIL_BROWSER_TIMEOUT`` (seconds per notebook, default 360).
The kernels inherit ``D2LUTIL_QUICK`` and ``D2LUTIL_DATA_DIR`` from the test process.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from chromium import browser, offline_context, require_chromium
from jupyterlab import Lab, jupyter_lab

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
JS = Path(__file__).with_name("js")  # the probes the tests run in the page
NOTEBOOK_TIMEOUT_S = float(os.environ.get("D2LUTIL_BROWSER_TIMEOUT", "360"))
BAD_TEXT = ["Loading widget", "Error displaying widget", "<Figure size", "Failed to load model class"]
# Console noise that says nothing about the chapter; every entry is matched as a substring.
HARMLESS_CONSOLE = [
    "favicon.ico",  # no favicon on some JupyterLab routes
]

pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------------------------
# Driving one notebook
# --------------------------------------------------------------------------------------------

# State of the notebook in the page: the kernel status, the prompt of every code cell, and
# whether an error output is shown.
_STATE_JS = (JS / "notebook_state.js").read_text(encoding="utf-8")


@dataclass
class Report:
    name: str
    seconds: float = 0.0
    screenshots: list[Path] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    sliders_checked: int = 0
    widget_count: int = 0


def _shot(target, path: Path, report: Report) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(path))
    report.screenshots.append(path)


def _full_notebook_shot(page, path: Path, report: Report) -> None:
    """The whole run notebook in one picture: the page made as tall as the notebook, then restored."""
    height = page.evaluate(
        """() => {
             const boxes = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook, '
                                                        + '.jp-NotebookPanel .jp-WindowedPanel-outer')];
             boxes.forEach(e => { e.scrollTop = 0; });
             return Math.max(...boxes.map(e => e.scrollHeight));
           }"""
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height + 200, size["height"]), 16000))})
    page.wait_for_timeout(800)
    page.evaluate(
        "() => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook, .jp-NotebookPanel .jp-WindowedPanel-outer')"
        ".forEach(e => { e.scrollTop = 0; })"
    )
    page.wait_for_timeout(200)
    _shot(page, path, report)
    page.set_viewport_size(size)
    page.wait_for_timeout(300)


def _wait_for_run(page, timeout_s: float) -> dict:
    """Poll until no cell is queued or running and the kernel is idle (stable for two polls)."""
    deadline = time.monotonic() + timeout_s
    stable, state = 0, None
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE_JS)
        if state and state["prompts"]:
            running = any("*" in p for p in state["prompts"])
            # Every visible prompt numbered (cells with collapsed source show none; the saved
            # notebook's execution counts check those), or an error stopped the run.
            executed = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in state["prompts"])
            done = executed == len(state["prompts"]) or state["errors"]
            if not running and state["status"] == "idle" and done:
                stable += 1
                if stable >= 2:
                    return state
            else:
                stable = 0
        page.wait_for_timeout(1000)
    raise TimeoutError(f"the notebook did not finish within {timeout_s:.0f} s; last state: {state}")


def _image_bytes(image) -> bytes:
    """The bytes of the picture an ``ipywidgets.Image`` shows (its blob or data URL, read in the page)."""
    data_url = image.evaluate(
        """async img => {
             const blob = await (await fetch(img.src)).blob();
             return await new Promise(r => {
               const f = new FileReader(); f.onload = () => r(f.result); f.readAsDataURL(blob);
             });
           }"""
    )
    return base64.b64decode(data_url.split(",", 1)[1])


def _drag_first_slider(page, box, index: int, shots: Path, report: Report) -> None:
    """Drag the first slider of an interactive figure with the mouse; its pictures must change."""
    images = box.locator("img.widget-image")
    slider = box.locator(".widget-slider").first
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first
    track = slider.locator(".noUi-target, .ui-slider").first
    box.scroll_into_view_if_needed()
    images.first.wait_for(state="visible")

    def sources() -> list[str | None]:
        return [images.nth(i).get_attribute("src") for i in range(images.count())]

    def pictures() -> list[bytes]:
        return [_image_bytes(images.nth(i)) for i in range(images.count())]

    before_src, before = sources(), pictures()
    _shot(box, shots / f"figure{index}_before.png", report)

    hb, tb = handle.bounding_box(), track.bounding_box()
    assert hb and tb, "slider handle or track has no size: the slider did not render"
    x0, y0 = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
    # Drag to whichever quarter of the track is farther from where the handle is now.
    left, right = tb["x"] + 0.25 * tb["width"], tb["x"] + 0.75 * tb["width"]
    x1 = left if abs(x0 - left) > abs(x0 - right) else right
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y0, steps=12)
    page.mouse.up()

    deadline = time.monotonic() + 60
    while sources() == before_src and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)  # a drag may trigger several redraws: let the last one land
    after = pictures()
    _shot(box, shots / f"figure{index}_after.png", report)
    assert sources() != before_src and after != before, (
        f"figure {index}: dragging the slider did not change the picture (handle moved from x={x0:.0f} to x={x1:.0f})"
    )
    report.sliders_checked += 1


@contextlib.contextmanager
def _checked_page(page, context, shots: Path, report: Report, lab: Lab | None = None) -> Iterator[None]:
    """Around a page's checks: a screenshot of the page if they fail; then, whatever happened, the
    screenshots listed (CI logs name them), the browser context closed and the lab's kernels stopped."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            _shot(page, shots / "page_on_failure.png", report)
        raise
    finally:
        for path in report.screenshots:
            print(f"screenshot: {path}")
        with contextlib.suppress(Exception):
            context.close()
        if lab is not None:
            lab.shutdown_kernels()


def run_notebook_in_lab(lab: Lab, browser, rel: str, shots: Path, timeout_s: float) -> Report:
    """Open ``rel`` (relative to the server's root) in a fresh page, run all cells and check it."""
    report = Report(rel)
    nb_path = lab.root / rel
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            report.console_errors.append(f"console.{msg.type}: {msg.text} @ {msg.location.get('url', '')}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda err: report.console_errors.append(f"page error: {err}"))
    start = time.monotonic()
    with _checked_page(page, context, shots, report, lab):
        workspace = re.sub(r"\W", "-", Path(rel).stem)
        page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{rel}?reset"), wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
        # The kernel named by the notebook's kernelspec has started and is connected (the status bar
        # reads "Python 3 (ipykernel) | Idle"); no kernel chooser dialog was needed.
        page.wait_for_function(
            "() => /\\(ipykernel\\) \\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
            timeout=120_000,
        )
        assert page.locator(".jp-Dialog").count() == 0, (
            f"{rel}: JupyterLab asked for a kernel: {page.locator('.jp-Dialog').inner_text()}"
        )
        # Run > Run All Cells, as a student would.
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        state = _wait_for_run(page, timeout_s)
        report.seconds = time.monotonic() - start
        _shot(page, shots / "page_after_run.png", report)
        _full_notebook_shot(page, shots / "notebook_full.png", report)

        # Save the run copy (in the temporary folder) and read its outputs exactly.
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")
        page.wait_for_function(
            "() => !document.querySelector('.jp-NotebookPanel .jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty')",
            timeout=60_000,
        )
        saved = json.loads(nb_path.read_text())
        problems = []  # every check runs; the test reports them all at once
        errors = [
            f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
            for i, cell in enumerate(saved["cells"])
            for o in cell.get("outputs", [])
            if o.get("output_type") == "error"
        ]
        if errors or state["errors"]:
            problems.append(f"cells raised errors: {errors or state}")
        unrun = [i for i, c in enumerate(saved["cells"]) if c["cell_type"] == "code" and not c.get("execution_count")]
        if unrun:
            problems.append(f"code cells {unrun} did not run")

        # Every widget rendered, no figure shown as text (in the page and in the run's outputs).
        page.wait_for_timeout(1000)
        text = "\n".join(page.locator(".jp-NotebookPanel .jp-OutputArea").all_inner_texts())
        bad = [b for b in BAD_TEXT if b in text]
        if bad:
            problems.append(f"the outputs show {bad}: a widget or a figure did not render")
        for i, cell in enumerate(saved["cells"]):
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                plain = "".join(data.get("text/plain", ""))
                if set(data) == {"text/plain"} and plain.startswith(("<Figure size", "<matplotlib.")):
                    problems.append(f"cell {i} shows {plain[:60]!r} as text instead of a picture")
        widget_views = sum(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            for c in saved["cells"]
            for o in c.get("outputs", [])
        )
        rendered = page.locator(".jp-NotebookPanel .jp-OutputArea-output .jupyter-widgets").count()
        report.widget_count = widget_views
        if widget_views and not rendered:
            problems.append(f"{widget_views} widget outputs but none rendered")

        # Each interactive figure: the outermost widget box holding a slider and the pictures it redraws.
        boxes = page.locator(
            ".jp-OutputArea-output .widget-vbox:has(img.widget-image):has(.widget-slider)"
            ":not(.widget-vbox .widget-vbox)"
        )
        for i in range(boxes.count()):
            try:
                _drag_first_slider(page, boxes.nth(i), i, shots, report)
            except (AssertionError, TimeoutError) as err:
                problems.append(str(err))
        sliders = page.locator(".jp-OutputArea-output .widget-slider").count()
        if sliders and not boxes.count():
            problems.append(f"{sliders} sliders on the page but no interactive figure (slider + image box) was found")

        real_errors = [e for e in report.console_errors if not any(h in e for h in HARMLESS_CONSOLE)]
        if real_errors:
            problems.append("JavaScript errors in the page:\n" + "\n".join(real_errors))
        assert not problems, f"{rel}:\n- " + "\n- ".join(problems)
    return report


# --------------------------------------------------------------------------------------------
# Fixtures and the test
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_copy(tmp_path_factory) -> Iterator[Lab]:
    require_chromium()
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("build", ".*"))
    with jupyter_lab(root, tmp_path_factory.mktemp("lab-state")) as lab:
        yield lab


@pytest.fixture(scope="module")
def chromium():
    with browser() as launched:
        yield launched


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(notebook: Path, lab_copy: Lab, chromium) -> None:
    shots = SCREENSHOTS / notebook.stem
    shutil.rmtree(shots, ignore_errors=True)
    report = run_notebook_in_lab(lab_copy, chromium, f"notebooks/{notebook.name}", shots, NOTEBOOK_TIMEOUT_S)
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()[:12]
    print(
        f"{notebook.name} (sha256 {digest}): ran in JupyterLab in {report.seconds:.0f} s, "
        f"{report.widget_count} widget outputs, {report.sliders_checked} sliders dragged, "
        f"{len(report.screenshots)} screenshots in {shots}"
    )


# --------------------------------------------------------------------------------------------
# The gate explorer: every control redraws within a frame, in JupyterLab and in the saved page
# --------------------------------------------------------------------------------------------

# Installed in the page before the controls move: for every input event on the explorer, the time
# from the event (performance.now() in a capturing listener, before the explorer's own handler)
# to the end of the next painted frame (a requestAnimationFrame callback, then a message task,
# which runs after that frame's style, layout and paint).
_LATENCY_JS = (JS / "explorer_latency.js").read_text(encoding="utf-8")

# What the explorer shows, read from the page: enough to tell that a move changed the drawing.
_DRAWN_JS = (JS / "explorer_drawn.js").read_text(encoding="utf-8")


# The centre of character i of the passage (from the text's own layout, scrolled into view), and
# with colour=true the colour the canvas under the text shows there (read back only when asked).
_CHAR_JS = (JS / "explorer_char.js").read_text(encoding="utf-8")


def _hover_char(page, root, i: int) -> dict:
    """Move the mouse onto character i of the passage; returns where it is (x, y)."""
    at = root.evaluate(_CHAR_JS, [i, False])
    page.mouse.move(at["x"], at["y"])
    return at


def _wait_for_passage(page, timeout_ms: float) -> None:
    page.wait_for_function("() => document.querySelector('.gx-chars')?.textContent.length > 0", timeout=timeout_ms)


def _drive_explorer(page, root, moves: int = 12, trained: bool = True) -> dict[str, list[float]]:
    """Move every control of the explorer under ``root``; assert each move changes the drawing
    (the saturation scatter's ring moves only if the units differ in saturation: ``trained``).

    The timed moves are raw input, as a reader's: keys, mouse clicks at a point, mouse moves.
    (Playwright's element actions check their target in the page, with a forced style and layout
    inside the interval being timed.) Returns the event-to-painted-frame times (ms) per kind of
    move, read from the page.
    """
    page.evaluate(_LATENCY_JS)

    def drawn() -> dict:
        return root.evaluate(_DRAWN_JS)

    def changed(before: dict, keys: list[str], what: str) -> dict:
        page.wait_for_timeout(60)
        after = drawn()
        same = [k for k in keys if after[k] == before[k]]
        assert not same, f"{what}: {same} did not change"
        return after

    state = drawn()
    unit = root.locator(".gx-unit")
    unit.focus()
    rings = set()
    for _ in range(moves):
        page.keyboard.press("ArrowRight")
        state = changed(state, ["text", "heat", "status"], "a unit move")
        rings.add(state["scatter"])
    assert len(rings) > 1 or not trained, "the scatter's ring never moved with the unit"
    gates = root.locator(".gx-gate")
    gates.first.scroll_into_view_if_needed()
    boxes = [gates.nth(i).bounding_box() for i in (0, 1)]
    centres = [(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2) for b in boxes]
    for i in range(moves):
        page.mouse.click(*centres[(i + 1) % 2])
        state = changed(state, ["text", "heat", "status"], "a gate toggle")
    layers = root.locator(".gx-layer option").count()
    root.locator(".gx-layer").focus()
    for _ in range(moves if layers > 1 else 0):  # arrow keys on the closed list choose the next layer
        current = int(root.locator(".gx-layer").input_value())
        page.keyboard.press("ArrowDown" if current < layers - 1 else "ArrowUp")
        state = changed(state, ["text", "heat", "scatter"], "a layer change")
    root.locator(".gx-first").focus()
    for _ in range(moves):
        page.keyboard.press("ArrowRight")
        state = changed(state, ["heat"], "a window move")
    for i in range(moves):
        _hover_char(page, root, 20 + 7 * i)
        state = changed(state, ["hover", "text"], "a hover")
        assert state["hover"].startswith(f"step {20 + 7 * i} "), f"hovering character {20 + 7 * i}: {state['hover']!r}"
        assert state["green"] > 0, "hovering a character showed no connectivity"
    # Ranking: choosing the top unit for word starts moves the unit there.
    root.locator(".gx-feature").select_option("word start")
    page.wait_for_timeout(60)
    top = drawn()["ranked"]
    assert len(top) == 12, f"the ranking lists {len(top)} units"
    root.locator(".gx-ranked").select_option(str(top[0]))
    page.wait_for_timeout(60)
    assert drawn()["unit"] == top[0], "choosing a ranked unit did not move the unit slider"
    page.wait_for_timeout(200)
    times: dict[str, list[float]] = {}
    for name, frame_ms, handler_ms in page.evaluate("() => window.__gx.map(e => [e[0], e[1], e[2]])"):
        times.setdefault(name, []).append(frame_ms)
        if handler_ms is not None:
            times.setdefault(f"{name} (handlers)", []).append(handler_ms)
    return times


def _timing_table(title: str, times: dict[str, list[float]]) -> str:
    import statistics

    from d2lutil.bench.measure import load_average

    load = load_average()
    lines = [
        f"{title}; load average {load[0] if load else 'unknown'} on {os.cpu_count()} cores",
        "event to painted frame, and (in brackets) the part spent in the explorer's own handlers;",
        f"issue 15's budget: median 16 ms, worst 50 ms; this run fails at {FRAME_BUDGET_MS[0]:.0f} / "
        f"{FRAME_BUDGET_MS[1]:.0f} ms" + ("" if STRICT_FRAMES else " (D2LUTIL_STRICT_FRAMES=1 for 16 / 50)"),
        f"{'move':8s} {'n':>3s} {'median ms':>10s} {'worst ms':>9s} {'(median':>8s} {'worst)':>7s}",
    ]
    for name in ("unit", "gate", "layer", "window", "hover"):
        ms, own = times.get(name, []), times.get(f"{name} (handlers)", [])
        if ms:
            mine = f"{statistics.median(own):8.1f} {max(own):7.1f}" if own else ""
            lines.append(f"{name:8s} {len(ms):3d} {statistics.median(ms):10.1f} {max(ms):9.1f} {mine}")
    return "\n".join(lines)


# Issue 15's budget: a move is painted within a frame (median 16 ms, worst 50 ms). Frame times are
# machine-dependent, so CI guards against regressions only (a move that waits for the kernel, as the
# old explorer did, took 44-139 ms) and prints the table; D2LUTIL_STRICT_FRAMES=1 applies the budget
# itself, on a quiet machine.
STRICT_FRAMES = os.environ.get("D2LUTIL_STRICT_FRAMES", "") == "1"
FRAME_BUDGET_MS = (16.0, 50.0) if STRICT_FRAMES else (33.0, 100.0)


def _check_frame_budget(times: dict[str, list[float]], kinds: tuple[str, ...]) -> list[str]:
    import statistics

    median_budget, worst_budget = FRAME_BUDGET_MS
    problems = []
    for name in kinds:
        ms = times.get(name)
        if not ms:
            problems.append(f"no {name} move was timed")
        elif statistics.median(ms) > median_budget or max(ms) > worst_budget:
            problems.append(
                f"{name}: median {statistics.median(ms):.1f} ms, worst {max(ms):.1f} ms "
                f"(budget {median_budget:.0f} / {worst_budget:.0f})"
            )
    return problems


_EXPLORER_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": [
                "from d2lutil.checkpoints import load_checkpoint\n",
                "from d2lutil.explorer import GateExplorer, held_out_passages\n",
                "\n",
                "model, vocab, _ = load_checkpoint('gru_lm')\n",
                "explorer = GateExplorer(model, vocab, held_out_passages(400, 2), context=16)\n",
                "explorer",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["print('kernel sees', explorer.unit, explorer.gate, explorer.layer, explorer.window)"],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": [
                "import math\n",
                "run, ids = explorer.intervened, vocab[list(explorer.trace.text)]\n",
                "mean = sum(run.log_probs[t, ids[t + 1]] for t in range(len(ids) - 1)) / (len(ids) - 1)\n",
                "print('kernel perplexity', None if run is None else f'{math.exp(-mean):.3f}')",
            ],
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _run_cell_until(page: Any, index: int, done: str, arg: object = None) -> Any:
    """Run the notebook's code cell ``index`` (Ctrl+Enter), wait until ``done(output text, arg)``
    (a JavaScript function) holds for its output, and return the cell's locator."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        f"([i, arg]) => ({done})(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[i]"
        ".querySelector('.jp-OutputArea-output')?.innerText || '', arg)",
        arg=[index, arg],
        timeout=60_000,
    )
    return cell


def test_gate_explorer_in_jupyterlab(lab_copy: Lab, chromium, final_summary) -> None:
    """The explorer on the shipped gru_lm in JupyterLab: every control redraws within a frame,
    an intervention applied in the page is traced by the kernel with the same perplexity, a new
    passage and typed text go through the kernel, and bad text is refused in the widget."""
    shots = SCREENSHOTS / "gate_explorer"
    shutil.rmtree(shots, ignore_errors=True)
    (lab_copy.root / "explorer_check.ipynb").write_text(json.dumps(_EXPLORER_NOTEBOOK))
    report = Report("explorer_check.ipynb")
    context = chromium.new_context(viewport={"width": 1400, "height": 1300})
    page = context.new_page()
    page.on("pageerror", lambda err: report.console_errors.append(f"page error: {err}"))
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    with _checked_page(page, context, shots, report, lab_copy):
        url = lab_copy.url("/lab/workspaces/explorer/tree/explorer_check.ipynb?reset")
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function(
            "() => /\\(ipykernel\\) \\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
            timeout=120_000,
        )
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        root = page.locator(".jp-OutputArea-output .gx").first
        _wait_for_passage(page, 300_000)
        _wait_for_run(page, NOTEBOOK_TIMEOUT_S)  # connectivity follows the gates
        _shot(page, shots / "opened.png", report)
        times = _drive_explorer(page, root)
        _shot(page, shots / "after_moves.png", report)
        # The view state reached the kernel (sent once the reader pauses): run the second cell again.
        page.wait_for_timeout(1000)
        view = root.evaluate(
            """(root) => [+root.querySelector('.gx-unit').value, root.querySelector('.gx-gate.gx-on').dataset.gate,
                         +root.querySelector('.gx-layer').value, +root.querySelector('.gx-first').value,
                         +root.querySelector('.gx-width').value]"""
        )
        expected = f"kernel sees {view[0]} {view[1]} {view[2]} [{view[3]}, {view[3] + view[4] - 1}]"
        _run_cell_until(page, 1, "(text, e) => text.trim() === e", expected)
        # An intervention applied in the page reaches the kernel, which traces the same change.
        root.locator(".gx-kind").select_option("reset")
        root.locator(".gx-value").fill("1")
        root.locator(".gx-scope").select_option("all")
        root.locator(".gx-apply").click()
        page.wait_for_function("() => document.querySelector('.gx-effect').textContent.includes('\u2192')")
        in_page = float(re.findall(r"\u2192 (\d+\.\d+)", root.locator(".gx-effect").inner_text())[0])
        page.wait_for_timeout(1000)
        cell = _run_cell_until(page, 2, "(text) => /kernel perplexity \\d/.test(text)")
        shown = cell.locator(".jp-OutputArea-output").inner_text()
        kernel = float(shown.split()[-1])
        assert abs(kernel / in_page - 1) < 2e-3, f"page {in_page}, kernel {kernel}: float16 rounding is far smaller"
        _shot(page, shots / "intervened.png", report)
        root.locator(".gx-reset").click()
        # A new passage from the dropdown: traced by the kernel.
        before = root.evaluate(_DRAWN_JS)["passage"]
        root.locator(".gx-passage").select_option(index=1)
        page.wait_for_function("(b) => document.querySelector('.gx-textbox').value !== b", arg=before, timeout=120_000)
        # Typed text: traced; text with no letters: refused in the widget, where it was typed.
        root.locator(".gx-textbox").fill("The Time Machine, 1895: a story.")
        root.locator(".gx-trace").click()
        page.wait_for_function(
            "() => document.querySelector('.gx-chars').textContent === 'the time machine a story '",
            timeout=120_000,
        )
        root.locator(".gx-textbox").fill("1895 !!")
        root.locator(".gx-trace").click()
        page.wait_for_function(
            "() => /Not traced: .*fewer than two letters/.test(document.querySelector('.gx-msg').innerText)",
            timeout=60_000,
        )
        _shot(page, shots / "refused.png", report)
        table = _timing_table("gate explorer in JupyterLab (event to painted frame)", times)
        print(table)
        final_summary("explorer frame times: JupyterLab", table)
        problems = _check_frame_budget(times, ("unit", "gate", "layer", "window", "hover"))
        errors = [e for e in report.console_errors if not any(h in e for h in HARMLESS_CONSOLE)]
        if errors:
            problems.append("JavaScript errors in the page:\n" + "\n".join(errors))
        assert not problems, "\n".join(problems)


def _small_explorer_page(folder: Path) -> tuple[Path, dict]:
    """A saved page for a small random two-layer GRU (seconds to trace), and its data."""
    import d2lutil
    from d2lutil.data import load_time_machine
    from d2lutil.explorer import GateExplorer, held_out_passages

    vocab = load_time_machine().vocab
    d2lutil.set_seed(0)
    model = d2lutil.build_lm("gru", len(vocab), hidden_size=64, num_layers=2, embed_size=8).eval()
    explorer = GateExplorer(model, vocab, held_out_passages(300, 2), context=16, units_shown=32)
    path = explorer.save_html(folder / "explorer.html")
    page = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1).replace("<\\/", "</"))
    # the page computes the gates from its float16 weights: the same weights in PyTorch give its bytes
    from page_reference import page_reference

    from d2lutil.explorer.trace import quantise, trace_passage

    exact = page_reference(model, vocab)
    for label in data["passages"]:
        gates = trace_passage(exact, vocab, data["traces"][label]["meta"]["text"]).gates
        data["traces"][label]["gates"] = base64.b64encode(quantise(gates)).decode("ascii")
    return path, data


SHIPPED_PAGE = REPO / "book" / "_static" / "gate_explorer.html"


@pytest.mark.parametrize("which", ["small model", "shipped page"])
def test_saved_explorer_page_works_offline(which: str, chromium, tmp_path, final_summary) -> None:
    """The saved page from file:// with every network request aborted: the controls work, the
    ranking agrees with NumPy's, the connectivity appears on hover, and nothing is fetched."""
    import numpy as np

    require_chromium()
    if which == "shipped page":
        if not SHIPPED_PAGE.is_file():
            pytest.skip(f"{SHIPPED_PAGE} is missing: python -m d2lutil.explorer --save {SHIPPED_PAGE}")
        path, data = SHIPPED_PAGE, None
    else:
        path, data = _small_explorer_page(tmp_path)
    shots = SCREENSHOTS / f"gate_explorer_page_{which.replace(' ', '_')}"
    shutil.rmtree(shots, ignore_errors=True)
    report = Report(path.name)
    context, fetched = offline_context(chromium, 1100, 1300)
    page = context.new_page()
    page.on("pageerror", lambda err: report.console_errors.append(f"page error: {err}"))
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    with _checked_page(page, context, shots, report):
        page.goto(path.as_uri())
        root = page.locator(".gx").first
        _wait_for_passage(page, 30_000)
        assert not root.locator(".gx-trace").is_disabled() and "runs the model itself" in root.inner_text()
        _shot(page, shots / "opened.png", report)
        if data is not None:  # the ranking in the page is NumPy's Pearson r over the same bytes
            meta = data["traces"][data["passages"][0]]["meta"]
            gates = np.frombuffer(base64.b64decode(data["traces"][data["passages"][0]]["gates"]), dtype=np.uint8)
            gates = gates.reshape(meta["layers"], 2, meta["steps"], meta["units"]).astype(float)
            z = gates[data["state"]["layer"], 0]
            spaces = np.array([c == " " for c in meta["text"]], dtype=float)
            r = np.array([np.corrcoef(z[:, u], spaces)[0, 1] if z[:, u].std() > 0 else 0.0 for u in range(z.shape[1])])
            expected = list(np.argsort(-np.abs(r), kind="stable")[:12])
            assert root.evaluate(_DRAWN_JS)["ranked"] == expected
            # the canvas shows each space's gate value in the palette's colour, under that space
            unit, palette = data["state"]["unit"], meta["palette"]
            for t in [t for t, c in enumerate(meta["text"]) if c == " "][:8]:
                shown = root.evaluate(_CHAR_JS, [t, True])["rgb"]
                hex_colour = palette[int(gates[data["state"]["layer"], "zr".index(data["state"]["gate"]), t, unit])]
                assert shown == [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], f"space {t}: {shown}"
        times = _drive_explorer(page, root, trained=data is None)
        at = _hover_char(page, root, 30)
        _shot(page, shots / "hover_connectivity.png", report)
        passage = root.evaluate(_DRAWN_JS)["passage"]
        page.mouse.dblclick(at["x"], at["y"])  # the text over the canvas is real text: a reader can select it
        word = page.evaluate("() => getSelection().toString()")
        assert word.strip() and word in passage, f"double-clicking the passage selected {word!r}"
        root.locator(".gx-passage").select_option(index=1)
        assert root.evaluate(_DRAWN_JS)["passage"] != passage, "choosing another passage did not change the text"
        table = _timing_table(f"saved explorer page, {which} ({path.stat().st_size / 1e6:.2f} MB)", times)
        print(table)
        final_summary(f"explorer frame times: saved page, {which}", table)
        problems = _check_frame_budget(times, ("unit", "gate", "layer", "window", "hover"))
        if fetched:
            problems.append(f"the page asked the network for {fetched}")
        if report.console_errors:
            problems.append("JavaScript errors in the page:\n" + "\n".join(report.console_errors))
        assert not problems, "\n".join(problems)

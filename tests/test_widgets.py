"""InteractiveFigure: draws, redraws when a control moves, times each redraw, and needs no display."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ipywidgets as W
import pytest

from d2lutil import widgets
from d2lutil.widgets import InteractiveFigure, figure_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(fig: InteractiveFigure) -> bytes:
    return bytes(fig.image.value)  # ipywidgets 8 gives a memoryview, 7.7 bytes


def _draw_line(fig, slope, label):
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, slope], label=label)
    ax.set_ylim(-3, 3)
    ax.set_title(f"slope {slope}")
    ax.legend()


@pytest.fixture
def figure():
    calls = []

    def draw(fig, **values):
        calls.append(values)
        _draw_line(fig, **values)

    slope = W.FloatSlider(value=1.0, min=-2.0, max=2.0, description="slope")
    label = W.Dropdown(options=["a", "b"], value="a", description="label")
    return InteractiveFigure(draw, {"slope": slope, "label": label}, figsize=(3, 2), dpi=50), calls


def test_draws_at_once(figure):
    fig, calls = figure
    assert calls == [{"slope": 1.0, "label": "a"}]
    assert _png(fig).startswith(PNG_MAGIC)
    assert len(fig.timings_ms) == 1 and fig.timings_ms[0] > 0
    assert fig.values == {"slope": 1.0, "label": "a"}
    assert isinstance(fig.widget, W.VBox) and fig.widget.children[-1] is fig.image


def test_moving_a_control_redraws(figure):
    fig, calls = figure
    first = _png(fig)
    fig.controls["slope"].value = -1.5
    assert calls[-1] == {"slope": -1.5, "label": "a"}
    assert len(fig.timings_ms) == 2
    second = _png(fig)
    assert second.startswith(PNG_MAGIC) and second != first
    fig.controls["label"].value = "b"
    assert len(fig.timings_ms) == 3 and calls[-1] == {"slope": -1.5, "label": "b"}
    fig.controls["slope"].value = 1.0
    fig.controls["label"].value = "a"
    assert _png(fig) == first  # the same values draw the same picture
    assert fig.fig.axes[0].get_title() == "slope 1.0" and len(fig.fig.axes) == 1  # cleared, not stacked
    assert fig.timing_summary().startswith("5 redraws: median ")


def test_controls_are_laid_out_in_rows():
    controls = {name: W.IntSlider(value=i) for i, name in enumerate("abcde")}
    fig = InteractiveFigure(lambda f, **v: f.add_subplot().plot(list(v.values())), controls, columns=2)
    rows = fig.widget.children[:-1]
    assert [len(r.children) for r in rows] == [2, 2, 1]


def test_figure_png():
    import matplotlib.pyplot as plt

    f = plt.figure(figsize=(2, 1))
    try:
        small, large = figure_png(f, dpi=20), figure_png(f, dpi=80)
    finally:
        plt.close(f)
    assert small.startswith(PNG_MAGIC) and len(large) > len(small)


def test_works_headless(tmp_path):
    """In a fresh process with no display and the Agg backend, as in CI."""
    script = textwrap.dedent(
        """
        import importlib.util, sys
        import ipywidgets as W, matplotlib
        # the module file alone (it needs no torch), so that the check stays quick
        spec = importlib.util.spec_from_file_location("widgets", sys.argv[1])
        widgets = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(widgets)
        InteractiveFigure = widgets.InteractiveFigure
        s = W.IntSlider(value=1, min=0, max=5)
        fig = InteractiveFigure(lambda f, n: f.add_subplot().bar(range(n + 1), 1), {"n": s})
        before = bytes(fig.image.value)
        s.value = 4
        assert bytes(fig.image.value) != before and len(fig.timings_ms) == 2
        print(matplotlib.get_backend().lower(), len(fig.timings_ms))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    module = Path(widgets.__file__).resolve()
    out = subprocess.run(
        [sys.executable, "-c", script, str(module)], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["agg", "2"]

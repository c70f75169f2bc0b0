"""Interactive figures from core ipywidgets that work in JupyterLab and Colab (ipywidgets 7.7 and 8).

A :class:`InteractiveFigure` keeps one matplotlib figure, redraws it when a control moves, and
shows it as PNG bytes in an ``ipywidgets.Image``: the picture is replaced in place, so it does not
flicker, and it needs neither ipympl nor Colab's custom widget manager. Each redraw is timed.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure

from d2lutil._checks import check_bool, check_callable, check_int, check_positive, show


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure rendered to PNG bytes."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {show(fig)}")
    dpi = check_int("dpi", dpi, minimum=10, maximum=600)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _check_controls(controls: object) -> None:
    """``controls`` must map names (str) to ipywidgets controls that have a value."""
    if not isinstance(controls, dict):
        raise TypeError(f"controls must be a dict name -> ipywidgets control, got {show(controls)}")
    for name, control in controls.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"controls has the name {name!r}, not a Python name: draw receives them as keywords")
        if not (isinstance(control, widgets.Widget) and hasattr(control, "value")):
            raise TypeError(f"controls[{name!r}] must be an ipywidgets control with a value, got {show(control)}")


class InteractiveFigure:
    """Controls plus a figure that ``draw(fig, **values)`` redraws whenever a control changes.

    ``controls``: name -> ipywidgets control (a slider, a dropdown...); ``draw`` receives the
    figure and every control's current value by name. ``widget`` is the box to display;
    ``timings_ms`` holds the time of every redraw (drawing and PNG encoding together).

    With ``clear=True`` (the default) every redraw starts from an empty figure. With
    ``clear=False`` the figure is kept: ``draw`` builds its axes and artists on the first call
    (when ``fig.axes`` is empty) and afterwards only updates them (``set_data``, ``set_text``...),
    which roughly halves the time of a redraw.
    """

    def __init__(
        self,
        draw: Callable[..., None],
        controls: dict[str, widgets.ValueWidget],
        figsize: tuple[float, float] = (6.0, 3.5),
        dpi: int = 90,
        columns: int = 1,
        clear: bool = True,
    ):
        check_callable("draw", draw, "draw(fig, **values) that draws into the figure")
        _check_controls(controls)
        if not (isinstance(figsize, (tuple, list)) and len(figsize) == 2):
            raise TypeError(f"figsize must be a pair (width, height) in inches, got {show(figsize)}")
        figsize = (check_positive("figsize[0]", figsize[0]), check_positive("figsize[1]", figsize[1]))
        dpi, columns = check_int("dpi", dpi, minimum=10, maximum=600), check_int("columns", columns, minimum=1)
        self.draw, self.controls, self.dpi, self.clear = draw, controls, dpi, check_bool("clear", clear)
        self.fig = plt.figure(figsize=figsize)
        plt.close(self.fig)  # keep the inline backend from showing it a second time
        self.image = widgets.Image(format="png")
        self.timings_ms: list[float] = []
        for control in controls.values():
            control.observe(self._on_change, names="value")
        rows = [widgets.HBox(list(controls.values())[i : i + columns]) for i in range(0, len(controls), columns)]
        # flex-start: show the picture at its drawn size, not stretched (and blurred) to the box width
        self.widget = widgets.VBox([*rows, self.image], layout=widgets.Layout(align_items="flex-start"))
        self.redraw()

    @property
    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Redraw the figure for the controls' current values and replace the picture."""
        start = time.perf_counter()
        if self.clear:
            self.fig.clear()
        self.draw(self.fig, **self.values)
        self.image.value = figure_png(self.fig, self.dpi)
        self.timings_ms.append((time.perf_counter() - start) * 1e3)

    def timing_summary(self) -> str:
        """Median and worst redraw time so far."""
        t = self.timings_ms
        return f"{len(t)} redraws: median {statistics.median(t):.0f} ms, worst {max(t):.0f} ms"

    def _ipython_display_(self) -> None:
        display(self.widget)

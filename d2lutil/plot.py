"""Training curves: finished ones, and live ones that redraw in place while a notebook trains.

:class:`LivePlot` is a :class:`d2lutil.training.Callback`: pass one to :func:`d2lutil.train`
(``callbacks=[LivePlot("title")]``) and the curves redraw after every epoch.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from IPython import get_ipython
from IPython.display import display
from matplotlib.figure import Figure

from d2lutil.training import Callback, History


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbval), False in a script or a terminal."""
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def plot_history(history: History, title: str = "", ax: Any = None) -> Figure:
    """Training and validation perplexity against epochs, on one labelled figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
    else:
        fig = ax.figure
    ax.plot(history.epochs, history.train_ppl, "-o", ms=3, label="training")
    ax.plot(history.epochs, history.val_ppl, "-s", ms=3, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if history.val_ppl:
        title = f"{title}: " if title else ""
        ax.set_title(f"{title}validation perplexity {history.val_ppl[-1]:.2f} after {history.epochs[-1]:.0f} epochs")
    fig.tight_layout()
    return fig


class LivePlot(Callback):
    """Training curves in a notebook, redrawn in place after every epoch (one output, no flicker)."""

    def __init__(self, title: str):
        self.title = title
        self.fig, self.ax = plt.subplots(figsize=(5.5, 3.5))
        self.handle = display(self.fig, display_id=True)

    def on_epoch_end(self, history: History) -> None:
        self.ax.clear()
        plot_history(history, self.title, ax=self.ax)
        if self.handle is not None:
            self.handle.update(self.fig)

    def on_train_end(self, history: History) -> None:
        plt.close(self.fig)

"""Plots the notebooks share: live training curves that redraw in place, and finished curves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from d2lutil.train import History


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbval), False in a script or a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def plot_history(history: History, title: str = "", ax: Any = None) -> Figure:
    """Training and held-out perplexity against epochs, on one labelled figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
    else:
        fig = ax.figure
    ax.plot(history.epochs, history.train_ppl, "-o", ms=3, label="training")
    ax.plot(history.epochs, history.val_ppl, "-s", ms=3, label="held out (last 10% of the book)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if history.val_ppl:
        title = f"{title}: " if title else ""
        ax.set_title(f"{title}held-out perplexity {history.val_ppl[-1]:.2f} after {history.epochs[-1]:.0f} epochs")
    fig.tight_layout()
    return fig


class LivePlot:
    """Training curves in a notebook, redrawn in place after every epoch (one output, no flicker)."""

    def __init__(self, title: str):
        from IPython.display import display

        self.title = title
        self.fig, self.ax = plt.subplots(figsize=(5.5, 3.5))
        self.handle = display(self.fig, display_id=True)

    @classmethod
    def in_notebook(cls, title: str) -> LivePlot | None:
        """A live plot when running in a notebook, else None (scripts print through tqdm)."""
        return cls(title) if in_notebook() else None

    def update(self, history: History) -> None:
        self.ax.clear()
        plot_history(history, self.title, ax=self.ax)
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self) -> None:
        plt.close(self.fig)

"""The GRU cell drawn with matplotlib, in three stages that the chapter builds up one at a time.

* ``"gates"``: the reset gate R_t and the update gate Z_t, each a sigmoid layer of X_t and H_{t-1};
* ``"candidate"``: adds the candidate state H~_t, a tanh of X_t's projection plus R_t times H_{t-1}'s
  projection, R_t * (H_{t-1} W_hn + b_hn);
* ``"state"``: adds the new state H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t.

The drawing follows the chapter's convention, reset after the matmul, as ``torch.nn.GRU``, cuDNN and
the layer trained in notebook 4 compute it (and the first arXiv version of Cho et al., 2014): the
reset gate scales the projected state H_{t-1} W_hn + b_hn (notebook 3 lists the other conventions).
Each box names the weights it applies (the chapter's notation, notebook 2's table); text is drawn
in a darkened shade of its quantity's colour, for a contrast of at least 4.5:1 on its background.

In a notebook, ``gru_cell("gates")`` returns a figure that renders inline (no file path, so it shows
in JupyterLab, on GitHub and in Colab alike). From a shell, ``python -m d2lutil.diagrams --out figures``
writes ``figures/gru_gates.svg``, ``gru_candidate.svg`` and ``gru_state.svg``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

Stage = Literal["gates", "candidate", "state"]
STAGES: tuple[Stage, ...] = ("gates", "candidate", "state")

# One colour per quantity, used by the diagrams and by every plot of a gate quantity in notebooks 1-5
# (Okabe-Ito palette, readable with the common forms of colour blindness); tests/test_colours.py
# checks the notebooks against it.
COLORS = {
    "reset": "#D55E00",  # vermillion: R_t
    "update": "#0072B2",  # blue: Z_t
    "candidate": "#009E73",  # bluish green: H~_t
    "state": "#6A3D9A",  # purple: H_{t-1} and H_t
    "input": "#555555",  # grey: X_t
}
# Gate *values* (0..1) in a heatmap: one diverging map for the whole chapter (the explorer's too),
# pale at 0.5 so that saturated gates stand out; a plot labels its ends in words.
GATE_CMAP = "coolwarm"

_TITLES = {
    "gates": "GRU cell, step 1 of 3: the reset gate $R_t$ and the update gate $Z_t$",
    "candidate": r"GRU cell, step 2 of 3: the candidate $\tilde{H}_t$ sees the past only as "
    r"$R_t \odot (H_{t-1} W_{hn} + b_{hn})$",
    "state": r"GRU cell, step 3 of 3: $H_t$ mixes $H_{t-1}$ and $\tilde{H}_t$ in proportions $Z_t$ and $1 - Z_t$",
}

_EQUATIONS: list[tuple[Stage, str, str]] = [
    ("gates", "reset", r"$R_t = \sigma(X_t W_{xr} + b_{xr} + H_{t-1} W_{hr} + b_{hr})$"),
    ("gates", "update", r"$Z_t = \sigma(X_t W_{xz} + b_{xz} + H_{t-1} W_{hz} + b_{hz})$"),
    (
        "candidate",
        "candidate",
        r"$\tilde{H}_t = \tanh(X_t W_{xn} + b_{xn} + R_t \odot (H_{t-1} W_{hn} + b_{hn}))$",
    ),
    ("state", "state", r"$H_t = Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde{H}_t$"),
]

_LW = 1.8
_BOX_W, _BOX_H = 1.55, 1.2


def _tint(color: str, amount: float = 0.85) -> tuple[float, float, float]:
    """``color`` mixed with white (amount 1 gives white)."""
    r, g, b = mpl.colors.to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _wire(ax: Axes, points: Sequence[tuple[float, float]], color: str, arrow: bool = True) -> None:
    """A polyline through ``points``, with an arrowhead on the last segment."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, color=color, lw=_LW, solid_capstyle="butt", solid_joinstyle="miter", zorder=1)
    if arrow:
        ax.annotate(
            "",
            xy=points[-1],
            xytext=points[-2],
            arrowprops={
                "arrowstyle": "-|>,head_length=0.5,head_width=0.25",
                "color": color,
                "lw": _LW,
                "shrinkA": 0,
                "shrinkB": 0,
            },
            zorder=1,
        )


def _dot(ax: Axes, xy: tuple[float, float], color: str) -> None:
    """A junction: the wire branches here."""
    ax.add_patch(Circle(xy, 0.07, color=color, zorder=3))


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str | tuple[float, float, float], b: str | tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two colours (1 to 21; text needs at least 4.5)."""
    la, lb = sorted((_luminance(mpl.colors.to_rgb(a)), _luminance(mpl.colors.to_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink(color: str, background: str | tuple[float, float, float] = "white") -> tuple[float, float, float]:
    """``color`` darkened (mixed with black) just enough for text contrast of 4.5:1 on ``background``."""
    r, g, b = mpl.colors.to_rgb(color)
    for step in range(21):
        keep = 1 - step / 20
        darker = (r * keep, g * keep, b * keep)
        if contrast(darker, background) >= 4.5:
            return darker
    return (0.0, 0.0, 0.0)


def _box(
    ax: Axes,
    center: tuple[float, float],
    symbol: str,
    name: str,
    color: str,
    size: tuple[float, float] = (_BOX_W, _BOX_H),
    weights: str = "",
) -> None:
    """A layer as a rounded box: its function (sigmoid, tanh), its name and the weights it applies."""
    x, y = center
    w, h = size
    fill = _tint(color)
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            fc=fill,
            ec=color,
            lw=_LW,
            zorder=2,
        )
    )
    text = ink(color, fill)
    rows = [(symbol, 14 if h >= _BOX_H else 11), (name, 8)] + [(line, 8) for line in weights.split("\n")]
    rows = [(row, pt) for row, pt in rows if row]  # weights: one row per line
    for i, (row, size_pt) in enumerate(rows):
        offset = (len(rows) - 1) / 2 - i  # rows centred on the box, top to bottom
        ax.text(
            x,
            y + (0.3 if len(rows) < 4 else 0.23) * offset * h / _BOX_H,
            row,
            ha="center",
            va="center",
            fontsize=size_pt,
            color=text,
            zorder=4,
        )


def _op(ax: Axes, center: tuple[float, float], symbol: str, color: str) -> None:
    """An element-wise operation as a circle."""
    ax.add_patch(Circle(center, 0.24, fc="white", ec=color, lw=_LW, zorder=2))
    size = 12 if len(symbol) == 1 or symbol.startswith("$") else 9
    ax.text(center[0], center[1] - 0.01, symbol, ha="center", va="center", fontsize=size, color=ink(color), zorder=4)


def _label(ax: Axes, xy: tuple[float, float], text: str, color: str, ha: str = "left", va: str = "center") -> None:
    ax.text(*xy, text, ha=ha, va=va, fontsize=12, color=ink(color), zorder=4)


def gru_cell(stage: Stage = "state") -> Figure:
    """The GRU cell up to ``stage`` (``"gates"``, ``"candidate"`` or ``"state"``), as a matplotlib figure.

    Each stage draws everything of the stages before it, plus its own part, and lists the
    equations drawn so far under the diagram. In a notebook it shows once, as the cell's value.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(map(repr, STAGES))}, got {stage!r}")
    level = STAGES.index(stage)
    c = COLORS
    # Made through pyplot so that Jupyter's inline backend is set up to show figures as images,
    # then closed so that the figure shows once, as the cell's value, not again at the cell's end.
    fig = plt.figure(figsize=(9.0, 5.6))
    plt.close(fig)
    ax = fig.add_axes((0.01, 0.0, 0.98, 0.92))
    ax.set_xlim(-0.2, 12.2)
    ax.set_ylim(-2.35, 6.6)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(_TITLES[stage], fontsize=11.5, y=0.975)

    # Inputs: H_{t-1} enters at the top left and drops to a bus at y=2; X_t rises to a bus at y=1.
    rail, h_bus, x_bus = 5.9, 2.0, 1.0
    z_x, r_x, n_x = 2.5, 4.3, 7.4  # centres of the update, reset and candidate boxes
    box_y = 3.4
    box_bottom, box_top = box_y - _BOX_H / 2, box_y + _BOX_H / 2
    _label(ax, (-0.15, rail), "$H_{t-1}$", c["state"], ha="left", va="bottom")
    # reset after the matmul: H_{t-1} is projected (box at affine_x), then scaled by R_t (at reset_op)
    affine_x, affine_w, affine_h = 5.35, 1.1, 0.78
    h_end = affine_x - affine_w / 2 if level >= 1 else r_x + 0.15
    _wire(ax, [(-0.1, rail), (1.0, rail), (1.0, h_bus), (h_end, h_bus)], c["state"], arrow=level >= 1)
    _label(ax, (1.6, 0.05), "$X_t$", c["input"], ha="center", va="top")
    x_end = n_x + 0.15 if level >= 1 else r_x + 0.15
    _wire(ax, [(1.6, 0.15), (1.6, x_bus), (x_end, x_bus)], c["input"], arrow=False)
    _dot(ax, (1.0, h_bus), c["state"])

    # The two gates.
    for x, name, key, part in ((z_x, "update gate", "update", "z"), (r_x, "reset gate", "reset", "r")):
        _wire(ax, [(x - 0.15, h_bus), (x - 0.15, box_bottom)], c["state"])
        _wire(ax, [(x + 0.15, x_bus), (x + 0.15, box_bottom)], c["input"])
        _dot(ax, (x - 0.15, h_bus), c["state"])
        _dot(ax, (x + 0.15, x_bus), c["input"])
        _box(
            ax,
            (x, box_y),
            r"$\sigma$",
            name,
            c[key],
            weights=rf"$W_{{x{part}}}, W_{{h{part}}}$" "\n" rf"$b_{{x{part}}}, b_{{h{part}}}$",
        )
    if level == 0:  # the gates' outputs, not yet used
        _wire(ax, [(z_x, box_top), (z_x, 4.75)], c["update"])
        _label(ax, (z_x, 4.85), "$Z_t$", c["update"], ha="center", va="bottom")
        _wire(ax, [(r_x, box_top), (r_x, 4.75)], c["reset"])
        _label(ax, (r_x, 4.85), "$R_t$", c["reset"], ha="center", va="bottom")

    if level >= 1:  # the candidate: tanh of X_t's projection plus R_t * (H_{t-1} W_hn + b_hn)
        _box(ax, (affine_x, h_bus), "$W_{hn}$", "", c["candidate"], size=(affine_w, affine_h), weights="$+\\,b_{hn}$")
        reset_op = (6.35, h_bus)
        _wire(ax, [(affine_x + affine_w / 2, h_bus), (reset_op[0] - 0.24, h_bus)], c["state"])
        _wire(ax, [(r_x, box_top), (r_x, 4.45), (reset_op[0], 4.45), (reset_op[0], reset_op[1] + 0.24)], c["reset"])
        _label(ax, (r_x + 0.1, 4.5), "$R_t$", c["reset"], ha="left", va="bottom")
        _op(ax, reset_op, r"$\odot$", c["reset"])
        _wire(ax, [(reset_op[0] + 0.24, h_bus), (n_x - 0.15, h_bus), (n_x - 0.15, box_bottom)], c["state"])
        _wire(ax, [(n_x + 0.15, x_bus), (n_x + 0.15, box_bottom)], c["input"])
        _box(ax, (n_x, box_y), "tanh", "candidate", c["candidate"], weights="$W_{xn}, b_{xn}$")
        if level == 1:
            _wire(ax, [(n_x + _BOX_W / 2, box_y), (9.0, box_y)], c["candidate"])
            _label(ax, (9.1, box_y), r"$\tilde{H}_t$", c["candidate"])
            _wire(ax, [(z_x, box_top), (z_x, 4.75)], c["update"])
            _label(ax, (z_x, 4.85), "$Z_t$", c["update"], ha="center", va="bottom")

    if level >= 2:  # the new state: Z_t * H_{t-1} + (1 - Z_t) * H~_t
        keep_op, mix_op, plus_op, one_minus = (8.6, rail), (10.2, 4.3), (10.2, rail), (8.6, 4.3)
        _wire(ax, [(1.0, rail), (keep_op[0] - 0.24, rail)], c["state"])
        _op(ax, keep_op, r"$\odot$", c["update"])
        _wire(ax, [(keep_op[0] + 0.24, rail), (plus_op[0] - 0.24, rail)], c["state"])
        _op(ax, plus_op, "+", c["state"])
        _wire(ax, [(plus_op[0] + 0.24, rail), (11.6, rail)], c["state"])
        _label(ax, (11.65, rail), "$H_t$", c["state"], ha="left", va="center")
        z_split = (keep_op[0], 5.1)
        _wire(ax, [(z_x, box_top), (z_x, z_split[1]), z_split, (keep_op[0], rail - 0.24)], c["update"])
        _label(ax, (z_x + 0.1, z_split[1] + 0.05), "$Z_t$", c["update"], ha="left", va="bottom")
        _dot(ax, z_split, c["update"])
        _wire(ax, [z_split, (one_minus[0], one_minus[1] + 0.24)], c["update"])
        _op(ax, one_minus, "1−", c["update"])
        _wire(ax, [(one_minus[0] + 0.24, one_minus[1]), (mix_op[0] - 0.24, mix_op[1])], c["update"])
        _label(ax, (9.4, 4.38), "$1 - Z_t$", c["update"], ha="center", va="bottom")
        _wire(ax, [(n_x + _BOX_W / 2, box_y), (mix_op[0], box_y), (mix_op[0], mix_op[1] - 0.24)], c["candidate"])
        _label(ax, (9.0, box_y - 0.08), r"$\tilde{H}_t$", c["candidate"], ha="left", va="top")
        _op(ax, mix_op, r"$\odot$", c["update"])
        _wire(ax, [(mix_op[0], mix_op[1] + 0.24), (plus_op[0], plus_op[1] - 0.24)], c["candidate"])

    # The equations drawn so far, each in its quantity's colour.
    lines = [(key, text) for st, key, text in _EQUATIONS if STAGES.index(st) <= level]
    ax.plot([-0.1, 12.1], [-0.35, -0.35], color="#cccccc", lw=0.8)
    for i, (key, text) in enumerate(lines):
        ax.text(0.2, -0.75 - 0.45 * i, text, ha="left", va="center", fontsize=11.5, color=ink(c[key]))
    # The legend: each symbol from the stage where it first appears on.
    legend = [
        (0, r"$\sigma$: logistic sigmoid; a box applies the weights written in it"),
        (1, r"$\odot$: element-wise product"),
        (1, "reset after the matmul, as nn.GRU (notebook 3)"),
        (2, "1−: one minus the gate"),
    ]
    notes = [note for first, note in legend if first <= level]
    for i, note in enumerate(notes):
        ax.text(12.0, -0.75 - 0.45 * i, note, ha="right", va="center", fontsize=8.5, color="#666666")
    return fig


def write_svgs(out: str | Path = "figures") -> list[Path]:
    """Write ``gru_gates.svg``, ``gru_candidate.svg`` and ``gru_state.svg`` into ``out``; return their paths.

    The files carry no date and fixed element ids, so rerunning on the same matplotlib version
    reproduces them byte for byte.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with mpl.rc_context({"svg.hashsalt": "d2lutil-gru", "svg.fonttype": "path"}):
        for stage in STAGES:
            path = folder / f"gru_{stage}.svg"
            gru_cell(stage).savefig(path, format="svg", metadata={"Date": None})
            paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw the GRU cell diagrams as SVG files.")
    parser.add_argument("--out", default="figures", help="folder to write gru_{gates,candidate,state}.svg into")
    args = parser.parse_args(argv)
    for path in write_svgs(args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The gate explorer: watch a trained GRU's update and reset gates read a passage, unit by unit.

:class:`GateExplorer` is built from core ipywidgets only (it runs on ipywidgets 7.7 and 8, in
JupyterLab and in Colab). It traces the gates of a passage once with
:func:`d2lutil.gates.trace_gates` and then redraws cheaply whenever a control moves:

* the passage, each character's background coloured by the chosen unit's gate value;
* a heatmap of the gate over units x the chosen window of time steps (a block of units at a
  time, the one that holds the chosen unit);
* the saturation scatter of Karpathy, Johnson & Fei-Fei (2015): each unit's gate is a point at
  (fraction of steps above 0.9, fraction of steps below 0.1), for both gates;
* a ranking of units by how strongly their gate tracks a feature of the text (spaces, word
  starts, vowels); choosing a unit there moves the unit slider to it.

Figures are drawn into ``ipywidgets.Image`` as PNG bytes, so they are replaced in place without
flicker and need neither ipympl nor Colab's custom widget manager. Every handler is timed
(``timings_ms``).
"""

from __future__ import annotations

import functools
import html
import io
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import ipywidgets as W
import numpy as np
import PIL.Image
import torch
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D
from torch import nn

from d2lutil.data import Vocab, load_time_machine, preprocess
from d2lutil.gates import saturation, trace_gates
from d2lutil.models import RNNLM, layer_size

A = TypeVar("A", bound=Artist)

GATES = {"update gate Z": "z", "reset gate R": "r"}
MEANING = {
    "z": "blue = 0 (the new state takes the candidate), red = 1 (the unit keeps its old state)",
    "r": "blue = 0 (the candidate ignores the old state), red = 1 (the candidate uses it fully)",
}
FEATURES = ("space", "word start", "vowel")
CMAP = "coolwarm"  # gate 0 blue, 0.5 pale grey, 1 red: saturated gates stand out
_LUT = colormaps[CMAP](np.linspace(0.0, 1.0, 256))  # (256, 4) RGBA


def _hex(rgba: np.ndarray) -> str:
    r, g, b = (int(round(float(c) * 255)) for c in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


_BG = [_hex(c) for c in _LUT]  # background colour of gate value i/255
_FG = ["#000000" if 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 0.55 else "#ffffff" for c in _LUT]


def text_features(text: str) -> dict[str, np.ndarray]:
    """Indicator features of every character of ``text``, each (T,) float: 1 where the character
    is a space, starts a word (a letter after a space or at the start), or is a vowel."""
    chars = np.array(list(text))
    space = chars == " "
    prev_space = np.concatenate([[True], space[:-1]])
    return {
        "space": space.astype(float),
        "word start": (~space & prev_space).astype(float),
        "vowel": np.isin(chars, list("aeiou")).astype(float),
    }


def rank_units(gate: np.ndarray, feature: np.ndarray, top: int = 12) -> list[tuple[int, float]]:
    """Units whose gate correlates most strongly (either sign) with a feature.

    gate: (T, h) gate values; feature: (T,) values. Returns up to ``top`` (unit, Pearson r) pairs
    sorted by falling |r|; a unit (or feature) that never changes has r = 0.
    """
    if gate.ndim != 2 or feature.shape != (gate.shape[0],):
        raise ValueError(f"expected gate (T, h) and feature (T,), got {gate.shape} and {feature.shape}")
    g = gate - gate.mean(0)
    f = feature - feature.mean()
    denom = np.sqrt((g * g).sum(0) * (f * f).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, (g * f[:, None]).sum(0) / np.where(denom > 0, denom, 1.0), 0.0)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    return [(int(u), float(r[u])) for u in order]


def colored_passage_html(
    text: str, values: np.ndarray, window: tuple[int, int] | None = None, label: str = "gate"
) -> str:
    """``text`` as HTML, character t on a background coloured by ``values[t]`` in [0, 1].

    text: T characters; values: (T,). Characters inside ``window`` (first, last step, inclusive)
    are underlined; hovering a character shows its step and value.
    """
    if len(text) != len(values):
        raise ValueError(f"text has {len(text)} characters but values has {len(values)} entries")
    first, last = window if window is not None else (0, len(text) - 1)
    idx = np.clip(np.rint(np.asarray(values, dtype=float) * 255), 0, 255).astype(int)
    spans = []
    for t, (ch, i) in enumerate(zip(text, idx, strict=True)):
        mark = ";box-shadow:inset 0 -3px 0 #222" if first <= t <= last else ""
        spans.append(
            f'<span title="t={t} {ch!r} {label}={values[t]:.2f}" '
            f'style="background:{_BG[i]};color:{_FG[i]}{mark}">{html.escape(ch)}</span>'
        )
    return (
        '<div style="font-family:monospace;font-size:14px;line-height:1.7;white-space:pre-wrap;'
        'word-break:break-all;max-height:190px;overflow-y:auto;border:1px solid #ccc;padding:6px">'
        + "".join(spans)
        + "</div>"
    )


def held_out_passages(length: int = 600, count: int = 3, data_dir: Any = None) -> dict[str, str]:
    """``count`` passages of about ``length`` characters from the held-out last 10% of the book,
    each starting at a word, keyed by a label that says where they come from."""
    data = load_time_machine(data_dir)
    text = "".join(data.vocab.to_tokens(data.val_tokens.tolist()))
    passages = {}
    for k in range(count):
        start = (len(text) - length) * (k + 1) // (count + 1)
        start = text.index(" ", start) + 1
        stop = text.rfind(" ", start, start + length)
        passages[f"held-out text, characters {start:,}-{stop:,}"] = text[start:stop]
    return passages


_FONT = FontProperties(family="DejaVu Sans Mono")
_ADVANCE = 0.602  # a DejaVu Sans Mono glyph's advance, in ems


@functools.lru_cache(maxsize=256)
def _glyph(char: str) -> Path:
    """The outline of one character, 1 unit = 1 em, centred on x = 0 and hanging below y = 0
    (a space is drawn as a middle dot, so that it shows)."""
    path = TextPath((0, 0), "\u00b7" if char == " " else char, size=1, prop=_FONT)
    return path.transformed(Affine2D().translate(-_ADVANCE / 2, -0.78))


class _BlitFigure:
    """A matplotlib figure rendered off screen (Agg) in cached layers, for cheap redraws.

    The static frame (axes, colour bar, titles) is drawn once; then each layer of animated
    artists is drawn over it and the result cached. ``png(layer)`` redraws from that layer up
    (the layers below come from the cache) and encodes the picture as PNG bytes.
    """

    def __init__(self, figsize: tuple[float, float], dpi: int, layers: int = 1):
        self.fig = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self.layers: list[list[Artist]] = [[] for _ in range(layers)]
        self._cache: list[Any] = [None] * layers  # _cache[i]: the pixels under layer i

    def animate(self, artist: A, layer: int = 0) -> A:
        """Draw ``artist`` in ``layer`` (0: lowest) instead of the static frame."""
        artist.set_animated(True)
        self.layers[layer].append(artist)
        return artist

    def invalidate(self) -> None:
        """Mark the frame stale (after a title, an axis or a static artist changed)."""
        self._cache = [None] * len(self.layers)

    def png(self, layer: int = 0) -> bytes:
        """Redraw layers ``layer`` and up over the cached pixels, and return the PNG bytes."""
        start = min([layer] + [i for i, c in enumerate(self._cache) if c is None])
        if self._cache[start] is None:  # only for start == 0: the frame itself is stale
            self.canvas.draw()  # everything but the animated artists
            self._cache[0] = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._cache[start])
        for i in range(start, len(self.layers)):
            if i > start:
                self._cache[i] = self.canvas.copy_from_bbox(self.fig.bbox)
            for artist in self.layers[i]:
                self.fig.draw_artist(artist)
        buf = io.BytesIO()
        PIL.Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()


class GateExplorer:
    """Controls and pictures over one GRU language model's gates.

    ``model``: an :class:`~d2lutil.models.RNNLM` around an ``nn.GRU`` (any depth) or a
    ``GRUScratch``; ``vocab``: its vocabulary; ``passages``: label -> text, or one text (default:
    three passages from the held-out part of The Time Machine). The text box takes any text: it
    is lower-cased and every run of non-letters folded into one space, as the training text was,
    and at most ``max_chars`` characters are traced. ``window``: the initial number of time steps
    in the heatmap; ``units_shown``: how many units (rows) the heatmap shows at once, the block
    that holds the chosen unit.

    A passage of T characters is traced once (per layer, when first shown) with
    :func:`~d2lutil.gates.trace_gates`: R and Z, each (T, h). Handlers only index into that trace
    and redraw. ``widget`` is the box to display; ``timings_ms`` holds every handler's time in
    milliseconds, ``timings_by_handler`` the same per control.
    """

    def __init__(
        self,
        model: RNNLM,
        vocab: Vocab,
        passages: Mapping[str, str] | str | None = None,
        layer: int | None = None,
        window: int = 60,
        units_shown: int = 64,
        max_chars: int = 3000,
        dpi: int = 96,
    ):
        if not isinstance(model, RNNLM) or not (isinstance(model.rnn, nn.GRU) or hasattr(model.rnn, "trace")):
            raise ValueError(
                "GateExplorer needs an RNNLM around an nn.GRU or a GRUScratch (e.g. the model that "
                f"load_checkpoint('gru_lm') returns), got {type(model).__name__}"
            )
        self.model, self.vocab, self.dpi = model.eval(), vocab, dpi
        self.num_layers = int(getattr(model.rnn, "num_layers", 1))
        self.hidden_size = layer_size(model.rnn, "hidden_size")
        self.default_window, self.max_chars = max(2, window), max_chars
        self.units_shown = min(units_shown, self.hidden_size)
        if layer is not None and not 0 <= layer < self.num_layers:
            raise ValueError(
                f"layer must lie in 0..{self.num_layers - 1} for this {self.num_layers}-layer GRU, got {layer}"
            )
        if passages is None:
            passages = held_out_passages()
        elif isinstance(passages, str):
            passages = {"your passage": passages}
        if not passages:
            raise ValueError("passages is empty: give at least one text")
        self.passages = {label: preprocess(text) for label, text in passages.items()}
        self.timings_ms: list[float] = []
        self.timings_by_handler: dict[str, list[float]] = {}
        self._quiet = False  # set while a handler moves other controls, so that they do not redraw too
        self._text = ""
        self._traces: dict[int, dict[str, np.ndarray]] = {}  # layer -> {"z": (T, h), "r": (T, h)}
        self._saturation: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        self._ranking: list[tuple[int, float]] = []
        self._rows = -1  # first unit of the block of rows the heatmap shows

        wide = W.Layout(width="98%")
        self.passage = W.Dropdown(options=list(self.passages), description="passage", layout=W.Layout(width="440px"))
        self.text = W.Textarea(
            value=next(iter(self.passages.values())),
            continuous_update=False,
            placeholder="type or paste any text; it is traced when you click outside the box",
            layout=W.Layout(width="98%", height="60px"),
        )
        self.layer = W.Dropdown(
            options=[(f"layer {i + 1} of {self.num_layers}", i) for i in range(self.num_layers)],
            value=self.num_layers - 1 if layer is None else layer,
            description="layer",
            layout=W.Layout(width="215px", display=None if self.num_layers > 1 else "none"),
        )
        self.gate = W.ToggleButtons(options=list(GATES), value="update gate Z", style={"button_width": "118px"})
        self.unit = W.IntSlider(
            value=0, min=0, max=self.hidden_size - 1, description="unit", layout=W.Layout(width="440px")
        )
        self.window = W.IntRangeSlider(value=(0, 1), min=0, max=1, description="steps", layout=W.Layout(width="440px"))
        self.feature = W.Dropdown(
            options=list(FEATURES), value="space", description="rank by", layout=W.Layout(width="190px")
        )
        self.ranked = W.Dropdown(
            options=[("choose a unit", -1)], value=-1, description="top units", layout=W.Layout(width="400px")
        )
        self.status = W.HTML(layout=wide)
        self.passage_html = W.HTML(layout=wide)
        self.heatmap_image = W.Image(format="png")
        self.scatter_image = W.Image(format="png")

        self._build_figures()
        for control, handler, name in [
            (self.passage, self._on_passage, "passage"),
            (self.text, self._retrace, "text"),
            (self.layer, self._on_gate_or_layer, "layer"),
            (self.gate, self._on_gate_or_layer, "gate"),
            (self.unit, self._on_unit, "unit"),
            (self.window, self._on_window, "window"),
            (self.feature, self._on_feature, "feature"),
            (self.ranked, self._on_ranked, "ranked"),
        ]:
            control.observe(self._timed(handler, name), names="value")
        self._timed(self._retrace, "passage")()
        self.widget = W.VBox(
            [
                W.HBox([self.passage, self.gate]),
                self.text,
                W.HBox([self.unit, self.window]),
                W.HBox([self.layer, self.feature, self.ranked]),
                self.status,
                self.passage_html,
                W.HBox([self.heatmap_image, self.scatter_image]),
            ]
        )

    # ----- the trace ---------------------------------------------------------------------------
    @property
    def current_text(self) -> str:
        """The passage being shown, as the model reads it (T characters)."""
        return self._text

    def gate_values(self, gate: str | None = None, layer: int | None = None) -> np.ndarray:
        """The traced gate of the current passage, (T, h): ``gate`` is "z" or "r" (default: the
        toggled one), ``layer`` defaults to the chosen layer."""
        layer = self.layer.value if layer is None else layer
        return self._trace(layer)[gate or GATES[self.gate.value]]

    def saturation_of(self, gate: str, layer: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(fraction of steps below 0.1, fraction above 0.9) of every unit's gate ("z" or "r"),
        each (h,), over the current passage."""
        layer = self.layer.value if layer is None else layer
        if layer not in self._saturation:
            self._saturation[layer] = {}
            for g in ("z", "r"):
                low, high = saturation(torch.from_numpy(self._trace(layer)[g]))
                self._saturation[layer][g] = (low.numpy(), high.numpy())
        return self._saturation[layer][gate]

    def _trace(self, layer: int) -> dict[str, np.ndarray]:
        """Trace the current passage through ``layer`` once; cached until the passage changes."""
        if layer not in self._traces:
            device = next(self.model.parameters()).device
            tokens = torch.tensor([self.vocab[list(self._text)]], device=device)  # (1, T)
            values = trace_gates(self.model, tokens, layer=layer)  # R, Z, N, H, each (T, 1, h)
            self._traces[layer] = {
                "z": values.z[:, 0].double().cpu().numpy(),
                "r": values.r[:, 0].double().cpu().numpy(),
            }
        return self._traces[layer]

    # ----- handlers ----------------------------------------------------------------------------
    def _timed(self, handler: Callable[[], None], name: str) -> Callable[..., None]:
        def run(change: Any = None) -> None:
            if self._quiet:
                return
            start = time.perf_counter()
            handler()
            ms = (time.perf_counter() - start) * 1e3
            self.timings_ms.append(ms)
            self.timings_by_handler.setdefault(name, []).append(ms)

        return run

    def _on_passage(self) -> None:
        self._quiet = True
        self.text.value = self.passages[self.passage.value]
        self._quiet = False
        self._retrace()

    def _retrace(self) -> None:
        """A new passage: trace it, reset the window and the ranking, redraw everything."""
        text = preprocess(self.text.value)
        if len(text) < 2:
            self.status.value = (
                '<b style="color:#b00">The text box holds fewer than two letters: type a passage to trace.</b>'
            )
            return
        note = ""
        if len(text) > self.max_chars:
            text = text[: self.max_chars]
            note = f" Only its first {self.max_chars:,} characters are traced."
        self._text, self._traces, self._saturation = text, {}, {}
        window = (0, min(self.default_window, len(text)) - 1)
        self._quiet = True
        if len(text) - 1 >= self.window.max:  # widen the range before moving the value, narrow after
            self.window.max = len(text) - 1
            self.window.value = window
        else:
            self.window.value = window
            self.window.max = len(text) - 1
        self._quiet = False
        self._rerank()
        self._redraw_all()
        if note:
            self.status.value += f"<br><i>{note}</i>"

    def _on_gate_or_layer(self) -> None:
        self._rerank()
        self._redraw_all()

    def _on_feature(self) -> None:
        self._rerank()
        self._draw_status()

    def _on_unit(self) -> None:
        if self.ranked.value not in (-1, self.unit.value):  # the list no longer names the shown unit
            self._quiet = True
            self.ranked.value = -1
            self._quiet = False
        self._draw_passage()
        if self._block(self.unit.value) != self._rows:
            self._draw_heatmap()  # another block of rows: a new frame
        else:
            self._draw_heatmap_unit()  # only the outline moves, over the cached heatmap
        self._draw_scatter()
        self._draw_status()

    def _on_window(self) -> None:
        self._draw_passage()
        self._draw_heatmap()

    def _on_ranked(self) -> None:
        if self.ranked.value >= 0 and self.ranked.value != self.unit.value:
            self.unit.value = self.ranked.value  # fires _on_unit, which redraws

    def _rerank(self) -> None:
        feature = text_features(self._text)[self.feature.value]
        self._ranking = rank_units(self.gate_values(), feature)
        self._quiet = True
        self.ranked.options = [("choose a unit", -1)] + [
            (f"unit {u}: r = {r:+.2f} with {self.feature.value}s", u) for u, r in self._ranking
        ]
        self.ranked.value = -1
        self._quiet = False

    # ----- drawing -----------------------------------------------------------------------------
    def _block(self, unit: int) -> int:
        """The first unit of the block of ``units_shown`` rows that holds ``unit``."""
        return min(unit // self.units_shown * self.units_shown, self.hidden_size - self.units_shown)

    def _build_figures(self) -> None:
        # The heatmap: the frame (axes, colour bar, title) is drawn when the gate, the layer or
        # the block of rows changes; a window move redraws the pixels and the characters, a unit
        # move only the outline of the unit's row (see _BlitFigure).
        self.heat = _BlitFigure((5.3, 3.3), self.dpi, layers=2)
        fig = self.heat.fig
        ax = self.heat_ax = fig.add_axes((0.1, 0.21, 0.75, 0.67))
        self._axes_width_pt = 0.75 * 5.3 * 72
        self.heat_im = self.heat.animate(
            ax.imshow(
                np.zeros((self.units_shown, 2)), aspect="auto", cmap=CMAP, vmin=0.0, vmax=1.0, interpolation="nearest"
            )
        )
        fig.colorbar(self.heat_im, cax=fig.add_axes((0.87, 0.21, 0.025, 0.67)), label="gate value")
        ax.set_ylabel("hidden unit")
        ax.set_xticks([])
        # the window's characters under their columns: one collection of glyph outlines, drawn in
        # one call (a tick label per character would lay out and render each one separately)
        self.heat_chars = self.heat.animate(
            PathCollection(
                [], offset_transform=ax.get_xaxis_transform(), facecolors="black", edgecolors="none", clip_on=False
            )
        )
        ax.add_collection(self.heat_chars, autolim=False)
        self.heat_xlabel = self.heat.animate(
            ax.text(0.5, -0.13, "", transform=ax.transAxes, ha="center", va="top", fontsize=8)
        )
        self.heat_mark = self.heat.animate(
            Rectangle(
                (0, -0.5),
                1,
                1,
                transform=ax.get_yaxis_transform(),
                fill=False,
                edgecolor="black",
                lw=1.2,
                clip_on=False,
            ),
            layer=1,
        )
        ax.add_patch(self.heat_mark)

        # The saturation scatter: the points change with the passage or the layer; a unit move
        # only moves the two rings.
        self.sat = _BlitFigure((3.4, 3.3), self.dpi)
        ax = self.sat_ax = self.sat.fig.add_axes((0.17, 0.14, 0.79, 0.7))
        ax.plot([0, 1], [1, 0], color="0.75", lw=0.8, zorder=0)
        self.sat_points = {
            "z": ax.scatter([], [], s=8, alpha=0.5, color="tab:red", label="update gate Z"),
            "r": ax.scatter([], [], s=8, alpha=0.5, color="tab:blue", label="reset gate R"),
        }
        self.sat_mark = self.sat.animate(
            ax.scatter([], [], s=80, facecolors="none", edgecolors="black", lw=1.4, label="the chosen unit")
        )
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("fraction of steps right-saturated (> 0.9)", fontsize=8)
        ax.set_ylabel("fraction left-saturated (< 0.1)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.9)

    def _redraw_all(self) -> None:
        """After a new passage, gate or layer: new frames, then everything."""
        self._draw_passage()
        self._rows = -1
        self._draw_heatmap()
        stats = {g: self.saturation_of(g) for g in ("z", "r")}  # g -> (left (h,), right (h,))
        for g, (left, right) in stats.items():
            self.sat_points[g].set_offsets(np.column_stack([right, left]))
        share = {g: float(((left + right) > 0.5).mean()) for g, (left, right) in stats.items()}
        self.sat_ax.set_title(
            f"Saturation over {len(self._text)} steps, layer {self.layer.value + 1}:\n"
            f"{share['z']:.0%} of update and {share['r']:.0%} of reset gates\nare saturated more than half the time",
            fontsize=8,
        )
        self.sat.invalidate()
        self._draw_scatter()
        self._draw_status()

    def _draw_passage(self) -> None:
        values = self.gate_values()[:, self.unit.value]
        self.passage_html.value = colored_passage_html(self._text, values, self.window.value, GATES[self.gate.value])

    def _draw_heatmap(self) -> None:
        """Redraw the heatmap's pixels, characters and outline (and its frame when the block of
        rows changed)."""
        first, last = self.window.value
        rows = self._block(self.unit.value)
        if rows != self._rows:
            self._rows, end = rows, rows + self.units_shown - 1
            self.heat_ax.set_ylim(end + 0.5, rows - 0.5)
            name = self.gate.value.split(" gate")[0]
            self.heat_ax.set_title(
                f"The {name} gate of units {rows}-{end} (of {self.hidden_size}), layer {self.layer.value + 1}, "
                "as it reads the text",
                fontsize=8.5,
            )
            self.heat.invalidate()
        self.heat_im.set_data(self.gate_values()[first : last + 1, rows : rows + self.units_shown].T)  # (units, W)
        self.heat_im.set_extent((first - 0.5, last + 0.5, rows + self.units_shown - 0.5, rows - 0.5))
        self.heat_ax.set_xlim(first - 0.5, last + 0.5)
        fontsize = min(11.0, self._axes_width_pt / (last - first + 1) / _ADVANCE)  # points: glyphs as wide as columns
        chars = self._text[first : last + 1] if fontsize >= 5 else ""
        self.heat_chars.set_paths([_glyph(c) for c in chars])
        self.heat_chars.set_offsets(np.column_stack([np.arange(first, first + len(chars)), np.full(len(chars), -0.02)]))
        self.heat_chars.set_transform(Affine2D().scale(fontsize * self.dpi / 72))
        self.heat_xlabel.set_text(
            f"steps {first}-{last}: "
            + ("the characters read (\u00b7 = space)" if chars else "narrow the window to see the characters")
            + "; box: the chosen unit"
        )
        self.heat_mark.set_y(self.unit.value - 0.5)
        self.heatmap_image.value = self.heat.png()

    def _draw_heatmap_unit(self) -> None:
        self.heat_mark.set_y(self.unit.value - 0.5)
        self.heatmap_image.value = self.heat.png(layer=1)

    def _draw_scatter(self) -> None:
        u = self.unit.value
        rings = [[self.saturation_of(g)[1][u], self.saturation_of(g)[0][u]] for g in ("z", "r")]
        self.sat_mark.set_offsets(np.array(rings))
        self.scatter_image.value = self.sat.png()

    def _draw_status(self) -> None:
        u, g = self.unit.value, GATES[self.gate.value]
        values = self.gate_values()[:, u]
        left, right = self.saturation_of(g)
        r = dict(self._ranking).get(u)
        corr = "" if r is None else f"; one of the top units for {self.feature.value}s (r = {r:+.2f})"
        self.status.value = (
            f"<b>unit {u}</b>, {self.gate.value}: mean {values.mean():.2f}, below 0.1 on {left[u]:.0%} "
            f"and above 0.9 on {right[u]:.0%} of the {len(values)} steps{corr}.<br>"
            f'<span style="color:#555">Colours: {MEANING[g]}. Hover over a character to read its value.</span>'
        )

    # ----- reporting ---------------------------------------------------------------------------
    def timing_summary(self) -> str:
        """Median and worst handler time so far, overall and per control."""
        t = self.timings_ms
        lines = [f"{len(t)} handler calls: median {statistics.median(t):.0f} ms, worst {max(t):.0f} ms"]
        for name, ms in self.timings_by_handler.items():
            lines.append(f"  {name:8s} x{len(ms):3d}: median {statistics.median(ms):6.1f} ms, worst {max(ms):6.1f} ms")
        return "\n".join(lines)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

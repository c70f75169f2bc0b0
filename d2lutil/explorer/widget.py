"""The explorer's Python side: an anywidget whose traits carry one traced passage to the browser.

The kernel traces a passage once (:mod:`d2lutil.explorer.trace`) and sends it compactly: every
gate value as one byte (``gates``, (L, 2, T, h) uint8), the connectivity as one byte per pair
relative to its row's largest (``conn``, (T, k) uint8), and the small rest as JSON (``meta``).
The front end (the ES modules of :data:`MODULES`) draws everything from those traits and handles every move
that needs no new tracing (unit, gate, layer, window, hover, ranking) by itself, within a frame. The
view state (``unit``, ``gate``, ``layer``, ``window``, ``feature``) is synced both ways, so
``explorer.unit = 7`` in a cell moves the view too. A new passage (the dropdown, the text box,
or :meth:`GateExplorer.show_text`) is traced by the kernel. The widget also carries the model's
float16 weights (``weights``, ``page_model``), with which the front end re-runs the passage under
interventions itself; the ones it applies come back in ``interventions``, and the kernel traces
the same change (``intervened``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t
from matplotlib import colormaps

from d2lutil._checks import check_int, show
from d2lutil.data import Vocab
from d2lutil.diagrams import COLORS, GATE_CMAP
from d2lutil.explorer.page import write_page
from d2lutil.explorer.trace import (
    GATE_ORDER,
    PassageTrace,
    add_connectivity,
    check_explorable,
    check_passage,
    held_out_passages,
    quantise,
    trace_passage,
)
from d2lutil.explorer.weights import page_model
from d2lutil.gates import Intervention, check_interventions
from d2lutil.models import RNNLM

# The front end: one ES module per concern (loader.js lists them), carried by loader.js, which
# anywidget loads and which imports them.
MODULES = (
    "common.js",
    "gru.js",
    "passage.js",
    "figures.js",
    "ranking.js",
    "interventions.js",
    "explorer.js",
    "static.js",
)
ESM = (
    Path(__file__)
    .with_name("loader.js")
    .read_text(encoding="utf-8")
    .replace(
        "__SOURCES__",
        json.dumps({name: Path(__file__).with_name(name).read_text(encoding="utf-8") for name in MODULES}).replace(
            "</", "<\\/"
        ),
    )
)
CSS = Path(__file__).with_name("explorer.css").read_text(encoding="utf-8")
FEATURES = ("space", "word start", "vowel")
YOUR_TEXT = "your text"  # the passage label of text typed into the box
# the chapter's map for gate values (coolwarm: 0 blue, 0.5 pale grey, 1 red; saturated gates stand out)
PALETTE = [
    "#{:02x}{:02x}{:02x}".format(*(round(255 * float(c)) for c in rgba[:3]))
    for rgba in colormaps[GATE_CMAP](np.linspace(0.0, 1.0, 256))
]


class _Index(t.Int):
    """An int trait checked as every int of the package is (:func:`d2lutil._checks.check_int`)."""

    def validate(self, obj: Any, value: Any) -> int:
        try:
            return check_int(str(self.name), value)
        except (TypeError, ValueError) as err:
            raise t.TraitError(str(err)) from None


class GateExplorer(anywidget.AnyWidget):
    """The gate explorer over one GRU language model, drawn in the browser.

    ``model``: an :class:`~d2lutil.models.RNNLM` around an ``nn.GRU`` (any depth) or a
    ``GRUScratch``; ``vocab``: its vocabulary (the same size as the model's output); ``passages``:
    label -> text, or one text (default: three passages from the held-out part of The Time
    Machine). Texts are lower-cased and every run of non-letters folded into one space, as the
    training text was; at most ``max_chars`` characters are traced. ``layer``: the layer shown
    first (default: the top one); ``window``: the heatmap's initial number of steps;
    ``units_shown``: the heatmap's rows, the block of units that holds the chosen unit;
    ``context``: how many characters, up to and including each one, the connectivity covers
    (0: none). Its cost grows as passage length x context; the gates are shown first, and the
    connectivity follows when it is ready.

    Display the explorer as a cell's last expression. ``trace`` is the current passage's
    :class:`~d2lutil.explorer.trace.PassageTrace` (exact values); ``kernel_ms`` the kernel's time
    per trace ("gates", "connectivity"). :meth:`save_html` writes a page that works without a kernel.
    """

    _esm = ESM
    _css = CSS
    passages = t.List(t.Unicode()).tag(sync=True)  # the labels of the preset passages
    passage = t.Unicode().tag(sync=True)  # the label shown, or YOUR_TEXT
    meta = t.Dict().tag(sync=True)  # text, sizes, predictions, saturation, palette, ...
    gates = t.Bytes().tag(sync=True)  # (L, 2, T, h) uint8
    conn = t.Bytes().tag(sync=True)  # (T, k) uint8, each row relative to its largest entry
    layer = _Index(0).tag(sync=True)
    gate = t.Unicode("z").tag(sync=True)  # "z" (update) or "r" (reset)
    unit = _Index(0).tag(sync=True)
    window = t.List(default_value=[0, 1]).tag(sync=True)  # [first, last] step, inclusive
    feature = t.Unicode("space").tag(sync=True)  # ranks units by correlation with this text feature
    message = t.Unicode("").tag(sync=True)  # a refusal shown in the widget (red), or ""
    page_model = t.Dict().tag(sync=True)  # the spec of weights (weights.page_model), or {}
    weights = t.Bytes().tag(sync=True)  # float16 weights for the page's own forward pass (gru.js)
    # applied in the page or here, Intervention's fields as dicts
    interventions: t.List[dict[str, Any]] = t.List().tag(sync=True)

    def __init__(
        self,
        model: RNNLM,
        vocab: Vocab,
        passages: Mapping[str, str] | str | None = None,
        layer: int | None = None,
        window: int = 60,
        units_shown: int = 64,
        max_chars: int = 1000,
        context: int = 32,
    ):
        check_explorable(model, vocab)
        self.model, self.vocab = model, vocab
        self.num_layers = int(getattr(model.rnn, "num_layers", 1))
        self.hidden_size = model.head.in_features
        self.default_window = check_int("window", window, minimum=2)
        self.units_shown = min(check_int("units_shown", units_shown, minimum=1), self.hidden_size)
        self.max_chars = check_int("max_chars", max_chars, minimum=2)
        self.context = check_int("context", context, minimum=0, maximum=256)
        if layer is not None:
            layer = check_int("layer", layer, minimum=0, maximum=self.num_layers - 1)
        if passages is None:
            passages = held_out_passages()
        elif isinstance(passages, str):
            passages = {YOUR_TEXT: passages}
        if not isinstance(passages, Mapping):
            raise TypeError(f"passages must be a dict of label -> text, or one text; got {show(passages)}")
        if not passages:
            raise ValueError("passages must not be empty: give a dict of label -> text, or one text")
        self._texts: dict[str, tuple[str, str]] = {}  # label -> (text as read, note)
        for label, text in passages.items():
            try:
                self._texts[str(label)] = check_passage(text, vocab, self.max_chars)
            except ValueError as err:
                raise ValueError(f"passage {label!r}: {err}") from None
        self._cache: dict[str, PassageTrace] = {}
        self.kernel_ms: dict[str, list[float]] = {"gates": [], "connectivity": []}
        self.trace: PassageTrace | None = None
        self.intervened: PassageTrace | None = None  # the passage with the interventions, traced here
        spec, weights = page_model(model, vocab) or ({}, b"")
        super().__init__(
            passages=list(self._texts),
            layer=self.num_layers - 1 if layer is None else layer,
            page_model=spec,
            weights=weights,
        )
        self.observe(self._on_passage, names="passage")
        self.observe(lambda _: self._intervene(), names="interventions")
        self.on_msg(self._on_msg)
        self.passage = next(iter(self._texts))  # traces the first passage

    # ----- what the kernel does: tracing ---------------------------------------------------------
    def show_text(self, text: str) -> None:
        """Trace ``text`` and show it (as the text box does); ValueError if nothing can be traced."""
        read, note = check_passage(text, self.vocab, self.max_chars)
        self._texts[YOUR_TEXT] = (read, note)
        if self.passage == YOUR_TEXT:
            self._show(YOUR_TEXT)
        else:
            self.passage = YOUR_TEXT

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "trace":
            try:
                self.show_text(content.get("text", ""))
            except ValueError as err:  # the reader sees it in the widget, where they typed
                self.message = f"Not traced: {err}"

    def _on_passage(self, change: dict[str, Any]) -> None:
        self._show(change["new"])
        self._intervene()

    @t.validate("interventions")
    def _valid_interventions(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            changes = [Intervention(**c) for c in proposal["value"]]
            steps = len(self.trace.text) if self.trace is not None else self.max_chars
            return [asdict(c) for c in check_interventions(changes, self.num_layers, self.hidden_size, steps)]
        except (TypeError, ValueError) as err:
            raise t.TraitError(
                f"interventions must be a list of dicts of Intervention's fields (kind, layer, unit, value, at): {err}"
            ) from None

    def _intervene(self) -> None:
        """Trace the shown passage with the interventions (as the page computes them), or None."""
        if self.trace is None or not self.interventions:
            self.intervened = None
            return
        try:
            self.intervened = trace_passage(
                self.model, self.vocab, self.trace.text, [Intervention(**c) for c in self.interventions]
            )
        except ValueError as err:  # a cut beyond the end of a shorter passage
            self.intervened = None
            self.message = f"Interventions not traced in the kernel: {err}"

    def _show(self, label: str) -> None:
        text, note = self._texts[label]
        trace = self._cache.get(text)
        if trace is None:
            start = time.perf_counter()
            trace = trace_passage(self.model, self.vocab, text)
            self.kernel_ms["gates"].append((time.perf_counter() - start) * 1e3)
        self.trace = trace
        first = min(self.default_window, len(text)) - 1
        with self.hold_sync():  # one message: the browser redraws once, with the gates
            self.meta = self._meta(trace, note)
            self.gates = quantise(trace.gates)
            self.conn = b""
            self.window = [0, first]
            self.message = ""
        if trace.connectivity is None:  # the gates are on screen while this runs
            start = time.perf_counter()
            add_connectivity(self.model, self.vocab, trace, self.context)
            self.kernel_ms["connectivity"].append((time.perf_counter() - start) * 1e3)
            self._cache[text] = trace
        with self.hold_sync():
            self.meta = {**self.meta, "conn_scale": _scale(trace)}
            self.conn = _conn_bytes(trace)

    def _meta(self, trace: PassageTrace, note: str) -> dict[str, Any]:
        L, _, T, h = trace.gates.shape
        tokens = self.vocab.to_tokens(trace.predicted.tolist())
        return {
            "serial": self.meta.get("serial", 0) + 1,
            "text": trace.text,
            "note": note,
            "layers": L,
            "steps": T,
            "units": h,
            "context": self.context,
            "units_shown": self.units_shown,
            "gates": list(GATE_ORDER),
            "predicted": "".join(c if len(c) == 1 else "?" for c in tokens),
            "probability": [round(float(p), 3) for p in trace.probability],
            "saturation": np.round(trace.saturation, 4).tolist(),  # (L, 2, 2, h)
            "palette": PALETTE,
            "colors": {"z": COLORS["update"], "r": COLORS["reset"]},
            "features": list(FEATURES),
            "conn_scale": [],
            "window": self.default_window,
            "kernel": True,
        }

    def traced(self, label: str) -> PassageTrace:
        """The full trace (with connectivity) of the preset passage ``label``, traced if need be."""
        text, _ = self._texts[label]
        if text not in self._cache:
            self._cache[text] = add_connectivity(
                self.model, self.vocab, trace_passage(self.model, self.vocab, text), self.context
            )
        return self._cache[text]

    # ----- the view state: refused when impossible, with what is allowed ------------------------
    @t.validate("unit")
    def _valid_unit(self, proposal: dict[str, Any]) -> int:
        unit = proposal["value"]
        if not 0 <= unit < self.hidden_size:
            raise t.TraitError(
                f"unit must lie in 0..{self.hidden_size - 1} (each layer has {self.hidden_size}), got {unit}"
            )
        return unit

    @t.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> int:
        layer = proposal["value"]
        if not 0 <= layer < self.num_layers:
            raise t.TraitError(
                f"layer must lie in 0..{self.num_layers - 1} for this {self.num_layers}-layer GRU, got {layer}"
            )
        return layer

    @t.validate("gate")
    def _valid_gate(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in GATE_ORDER:
            raise t.TraitError(f"gate must be 'z' (update) or 'r' (reset), got {proposal['value']!r}")
        return proposal["value"]

    @t.validate("feature")
    def _valid_feature(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in FEATURES:
            raise t.TraitError(f"feature must be one of {', '.join(map(repr, FEATURES))}, got {proposal['value']!r}")
        return proposal["value"]

    @t.validate("window")
    def _valid_window(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        steps = len(self.trace.text) if self.trace is not None else 2
        if (
            len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value)
            or not 0 <= value[0] <= value[1] < steps
        ):
            raise t.TraitError(
                f"window must be [first, last] steps with 0 <= first <= last <= {steps - 1} for this "
                f"{steps}-character passage, got {proposal['value']!r}"
            )
        return [int(v) for v in value]

    @t.validate("passage")
    def _valid_passage(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in self._texts:
            raise t.TraitError(
                f"passage must be one of {list(self._texts)}, got {proposal['value']!r}; "
                "to trace other text call show_text(text)"
            )
        return proposal["value"]

    def save_html(self, path: str | Path, title: str = "Gate explorer") -> Path:
        """Write one self-contained HTML page (module and every preset passage's trace inline, no
        network) in which the explorer works without a kernel. Returns the path."""
        traces = {label: self._payload(self.traced(label), self._texts[label][1]) for label in self.passages}
        state = {"layer": self.layer, "gate": self.gate, "unit": self.unit, "feature": self.feature}
        model = {"spec": self.page_model, "weights": self.weights} if self.weights else None
        return write_page(Path(path), self._esm, traces, state, title, model=model, css=self._css)

    def _payload(self, trace: PassageTrace, note: str) -> dict[str, Any]:
        """A passage for the page: its meta and connectivity, and its gates unless the page
        computes them itself from the weights it carries."""
        meta = {**self._meta(trace, note), "conn_scale": _scale(trace), "kernel": False, "max_chars": self.max_chars}
        payload = {"meta": meta, "conn": _conn_bytes(trace)}
        return payload if self.weights else {**payload, "gates": quantise(trace.gates)}


def _scale(trace: PassageTrace) -> list[float]:
    """The largest connectivity of each row (T,), the unit of the row's bytes."""
    assert trace.connectivity is not None
    return [float(f"{v:.4g}") for v in trace.connectivity.max(1)]


def _conn_bytes(trace: PassageTrace) -> bytes:
    assert trace.connectivity is not None
    top = trace.connectivity.max(1, keepdims=True)
    return quantise(np.divide(trace.connectivity, top, out=np.zeros_like(trace.connectivity), where=top > 0))

"""A saved explorer: one HTML file, module and traces inline, that works with no kernel and no network.

The page carries the widget's ES module (loader.js, which carries the front end's modules) as text,
the model's weights and every traced passage as JSON (bytes base64-encoded); a short module script
imports it from a ``blob:`` URL, loads ``static.js`` through it and renders over ``staticModel``,
which stands in for the widget's model.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ font: 15px/1.5 system-ui, sans-serif; margin: 20px auto; max-width: 940px; padding: 0 12px; }}</style>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<div id="explorer"><p>Loading the explorer (it needs JavaScript) ...</p></div>
<script type="text/plain" id="explorer-module">{module}</script>
<script type="application/json" id="explorer-data">{data}</script>
<script type="module">
const text = (id) => document.getElementById(id).textContent;
const url = URL.createObjectURL(new Blob([text("explorer-module")], {{ type: "text/javascript" }}));
const module = await import(url);
const {{ staticModel }} = await module.load("static.js");
const el = document.getElementById("explorer");
await module.default.render({{ model: staticModel(JSON.parse(text("explorer-data"))), el }});
</script>
</body>
</html>
"""

INTRO = (
    "A trained GRU language model read each passage below once; its update and reset gates at every "
    "character and unit are stored in this page, so every control works without Python. The text is "
    "coloured by the chosen unit's gate; hover a character to see the model's next-character prediction "
    "there and, in green, how strongly each character up to it moves it (the gradient of the prediction's "
    "log-probability with respect to that character's input, after Madsen, Distill 2019). The scatter "
    "places every unit's gates by how often they are saturated (Karpathy, Johnson and Fei-Fei, 2015)."
)


def write_page(
    path: Path,
    module: str,
    traces: dict[str, dict[str, Any]],
    state: dict[str, Any],
    title: str,
    intro: str = INTRO,
    model: dict[str, Any] | None = None,
    css: str = "",
) -> Path:
    """Write the page. module: the widget's ES module; traces: label -> {"meta": dict, "conn":
    bytes, and "gates": bytes unless the page computes them}; state: the view's unit, gate, layer
    and feature to open with; model: {"spec": dict, "weights": bytes} for the page's own forward
    pass (gru.js), or None; css: the explorer's styles."""
    for label, trace in traces.items():
        _check_payload(label, trace)
    if "</script" in module.lower():
        raise ValueError("the explorer module contains '</script', which would end the page's script early")
    data = {
        "passages": list(traces),
        "state": state,
        "traces": {
            label: {
                "meta": trace["meta"],
                **{k: base64.b64encode(trace[k]).decode("ascii") for k in ("gates", "conn") if k in trace},
            }
            for label, trace in traces.items()
        },
    }
    if model is not None:
        data["model"] = {"spec": model["spec"], "weights": base64.b64encode(model["weights"]).decode("ascii")}
    page = _PAGE.format(
        title=html.escape(title),
        intro=html.escape(intro),
        module=module,
        css=css.replace("</", "<\\/"),
        data=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _check_payload(label: str, trace: dict[str, Any]) -> None:
    """Refuse a trace whose bytes do not cover its text: the page would draw past their end.
    (Without "gates" the page computes them from its weights.)"""
    meta = trace["meta"]
    steps = len(meta["text"])
    sizes = {
        "gates": (
            meta["layers"] * 2 * steps * meta["units"],
            f"(layers={meta['layers']}, 2, steps, units={meta['units']})",
        ),
        "conn": (steps * meta["context"], f"(steps, context={meta['context']})"),
    }
    if meta["steps"] != steps:
        raise ValueError(f"passage {label!r}: meta says {meta['steps']} steps but its text has {steps} characters")
    for name, (size, shape) in sizes.items():
        if name in trace and len(trace[name]) != size:
            raise ValueError(
                f"passage {label!r}: {name} holds {len(trace[name]):,} bytes, but {shape} over its {steps} "
                f"characters needs {size:,}: trace the whole text before writing the page"
            )

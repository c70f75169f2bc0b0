"""The explorer page runs the model itself, in headless Chromium: the reader's own text traced in
the page, every intervention applied and undone, the page's numbers equal to the kernel's, and
its speed (printed in CI's summary beside the frame tables).

The page is opened from file:// with every network request refused."""

from __future__ import annotations

import base64
import json
import os
import re
import statistics
from pathlib import Path

import pytest
import torch
from chromium import browser, offline_context
from page_reference import page_reference

import d2lutil
from d2lutil.data import preprocess
from d2lutil.explorer import GateExplorer, held_out_passages
from d2lutil.explorer.weights import page_model
from d2lutil.gates import Intervention, trace_layers

GRU_JS = Path(d2lutil.__file__).with_name("explorer") / "gru.js"
# the time goals hold on a quiet machine; on a loaded one (CI's 2 cores shared) allow this factor
SLACK = 1.0 if os.environ.get("D2LUTIL_STRICT_FRAMES") == "1" else 3.0
TYPED = "The Time Traveller (for so it will be convenient to speak of him) was expounding a recondite matter to us."
# each intervention as the controls set it: kind, value, scope, character to cut after
MOVES = [
    ("update", "0.9", "layer", None),
    ("reset", "1", "all", None),
    ("silence", None, "unit", None),
    ("cut", None, None, "40"),
]


@pytest.fixture(scope="module")
def chromium():
    with browser() as launched:
        yield launched


def open_offline(chromium, url: str):
    """A page at url with every request but file:// refused; returns (page, refused urls, errors)."""
    context, refused = offline_context(chromium)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page, refused, errors


def effect(root) -> tuple[float, float | None]:
    """(perplexity before, after or None) as the panel prints them."""
    text = root.locator(".gx-effect").inner_text()
    numbers = [float(x) for x in re.findall(r"\d+\.\d{3}", text)]
    return numbers[0], (numbers[1] if "\u2192" in text else None)


def apply(page, root, kind: str, value: str | None, scope: str | None, at: str | None) -> None:
    root.locator(".gx-kind").select_option(kind)
    if value is not None:
        root.locator(".gx-value").fill(value)
    if scope is not None:
        root.locator(".gx-scope").select_option(scope)
    if at is not None:
        root.locator(".gx-at").fill(at)
    count = page.evaluate("() => globalThis.gxPageTimings.length")
    root.locator(".gx-apply").click()
    page.wait_for_function(
        f"() => globalThis.gxPageTimings.length > {count} && globalThis.gxPageTimings.at(-1).total_ms !== null",
        timeout=120_000,
    )


def changes_of(kind, value, scope, at, layer: int, unit: int) -> list[Intervention]:
    if kind == "cut":
        return [Intervention("cut", None, at=int(at))]
    return [
        Intervention(
            kind,
            None if scope == "all" else layer,
            unit if scope == "unit" else None,
            None if value is None else float(value),
        )
    ]


def text_perplexity(model, vocab, text: str, changes) -> float:
    """exp(-mean log p(character t+1 | characters 0..t)), as the page's perplexity()."""
    tokens = torch.tensor([vocab[list(text)]])
    log_probs = trace_layers(model, tokens, changes).log_probs[0]
    return float(torch.exp(-log_probs[:-1].gather(1, tokens[0, 1:, None]).mean()))


def test_the_reader_types_a_passage_and_applies_each_intervention_in_the_saved_page(chromium, tmp_path, time_machine):
    vocab = time_machine.vocab
    d2lutil.set_seed(0)
    model = d2lutil.build_lm("gru", len(vocab), hidden_size=64, num_layers=2, embed_size=8).eval()
    explorer = GateExplorer(model, vocab, held_out_passages(300, 2), context=16, units_shown=32)
    path = explorer.save_html(tmp_path / "explorer.html")
    exact = page_reference(model, vocab)  # the float16 weights the page computes with
    page, refused, errors = open_offline(chromium, path.as_uri())
    root = page.locator(".gx").first
    page.wait_for_function("() => document.querySelector('.gx-chars')?.textContent.length > 0", timeout=60_000)
    assert "runs the model itself" in root.inner_text() and not root.locator(".gx-trace").is_disabled()
    # the shipped passage's gates, computed in the page, are coloured as PyTorch's are
    root.locator(".gx-textbox").fill(TYPED)
    root.locator(".gx-trace").click()
    text = preprocess(TYPED)
    page.wait_for_function(f"() => document.querySelector('.gx-chars').textContent === {json.dumps(text)}")
    assert root.locator(".gx-passage").input_value() == "your text"
    base, after = effect(root)
    assert after is None and base == pytest.approx(text_perplexity(exact, vocab, text, []), abs=1.5e-3)
    strip = root.locator(".gx-strip").evaluate("c => c.toDataURL()")
    layer, unit = explorer.layer, explorer.unit
    for kind, value, scope, at in MOVES:
        apply(page, root, kind, value, scope, at)
        before, after = effect(root)
        kernel = text_perplexity(exact, vocab, text, changes_of(kind, value, scope, at, layer, unit))
        assert before == base and after == pytest.approx(kernel, abs=1.5e-3), (kind, after, kernel)
        assert root.locator(".gx-strip").evaluate("c => c.toDataURL()") != strip, f"{kind}: the strip did not change"
        root.locator(".gx-reset").click()
        page.wait_for_function("() => !document.querySelector('.gx-effect').textContent.includes('\u2192')")
        assert effect(root) == (base, None), f"reset after {kind} did not restore the perplexity"
    # hovering shows the distributions before and after
    apply(page, root, *MOVES[1])
    box = root.locator(".gx-chars").bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 8)
    assert "next character before:" in root.locator(".gx-hover").inner_text()
    assert not refused and not errors, (refused, errors)


def test_page_speed_and_the_test_part_perplexity_of_gru_lm_in_chromium(chromium, time_machine, final_summary):
    """gru.js with gru_lm's float16 weights in Chromium: tracing 400 typed characters, re-running
    after each intervention (plain JavaScript and the WebAssembly SIMD kernel), and the test part's
    perplexity in the page beside PyTorch's (within 0.5%)."""
    from d2lutil.checkpoints import load_checkpoint

    model, vocab, manifest = load_checkpoint("gru_lm")
    spec, weights = page_model(model, vocab)
    test_text = "".join(vocab.to_tokens(time_machine.test_tokens.tolist()))
    passage = list(held_out_passages(400, 3).values())[0][:400]
    page, _, errors = open_offline(chromium, "about:blank")
    page.add_script_tag(
        content=GRU_JS.read_text() + "\nglobalThis.GRU = { GRULanguageModel, perplexity };", type="module"
    )
    page.wait_for_function("() => globalThis.GRU !== undefined")
    figures = {
        simd: page.evaluate(
            """([spec, b64, passage, test, simd]) => {
        const raw = atob(b64); const bytes = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        const { GRULanguageModel, perplexity } = globalThis.GRU;
        const model = new GRULanguageModel(spec, bytes, { simd });
        if (simd && !model.simd) throw new Error("Chromium lacks WebAssembly SIMD");
        const V = spec.vocab.length;
        const time = (f) => { const t0 = performance.now(); const out = f(); return [performance.now() - t0, out]; };
        const tokens = model.tokens(passage);
        const out = { trace: [], reruns: {}, ppl: {} };
        let base = null;
        const repeats = simd ? 5 : 3;
        for (let i = 0; i < repeats; i++) {
          const [ms, run] = time(() => model.trace(tokens));
          out.trace.push(ms);
          base = run;
        }
        const moves = {
          "update gates of layer 2 = 0.9": [{ kind: "update", layer: 1, value: 0.9 }],
          "every reset gate = 1": [{ kind: "reset", layer: null, value: 1 }],
          "unit 7 of layer 1 silenced": [{ kind: "silence", layer: 0, unit: 7 }],
          "state cut after character 200": [{ kind: "cut", layer: null, at: 200 }],
        };
        for (const [name, changes] of Object.entries(moves)) {
          out.reruns[name] = [];
          for (let i = 0; i < repeats; i++) {
            const [ms, run] = time(() => model.trace(tokens, changes, base));
            out.reruns[name].push(ms);
            out.ppl[name] = perplexity(run, V);
          }
        }
        if (test) {
          const [ms, run] = time(() => model.trace(model.tokens(test)));
          out.test = { ms, perplexity: perplexity(run, V), chars: test.length };
        }
        return out;
      }""",
            [spec, base64.b64encode(weights).decode("ascii"), passage, test_text if simd else "", simd],
        )
        for simd in (False, True)
    }
    plain, fast = figures[False], figures[True]
    rows = [("trace 400 typed characters", plain["trace"], fast["trace"])]
    rows += [(f"re-run 400 after: {k}", plain["reruns"][k], v) for k, v in fast["reruns"].items()]
    table = "\n".join(
        [
            "| gru.js, gru_lm float16, headless Chromium: median / worst ms | plain JavaScript | WebAssembly SIMD |",
            "|---|---:|---:|",
        ]
        + [
            f"| {name} | {statistics.median(a):,.0f} / {max(a):,.0f} | {statistics.median(b):,.0f} / {max(b):,.0f} |"
            for name, a, b in rows
        ]
    )
    torch_test = text_perplexity(model, vocab, test_text, [])
    table += (
        f"\n\nTest part ({fast['test']['chars']:,} characters, one sequence, state carried): perplexity "
        f"{fast['test']['perplexity']:.4f} in the page ({fast['test']['ms'] / 1e3:.1f} s), "
        f"{torch_test:.4f} in PyTorch (float32); manifest test_ppl {manifest.get('test_ppl')}"
    )
    print("\n" + table)
    final_summary("explorer page: the model in the page", table)
    assert abs(fast["test"]["perplexity"] / torch_test - 1) < 0.005
    assert statistics.median(fast["trace"]) < 1000 * SLACK and all(
        statistics.median(v) < 300 * SLACK for v in fast["reruns"].values()
    ), "issue 26's goals: tracing 400 characters <= 1 s, a re-run <= 300 ms (median)"
    kernel = text_perplexity(model, vocab, passage, [Intervention("reset", None, value=1.0)])
    for result in (plain, fast):
        assert result["ppl"]["every reset gate = 1"] == pytest.approx(kernel, rel=2e-3)
    assert not errors, errors


def test_interventions_in_the_shipped_page_paint_their_first_changes_within_100_ms(chromium, final_summary):
    """The shipped page (gru_lm), as a reader uses it: each intervention applied with the controls,
    timed in the page from the click to the first painted chunk and to the last."""
    path = Path(d2lutil.__file__).parents[1] / "book" / "_static" / "gate_explorer.html"
    if not path.is_file():
        pytest.skip(f"{path} is missing: python -m d2lutil.explorer --save {path}")
    page, refused, errors = open_offline(chromium, path.as_uri())
    root = page.locator(".gx").first
    page.wait_for_function("() => document.querySelector('.gx-chars')?.textContent.length > 0", timeout=60_000)
    rows = []
    for _ in range(3):
        for move in MOVES:
            apply(page, root, *move)
            root.locator(".gx-reset").click()
            page.wait_for_function("() => globalThis.gxPageTimings.at(-1).total_ms !== null")
    timings = page.evaluate("() => globalThis.gxPageTimings")
    traced = [t["ms"] for t in timings if t["what"] == "trace"]
    for kind in [m[0] for m in MOVES] + ["reset the model"]:
        done = [t for t in timings if t["what"] == "rerun" and t["kind"] == kind]
        first = [t["first_paint_ms"] for t in done]
        total = [t["total_ms"] for t in done]
        rows.append(
            (kind, statistics.median(first), max(first), statistics.median(total), max(total), done[0]["steps"])
        )
    table = "\n".join(
        [
            f"Shipped page, gru_lm: a passage of {timings[0]['steps']} characters traced in the page in "
            f"{statistics.median(traced):,.0f} ms (median of {len(traced)})",
            "| Intervention (click to paint) | First paint median / worst ms | Done median / worst ms | Steps |",
            "|---|---:|---:|---:|",
        ]
        + [f"| {k} | {a:,.0f} / {b:,.0f} | {c:,.0f} / {d:,.0f} | {n} |" for k, a, b, c, d, n in rows]
    )
    print("\n" + table)
    final_summary("explorer page: interventions as painted", table)
    assert all(a < 100 * SLACK for _, a, *_ in rows), "the first changed characters must be painted within 100 ms"
    assert not refused and not errors, (refused, errors)

"""The gate explorer's kernel side: traced values, connectivity, the bytes sent, refusals, the saved page.

The browser side (drawing, every control, the time per frame) is tested in tests/test_browser.py.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import traitlets

import d2lutil
from d2lutil.data import Vocab, load_corpus_time_machine, preprocess
from d2lutil.explorer import GateExplorer, held_out_passages, trace_passage
from d2lutil.explorer.__main__ import page_title
from d2lutil.explorer.trace import add_connectivity, dequantise, quantise
from d2lutil.explorer.weights import page_model
from d2lutil.explorer.widget import PALETTE
from d2lutil.gates import saturation, trace_gates
from d2lutil.models import RNNLM, GRUScratch

PASSAGES = {
    "one": "the time traveller for so it will be convenient to speak of him was expounding a recondite matter to us",
    "two": "his grey eyes shone and twinkled and his usually pale face was flushed and animated",
}


@pytest.fixture(scope="module")
def vocab(time_machine):
    return time_machine.vocab


@pytest.fixture(scope="module")
def model(vocab):
    """A small two-layer GRU language model (random weights: the explorer does not care)."""
    d2lutil.set_seed(0)
    return d2lutil.build_lm("gru", len(vocab), hidden_size=24, num_layers=2, embed_size=8).eval()


@pytest.fixture()
def explorer(model, vocab):
    return GateExplorer(model, vocab, PASSAGES, window=30, units_shown=16, context=12)


def direct_connectivity(model, vocab, text: str, targets: np.ndarray, context: int) -> np.ndarray:
    """The definition, one backward pass per prediction over the whole passage: (T, context)."""
    tokens = torch.tensor([vocab[list(text)]])
    x = model.embed(tokens).detach().requires_grad_(True)  # (T, 1, d)
    outputs, _ = model.rnn(x)
    logp = model.head(outputs[:, 0]).log_softmax(-1)  # (T, V)
    out = np.zeros((len(text), context), dtype=np.float32)
    for t in range(len(text)):
        (grad,) = torch.autograd.grad(logp[t, targets[t]], x, retain_graph=True)
        norms = grad[:, 0].norm(dim=-1)  # (T,): zero after t
        assert float(norms[t + 1 :].sum()) == 0.0  # causal
        for j in range(min(context, t + 1)):
            out[t, j] = float(norms[t - j])
    return out


def test_trace_holds_both_gates_of_every_layer_and_their_saturation(model, vocab):
    text = PASSAGES["one"]
    trace = trace_passage(model, vocab, text)
    assert trace.gates.shape == (2, 2, len(text), 24) and trace.gates.dtype == np.float32
    for layer in range(2):
        values = trace_gates(model, torch.tensor([vocab[list(text)]]), layer=layer)
        np.testing.assert_allclose(trace.gates[layer, 0], values.z[:, 0].numpy(), atol=1e-6)  # Z first
        np.testing.assert_allclose(trace.gates[layer, 1], values.r[:, 0].numpy(), atol=1e-6)
        for g, gate in enumerate((values.z, values.r)):
            low, high = saturation(gate[:, 0])
            np.testing.assert_allclose(trace.saturation[layer, g, 0], low.numpy())
            np.testing.assert_allclose(trace.saturation[layer, g, 1], high.numpy())
    logits, _ = model(torch.tensor([vocab[list(text)]]))
    probs = logits[0].softmax(-1)
    np.testing.assert_array_equal(trace.predicted, probs.argmax(-1).numpy())
    np.testing.assert_allclose(trace.probability, probs.max(-1).values.detach().numpy(), rtol=1e-5)


@pytest.mark.parametrize("context", [1, 8, 40])  # 40: longer than the passage
def test_connectivity_equals_the_gradient_norms_of_each_prediction(model, vocab, context):
    text = "the time traveller smiled"
    trace = add_connectivity(model, vocab, trace_passage(model, vocab, text), context)
    expected = direct_connectivity(model, vocab, text, trace.predicted, context)
    assert trace.connectivity is not None and trace.connectivity.shape == (len(text), context)
    np.testing.assert_allclose(trace.connectivity, expected, rtol=1e-4, atol=1e-7)
    assert (trace.connectivity[:, 0] > 0).all()  # the last character read always matters


@pytest.mark.parametrize("reset", ["after", "before"])
def test_connectivity_of_a_one_layer_scratch_gru(vocab, reset):
    d2lutil.set_seed(1)
    model = RNNLM(GRUScratch(len(vocab), 10, reset=reset), len(vocab)).eval()  # one-hot inputs
    text = "a short passage to read"
    trace = add_connectivity(model, vocab, trace_passage(model, vocab, text), 6)
    assert trace.gates.shape == (1, 2, len(text), 10)
    expected = direct_connectivity(model, vocab, text, trace.predicted, 6)
    np.testing.assert_allclose(trace.connectivity, expected, rtol=1e-4, atol=1e-7)


def test_connectivity_through_three_layers(vocab):
    """Every path from an input up through the layers and along each layer's states is counted."""
    d2lutil.set_seed(2)
    model = d2lutil.build_lm("gru", len(vocab), hidden_size=12, num_layers=3, embed_size=5).eval()
    text = "three layers read this"
    trace = add_connectivity(model, vocab, trace_passage(model, vocab, text), 9)
    expected = direct_connectivity(model, vocab, text, trace.predicted, 9)
    np.testing.assert_allclose(trace.connectivity, expected, rtol=1e-4, atol=1e-7)


def test_quantisation_round_trip_is_within_half_a_step():
    values = np.random.default_rng(0).random((3, 5, 7)).astype(np.float32)
    values[0, 0, :3] = [0.0, 1.0, 0.5]
    data = quantise(values)
    assert isinstance(data, bytes) and len(data) == values.size
    back = dequantise(data, values.shape)
    assert np.abs(back - values).max() <= 0.5 / 255 + 1e-7
    assert back[0, 0, 0] == 0.0 and back[0, 0, 1] == 1.0


def test_the_widget_sends_the_trace_as_bytes_and_the_view_state(explorer, model, vocab):
    text = PASSAGES["one"]
    T = len(text)
    assert explorer.passage == "one" and explorer.trace.text == text
    assert explorer.layer == 1 and explorer.gate == "z" and explorer.window == [0, 29]
    assert len(explorer.gates) == 2 * 2 * T * 24 and len(explorer.conn) == T * 12
    gates = dequantise(explorer.gates, (2, 2, T, 24))
    assert np.abs(gates - explorer.trace.gates).max() <= 0.5 / 255 + 1e-6
    meta = explorer.meta
    assert (meta["steps"], meta["units"], meta["layers"], meta["context"]) == (T, 24, 2, 12)
    assert meta["text"] == text and len(meta["predicted"]) == T and len(meta["conn_scale"]) == T
    conn = dequantise(explorer.conn, (T, 12)) * np.array(meta["conn_scale"])[:, None]
    np.testing.assert_allclose(conn, explorer.trace.connectivity, rtol=0.01, atol=np.max(meta["conn_scale"]) / 255)
    assert len(meta["palette"]) == 256 and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in meta["palette"])
    assert explorer.kernel_ms["gates"] and explorer.kernel_ms["connectivity"]


def test_a_new_passage_is_traced_and_the_window_reset(explorer):
    explorer.window = [5, 12]
    explorer.passage = "two"
    assert explorer.trace.text == PASSAGES["two"] and explorer.window == [0, 29]
    assert explorer.meta["text"] == PASSAGES["two"] and len(explorer.conn) == len(PASSAGES["two"]) * 12
    explorer.show_text("Hello, World! It's 1895.")
    text = preprocess("Hello, World! It's 1895.")
    assert explorer.passage == "your text" and explorer.trace.text == text
    assert explorer.window == [0, len(text) - 1]
    explorer.passage = "one"  # traced before: from the cache
    assert explorer.trace.text == PASSAGES["one"] and len(explorer.kernel_ms["gates"]) == 3


def test_text_typed_in_the_widget_is_traced_or_refused_there(explorer):
    explorer._on_msg(explorer, {"type": "trace", "text": "a new passage"}, [])
    assert explorer.trace.text == "a new passage" and explorer.message == ""
    explorer._on_msg(explorer, {"type": "trace", "text": "  1895 !! "}, [])
    assert "fewer than two letters" in explorer.message and explorer.trace.text == "a new passage"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("unit", 24, r"unit must lie in 0\.\.23"),
        ("unit", -1, r"unit must lie in 0\.\.23"),
        ("unit", "3", "unit must be an integer"),
        ("unit", True, "unit must be an integer"),
        ("layer", 2, r"layer must lie in 0\.\.1"),
        ("gate", "update", "gate must be 'z'"),
        ("feature", "comma", "feature must be one of"),
        ("window", [5, 2], r"0 <= first <= last <= 102"),
        ("window", [0, 103], r"0 <= first <= last <= 102"),
        ("window", [0.5, 3], "window must be"),
        ("passage", "three", "to trace other text call show_text"),
    ],
)
def test_impossible_view_states_are_refused_with_what_is_allowed(explorer, name, value, expected):
    before = getattr(explorer, name)
    with pytest.raises(traitlets.TraitError, match=expected):
        setattr(explorer, name, value)
    assert getattr(explorer, name) == before


def test_numpy_integers_are_integers(explorer):
    explorer.unit = np.int64(7)
    explorer.window = (np.int32(3), np.int64(9))
    assert explorer.unit == 7 and type(explorer.unit) is int and explorer.window == [3, 9]


def test_bad_models_vocabularies_and_passages_are_refused(model, vocab):
    with pytest.raises(TypeError, match="model must be an RNNLM around an nn.GRU or a GRUScratch"):
        GateExplorer(d2lutil.build_lm("rnn", len(vocab), hidden_size=8), vocab, "some text")
    with pytest.raises(TypeError, match="vocab must be a d2lutil Vocab"):
        GateExplorer(model, vocab.idx_to_token, "some text")
    other = d2lutil.build_lm("gru", len(vocab) + 2, hidden_size=8)
    with pytest.raises(ValueError, match=rf"vocab has {len(vocab)} tokens but the model predicts {len(vocab) + 2}"):
        GateExplorer(other, vocab, "some text")
    with pytest.raises(ValueError, match="layer must be an integer between 0 and 1"):
        GateExplorer(model, vocab, "some text", layer=2)
    with pytest.raises(ValueError, match="passages must not be empty"):
        GateExplorer(model, vocab, {})
    with pytest.raises(TypeError, match="passages must be a dict of label -> text"):
        GateExplorer(model, vocab, ["some text"])
    with pytest.raises(TypeError, match="a passage must be a str"):
        GateExplorer(model, vocab, {"bytes": b"some text"})
    with pytest.raises(ValueError, match="passage 'first': the passage '' has fewer than two letters"):
        GateExplorer(model, vocab, {"first": "", "second": "some text"})
    with pytest.raises(ValueError, match="window must be an integer at least 2"):
        GateExplorer(model, vocab, "some text", window=1)
    with pytest.raises(ValueError, match="context must be an integer between 0 and 256"):
        GateExplorer(model, vocab, "some text", context=-1)
    with pytest.raises(TypeError, match="units_shown must be an integer"):
        GateExplorer(model, vocab, "some text", units_shown=4.0)
    no_q = Vocab(idx_to_token=[t if t != "q" else "1" for t in vocab.idx_to_token])
    with pytest.raises(ValueError, match=r"characters the model's vocabulary lacks: 'q'"):
        GateExplorer(model, no_q, "the queen")
    explorer = GateExplorer(model, vocab, "some text", context=4)
    with pytest.raises(ValueError, match="fewer than two letters"):
        explorer.show_text("")


def test_held_out_passages_refuse_lengths_and_counts_that_make_no_passage(time_machine):
    with pytest.raises(ValueError, match="length must be an integer between 20 and"):
        held_out_passages(length=0)
    with pytest.raises(TypeError, match="length must be an integer"):
        held_out_passages(length=300.0)
    with pytest.raises(ValueError, match="count must be an integer between 1 and"):
        held_out_passages(length=300, count=0)
    assert all(len(p) <= 20 for p in held_out_passages(length=20, count=5).values())


def test_a_page_with_gate_values_for_fewer_steps_than_its_text_is_refused(explorer, tmp_path):
    from d2lutil.explorer.page import write_page

    label = explorer.passages[0]
    payload = {**explorer._payload(explorer.traced(label), ""), "gates": quantise(explorer.traced(label).gates)}
    short = {**payload, "gates": payload["gates"][: len(payload["gates"]) // 2]}
    with pytest.raises(ValueError, match=f"passage '{label}': gates holds .* bytes, but .* characters needs"):
        write_page(tmp_path / "page.html", "export default {}", {label: short}, {}, "title")
    wrong = {**payload, "meta": {**payload["meta"], "steps": payload["meta"]["steps"] - 1}}
    with pytest.raises(ValueError, match="meta says .* steps but its text has"):
        write_page(tmp_path / "page.html", "export default {}", {label: wrong}, {}, "title")
    assert not (tmp_path / "page.html").exists()


def test_the_trace_is_one_pass_of_trace_layers(model, vocab):
    """Gates, predictions and the states the connectivity reads all come from one LayerTrace."""
    from d2lutil.gates import Intervention, trace_layers

    text = PASSAGES["two"]
    tokens = torch.tensor([vocab[list(text)]])
    trace = trace_passage(model, vocab, text)
    run = trace_layers(model, tokens)
    torch.testing.assert_close(trace.run.h, run.h, atol=0, rtol=0)
    np.testing.assert_allclose(trace.log_probs, run.log_probs[0].numpy(), atol=0)
    np.testing.assert_array_equal(trace.gates[:, 0], run.z[:, :, 0].numpy())
    np.testing.assert_array_equal(trace.gates[:, 1], run.r[:, :, 0].numpy())
    cut = trace_passage(model, vocab, text, [Intervention("cut", None, at=10)])
    # before the cut nothing changes (up to float32 rounding: the run may be split at the cut), after it much does
    assert np.abs(cut.log_probs[:11] - trace.log_probs[:11]).max() < 1e-5
    assert np.abs(cut.log_probs[11:] - trace.log_probs[11:]).max() > 1e-2
    with pytest.raises(ValueError, match="without interventions"):
        add_connectivity(model, vocab, cut, 4)


def test_long_text_is_cut_with_a_note(model, vocab):
    explorer = GateExplorer(model, vocab, "word " * 100, max_chars=50, context=4)
    assert len(explorer.trace.text) == 50 and "first 50 characters" in explorer.meta["note"]


def test_saved_page_is_self_contained(explorer, tmp_path):
    path = explorer.save_html(tmp_path / "page" / "explorer.html", title="Test <page>")
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://", page), "the page names a network address"
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", page), "the page loads something by address"
    assert "Test &lt;page&gt;" in page and "export function staticModel" in page
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1).replace("<\\/", "</"))
    assert data["passages"] == ["one", "two"] and data["state"]["layer"] == 1
    for label, text in PASSAGES.items():
        trace = data["traces"][label]
        assert trace["meta"]["text"] == text and trace["meta"]["kernel"] is False
        assert "gates" not in trace  # the page computes them from the weights it carries
        assert len(trace["conn"]) == 4 * -(-len(text) * 12 // 3)  # base64 of the bytes
    spec, weights = page_model(explorer.model, explorer.vocab)
    assert data["model"]["spec"] == spec and base64.b64decode(data["model"]["weights"]) == weights


def test_default_passages_come_from_the_books_last_tenth(time_machine):
    corpus, _ = load_corpus_time_machine()
    test = time_machine.test_tokens
    assert len(test) == len(corpus) - round(0.9 * len(corpus)) and torch.equal(corpus[-len(test) :], test)
    held_out = "".join(time_machine.vocab.to_tokens(test.tolist()))
    passages = held_out_passages(length=300, count=2)
    assert len(passages) == 2
    for text in passages.values():
        assert text in held_out and 200 < len(text) <= 300 and not text.startswith(" ")


def test_the_page_title_gives_the_test_perplexity_when_the_manifest_has_one():
    manifest = {"model": {"num_layers": 2, "hidden_size": 512}, "val_ppl": 3.61}
    assert page_title("gru_lm", manifest) == "Gate explorer: gru_lm, a 2-layer GRU of 512 units"
    manifest["test_ppl"] = 3.876
    assert page_title("gru_lm", manifest) == "Gate explorer: gru_lm, a 2-layer GRU of 512 units (test perplexity 3.88)"


def wcag_contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two "#rrggbb" colours, written out here independently of common.js."""

    def luminance(hex_: str) -> float:
        channels = [int(hex_[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_passage_text_keeps_a_contrast_of_4_5_on_every_palette_colour():
    """The ink the front end chooses (common.js's lightBackground, run in Node) on each of the 256
    gate colours: at least 4.5:1 (WCAG AA for normal text). Black on the map's dark blue end was ~3:1."""
    common = Path(d2lutil.__file__).with_name("explorer") / "common.js"
    script = f"""import {{ lightBackground }} from {json.dumps(common.as_uri())};
    console.log(JSON.stringify({json.dumps(PALETTE)}.map(lightBackground)));"""
    run = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    dark = json.loads(run.stdout)
    ratios = [wcag_contrast(c, "#000000" if d else "#ffffff") for c, d in zip(PALETTE, dark, strict=True)]
    worst = min(range(len(PALETTE)), key=lambda i: ratios[i])
    assert ratios[worst] >= 4.5, f"{PALETTE[worst]}: {ratios[worst]:.2f}:1"
    assert wcag_contrast(PALETTE[0], "#000000") < 4.5  # the dark end needs the light ink: the test can fail


def test_interventions_set_in_the_page_are_traced_in_the_kernel(explorer, model, vocab):
    """The front end writes the interventions it applied to the model; the kernel traces the same
    passage with them (explorer.intervened), as the page computes it (tests/test_gru_js.py)."""
    from d2lutil.gates import Intervention

    assert explorer.intervened is None and explorer.page_model["layers"] == 2 and len(explorer.weights) > 0
    explorer.interventions = [{"kind": "update", "layer": 1, "unit": None, "value": 0.9, "at": None}]
    want = trace_passage(model, vocab, explorer.trace.text, [Intervention("update", 1, value=0.9)])
    np.testing.assert_array_equal(explorer.intervened.log_probs, want.log_probs)
    explorer.passage = "two"  # a new passage: the same interventions, on it
    assert explorer.intervened.text == PASSAGES["two"]
    with pytest.raises(traitlets.TraitError, match="interventions must be a list of dicts .* value is required"):
        explorer.interventions = [{"kind": "reset", "layer": 0}]
    with pytest.raises(traitlets.TraitError, match="names unit 24|unit"):
        explorer.interventions = [{"kind": "silence", "layer": 0, "unit": 24}]
    explorer.interventions = []
    assert explorer.intervened is None


def test_the_shipped_page_stays_within_8_mb():
    """Issue 26: the saved page (module, weights and traced passages inline) at most 8 MB."""
    path = Path(d2lutil.__file__).parents[1] / "book" / "_static" / "gate_explorer.html"
    if not path.is_file():
        pytest.skip(f"{path} is missing: python -m d2lutil.explorer --save {path}")
    assert path.stat().st_size <= 8_000_000, f"{path} is {path.stat().st_size / 1e6:.2f} MB"

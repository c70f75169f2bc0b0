"""The gate explorer: driven through its controls, its pictures change and agree with trace_gates."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import d2lutil
from d2lutil.data import preprocess
from d2lutil.explorer import _BG, GateExplorer, colored_passage_html, held_out_passages, rank_units, text_features
from d2lutil.gates import saturation, trace_gates

PNG = b"\x89PNG\r\n\x1a\n"
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
    return d2lutil.build_lm("gru", len(vocab), hidden_size=40, num_layers=2, embed_size=8).eval()


@pytest.fixture()
def explorer(model, vocab):
    return GateExplorer(model, vocab, PASSAGES, window=30, units_shown=16)


def traced(model, vocab, text: str, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(Z, R) of ``text`` from the tracer itself, each (T, h)."""
    values = trace_gates(model, torch.tensor([vocab[list(text)]]), layer=layer)
    return values.z[:, 0].double().numpy(), values.r[:, 0].double().numpy()


def backgrounds(page: str) -> list[str]:
    return re.findall(r"background:(#[0-9a-f]{6})", page)


def expected_backgrounds(values: np.ndarray) -> list[str]:
    return [_BG[i] for i in np.clip(np.rint(values * 255), 0, 255).astype(int)]


def test_opens_on_the_first_passage_with_the_top_layer_traced(explorer, model, vocab):
    text = PASSAGES["one"]
    assert explorer.current_text == text
    assert explorer.layer.value == 1 and explorer.gate.value == "update gate Z"
    z, r = traced(model, vocab, text, layer=1)
    np.testing.assert_allclose(explorer.gate_values(), z, atol=1e-6)
    np.testing.assert_allclose(explorer.gate_values("r"), r, atol=1e-6)
    assert bytes(explorer.heatmap_image.value).startswith(PNG) and bytes(explorer.scatter_image.value).startswith(PNG)
    assert backgrounds(explorer.passage_html.value) == expected_backgrounds(z[:, 0])
    assert explorer.window.value == (0, 29) and explorer.window.max == len(text) - 1
    assert explorer.timings_ms and "handler calls" in explorer.timing_summary()


def test_moving_the_unit_recolours_the_text_and_moves_the_marks(explorer, model, vocab):
    z, _ = traced(model, vocab, PASSAGES["one"], layer=1)
    before = (explorer.passage_html.value, bytes(explorer.heatmap_image.value))
    calls = len(explorer.timings_by_handler.get("unit", []))
    explorer.unit.value = 7
    after = (explorer.passage_html.value, bytes(explorer.heatmap_image.value))
    assert all(a != b for a, b in zip(after, before, strict=True)), (
        "the text and the heatmap should change with the unit"
    )
    rings = [[explorer.saturation_of(g)[1][7], explorer.saturation_of(g)[0][7]] for g in ("z", "r")]
    np.testing.assert_allclose(explorer.sat_mark.get_offsets(), rings)  # (right, left) of unit 7's Z and R
    assert backgrounds(explorer.passage_html.value) == expected_backgrounds(z[:, 7])
    assert "unit 7" in explorer.status.value
    assert explorer.heat_mark.get_y() == pytest.approx(6.5)
    assert len(explorer.timings_by_handler["unit"]) == calls + 1
    explorer.unit.value = 25  # another block of rows: the heatmap shows units 16..31
    assert explorer.heat_ax.get_ylim() == (31.5, 15.5)
    np.testing.assert_allclose(explorer.heat_im.get_array(), z[0:30, 16:32].T, atol=1e-6)


def test_the_window_selects_the_heatmap_columns_and_underlines_the_text(explorer, model, vocab):
    z, _ = traced(model, vocab, PASSAGES["one"], layer=1)
    image = bytes(explorer.heatmap_image.value)
    explorer.window.value = (5, 12)
    assert bytes(explorer.heatmap_image.value) != image
    np.testing.assert_allclose(explorer.heat_im.get_array(), z[5:13, 0:16].T, atol=1e-6)
    spans = explorer.passage_html.value.split("<span ")[1:]
    underlined = [t for t, span in enumerate(spans) if "box-shadow" in span]
    assert underlined == list(range(5, 13))
    assert len(explorer.heat_chars.get_paths()) == 8  # one glyph per column


def test_gate_toggle_and_layer_dropdown_switch_the_traced_values(explorer, model, vocab):
    explorer.unit.value = 3
    explorer.gate.value = "reset gate R"
    _, r1 = traced(model, vocab, PASSAGES["one"], layer=1)
    np.testing.assert_allclose(explorer.gate_values(), r1, atol=1e-6)
    assert backgrounds(explorer.passage_html.value) == expected_backgrounds(r1[:, 3])
    scatter = bytes(explorer.scatter_image.value)
    explorer.layer.value = 0
    z0, r0 = traced(model, vocab, PASSAGES["one"], layer=0)
    np.testing.assert_allclose(explorer.gate_values(), r0, atol=1e-6)
    np.testing.assert_allclose(explorer.gate_values("z"), z0, atol=1e-6)
    assert bytes(explorer.scatter_image.value) != scatter  # the title names the layer
    for gate, values in (("z", z0), ("r", r0)):
        low, high = saturation(torch.from_numpy(values))
        np.testing.assert_allclose(explorer.saturation_of(gate)[0], low.numpy())
        np.testing.assert_allclose(explorer.saturation_of(gate)[1], high.numpy())
        np.testing.assert_allclose(explorer.sat_points[gate].get_offsets(), np.column_stack([high, low]))


def test_ranking_lists_the_most_correlated_units_and_choosing_one_moves_the_slider(explorer, model, vocab):
    z, _ = traced(model, vocab, PASSAGES["one"], layer=1)
    spaces = text_features(PASSAGES["one"])["space"]
    corr = np.array([np.corrcoef(z[:, u], spaces)[0, 1] for u in range(z.shape[1])])
    best = int(np.argmax(np.abs(corr)))
    values = [v for _, v in explorer.ranked.options if v >= 0]
    assert values[0] == best and len(values) == 12
    explorer.ranked.value = values[2]
    assert explorer.unit.value == values[2]
    assert backgrounds(explorer.passage_html.value) == expected_backgrounds(z[:, values[2]])
    explorer.feature.value = "word start"
    starts = text_features(PASSAGES["one"])["word start"]
    corr = np.array([np.corrcoef(z[:, u], starts)[0, 1] for u in range(z.shape[1])])
    assert [v for _, v in explorer.ranked.options if v >= 0][0] == int(np.argmax(np.abs(corr)))


def test_a_new_passage_is_traced_once_and_everything_follows(explorer, model, vocab):
    explorer.passage.value = "two"
    assert explorer.current_text == explorer.text.value == PASSAGES["two"]
    z, _ = traced(model, vocab, PASSAGES["two"], layer=1)
    np.testing.assert_allclose(explorer.gate_values(), z, atol=1e-6)
    explorer.text.value = "Hello, World! It's 1895."
    text = preprocess("Hello, World! It's 1895.")
    assert explorer.current_text == text
    assert explorer.window.value == (0, len(text) - 1) and explorer.window.max == len(text) - 1
    z, _ = traced(model, vocab, text, layer=1)
    np.testing.assert_allclose(explorer.gate_values(), z, atol=1e-6)
    assert len(backgrounds(explorer.passage_html.value)) == len(text)
    explorer.text.value = "!"  # nothing to trace: a message, and the last passage stays
    assert "fewer than two letters" in explorer.status.value and explorer.current_text == text


def test_single_layer_scratch_model_hides_the_layer_choice(vocab):
    d2lutil.set_seed(1)
    model = d2lutil.build_lm("gru_scratch", len(vocab), hidden_size=12)
    ex = GateExplorer(model, vocab, "a short passage to read", window=10)
    assert ex.layer.layout.display == "none" and ex.units_shown == 12
    z = model.rnn.trace(model.embed(torch.tensor([vocab[list("a short passage to read")]]))).z[:, 0]
    np.testing.assert_allclose(ex.gate_values(), z.detach().double().numpy(), atol=1e-6)


def test_bad_models_and_inputs_are_refused(vocab):
    rnn = d2lutil.build_lm("rnn", len(vocab), hidden_size=8)
    with pytest.raises(ValueError, match="RNNLM around an nn.GRU"):
        GateExplorer(rnn, vocab, "some text")
    gru = d2lutil.build_lm("gru", len(vocab), hidden_size=8)
    with pytest.raises(ValueError, match="layer must lie in 0..0"):
        GateExplorer(gru, vocab, "some text", layer=1)
    with pytest.raises(ValueError, match="passages is empty"):
        GateExplorer(gru, vocab, {})
    with pytest.raises(ValueError, match="values has"):
        colored_passage_html("abc", np.zeros(2))
    with pytest.raises(ValueError, match="expected gate"):
        rank_units(np.zeros((5, 3)), np.zeros(4))


def test_rank_units_finds_a_unit_that_copies_the_feature():
    rng = np.random.default_rng(0)
    feature = (rng.random(200) < 0.2).astype(float)
    gate = rng.random((200, 6))
    gate[:, 4] = 0.1 + 0.8 * (1 - feature)  # anti-correlated: r = -1
    gate[:, 2] = 0.5  # never moves: r = 0
    ranking = rank_units(gate, feature, top=6)
    assert ranking[0][0] == 4 and ranking[0][1] == pytest.approx(-1.0)
    assert dict(ranking)[2] == 0.0


def test_default_passages_come_from_the_held_out_text(time_machine):
    held_out = "".join(time_machine.vocab.to_tokens(time_machine.val_tokens.tolist()))
    passages = held_out_passages(length=300, count=2)
    assert len(passages) == 2
    for text in passages.values():
        assert text in held_out and 200 < len(text) <= 300 and not text.startswith(" ")

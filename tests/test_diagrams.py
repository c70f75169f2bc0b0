"""The GRU cell diagrams: every stage draws, and the SVG export writes well-formed SVG files."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from matplotlib.figure import Figure

from d2lutil import diagrams

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("stage", diagrams.STAGES)
def test_each_stage_draws(stage):
    fig = diagrams.gru_cell(stage)
    assert isinstance(fig, Figure)
    fig.canvas.draw()  # lays out every artist; raises on a bad mathtext string
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("R_t = " in t for t in texts) and any("Z_t = " in t for t in texts)
    assert any(r"\tilde{H}_t = " in t for t in texts) == (stage != "gates")
    # the chapter's convention, reset after the matmul (nn.GRU): R_t scales the projected state
    assert any(r"R_t \odot (H_{t-1} W_{hn} + b_{hn})" in t for t in texts) == (stage != "gates")
    assert any("H_t = Z_t" in t for t in texts) == (stage == "state")


def test_later_stages_draw_more():
    counts = [len(diagrams.gru_cell(stage).axes[0].get_children()) for stage in diagrams.STAGES]
    assert counts[0] < counts[1] < counts[2]


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(ValueError, match="stage must be one of"):
        diagrams.gru_cell("output")  # type: ignore[arg-type]


def test_write_svgs(tmp_path):
    paths = diagrams.write_svgs(tmp_path / "figures")
    assert [p.name for p in paths] == ["gru_gates.svg", "gru_candidate.svg", "gru_state.svg"]
    sizes = []
    for path in paths:
        root = ET.parse(path).getroot()  # well-formed XML
        assert root.tag == f"{SVG_NS}svg"
        assert root.get("viewBox") is not None
        assert len(root.findall(f".//{SVG_NS}path")) > 20
        assert "<dc:date>" not in path.read_text()  # no timestamp: reruns reproduce the file
        sizes.append(path.stat().st_size)
    assert sizes[0] < sizes[1] < sizes[2]
    again = diagrams.write_svgs(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_command_line(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "d2lutil.diagrams", "--out", str(out)], capture_output=True, text=True, check=True
    )
    assert "gru_state.svg" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["gru_candidate.svg", "gru_gates.svg", "gru_state.svg"]


def _texts(stage):
    return [t.get_text() for t in diagrams.gru_cell(stage).axes[0].texts]


def test_each_box_names_the_weights_it_applies():
    gates = " ".join(_texts("gates"))
    for part in "rz":
        assert f"W_{{x{part}}}, W_{{h{part}}}" in gates and f"b_{{x{part}}}, b_{{h{part}}}" in gates
    candidate = " ".join(_texts("candidate"))
    assert "$W_{hn}$" in candidate and "b_{hn}" in candidate and "W_{xn}, b_{xn}" in candidate
    assert "W_{hh}" not in candidate and "W_{xh}" not in candidate  # the plain RNN's names are not reused


def test_legend_entries_appear_with_their_symbol():
    legend = {stage: [t for t in _texts(stage) if ":" in t and "=" not in t] for stage in diagrams.STAGES}
    assert any("sigma" in t for t in legend["gates"]) and not any("odot" in t for t in legend["gates"])
    assert any("odot" in t for t in legend["candidate"]) and not any("1−" in t for t in legend["candidate"])
    assert any("1−" in t for t in legend["state"])


@pytest.mark.parametrize("stage", diagrams.STAGES)
def test_text_contrast_is_at_least_4_5(stage):
    fig = diagrams.gru_cell(stage)
    ax = fig.axes[0]
    fills = [p.get_facecolor()[:3] for p in ax.patches if p.get_facecolor()[3] > 0]
    for text in ax.texts:
        if not text.get_text():  # an arrow (an annotation without text)
            continue
        color = text.get_color()
        # a text is drawn on white or inside a box; it must be readable on the palest background it may sit on
        worst = min(diagrams.contrast(color, bg) for bg in [(1.0, 1.0, 1.0), *fills] if _near(text, bg, ax))
        assert worst >= 4.5, f"{text.get_text()!r}: contrast {worst:.2f}"


def _near(text, background, ax):
    """White always counts; a box's fill only for the text inside that box."""
    if background == (1.0, 1.0, 1.0):
        return True
    x, y = text.get_position()
    for patch in ax.patches:
        if patch.get_facecolor()[:3] == background and patch.get_path().transformed(
            patch.get_patch_transform()
        ).contains_point((x, y)):
            return True
    return False


def test_contrast_and_ink():
    assert diagrams.contrast("black", "white") == pytest.approx(21.0)
    assert diagrams.contrast(diagrams.COLORS["candidate"], "white") < 4.5  # the raw green is too pale for text
    assert diagrams.contrast(diagrams.ink(diagrams.COLORS["candidate"]), "white") >= 4.5

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
    assert any(r"R_t \odot (H_{t-1} W_{hh} + b_{hh})" in t for t in texts) == (stage != "gates")
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

"""The page's own forward pass (d2lutil/explorer/gru.js, run in Node, Chromium's engine) against
PyTorch's (d2lutil.gates.trace_layers): the same gates, states and log-probabilities, with and
without interventions; a re-run after an intervention equals a run from scratch.

Two references: the model with the page's float16 weights (the arithmetic must agree within 1e-4)
and the float32 model (the difference is float16's rounding, printed and bounded)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from page_reference import page_reference

import d2lutil
from d2lutil.explorer import held_out_passages
from d2lutil.explorer.weights import page_model
from d2lutil.gates import Intervention, trace_layers
from d2lutil.models import RNNLM

NODE = shutil.which("node")
GRU_JS = Path(d2lutil.__file__).with_name("explorer") / "gru.js"
RUNNER = Path(__file__).with_name("js") / "run_gru.mjs"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def node() -> str:
    """Node.js runs the page's gru.js (Chromium's engine): skip without it, or fail where CI requires it."""
    if NODE is None:
        if os.environ.get("D2LUTIL_REQUIRE_BROWSER"):
            pytest.fail("D2LUTIL_REQUIRE_BROWSER is set but node is missing: apt-get install -y nodejs")
        pytest.skip("node is missing (apt-get install -y nodejs); set D2LUTIL_REQUIRE_BROWSER=1 to fail instead")
    return NODE


KINDS = [
    [],
    [{"kind": "update", "layer": 1, "value": 0.9}],
    [{"kind": "update", "layer": 0, "unit": 3, "value": 0.0}],
    [{"kind": "reset", "layer": None, "value": 1.0}],
    [{"kind": "silence", "layer": 0, "unit": 5}],
    [{"kind": "cut", "layer": None, "at": 20}],
    [{"kind": "cut", "layer": None, "at": 9}, {"kind": "reset", "layer": 1, "unit": 2, "value": 0.25}],
]


def run_page(tmp_path: Path, model: RNNLM, vocab, cases: list[dict], simd: bool = True) -> list[dict]:
    """Each case ({text, interventions, previous}) run by gru.js in Node (simd: its WebAssembly
    kernel, else its plain JavaScript loops)."""
    spec, data = page_model(model, vocab)
    (tmp_path / "weights.bin").write_bytes(data)
    job = {"module": str(GRU_JS), "weights": str(tmp_path / "weights.bin"), "spec": spec, "cases": cases, "simd": simd}
    (tmp_path / "job.json").write_text(json.dumps(job))
    subprocess.run([NODE, str(RUNNER), str(tmp_path / "job.json"), str(tmp_path / "out.json")], check=True, timeout=900)
    return json.loads((tmp_path / "out.json").read_text())


def torch_run(model: RNNLM, vocab, text: str, interventions: list[dict]):
    tokens = torch.tensor([vocab[list(text)]])
    return trace_layers(model, tokens, [Intervention(**c) for c in interventions])


def differences(page: dict, run, V: int) -> dict[str, float]:
    T = run.log_probs.shape[1]
    logp = np.array(page["logp"]).reshape(T, V)
    got = {k: np.array(page[k]).reshape(run.h.shape[0], T, -1) for k in "zrh"}
    want = {"z": run.z[:, :, 0], "r": run.r[:, :, 0], "h": run.h[:, :, 0]}
    out = {k: float(np.abs(got[k] - want[k].numpy()).max()) for k in "zrh"}
    out["logp"] = float(np.abs(logp - run.log_probs[0].numpy()).max())
    out["p"] = float(np.abs(np.exp(logp) - run.log_probs[0].exp().numpy()).max())
    return out


@pytest.fixture(scope="module")
def small(time_machine):
    d2lutil.set_seed(0)
    return d2lutil.build_lm("gru", len(time_machine.vocab), hidden_size=24, num_layers=2, embed_size=8).eval()


def random_texts(vocab, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    letters = "".join(vocab.idx_to_token[1:])
    return ["".join(rng.choice(letters) for _ in range(rng.randint(1, 200))) for _ in range(count)]


@pytest.mark.parametrize("simd", [True, False], ids=["wasm-simd", "plain-js"])
def test_the_page_computes_what_pytorch_computes_with_every_intervention(tmp_path, small, time_machine, simd):
    vocab = time_machine.vocab
    texts = ["the time traveller for so it will be convenient to speak of him", *random_texts(vocab, 4, 1)]
    cases = [{"text": t, "interventions": c} for t in texts for c in KINDS if all(i.get("at", 0) < len(t) for i in c)]
    pages = run_page(tmp_path, small, vocab, cases, simd)
    exact = page_reference(small, vocab)
    for case, page in zip(cases, pages, strict=True):
        same = differences(page, torch_run(exact, vocab, case["text"], case["interventions"]), len(vocab))
        assert max(same.values()) < 1e-4, (case, same)
        rounding = differences(page, torch_run(small, vocab, case["text"], case["interventions"]), len(vocab))
        assert rounding["p"] < 2e-3 and rounding["z"] < 2e-3, (case, rounding)


def test_a_rerun_reuses_only_what_the_change_leaves_alone(tmp_path, small, time_machine):
    vocab = time_machine.vocab
    text = "his grey eyes shone and twinkled and his usually pale face was flushed and animated"
    other = text[:30] + "x" + text[31:]
    cases = [
        {"text": text, "interventions": []},
        {"text": text, "interventions": [{"kind": "cut", "layer": None, "at": 40}], "previous": 0},
        {"text": text, "interventions": [{"kind": "update", "layer": 1, "value": 0.9}], "previous": 0},
        {"text": text, "interventions": [], "previous": 2},  # the reset button
        {"text": other, "interventions": [], "previous": 0},  # a typed change at character 30
        {"text": text, "interventions": [{"kind": "cut", "layer": None, "at": 40}]},
        {"text": text, "interventions": [{"kind": "update", "layer": 1, "value": 0.9}]},
        {"text": other, "interventions": []},
    ]
    pages = run_page(tmp_path, small, vocab, cases)
    assert [(p["first"], p["lowest"]) for p in pages[:5]] == [(0, 0), (41, 0), (0, 1), (0, 1), (30, 0)]
    for reused, fresh in [(1, 5), (2, 6), (4, 7), (3, 0)]:
        for k in ("logp", "z", "r", "h"):
            assert pages[reused][k] == pages[fresh][k], (reused, k)


@pytest.mark.slow
def test_gru_lm_in_the_page_agrees_with_pytorch_on_the_shipped_passages_and_random_strings(tmp_path, time_machine):
    """Issue 26's agreement table: the three shipped passages and 20 random strings, float16
    weights: against the same float16 weights in PyTorch (< 1e-4) and the float32 model (printed)."""
    from d2lutil.checkpoints import load_checkpoint

    model, vocab, _ = load_checkpoint("gru_lm")
    texts = list(held_out_passages(400, 3).values()) + random_texts(vocab, 20, 2)
    cases = [{"text": t, "interventions": []} for t in texts]
    pages = run_page(tmp_path, model, vocab, cases)
    exact = page_reference(model, vocab)
    worst_same: dict[str, float] = {}
    worst_rounding: dict[str, float] = {}
    for case, page in zip(cases, pages, strict=True):
        for worst, reference in ((worst_same, exact), (worst_rounding, model)):
            for k, v in differences(page, torch_run(reference, vocab, case["text"], []), len(vocab)).items():
                worst[k] = max(worst.get(k, 0.0), v)
    print(f"\npage vs PyTorch, same float16 weights: {worst_same}")
    print(f"page vs PyTorch float32 model (float16 rounding): {worst_rounding}")
    assert max(worst_same.values()) < 1e-4
    assert worst_rounding["p"] < 1e-2


def test_the_page_reads_text_as_the_kernel_does_and_refuses_unknown_characters_by_name(time_machine):
    """gru.js's readable() against d2lutil's check_passage: the same text read, the same refusals."""
    from d2lutil.data import Vocab
    from d2lutil.explorer.trace import check_passage

    vocab = time_machine.vocab
    no_q = Vocab(idx_to_token=[t if t != "q" else "1" for t in vocab.idx_to_token])
    script = f"""
    import {{ readable }} from {json.dumps(GRU_JS.as_uri())};
    const out = [];
    for (const [text, vocab, max] of {
        json.dumps(
            [
                ["Hello, World! It's 1895.", vocab.idx_to_token, 1000],
                ["the queen", no_q.idx_to_token, 1000],
                ["  1895 !! ", vocab.idx_to_token, 1000],
                ["word " * 30, vocab.idx_to_token, 50],
            ]
        )
    }) {{
      try {{ out.push(readable(text, vocab, max)); }} catch (err) {{ out.push(err.message); }}
    }}
    console.log(JSON.stringify(out));
    """
    result = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    read, unknown, empty, cut = json.loads(result.stdout)
    assert read == list(check_passage("Hello, World! It's 1895.", vocab, 1000))
    assert unknown == "the passage holds characters the model's vocabulary lacks: 'q'"
    with pytest.raises(ValueError, match="lacks: 'q'"):
        check_passage("the queen", no_q, 1000)
    assert "fewer than two letters" in empty
    assert cut == list(check_passage("word " * 30, vocab, 50))

"""What left notebook 4's lesson: its written-out code checked against d2lutil and nn.GRU.

The notebook writes the GRU layer, the language model, perplexity, clipping, a training step and
generation out for teaching, and then uses d2lutil's versions. These tests execute the notebook's
own definitions (its imports, functions and classes, read from ``notebooks/04_scratch.md``; nothing
is trained) and check that each agrees with the d2lutil function it stands for, and that the
reset conventions differ where the notebook says they do.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import sys
from pathlib import Path
from typing import Any

import jupytext
import pytest
import torch
from torch import nn

import d2lutil
from d2lutil.checkpoints import load_checkpoint
from d2lutil.gates import trace_gates
from d2lutil.models import RNNLM, GRUScratch
from d2lutil.training import History, LanguageModelLoss, optimize

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_scratch.md"
sys.path.insert(0, str(REPO / "scripts"))
import word_counts  # noqa: E402

F64 = torch.float64
KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)

pytestmark = pytest.mark.usefixtures("one_thread")


def _definitions(source: str) -> list[ast.stmt]:
    """The imports, functions, classes and upper-case constants of one code cell (magics dropped)."""
    lines = source.splitlines()
    code = "\n".join(
        line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
        for line in lines
    )
    keep = []
    for node in ast.parse(code).body:
        constant = isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.isupper() and t.id != "BUDGET" for t in node.targets
        )
        if isinstance(node, KEEP) or (constant and isinstance(node.value, (ast.Dict, ast.Constant, ast.Tuple))):
            keep.append(node)
    return keep


@pytest.fixture(scope="module")
def nb() -> dict[str, Any]:
    """The notebook's definitions, executed in one namespace with the globals they read (vocab, device)."""
    data = d2lutil.load_time_machine()
    namespace: dict[str, Any] = {"vocab": data.vocab, "data": data, "device": torch.device("cpu")}
    for cell in jupytext.read(NOTEBOOK).cells:
        if cell.cell_type == "code":
            module = ast.Module(body=_definitions(cell.source), type_ignores=[])
            exec(compile(module, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace


def test_the_notebook_defines_what_the_lesson_uses(nb: dict[str, Any]) -> None:
    expected = {
        "PARTS",
        "init_gru_params",
        "gru_step",
        "ScratchGRU",
        "copy_from_nn_gru",
        "LanguageModel",
        "perplexity",
        "clip_gradients",
        "train_step",
        "PrintSamples",
        "generate",
    }
    assert expected <= set(nb), f"missing from notebook 4: {sorted(expected - set(nb))}"
    assert list(nb["PARTS"]) == ["r", "z", "n"], "the chapter's block order is (reset, update, candidate)"


def test_initialisation_is_nn_grus(nb: dict[str, Any]) -> None:
    torch.manual_seed(0)
    params = nb["init_gru_params"](28, 64)
    assert len(params) == 12
    for name, p in params.items():
        assert p.abs().max() <= 1 / math.sqrt(64), name
        assert p.std() > 0.5 / math.sqrt(3 * 64), f"{name} should fill the interval, not sit near 0"


def _scratch_from(nb: dict[str, Any], gru: nn.GRU, reset: str = "after") -> nn.Module:
    return nb["copy_from_nn_gru"](nb["ScratchGRU"](gru.input_size, gru.hidden_size, reset).to(F64), gru)


def _stacked_into(nb: dict[str, Any], ours: nn.Module, reset: str) -> GRUScratch:
    """Our per-part parameters stacked (r, z, n) into a GRUScratch, as the notebook describes the layout."""
    fused = GRUScratch(ours.input_size, ours.hidden_size, reset).to(F64)
    with torch.no_grad():
        for side, W, b in (("x", fused.W_x, fused.b_x), ("h", fused.W_h, fused.b_h)):
            W.copy_(torch.cat([ours.params[f"W_{side}{p}"] for p in nb["PARTS"]], dim=1))
            b.copy_(torch.cat([ours.params[f"b_{side}{p}"] for p in nb["PARTS"]]))
    return fused


def _gru(d: int = 5, h: int = 7, layers: int = 1) -> nn.GRU:
    torch.manual_seed(1)
    gru = nn.GRU(d, h, layers).to(F64)
    with torch.no_grad():  # biases away from the small init, so that a bias in the wrong place shows
        for p in gru.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return gru


@pytest.mark.parametrize("reset", ["after", "before"])
def test_scratch_layer_agrees_with_gruscratch_and_nn_gru(nb: dict[str, Any], reset: str) -> None:
    gru = _gru()
    ours = _scratch_from(nb, gru, reset)
    X, H = torch.randn(30, 3, 5, dtype=F64), torch.randn(1, 3, 7, dtype=F64)
    with torch.no_grad():
        out, H_T = ours(X, H)
        fused_out, fused_H = _stacked_into(nb, ours, reset)(X, H)
        ref_out, ref_H = gru(X, H)
    assert out.shape == (30, 3, 7) and H_T.shape == (1, 3, 7) and torch.equal(out[-1], H_T[0])
    assert torch.allclose(out, fused_out, atol=1e-10) and torch.allclose(H_T, fused_H, atol=1e-10)
    if reset == "after":
        assert torch.allclose(out, ref_out, atol=1e-10) and torch.allclose(H_T, ref_H, atol=1e-10)
    else:
        assert (out - ref_out).abs().max() > 1e-2, "reset-before is another function than nn.GRU's"


def test_copy_from_a_deeper_layer(nb: dict[str, Any]) -> None:
    gru = _gru(layers=2)
    X = torch.randn(12, 2, 5, dtype=F64)
    ours = nb["copy_from_nn_gru"](nb["ScratchGRU"](7, 7).to(F64), gru, layer=1)
    with torch.no_grad():
        layer1 = trace_gates(gru, X, layer=0).h
        assert torch.allclose(ours(layer1)[0], gru(X)[0], atol=1e-10)


def test_where_the_three_conventions_coincide(nb: dict[str, Any]) -> None:
    """The notebook's claims: all three agree when R = 1, and 'bias outside' equals 'after' when b_hn = 0."""
    step = nb["gru_step"]
    torch.manual_seed(0)
    P = {k: v.detach().to(F64) for k, v in nb["init_gru_params"](4, 6).items()}
    X, H = torch.randn(3, 4, dtype=F64), torch.tanh(torch.randn(3, 6, dtype=F64))
    runs = {reset: step(X, H, P, reset) for reset in ("after", "before", "bias outside")}
    assert (runs["after"] - runs["before"]).abs().max() > 1e-3
    assert (runs["after"] - runs["bias outside"]).abs().max() > 1e-3
    no_bias = {**P, "b_hn": torch.zeros(6, dtype=F64)}
    assert torch.allclose(step(X, H, no_bias, "after"), step(X, H, no_bias, "bias outside"), atol=1e-12)
    open_reset = {**P, "W_xr": 0 * P["W_xr"], "W_hr": 0 * P["W_hr"], "b_xr": torch.full((6,), 40.0, dtype=F64)}
    first = step(X, H, open_reset, "after")
    for reset in ("before", "bias outside"):
        assert torch.allclose(first, step(X, H, open_reset, reset), atol=1e-12), reset
    with pytest.raises(ValueError, match="reset must be"):
        step(X, H, P, "sideways")


def test_trained_layer_copy_is_what_the_shipped_model_computes(nb: dict[str, Any]) -> None:
    shipped, vocab, manifest = load_checkpoint("gru_lm")
    tokens = d2lutil.load_time_machine().test_tokens[:240].reshape(4, 60)
    ours = nb["ScratchGRU"](manifest["model"]["embed_size"], manifest["model"]["hidden_size"])
    nb["copy_from_nn_gru"](ours, shipped.rnn, layer=0)
    with torch.no_grad():
        states = ours(shipped.embed(tokens))[0]
    assert (states - trace_gates(shipped, tokens, layer=0).h).abs().max() < 1e-5


def test_language_model_is_rnnlm(nb: dict[str, Any]) -> None:
    torch.manual_seed(0)
    ours = nb["LanguageModel"](nb["ScratchGRU"](28, 16), 28)
    theirs = RNNLM(nb["ScratchGRU"](28, 16), 28)
    theirs.load_state_dict(ours.state_dict())
    tokens = torch.randint(0, 28, (3, 11))
    scores, state = ours(tokens)
    assert scores.shape == (3, 11, 28) and state.shape == (1, 3, 16)
    assert torch.allclose(scores, theirs(tokens)[0], atol=1e-6)


def test_perplexity_is_d2lutils(nb: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = nb["LanguageModel"](nb["ScratchGRU"](28, 16), 28)
    tokens = d2lutil.load_time_machine().val_tokens[:2000]
    ours, theirs = nb["perplexity"](model, tokens), d2lutil.evaluate_perplexity(model, tokens)
    assert abs(ours - theirs) < 1e-4 * theirs


def test_clip_gradients_is_clip_grad_norm(nb: dict[str, Any]) -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(5, 4), nn.Linear(5, 4)
    b.load_state_dict(a.state_dict())
    x = torch.randn(8, 5)
    for model in (a, b):
        (100 * model(x)).pow(2).sum().backward()
    norm = nb["clip_gradients"](a, 1.0)
    reference = nn.utils.clip_grad_norm_(b.parameters(), 1.0)
    assert torch.allclose(norm, reference)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-7)
    small = nn.Linear(2, 1)
    small(torch.ones(1, 2)).sum().mul(1e-3).backward()
    before = [p.grad.clone() for p in small.parameters()]
    nb["clip_gradients"](small, 1.0)
    unchanged = all(torch.equal(g, p.grad) for g, p in zip(before, small.parameters(), strict=True))
    assert unchanged, "a gradient with norm below theta is left as it is"


def test_train_step_is_d2lutils_optimize(nb: dict[str, Any]) -> None:
    data = d2lutil.load_time_machine()
    torch.manual_seed(0)
    ours = nb["LanguageModel"](nb["ScratchGRU"](28, 16), 28)
    theirs = RNNLM(nb["ScratchGRU"](28, 16), 28)
    theirs.load_state_dict(ours.state_dict())
    d2lutil.set_seed(0)
    loader = iter(data.train_iter(8, 16))
    batches = [next(loader), next(loader)]
    ours_opt = torch.optim.Adam(ours.parameters(), lr=1e-2)
    theirs_opt = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    ours_losses = [nb["train_step"](ours, X, Y, ours_opt)[0] for X, Y in batches]
    loss_of = LanguageModelLoss(theirs, torch.device("cpu"), carry_state=False)
    theirs_losses = [step.loss for step in optimize(theirs, batches, loss_of, theirs_opt, clip=1.0)]
    assert ours_losses == pytest.approx(theirs_losses, abs=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert (p - q).abs().max() < 1e-5
    _, state = nb["train_step"](ours, *batches[0], ours_opt)
    assert not state.requires_grad, "the carried state is detached"


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0])
def test_generate_is_d2lutils_predict(nb: dict[str, Any], temperature: float) -> None:
    torch.manual_seed(0)
    model = nb["LanguageModel"](nb["ScratchGRU"](28, 16), 28)
    text = nb["generate"]("time traveller", 60, model, temperature, seed=0)
    assert text.startswith("time traveller") and len(text) >= len("time traveller") + 60  # <unk> is 5 characters
    assert text == d2lutil.predict("time traveller", 60, model, nb["vocab"], temperature=temperature, seed=0)


def test_print_samples_prints_on_the_first_and_every_kth_epoch(nb: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = nb["LanguageModel"](nb["ScratchGRU"](28, 8), 28)
    callback, history, printed = nb["PrintSamples"](model, every=3, length=5), History(), io.StringIO()
    with contextlib.redirect_stdout(printed):
        for epoch in range(1, 8):
            history.epochs.append(epoch)
            history.val_ppl.append(30.0 - epoch)
            callback.on_epoch_end(history)
    epochs = [int(line.split(",")[0].split()[1]) for line in printed.getvalue().splitlines()]
    assert epochs == [1, 3, 6]


def test_the_lesson_stays_short_and_leaves_engineering_to_notebook_7() -> None:
    """Issue 25's budget for notebook 4, counted as scripts/word_counts.py counts."""
    counts = word_counts.count(jupytext.read(NOTEBOOK))
    assert counts.shown <= 2000, f"notebook 4 shows {counts.shown} words outside collapsed cells (at most 2,000)"
    assert counts.timings == 0, "a timing cell belongs in notebook 7, the engineering appendix"
    assert counts.checks <= 1, f"{counts.checks} check cells: verification belongs in this file"

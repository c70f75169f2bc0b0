"""What left notebook 5's lesson for the tests (issue 25): its helpers are checked here, not in the reader's path.

The notebook keeps the code a reader learns from (the per-character losses, the block bootstrap,
the sentence ends, the gate interventions) and one assert per finding; this file checks that code
against ``d2lutil`` and against cases whose answer is known. The checks that moved out and live
elsewhere already: the shipped checkpoints reproduce their manifests' perplexities and kept
validation's best epoch (``tests/test_pretrained.py``), the split is 85/5/10 (``tests/test_split.py``),
and the explorer's bytes are within half a step of the traced gates (``tests/test_explorer.py``).
The speed table, ``unbind`` against indexing and the safetensors notes went to notebook 7.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from pathlib import Path

import jupytext
import pytest
import torch
import torch.nn.functional as F

import d2lutil
from d2lutil.checkpoints import PRETRAINED_DIR, load_checkpoint
from d2lutil.data import locate_time_machine, preprocess
from d2lutil.gates import Intervention

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "05_concise.md"
sys.path.insert(0, str(REPO / "scripts"))
import word_counts  # noqa: E402


def notebook_code(*definitions: str) -> dict:
    """The notebook's functions and classes named ``definitions``, defined as the notebook defines them.

    The notebook's imports run first (every import statement of its code cells), then each
    definition, taken from the one code cell that holds it; nothing else of the notebook is run.
    ``device`` is the CPU.
    """
    cells = [
        ast.parse(c.source)
        for c in jupytext.read(NOTEBOOK).cells
        if c.cell_type == "code" and "%pip" not in c.source  # the Colab cell is IPython, not Python
    ]
    imports = [node for tree in cells for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    body = list(imports)
    for name in definitions:
        found = [
            node
            for tree in cells
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name
        ]
        assert len(found) == 1, f"notebook 5 should define {name} once, found {len(found)}"
        body += found
    namespace: dict = {"device": torch.device("cpu")}
    exec(compile(ast.Module(body=body, type_ignores=[]), "05_concise.md", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def data():
    return d2lutil.load_time_machine()


@pytest.fixture(scope="module")
def gru_lm(data):
    if not (PRETRAINED_DIR / "gru_lm.json").is_file():
        pytest.skip("this checkout has no shipped gru_lm (python -m d2lutil.pretrain makes it)")
    return load_checkpoint("gru_lm", vocab=data.vocab)[0].eval()


def test_sentence_ends_fall_on_the_spaces_after_each_sentence():
    ns = notebook_code("sentence_ends")
    raw = locate_time_machine().read_text(encoding="utf-8")
    text = preprocess(raw)
    assert "zqzqz" not in text, "the marker must not occur in the book"
    ends = ns["sentence_ends"](raw)
    assert ends == sorted(ends) and len(ends) == len(set(ends))
    assert all(text[i] == " " and text[i - 1].isalpha() for i in ends)
    # one end per letter followed by . ! or ? before the next letter (sentence ends and abbreviations)
    assert len(ends) == len(re.findall(r"[A-Za-z][^A-Za-z.!?]*[.!?]", raw))
    small = "He came. She saw! Did it? Yes... no."
    assert [preprocess(small)[: i + 1] for i in ns["sentence_ends"](small)][:2] == ["he came ", "he came she saw "]


def test_token_losses_agree_with_evaluate_perplexity(gru_lm, data):
    ns = notebook_code("token_losses")
    tokens = data.val_tokens[:1601]
    losses = ns["token_losses"](gru_lm, tokens)
    assert losses.shape == (1600,)
    assert math.exp(losses.mean().item()) == pytest.approx(d2lutil.evaluate_perplexity(gru_lm, tokens), rel=1e-4)
    one_stream = ns["token_losses"](gru_lm, tokens, streams=1)
    assert math.exp(one_stream.mean().item()) == pytest.approx(
        d2lutil.evaluate_perplexity(gru_lm, tokens, batch_size=1), rel=1e-4
    )
    # text order: the first stream's losses come first, and they are those of its own characters
    assert torch.allclose(losses[:100], ns["token_losses"](gru_lm, tokens[:101], streams=1), atol=1e-5)


def test_bootstrap_ratio_is_exact_on_known_cases():
    ns = notebook_code("bootstrap_ratio")
    ratio = ns["bootstrap_ratio"]
    a = torch.rand(5_000, generator=torch.Generator().manual_seed(1))
    assert ratio(a, a) == pytest.approx([1.0, 1.0])
    assert ratio(a + 0.1, a) == pytest.approx([math.exp(0.1)] * 2, rel=1e-5)  # a constant shift has no noise
    b = torch.rand(5_000, generator=torch.Generator().manual_seed(2))
    low, high = ratio(a, b)
    point = math.exp((a.mean() - b.mean()).item())
    assert low < point < high
    narrow = ratio(a, b, level=0.5)
    assert low < narrow[0] < narrow[1] < high, "a lower level gives a narrower interval"


def test_perplexity_with_no_intervention_is_the_models(gru_lm, data):
    ns = notebook_code("perplexity_with")
    tokens = data.test_tokens[:400]
    assert ns["perplexity_with"](gru_lm, tokens) == pytest.approx(
        d2lutil.evaluate_perplexity(gru_lm, tokens, batch_size=1), rel=1e-4
    )


def _with_bias(model, block: int, layers, shift: float = 1e4):
    """A copy of an nn.GRU language model whose gate ``block`` (0 reset, 1 update) is pushed to 1 in ``layers``."""
    copy = load_checkpoint("gru_lm", vocab=d2lutil.load_time_machine().vocab)[0].eval()
    copy.load_state_dict(model.state_dict())
    h = copy.rnn.hidden_size
    with torch.no_grad():
        for layer in layers:
            getattr(copy.rnn, f"bias_ih_l{layer}")[block * h : (block + 1) * h] += shift
    return copy


def test_gates_set_to_one_equal_a_model_whose_gate_bias_saturates_them(gru_lm, data):
    perplexity_with = notebook_code("perplexity_with")["perplexity_with"]
    tokens = data.test_tokens[:300]
    no_reset = [Intervention("reset", None, value=1.0)]
    expected = d2lutil.evaluate_perplexity(_with_bias(gru_lm, 0, (0, 1)), tokens, batch_size=1)
    assert perplexity_with(gru_lm, tokens, no_reset) == pytest.approx(expected, rel=1e-4)
    frozen = [Intervention("update", 0, value=1.0)]  # layer 1 keeps its zero start state forever
    expected = d2lutil.evaluate_perplexity(_with_bias(gru_lm, 1, (0,)), tokens, batch_size=1)
    assert perplexity_with(gru_lm, tokens, frozen) == pytest.approx(expected, rel=1e-4)
    assert expected > 2 * perplexity_with(gru_lm, tokens), "a layer that never moves should ruin the model"


@torch.no_grad()
def test_cuts_zero_the_state_after_the_given_characters(gru_lm, data):
    perplexity_with = notebook_code("perplexity_with")["perplexity_with"]
    tokens = data.test_tokens[:300]
    # a cut after the last prediction changes nothing
    last = [Intervention("cut", None, at=len(tokens) - 2)]
    assert perplexity_with(gru_lm, tokens, last) == pytest.approx(perplexity_with(gru_lm, tokens), rel=1e-6)
    # a cut after every character: each one is read alone, from a zero state
    every = perplexity_with(gru_lm, tokens, [Intervention("cut", None, at=i) for i in range(len(tokens) - 1)])
    alone = torch.stack([gru_lm(tokens[i : i + 1][None])[0][0, 0] for i in range(len(tokens) - 1)])
    assert every == pytest.approx(math.exp(F.cross_entropy(alone, tokens[1:]).item()), rel=1e-4)
    # a cut after character half - 1: from character half on, the text reads as if it started there
    half = len(tokens) // 2
    losses = notebook_code("token_losses")["token_losses"]
    cut = perplexity_with(gru_lm, tokens, [Intervention("cut", None, at=half - 1)])
    pieces = torch.cat([losses(gru_lm, tokens[: half + 1], streams=1), losses(gru_lm, tokens[half:], streams=1)])
    assert cut == pytest.approx(math.exp(pieces.mean().item()), rel=1e-4)


def test_the_lesson_stays_short_and_holds_no_timing_or_check_cell():
    """Issue 25: notebook 5 shows at most 2,000 words outside collapsed cells, and its timings and
    verification cells live in notebook 7 and in this file (counted as scripts/word_counts.py counts)."""
    counts = word_counts.count(jupytext.read(NOTEBOOK))
    assert counts.shown <= 2000, f"notebook 5 shows {counts.shown} words outside collapsed cells"
    assert counts.timings == 0, "a timing cell belongs in notebook 7, the engineering appendix"
    assert counts.checks == 0, "a verification cell belongs in tests/test_lessons_5.py; one teaching assert stays"

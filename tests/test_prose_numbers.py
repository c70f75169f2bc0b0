"""Every number in a notebook's prose comes from that notebook's code, or is quoted with its source.

The chapter's rule: a number written in a markdown cell is printed by a cell or checked by an
``assert`` in the same notebook, or quoted with its source; prose that depends on a measured
outcome is worded to stay true in every budget (quick, cpu, full) or is printed by a cell. A typed
measurement ("about 0.8x", "17,343", "1e-10") goes stale the day the code or the budget changes,
so this test fails on any number in a markdown cell that is not accounted for.

A number in prose is accounted for when it

1. appears in a code cell of the same notebook, compared by value (``1,500`` = ``1500``,
   ``10^{-2}`` = ``1e-2``, ``5%`` = ``5`` or ``0.05``; signs ignored): a constant, an argument,
   an ``assert`` threshold or a literal inside a printed string. Comments do not count: they are
   not run. This is how "checked by an assert" and "a parameter the code sets" pass, and why a
   measured result can never be typed into prose: it is not a literal anywhere, so a cell must
   print the sentence that contains it;
2. is a small structural integer, 0 to 10 ("notebook 4", "step 5", "$1 - Z_t$", "$h_{t-1}$");
3. is quoted with its source: it stands in the same sentence as a citation in author-year form
   ("Cho et al. (2014)", "(Le et al., 2015)", "Bengio, Simard and Frasconi (1994)") or as a link
   to the source (``[text](https://...)``), or it is the year of such a citation or an arXiv
   identifier (``arXiv:1406.1078v1``);
4. is not a quantity: a list item's number ("1. ..."), a version (``1.0.3``, ``v1``), or a digit
   that is part of a name (``weight_ih_l0``, ``d2l``, ``3h`` in math);
5. stands in a ``## References`` section (bibliographic detail: volumes, pages, years).

Numbers inside LaTeX math are checked like any other: ``$10^{-10}$`` is as much a typed result as
``1e-10``. There is no central allow-list: each notebook passes or fails on its own text and its
own code, so each can be fixed independently (one test case per notebook).
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from notebook_policy import notebooks  # noqa: E402

NOTEBOOKS = notebooks(REPO)
SMALL_INTEGERS = range(0, 11)  # structural: "notebook 4", "two gates" as digits, indices in math

# A number in text: digits with optional thousands commas, decimals and exponent, or 10^{k}; an
# attached unit or multiplier (%, x, ×, k, M, s, ms) belongs to it. A digit glued to a letter or
# an underscore is part of a name (weight_ih_l0, d2l, 3h) and is not a number.
NUMBER = re.compile(
    r"(?<![\w.\\])"
    r"(?P<body>10\^\{?(?P<exp>[-−]?\d+)\}?"
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    r"|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"(?P<unit>%|×|x|k|M|ms|s)?"
    r"(?![\w.]\w|\w)"
)
VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+\.\d+\w*|(?<![\w.])v\d+(?:\.\d+)?")
ARXIV = re.compile(r"arXiv[: ]\s*\d{4}\.\d{4,5}(?:v\d+)?", re.IGNORECASE)
LIST_NUMBER = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
# Author-year citations: "Cho et al. (2014)", "(Cho et al., 2014)", "Bengio, Simard and Frasconi
# (1994)", "Karpathy, Johnson & Fei-Fei (2015)", "(Le et al., 2015; Chung et al., 2014)".
CITATION = re.compile(r"(?:\bet\s+al\.|[A-Z][\w'’-]*[a-z])[,]?\s*\(?(?:19|20)\d\d[a-z]?\b")
LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
FENCED_CODE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
# Sentence ends: ".", "!" or "?" then a capital, "*" or "$", except after "et al." and "e.g.".
SENTENCE_END = re.compile(r"(?<!\bal)(?<!e\.g)(?<!i\.e)(?<!\bcf)(?<=[.!?])\s+(?=[A-Z*$])|\n\s*\n|\n(?=\s*[*-] )")
REFERENCES = re.compile(r"^#+\s*References\b.*", re.DOTALL | re.MULTILINE)


def _value(match: re.Match[str]) -> float:
    """The value a NUMBER match stands for (10^{-2} -> 0.01, 1,500 -> 1500, 20k -> 20000)."""
    if match.group("exp") is not None:
        return 10.0 ** int(match.group("exp").replace("−", "-"))
    value = float(match.group("body").replace(",", ""))
    return value * {"k": 1e3, "M": 1e6}.get(match.group("unit") or "", 1.0)


def _values_near(value: float, known: set[float]) -> bool:
    candidates = {value, value / 100}  # "5%" may be 5 or 0.05 in the code
    return any(abs(c - k) <= 1e-9 * max(abs(c), abs(k)) for c in candidates for k in known)


def code_numbers(source: str) -> set[float]:
    """Every numeric literal of a code cell, in the code or inside its strings (comments excluded)."""
    lines = [line if not line.lstrip().startswith(("%", "!")) else "" for line in source.splitlines()]
    text = "\n".join(lines) + "\n"
    try:
        tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.COMMENT]
        text = " ".join(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = re.sub(r"#[^\n]*", "", text)
    return {_value(m) for m in NUMBER.finditer(text)}


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """Replace what ``pattern`` matches by spaces, keeping positions and line breaks."""
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def unaccounted_numbers(markdown: str, known: set[float]) -> list[tuple[str, str]]:
    """(number, its sentence) for each number in ``markdown`` that the rules above do not account for."""
    text = _blank(_blank(markdown, HTML_COMMENT), FENCED_CODE)
    text = _blank(text, REFERENCES)
    found = []
    for sentence in SENTENCE_END.split(text):
        if not sentence or not sentence.strip():
            continue
        if CITATION.search(sentence) or LINK.search(sentence):
            continue  # quoted with its source
        scan = sentence
        for pattern in (ARXIV, VERSION, LIST_NUMBER):
            scan = _blank(scan, pattern)
        scan = LINK.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), scan)
        for match in NUMBER.finditer(scan):
            value = _value(match)
            # a decimal, a power of ten or a number with a unit is a quantity, never structural
            structural = match.group(0).isdigit() and int(match.group(0)) in SMALL_INTEGERS
            if structural or _values_near(value, known):
                continue
            finding = (match.group(0), " ".join(sentence.split()))
            if finding not in found:
                found.append(finding)
    return found


def notebook_findings(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    known: set[float] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            known |= code_numbers(cell.source)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += unaccounted_numbers(cell.source, known)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_number_in_prose_comes_from_the_code(path: Path) -> None:
    findings = notebook_findings(path)
    report = "\n".join(f"  {number!r} in: {sentence[:160]}" for number, sentence in findings)
    assert not findings, (
        f"{path.name}: {len(findings)} number(s) in markdown cells that no code cell of this notebook "
        f"produces or checks, and that no citation in their sentence sources:\n{report}\n"
        "Fix: let a cell print the sentence (the number then comes from the run), assert the claim in a "
        "cell, word it without the number, or quote it with its source (an author-year citation or a "
        "link in the same sentence). The rules are in this test's docstring."
    )


# The rules on planted examples: the test must fail on a typed result and pass on what is accounted for.
CODE = 'LENGTH, STEPS = 60, 1500\nassert acc >= 0.95\nprint(f"{x:.3f} at lr 1e-2")  # about 0.8x\n'


@pytest.mark.parametrize(
    "prose",
    [
        "After 50 steps the gradient is about 1e-10.",
        "The fused GRU runs at 0.8x the speed of nn.GRU.",  # 0.8x is only in a comment
        "The vocabulary has 17,343 entries.",
        "It shrinks to around $10^{-10}$ after the sequence.",
        "Training took 13 s on the CPU.",
        "The gate is open 37% of the time.",
    ],
)
def test_a_planted_number_fails(prose: str) -> None:
    assert unaccounted_numbers(prose, code_numbers(CODE)), f"not caught: {prose!r}"


@pytest.mark.parametrize(
    "prose",
    [
        "Sequences of length 60, trained for 1,500 steps with learning rate $10^{-2}$.",
        "The GRU must reach accuracy 0.95 (the notebook asserts it).",
        "Notebook 4 trains it; the two gates are $n \\times h$, and $\\mathbf{H}_{t-1}$ has $3h$ weights.",
        "Cho et al. (2014) and (Le et al., 2015) use it; arXiv:1406.1078v1 differs.",
        "As Chung et\nal. (2014) write it, with a line break inside the citation.",
        "On the adding problem the baseline MSE is 0.167 at T = 100 (Arjovsky et al., 2016).",
        "The d2l MXNet edition [prints 14,693 tokens/s](https://d2l.ai/chapter.html).",
        "We use `weight_ih_l0` of torch 2.13.0 and d2l.",
        "1. **An early token.** First item.\n2. **Skip.** Second item.",
        "Text.\n\n## References\n\n* Bengio, Y. (1994). Learning. *IEEE TNN*, 5(2), 157-166.",
        "<!-- a maintainer's note with 123 in it -->Plain words.",
    ],
)
def test_accounted_numbers_pass(prose: str) -> None:
    assert unaccounted_numbers(prose, code_numbers(CODE)) == []

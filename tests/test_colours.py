"""One colour per quantity: no figure of notebooks 1-5 draws a gate quantity in another quantity's colour.

The chapter's colours are ``d2lutil.diagrams.COLORS`` (reset vermillion, update blue, candidate green,
state purple, input grey), and gate *values* in a heatmap use ``GATE_CMAP``. This test reads the
plotting calls of every code cell (``plot``, ``scatter``, ``bar``, ``hist``, ``imshow`` ...) with
``ast``, and for each call collects

* its colours: ``COLORS["key"]`` references and literal colours in ``color=``, ``c=``, ``fc=`` ...,
  followed through a ``**style`` dict, a variable assigned in the cell, or the loop that binds it;
* what it draws: the words of its strings (label, title), of the names it plots, and of the loop
  it sits in, read for the quantities' names ("reset", "update", "candidate", "state", ``R_t`` ...).

It fails when a call

1. uses a gate's colour (reset, update, candidate) for a plot that does not name that gate;
2. names a gate but draws it in another quantity's colour, or in a colour not from ``COLORS``
   (``"tab:red"``, a hex literal), including a generic "... gate" label;
3. draws a gate's values as a heatmap with a colour map other than ``GATE_CMAP``;

and it fails on a hex literal equal to a ``COLORS`` value anywhere (it hides which quantity it is).
The checker's own behaviour is pinned by the synthetic cells at the end.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import matplotlib.colors as mcolors
import pytest

from d2lutil.diagrams import COLORS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = ["01_motivation", "02_gates", "03_candidate_state", "04_scratch", "05_concise"]

GATES = ("reset", "update", "candidate")
# "update-gate bias +3" names a model's start, not a plotted gate: a bias is not a gate quantity.
QUANTITY_WORDS = {
    "reset": re.compile(r"\breset\b(?![- ]gate bias)|R_t\b|R_\{t\}"),
    "update": re.compile(r"\bupdate\b(?![- ]gate bias)|Z_t\b|Z_\{t\}"),
    "candidate": re.compile(r"\bcandidate\b|\\tilde\{[hH]\}"),
    "state": re.compile(r"\bstate\b|\b[hH]_t\b|\b[hH]_\{t-1\}"),
}
GENERIC_GATE = re.compile(r"\bgates?\b(?! bias)")
PLOT_METHODS = {
    "plot", "scatter", "bar", "barh", "hist", "fill_between", "fill_betweenx", "axhline", "axvline",
    "axhspan", "axvspan", "step", "errorbar", "stem", "stackplot", "imshow", "pcolormesh", "matshow",
    "violinplot", "boxplot", "vlines", "hlines",
}  # fmt: skip
HEATMAPS = {"imshow", "pcolormesh", "matshow"}
COLOUR_KEYWORDS = {"color", "c", "fc", "facecolor", "ec", "edgecolor", "colors"}
COLOR_VALUES = {value.lower(): key for key, value in COLORS.items()}


@dataclass
class Drawing:
    """What one plotting call draws, and in which colours."""

    line: int
    method: str
    keys: set[str] = field(default_factory=set)  # COLORS["key"] references
    dynamic: bool = False  # COLORS[name]: indexed by a quantity's name at run time
    literals: set[str] = field(default_factory=set)  # colours not from COLORS
    words: list[str] = field(default_factory=list)  # strings and names that say what it draws
    cmap: str | None = None


def _strings(node: ast.AST) -> list[str]:
    """String constants (f-strings' fixed parts included) and identifiers under ``node``."""
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            out.append(sub.value)
        elif isinstance(sub, ast.Name):
            out.append(sub.id.replace("_", " "))
        elif isinstance(sub, ast.Attribute):
            out.append(sub.attr.replace("_", " "))
    return out


def _is_colors(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "COLORS"


class _Cell:
    """One code cell's assignments (name -> value), to follow a colour through a variable."""

    def __init__(self, tree: ast.Module):
        self.assigned: dict[str, ast.AST] = {}
        self.loops: dict[str, ast.AST] = {}  # loop variable -> the loop's iterable
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            self.assigned[name.id] = node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        self.loops[name.id] = node.iter

    def resolve(self, node: ast.AST, depth: int = 0) -> list[ast.AST]:
        """``node`` and what its names stand for in this cell (assignments, loop iterables)."""
        out = [node]
        if depth > 3:
            return out
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                for source in (self.assigned.get(sub.id), self.loops.get(sub.id)):
                    if source is not None and source is not node:
                        out += self.resolve(source, depth + 1)
        return out


def _colours(drawing: Drawing, nodes: list[ast.AST]) -> None:
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Subscript) and _is_colors(sub.value):
                if isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str):
                    drawing.keys.add(sub.slice.value)
                else:
                    drawing.dynamic = True
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                value = sub.value
                if value.lower() in COLOR_VALUES:
                    drawing.keys.add(COLOR_VALUES[value.lower()])
                elif value and mcolors.is_color_like(value) and not value.replace(".", "").isdigit():
                    drawing.literals.add(value)
                elif value and value.replace(".", "", 1).isdigit() and mcolors.is_color_like(value):
                    drawing.literals.add(value)  # a grey level such as "0.55"


def drawings(source: str) -> list[Drawing]:
    """The plotting calls of one code cell, each with its colours and the words that say what it draws."""
    # an IPython magic (%pip ...) becomes `pass`, so that the cell parses as Python
    source = re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.MULTILINE)
    tree = ast.parse(source)
    cell = _Cell(tree)
    found = []
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr not in PLOT_METHODS:
            continue
        drawing = Drawing(call.lineno, call.func.attr)
        colour_nodes: list[ast.AST] = []
        for keyword in call.keywords:
            if keyword.arg is None:  # **style: the dict it names
                resolved = cell.resolve(keyword.value)
                colour_nodes += resolved
                drawing.words += [w for node in resolved for w in _strings(node)]
            elif keyword.arg in COLOUR_KEYWORDS:
                colour_nodes += cell.resolve(keyword.value)
            elif keyword.arg == "cmap":
                drawing.cmap = ast.unparse(keyword.value)
            elif keyword.arg == "label":
                drawing.words += [w for node in cell.resolve(keyword.value) for w in _strings(node)]
        for arg in call.args:  # what is plotted (a format string such as "--" carries no colour word)
            drawing.words += _strings(arg)
        _colours(drawing, colour_nodes)
        # the enclosing loops say what a loop variable stands for
        node: ast.AST = call
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.For):
                drawing.words += [w for sub in cell.resolve(node.iter) for w in _strings(sub)]
        found.append(drawing)
    return found


def problems(source: str) -> list[str]:
    """What is wrong with the colours of one code cell (empty when nothing is)."""
    out = []
    for hex_value in re.findall(r"['\"](#[0-9A-Fa-f]{6})['\"]", source):
        if hex_value.lower() in COLOR_VALUES:
            out.append(f"{hex_value} is COLORS[{COLOR_VALUES[hex_value.lower()]!r}]: write it as that")
    for d in drawings(source):
        text = " ".join(d.words)
        named = {q for q, pattern in QUANTITY_WORDS.items() if pattern.search(text)}
        where = f"line {d.line}, {d.method}()"
        for key in sorted(d.keys & set(GATES)):
            if key not in named:
                out.append(f"{where}: COLORS[{key!r}] on a plot that does not name the {key} gate ({text[:80]!r})")
        for q in sorted(named & set(GATES)):
            if d.keys and q not in d.keys and not d.dynamic:
                out.append(f"{where}: the {q} quantity drawn in {sorted(d.keys)}'s colour, not COLORS[{q!r}]")
            elif not d.keys and not d.dynamic and d.literals:
                out.append(f"{where}: the {q} quantity drawn in {sorted(d.literals)}, not COLORS[{q!r}]")
        generic = GENERIC_GATE.search(text) and not named & set(GATES)
        if generic and d.literals and not d.keys and not d.dynamic:
            out.append(f"{where}: a gate drawn in {sorted(d.literals)}: use COLORS[gate name]")
        if d.method in HEATMAPS and (named & set(GATES) or generic) and d.cmap != "GATE_CMAP":
            out.append(f"{where}: gate values shown with cmap={d.cmap}, not the chapter's GATE_CMAP")
    return out


def code_cells(name: str) -> list[str]:
    nb = jupytext.read(NOTEBOOKS / f"{name}.md")
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", LESSONS)
def test_figures_use_each_quantitys_colour(name):
    found = [f"cell {i}: {p}" for i, source in enumerate(code_cells(name)) for p in problems(source)]
    assert not found, f"{name}: " + "\n".join(found)


def test_every_lesson_has_its_plots_read():
    """The checker sees the plotting calls it is meant to judge (a parser that reads nothing passes everything)."""
    counts = {name: sum(len(drawings(s)) for s in code_cells(name)) for name in ["01_motivation", "03_candidate_state"]}
    assert all(count >= 3 for count in counts.values()), counts


# The checker itself, on synthetic cells.
GOOD = [
    'ax.hist(m, color=COLORS["update"], label="update gate, layer 1")',
    'ax.plot(x, y, color="0.55", label="plain RNN (R = 1, Z = 0)")',
    'style = {"color": COLORS["candidate"]}\n(line,) = ax.plot([], [], **style, label=r"candidate $\\tilde{h}_t$")',
    'for name in ["reset", "update"]:\n    ax.scatter(a, b, color=COLORS[name], label=f"{name} gate")',
    'panels = [(R, "reset gate $R_t$")]\nfor g, t in panels:\n    ax.imshow(g, cmap=GATE_CMAP)',
    'ax.bar(range(9), x, color=COLORS["input"])',
    'ax.plot(d, n, color="black", ls="--", label="GRU, update-gate bias +3")',
]
BAD = [
    ('ax.hist(m, color=COLORS["candidate"], label="update gate, layer 2")', "drawn in"),
    ('ax.plot(d, n, color=COLORS["reset"], label="tanh RNN, orthogonal W_hh")', "does not name"),
    (
        'for (name, v), color in zip(sat.items(), ["tab:red", "tab:blue"]):\n'
        '    ax.scatter(v, v, color=color, label=f"{name} gate")',
        "a gate drawn in",
    ),
    ('ax.plot(z, color="#0072B2", label="update gate")', "write it as that"),
    ('ax.imshow(Z, cmap="viridis")\nax.set_title("update gate")', None),  # the title is another call: allowed
    ('ax.imshow(Z, cmap="viridis", label="update gate $Z_t$")', "GATE_CMAP"),
]


@pytest.mark.parametrize("source", GOOD)
def test_checker_passes_correct_colours(source):
    assert problems(source) == []


@pytest.mark.parametrize(("source", "message"), BAD)
def test_checker_catches_wrong_colours(source, message):
    found = problems(source)
    if message is None:
        assert found == []
    else:
        assert any(message in p for p in found), found

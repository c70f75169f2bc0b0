"""What a committed notebook is, written once: the scripts and ``tests/test_notebook_hygiene.py`` import it.

* Each notebook is a pair, ``notebooks/NN_name.md`` (MyST markdown, the text a writer edits) and
  ``notebooks/NN_name.ipynb`` (what Colab, nbval and the badges open), kept in step by jupytext
  (``notebooks/jupytext.toml``); :func:`pair_differences` says where a pair disagrees.
* The metadata allow-list: notebook metadata ``kernelspec`` and ``language_info: {name: python}``;
  cell metadata ``tags`` and ``jupyter.source_hidden`` (a worked solution kept collapsed).
* The Colab cell, built from the repository's one address, ``[project.urls] Repository`` in
  pyproject.toml.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import jupytext.cli
from nbformat import NotebookNode

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
# The chapter's notebooks: NN_name.ipynb / NN_name.md (other .md files in the folder are not notebooks).
NOTEBOOK_NAME = re.compile(r"\d\d_\w+")

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
CELL_METADATA = {"tags", "jupyter"}
JUPYTER_CELL_METADATA = {"source_hidden"}


def notebooks(repo: Path = REPO) -> list[Path]:
    """The chapter's ``.ipynb`` files, in order."""
    return sorted(p for p in (repo / "notebooks").glob("*.ipynb") if NOTEBOOK_NAME.fullmatch(p.stem))


def text_twins(repo: Path = REPO) -> list[Path]:
    """The chapter's ``.md`` files (the text side of each pair), in order."""
    return sorted(p for p in (repo / "notebooks").glob("*.md") if NOTEBOOK_NAME.fullmatch(p.stem))


def repository_url(repo: Path = REPO) -> str:
    """The repository's address, from ``[project.urls] Repository`` in pyproject.toml."""
    with open(repo / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def colab_cell_source(url: str) -> str:
    """The first code cell of every notebook: installs d2lutil in Colab only, upgrading nothing."""
    return (
        "# Colab only: install d2lutil beside Colab's own torch, matplotlib and ipywidgets (nothing is upgraded).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "d2lutil @ git+{url}"'
    )


def sync_pair(path: Path) -> None:
    """``jupytext --sync path``: the newer file of the pair gives the cells, the .ipynb keeps its cell ids."""
    status = jupytext.cli.jupytext(["--sync", "--quiet", str(path)])
    if status:
        raise RuntimeError(f"`jupytext --sync {path}` failed with status {status}")


def _allowed(metadata: dict, keys: set[str]) -> dict:
    return {k: v for k, v in metadata.items() if k in keys}


def pair_differences(ipynb: Path) -> list[str]:
    """How ``ipynb`` and its ``.md`` twin disagree: cell types, sources, cell metadata, kernelspec.

    Empty when they agree. Cell ids are not compared: the .md does not hold them (the .ipynb
    keeps its ids through ``jupytext --sync``).
    """
    md = ipynb.with_suffix(".md")
    if not md.exists():
        return [f"{md.name} is missing; create it with `jupytext --sync {ipynb.relative_to(REPO)}`"]
    a: NotebookNode = jupytext.read(ipynb)
    b: NotebookNode = jupytext.read(md)
    problems = []
    for key in sorted(NOTEBOOK_METADATA):
        if a.metadata.get(key) != b.metadata.get(key):
            problems.append(f"notebook metadata {key}: {a.metadata.get(key)} in .ipynb, {b.metadata.get(key)} in .md")
    if len(a.cells) != len(b.cells):
        problems.append(f"{len(a.cells)} cells in .ipynb, {len(b.cells)} in .md")
    for i, (x, y) in enumerate(zip(a.cells, b.cells, strict=False)):
        if x.cell_type != y.cell_type:
            problems.append(f"cell {i}: a {x.cell_type} cell in .ipynb, a {y.cell_type} cell in .md")
        elif x.source != y.source:
            problems.append(f"cell {i} ({x.cell_type}) source differs: {_first_difference(x.source, y.source)}")
        elif _allowed(x.metadata, CELL_METADATA) != _allowed(y.metadata, CELL_METADATA):
            problems.append(f"cell {i} metadata: {dict(x.metadata)} in .ipynb, {dict(y.metadata)} in .md")
    return problems


def _first_difference(a: str, b: str) -> str:
    """The first line where two cell sources differ, as 'line N: <.ipynb> vs <.md>'."""
    a_lines, b_lines = a.split("\n"), b.split("\n")
    n = next(
        (n for n, (p, q) in enumerate(zip(a_lines, b_lines, strict=False)) if p != q), min(len(a_lines), len(b_lines))
    )
    first = [lines[n] if n < len(lines) else "<no line>" for lines in (a_lines, b_lines)]
    return f"line {n + 1}: {first[0]!r} in .ipynb, {first[1]!r} in .md"

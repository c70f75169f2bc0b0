"""Shared pieces of the notebooks' build scripts: the fixed opening cells and the writer.

Each ``build_0N.py`` lists its cells and calls :func:`write`, which adds the title, the Colab cell and
the set-up cell, gives every cell a stable id (so a rebuild changes only what changed), strips
outputs, sets the chapter's metadata and validates the notebook.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1]

COLAB = '''\
# Colab only: install d2lutil beside Colab's own torch, matplotlib and ipywidgets (nothing is upgraded).
import sys

if "google.colab" in sys.modules:
    %pip install -q "d2lutil @ git+https://github.com/d2l-gru/gru-chapter"'''

SETUP = """\
import d2lutil

device = d2lutil.try_gpu()
BUDGET = d2lutil.budget(device)  # "quick" (D2LUTIL_QUICK=1, as in CI), "cpu" or "full"; overwrite to choose
print(d2lutil.describe_setting(device))"""

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


# The one cell metadata a notebook may carry: a collapsed source (worked solutions, opened on purpose).
HIDDEN = {"jupyter": {"source_hidden": True}}


def md(text: str, hidden: bool = False) -> nbformat.NotebookNode:
    """A markdown cell from an indented triple-quoted string (collapsed with ``hidden``)."""
    cell = nbformat.v4.new_markdown_cell(dedent(text).strip("\n"))
    cell.metadata = dict(HIDDEN) if hidden else {}
    return cell


def code(text: str, hidden: bool = False) -> nbformat.NotebookNode:
    """A code cell from an indented triple-quoted string (collapsed with ``hidden``)."""
    cell = nbformat.v4.new_code_cell(dedent(text).strip("\n"))
    cell.metadata = dict(HIDDEN) if hidden else {}
    return cell


def write(filename: str, title: str, cells: list[nbformat.NotebookNode]) -> Path:
    """Write notebooks/<filename>: title, Colab cell, set-up cell, then ``cells``; format it with ruff."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [md(title), code(COLAB), code(SETUP), *cells]
    stem = filename.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell.id = f"nb{stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "jupyter"}
    nb.metadata = METADATA
    nbformat.validate(nb)
    path = NOTEBOOKS / filename
    nbformat.write(nb, path)
    # Format the code cells as the project's linter wants them (ruff ships with the [test] extra).
    formatted = subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(path)], check=False)
    if formatted.returncode != 0:
        print("ruff is not installed: the notebook is written but not formatted", file=sys.stderr)
    print(f"wrote {path} ({len(nb.cells)} cells)")
    return path

"""Shared pieces of the build scripts of notebooks 04 and 05: the fixed opening cells and the writer.

``build_04.py`` and ``build_05.py`` list their cells and call :func:`write`, which adds the title,
the Colab cell and the set-up cell, gives every cell a stable id (so that a rebuild changes only
what changed), leaves outputs and execution counts empty, sets the chapter's metadata and
validates the notebook.
"""

from __future__ import annotations

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


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell from an indented triple-quoted string."""
    return nbformat.v4.new_markdown_cell(dedent(text).strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    """A code cell from an indented triple-quoted string."""
    return nbformat.v4.new_code_cell(dedent(text).strip("\n"))


def write(filename: str, title: str, cells: list[nbformat.NotebookNode]) -> Path:
    """Write notebooks/<filename>: the title, the Colab cell, the set-up cell, then ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [md(title), code(COLAB), code(SETUP), *cells]
    stem = filename.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell.id = f"nb{stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {}
    nb.metadata = METADATA
    nbformat.validate(nb)
    path = NOTEBOOKS / filename
    nbformat.write(nb, path)
    print(f"wrote {path} ({len(nb.cells)} cells)")
    return path

"""Clean notebooks for committing: nbstripout, plus the project's metadata allow-list.

nbstripout removes outputs, execution counts and the metadata it knows to be stray (widget state,
timings, ``collapsed``, ``scrolled`` ...); it keeps the kernelspec. It works by a deny-list, so this
script then keeps only what the project allows (``tests/test_notebook_hygiene.py`` checks it):

* notebook metadata: ``kernelspec`` and ``language_info`` reduced to ``{"name": "python"}``
  (JupyterLab and Colab add the version, the CodeMirror mode, ``colab``, ``accelerator`` ...);
* cell metadata: ``tags`` and ``jupyter.source_hidden`` (a worked solution kept collapsed).

Cell ids are kept (``--keep-id``), so a notebook written by a build script does not churn.

    python scripts/clean_notebooks.py                    # every notebooks/*.ipynb, in place
    python scripts/clean_notebooks.py --check            # change nothing; exit 1 if one is not clean
    python scripts/clean_notebooks.py path/to/x.ipynb    # just these (what the pre-commit hook passes)

Plain nbstripout does most of it too: ``nbstripout --keep-id notebooks/*.ipynb``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbstripout import strip_output

REPO = Path(__file__).resolve().parents[1]
# nbstripout's own defaults (the command line adds them; the Python API does not).
NBSTRIPOUT_DEFAULT_KEYS = [
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
]
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
CELL_METADATA = {"tags", "jupyter"}
JUPYTER_CELL_METADATA = {"source_hidden"}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook stripped of outputs, counts and every metadata key the project does not allow."""
    nb = strip_output(nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=NBSTRIPOUT_DEFAULT_KEYS)
    for key in set(nb.metadata) - NOTEBOOK_METADATA:
        del nb.metadata[key]
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        for key in set(meta) - CELL_METADATA:
            del meta[key]
        jupyter = meta.get("jupyter")
        if jupyter is not None:
            for key in set(jupyter) - JUPYTER_CELL_METADATA:
                del jupyter[key]
            if not jupyter:
                del meta["jupyter"]
        if not meta.get("tags", True):
            del meta["tags"]
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a notebook is not clean")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((REPO / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        before = path.read_text()
        nb = clean(nbformat.reads(before, as_version=nbformat.NO_CONVERT))
        after = nbformat.writes(nb) + "\n"
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after)
    for path in dirty:
        print(f"{'not clean' if args.check else 'cleaned'}: {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())

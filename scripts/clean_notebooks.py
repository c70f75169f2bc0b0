"""Clean the notebook pairs for committing: sync each .md/.ipynb pair, strip the .ipynb, format it, resync.

Each notebook is a pair (``notebooks/NN_name.md``, the text you edit, and ``notebooks/NN_name.ipynb``),
kept in step by jupytext. For each pair this script

1. runs ``jupytext --sync`` (the newer file of the pair gives the cells; the .ipynb keeps its cell ids);
2. strips the .ipynb with nbstripout (outputs, execution counts, the metadata it knows to be stray)
   and keeps only the project's metadata allow-list (``scripts/notebook_policy.py``): notebook
   metadata ``kernelspec`` and ``language_info: {name: python}``, cell metadata ``tags`` and
   ``jupyter.source_hidden`` (a worked solution kept collapsed);
3. formats the .ipynb's code with ``ruff check --fix`` and ``ruff format`` (what tests/test_lint.py checks);
4. syncs again when 2 or 3 changed the .ipynb, so that the .md holds ruff's formatting too.

    python scripts/clean_notebooks.py                  # every pair, in place
    python scripts/clean_notebooks.py --check          # change nothing; exit 1 if one is not clean or a pair disagrees
    python scripts/clean_notebooks.py notebooks/02_gates.md   # just these (either file of a pair)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat
from nbstripout import strip_output
from notebook_policy import (
    CELL_METADATA,
    JUPYTER_CELL_METADATA,
    LANGUAGE_INFO,
    NOTEBOOK_METADATA,
    REPO,
    notebooks,
    pair_differences,
    sync_pair,
    text_twins,
)

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


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook stripped of outputs, counts and every metadata key the project does not allow."""
    nb = strip_output(nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=NBSTRIPOUT_DEFAULT_KEYS)
    for key in set(nb.metadata) - NOTEBOOK_METADATA:
        del nb.metadata[key]
    if "language_info" in nb.metadata:  # JupyterLab adds the version, the CodeMirror mode ...
        nb.metadata["language_info"] = {k: nb.metadata["language_info"].get(k, v) for k, v in LANGUAGE_INFO.items()}
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


def cleaned_text(path: Path) -> tuple[str, str]:
    """The .ipynb's text as it is and as it would be once cleaned."""
    before = path.read_text()
    return before, nbformat.writes(clean(nbformat.reads(before, as_version=nbformat.NO_CONVERT))) + "\n"


def ruff(path: Path) -> bool:
    """``ruff check --fix`` and ``ruff format`` on one notebook; False when ruff leaves an error (it prints it)."""
    checked = subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--quiet", str(path)], cwd=REPO)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(path)], cwd=REPO, check=False)
    return checked.returncode == 0


def clean_pair(ipynb: Path) -> list[str]:
    """Sync, clean, ruff and resync the pair of ``ipynb``; returns what is left to fix by hand."""
    md = ipynb.with_suffix(".md")
    sync_pair(md if md.exists() else ipynb)  # the newer file wins; a missing side is created
    before, after = cleaned_text(ipynb)
    if after != before:
        ipynb.write_text(after)
    problems = [] if ruff(ipynb) else [f"ruff check: errors left in {ipynb.relative_to(REPO)} (above); fix its .md"]
    if ipynb.read_text() != before:
        print(f"cleaned: {ipynb.relative_to(REPO)}")
        sync_pair(ipynb)  # the .ipynb is now the newer file: the .md takes ruff's changes
    return problems


def check_pair(ipynb: Path) -> list[str]:
    """What is not clean in the pair of ``ipynb``, changing nothing."""
    if not ipynb.exists():
        return [f"{ipynb.name} is missing: run this script without --check to create it from its .md"]
    before, after = cleaned_text(ipynb)
    problems = [f"not clean: {ipynb.name}"] if after != before else []
    return problems + [f"{ipynb.name} and its .md disagree: {d}" for d in pair_differences(ipynb)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="either file of a pair (default: every notebook)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a notebook is not clean")
    args = parser.parse_args(argv)
    given = [p.resolve() for p in args.paths] or [*notebooks(), *text_twins()]  # a new .md has no .ipynb yet
    problems = []
    for ipynb in sorted({p.with_suffix(".ipynb") for p in given}):
        problems += check_pair(ipynb) if args.check else clean_pair(ipynb)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

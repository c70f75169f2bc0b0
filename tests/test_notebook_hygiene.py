"""The notebooks are committed clean and ready for Colab, and CI runs what the README says.

* Clean: no outputs, no execution counts, notebook metadata only ``kernelspec`` and
  ``language_info: {name: python}``, cell metadata only ``tags`` and ``jupyter.source_hidden``
  (a collapsed worked solution). Clean them with ``python scripts/clean_notebooks.py``.
* Colab: the first code cell is the Colab cell built from the one repository address
  (``[project.urls] Repository`` in pyproject.toml), right after the title; a kernelspec is kept
  (without one JupyterLab asks for a kernel); no path that only exists in this repository.
* The README's "Open in Colab" badges list exactly the notebooks, with the same address
  (``python scripts/sync_colab_cells.py`` rewrites the cells and the badges from the one source).
* ``.ci/run`` runs the README's test command verbatim.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
ALLOWED_CELL_METADATA = {"tags", "jupyter"}
ALLOWED_JUPYTER_CELL_METADATA = {"source_hidden"}

# Paths that exist only in a checkout of this repository (or on the machines that built it).
REPO_ONLY_IN_CODE = [
    (re.compile(r"""["'][^"'\n]*\.\./"""), "a relative path that climbs out of the notebook's folder ('../')"),
    (re.compile(r"""["'](?:\./)?(?:figures|notebooks|tests|scripts|bench)/"""), "a path into the repository's folders"),
    (re.compile(r"/work/"), "an absolute path of the build machine (/work/)"),
    (re.compile(r"shared/data"), "the build machine's data folder (use d2lutil.data / D2LUTIL_DATA_DIR)"),
    (
        re.compile(r"""["'][^"'\n]*d2lutil/pretrained"""),
        "the checkpoint folder as a path (use load_checkpoint('gru_lm'))",
    ),
    (re.compile(r"timemachine\.txt"), "the data file by name (use d2lutil.data, which finds or downloads it)"),
]
# Markdown: a relative link or image target does not load in Colab (embed it or draw it from code).
MD_TARGET = re.compile(r"""(?:\]\(|src=["'])(?!https?:|data:|#|mailto:)([^)"'\s]+)""")

spec = importlib.util.spec_from_file_location("sync_colab_cells", REPO / "scripts" / "sync_colab_cells.py")
assert spec and spec.loader
sync_colab_cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync_colab_cells)

URL = sync_colab_cells.repository_url(REPO)
COLAB_CELL = sync_colab_cells.colab_cell_source(URL)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return sync_colab_cells.cell_source(cell)


ids = [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_nbformat(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_clean(path: Path) -> None:
    """No outputs, no execution counts, no metadata beyond what is allowed."""
    nb = load(path)
    problems = []
    extra = set(nb.get("metadata", {})) - {"kernelspec", "language_info"}
    if extra:
        problems.append(f"notebook metadata has {sorted(extra)} (only kernelspec and language_info are kept)")
    if nb.get("metadata", {}).get("language_info", LANGUAGE_INFO) != LANGUAGE_INFO:
        problems.append(f"language_info is {nb['metadata']['language_info']}, not {LANGUAGE_INFO}")
    for i, cell in enumerate(nb["cells"]):
        if cell.get("outputs"):
            problems.append(f"cell {i} has {len(cell['outputs'])} outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has execution_count {cell['execution_count']}")
        meta = cell.get("metadata", {})
        if set(meta) - ALLOWED_CELL_METADATA:
            problems.append(f"cell {i} metadata has {sorted(set(meta) - ALLOWED_CELL_METADATA)}")
        if set(meta.get("jupyter", {})) - ALLOWED_JUPYTER_CELL_METADATA:
            problems.append(
                f"cell {i} metadata.jupyter has {sorted(set(meta['jupyter']) - ALLOWED_JUPYTER_CELL_METADATA)}"
            )
        if cell.get("attachments"):
            problems.append(f"cell {i} has attachments (embed figures as data: URIs or draw them from code)")
    assert not problems, f"{path.name} is not clean; run `python scripts/clean_notebooks.py`:\n  " + "\n  ".join(
        problems
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_kernelspec(path: Path) -> None:
    """Without a kernelspec JupyterLab opens a kernel chooser instead of running the notebook."""
    assert load(path).get("metadata", {}).get("kernelspec") == KERNELSPEC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_title_then_colab_cell(path: Path) -> None:
    nb = load(path)
    assert nb["cells"] and nb["cells"][0]["cell_type"] == "markdown", f"{path.name}: the first cell is not the title"
    assert source(nb["cells"][0]).lstrip().startswith("# "), f"{path.name}: the first cell is not a '# Title' cell"
    assert nb["cells"][1]["cell_type"] == "code", f"{path.name}: the Colab cell must follow the title"
    assert source(nb["cells"][1]) == COLAB_CELL, (
        f"{path.name}: the first code cell differs from the Colab cell built from {URL}; "
        f"run `python scripts/sync_colab_cells.py`.\nExpected:\n{COLAB_CELL}\nFound:\n{source(nb['cells'][1])}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_repository_only_paths(path: Path) -> None:
    """Data, checkpoints and figures come from the package, so the notebook runs in Colab and anywhere."""
    problems = []
    for i, cell in enumerate(load(path)["cells"]):
        text = source(cell)
        if cell["cell_type"] == "code":
            for pattern, why in REPO_ONLY_IN_CODE:
                for m in pattern.finditer(text):
                    line = text[: m.start()].count("\n") + 1
                    problems.append(f"cell {i} line {line}: {why}: {text.splitlines()[line - 1].strip()}")
        elif cell["cell_type"] == "markdown":
            for m in MD_TARGET.finditer(text):
                problems.append(f"cell {i}: relative link or image {m.group(1)!r} does not load in Colab")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_readme_badges_match_notebooks() -> None:
    """One "Open in Colab" badge per notebook, all built from the repository address in pyproject.toml."""
    readme = (REPO / "README.md").read_text()
    found = re.findall(r"https://colab\.research\.google\.com/github/[^\s)\"']+", readme)
    expected = [sync_colab_cells.colab_url(URL, nb.name) for nb in NOTEBOOKS]
    assert sorted(set(found)) == sorted(expected), (
        f"README's Colab links {sorted(set(found))} differ from the notebooks {expected}; "
        "run `python scripts/sync_colab_cells.py`"
    )
    assert sync_colab_cells.badges_block(URL, NOTEBOOKS) in readme


def test_one_repository_address() -> None:
    """The address is written in pyproject.toml only; nothing else in the tree spells another one."""
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), URL
    others = []
    for path in [REPO / "README.md", *NOTEBOOKS, *(REPO / "d2lutil").glob("*.py")]:
        for m in re.finditer(
            r"git\+https://github\.com/[\w.-]+/[\w.-]+|github\.com/[\w.-]+/[\w.-]+/blob", path.read_text()
        ):
            if URL.removeprefix("https://") not in m.group(0):
                others.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert not others, "addresses that differ from pyproject's Repository:\n" + "\n".join(others)


def readme_test_command() -> str:
    """The command of the README's "2." code block (install and run the whole test suite)."""
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    commands = [
        line for b in blocks if b.lstrip().startswith("# 2.") for line in b.splitlines() if not line.startswith("#")
    ]
    assert len(commands) == 1, f"expected one command in the README's '# 2.' block, found {commands}"
    return commands[0].strip()


def test_ci_runs_the_readme_command_verbatim() -> None:
    command = readme_test_command()
    assert "pytest" in command
    ci = (REPO / ".ci" / "run").read_text()
    assert command in ci.splitlines() or any(line.strip() == command for line in ci.splitlines()), (
        f".ci/run does not run the README's test command verbatim:\n{command}"
    )

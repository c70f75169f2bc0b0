"""The notebooks are committed clean, paired with their text and ready for Colab; CI runs what the README says.

* Paired: every ``notebooks/NN_name.ipynb`` has a MyST-markdown twin ``NN_name.md`` (the text a
  writer edits), paired by ``notebooks/jupytext.toml``, and the two hold the same cells, sources
  and metadata (``python scripts/clean_notebooks.py`` syncs them with jupytext).
* Clean: no outputs, no execution counts, notebook metadata only ``kernelspec`` and
  ``language_info: {name: python}``, cell metadata only ``tags`` and ``jupyter.source_hidden``
  (a collapsed worked solution): the allow-list of ``scripts/notebook_policy.py``. Clean them with
  ``python scripts/clean_notebooks.py``.
* Colab: the first code cell is the Colab cell built from the one repository address
  (``[project.urls] Repository`` in pyproject.toml), right after the title; a kernelspec is kept
  (without one JupyterLab asks for a kernel); no path that only exists in this repository.
* The README's "Open in Colab" badges list exactly the notebooks, with the same address
  (``python scripts/sync_colab_cells.py`` rewrites the cells and the badges from the one source).
* ``.ci/run`` runs the README's test command verbatim.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import jupytext.config
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))  # the scripts import notebook_policy by name, as when they run
policy = importlib.import_module("notebook_policy")
sync_colab_cells = importlib.import_module("sync_colab_cells")
clean_notebooks = importlib.import_module("clean_notebooks")

NOTEBOOKS = policy.notebooks(REPO)
TEXT_TWINS = policy.text_twins(REPO)
KERNELSPEC = policy.KERNELSPEC
LANGUAGE_INFO = policy.LANGUAGE_INFO
ALLOWED_CELL_METADATA = policy.CELL_METADATA
ALLOWED_JUPYTER_CELL_METADATA = policy.JUPYTER_CELL_METADATA

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

URL = policy.repository_url(REPO)
COLAB_CELL = policy.colab_cell_source(URL)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return sync_colab_cells.cell_source(cell)


ids = [p.name for p in NOTEBOOKS]


def test_every_notebook_has_its_text_twin() -> None:
    """Each .ipynb has its .md and each .md its .ipynb (Colab, nbval and the badges open the .ipynb)."""
    assert NOTEBOOKS, "no notebooks/NN_name.ipynb found"
    ipynb, md = {p.stem for p in NOTEBOOKS}, {p.stem for p in TEXT_TWINS}
    assert ipynb == md, (
        f"unpaired: .ipynb without .md {sorted(ipynb - md)}, .md without .ipynb {sorted(md - ipynb)}; "
        "run `python scripts/clean_notebooks.py`, which creates the missing side with jupytext"
    )


def test_pairing_is_configured_for_the_folder() -> None:
    """jupytext (its command line and JupyterLab's contents manager) pairs notebooks/ as ipynb + MyST."""
    config_file = jupytext.config.find_jupytext_configuration_file(str(REPO / "notebooks"))
    assert config_file == str(REPO / "notebooks" / "jupytext.toml"), config_file
    config = jupytext.config.load_jupytext_configuration_file(config_file)
    assert config.formats == ["ipynb,md:myst"], config.formats
    # The .md carries the cell metadata the project allows, and only that (the allow-list of notebook_policy).
    assert set(config.cell_metadata_filter.split(",")) == {*ALLOWED_CELL_METADATA, "-all"}, config.cell_metadata_filter


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_pair_in_sync(path: Path) -> None:
    """The .ipynb and its .md hold the same cells, sources and metadata (CI fails on a one-sided edit)."""
    problems = policy.pair_differences(path)
    md = path.with_suffix(".md").relative_to(REPO)
    fix = f"run `python scripts/clean_notebooks.py {md}`: it syncs the pair (`jupytext --sync`, the newer file wins)"
    assert not problems, f"{path.name} and {md.name} disagree; {fix}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_nbformat(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_clean(path: Path) -> None:
    """No outputs, no execution counts, no metadata beyond what is allowed."""
    nb = load(path)
    problems = []
    extra = set(nb.get("metadata", {})) - policy.NOTEBOOK_METADATA
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
    before, after = clean_notebooks.cleaned_text(path)
    assert before == after, f"{path.name}: `python scripts/clean_notebooks.py` would rewrite it; run it"


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
    for path in [
        REPO / "README.md",
        *NOTEBOOKS,
        *TEXT_TWINS,
        *(REPO / "d2lutil").rglob("*.py"),
        *(REPO / "scripts").glob("*.py"),
    ]:
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

"""Build the chapter's website with Jupyter Book 1.x: the landing page and one page per notebook, executed.

    python scripts/build_site.py                  # the budget the machine picks (the CPU budget, for publishing)
    D2LUTIL_QUICK=1 python scripts/build_site.py  # CI's quick budget
    python scripts/build_site.py --reuse          # again, with the notebooks the last build executed
    python -m http.server -d _build/site/_build/html   # then open http://localhost:8000

Nothing under ``notebooks/`` or ``book/`` is written. The build works on a staging folder,
``_build/site/src``: a copy of ``book/`` (configuration, landing page, static files) plus an
executed copy of every ``notebooks/NN_x.ipynb`` (the ``.md`` twins are not used: one source per
page), each prepared for a static page:

* executed with nbclient (the kernel gets this process's environment: ``D2LUTIL_QUICK`` and
  ``D2LUTIL_DATA_DIR`` mean what they mean in a notebook);
* worked solutions (cells with ``jupyter.source_hidden``) get the ``hide-cell`` tag, so the page
  shows them collapsed, code and output (the output would give the answer away);
* the page opens with the lesson, not with the set-up: the Colab cell (``%pip install ...``, of no
  use on a web page, where the badge opens Colab) gets the ``remove-cell`` tag, and the budget cell
  (the one that prints ``d2lutil.describe_setting``) the ``hide-cell`` tag: collapsed, code and
  printout, so a reader can still see which budget drew the page's figures;
* a heading never goes down more than one level from the one before (``####`` under ``##``
  becomes ``###``), as Sphinx requires;
* each widget view becomes what it showed when the run ended (its images, HTML and captured output,
  read from the stored widget state) and a note saying that the controls need a kernel; no widget
  JavaScript is loaded, so the page asks no CDN for a loader;
* an "Open in Colab" badge under the title, to the address built from pyproject's repository URL.

``_includes/`` gets the landing page's parts that have one source elsewhere: the table of
notebooks and the two commands (from README.md), the results (README.md, between
``<!-- results -->`` markers), and the gate explorer block (its screenshot, and a link to
``_static/gate_explorer.html`` when that page exists). MathJax 3 (the TeX input and CommonHTML output
component, and its fonts) is copied from the ``sphinx-mathjax-offline`` package into
``_static/mathjax``, so equations render with no network. ``jupyter-book build -W --keep-going``
then makes ``_build/site/_build/html``; any Sphinx warning fails the build.
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_policy import colab_cell_source  # noqa: E402  (sibling scripts, not a package)
from sync_colab_cells import colab_url, repository_url  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
OUT = REPO / "_build" / "site"
BADGE = "_static/colab-badge.svg"
EXPLORER_PAGE = "_static/gate_explorer.html"
EXPLORER_SCREENSHOT = "_static/gate_explorer.png"
RESULTS_BEGIN, RESULTS_END = "<!-- results -->", "<!-- /results -->"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    "Interactive in the notebook: this is the figure as the run left it{settings}. "
    "Moving the controls needs a running Python kernel: open the notebook in JupyterLab or in Colab "
    "(badge at the top of the page)."
)
# MathJax 3 as Sphinx loads it (mathjax_path in book/_config.yml): the "full" TeX component needs
# no extension loaded later; the CommonHTML output reads its fonts from output/chtml/fonts.
MATHJAX_FILES = ["tex-chtml-full.js"]
MATHJAX_FOLDERS = ["output/chtml/fonts/woff-v2"]


# --------------------------------------------------------------------------------------------
# Executing and preparing one notebook
# --------------------------------------------------------------------------------------------


def execute(path: Path, timeout: float) -> nbformat.NotebookNode:
    """Run a copy of the notebook at ``path`` top to bottom in a temporary folder; errors stop the build."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="site-run-") as workdir:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": workdir}})
        client.execute()
    return nb


def tag_solutions(nb: nbformat.NotebookNode) -> None:
    """Give every cell whose source is collapsed in Jupyter the ``hide-cell`` tag (code and output collapsed)."""
    for cell in nb.cells:
        if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
            _add_tag(cell, "hide-cell")


def _add_tag(cell: nbformat.NotebookNode, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def tag_setup_cells(nb: nbformat.NotebookNode, colab_cell: str) -> None:
    """Remove the Colab cell (its source is ``colab_cell``) from the page, and collapse the budget cell.

    The budget cell is the first code cell that calls ``describe_setting(``. A notebook without a
    Colab cell is an error (``python scripts/sync_colab_cells.py`` writes it).
    """
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code or code[0].source != colab_cell:
        raise ValueError("the first code cell is not the Colab cell: run `python scripts/sync_colab_cells.py`")
    _add_tag(code[0], "remove-cell")
    budget = next((cell for cell in code if "describe_setting(" in cell.source), None)
    if budget is not None:
        _add_tag(budget, "hide-cell")


def fix_heading_levels(nb: nbformat.NotebookNode) -> None:
    """Lift any heading that is more than one level below the heading before it (Sphinx warns on a jump)."""
    last = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines, fenced = cell.source.split("\n"), False
        for i, line in enumerate(lines):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            match = None if fenced else re.match(r"(#{1,6})\s", line)
            if match:
                level = min(len(match.group(1)), last + 1)
                lines[i] = "#" * level + line[len(match.group(1)) :]
                last = level
        cell.source = "\n".join(lines)


def add_colab_badge(nb: nbformat.NotebookNode, url: str) -> None:
    """Put an "Open in Colab" badge (a local image, linked to ``url``) under the notebook's title."""
    first = nb.cells[0]
    if first.cell_type != "markdown" or not first.source.startswith("# "):
        raise ValueError(f"the first cell must be the '# Title' markdown cell (README, 'Add a notebook'); got {first}")
    title, _, rest = first.source.partition("\n")
    first.source = f"{title}\n\n[![Open In Colab]({BADGE})]({url})\n{rest}"


def _widget_parts(model_id: str, state: dict, outputs: list, settings: list[str]) -> None:
    """Collect, depth first, what the widget ``model_id`` and its children show: pictures, HTML and
    captured output into ``outputs`` (nbformat outputs), ``description = value`` of controls into ``settings``."""
    model = state.get(model_id)
    if model is None:
        return
    name, values = model["model_name"], model["state"]
    buffers = {tuple(b["path"]): b["data"] for b in model.get("buffers", [])}
    if name == "ImageModel" and ("value",) in buffers:
        mime = "image/" + values.get("format", "png")
        data = buffers[("value",)]
        if mime == "image/svg+xml":
            data = base64.b64decode(data).decode("utf-8")
        outputs.append(nbformat.v4.new_output("display_data", data={mime: data}))
    elif name == "HTMLModel" and values.get("value"):
        outputs.append(nbformat.v4.new_output("display_data", data={"text/html": values["value"]}))
    elif name == "OutputModel":
        outputs.extend(nbformat.from_dict(o) for o in values.get("outputs", []))
    elif values.get("description") and ("value" in values or "index" in values):
        value = values.get("value")
        if "_options_labels" in values and values.get("index") is not None:
            value = values["_options_labels"][values["index"]]
        settings.append(f"{values['description']} = {value}")
    for child in values.get("children", []):
        _widget_parts(child.removeprefix("IPY_MODEL_"), state, outputs, settings)


def freeze_widgets(nb: nbformat.NotebookNode) -> int:
    """Replace every widget view by what it showed and a note; drop the widget state. Returns the count."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        frozen = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                frozen.append(output)
                continue
            count += 1
            parts: list = []
            settings: list[str] = []
            _widget_parts(view["model_id"], state, parts, settings)
            shown = f" ({', '.join(settings)})" if settings else ""
            note = f'<p class="widget-note">{html.escape(WIDGET_NOTE.format(settings=shown))}</p>'
            frozen.extend(parts)
            frozen.append(nbformat.v4.new_output("display_data", data={"text/html": note}))
        cell.outputs = frozen
    return count


def prepare(nb: nbformat.NotebookNode, colab: str, colab_cell: str) -> nbformat.NotebookNode:
    """The executed notebook as the website shows it (see the module docstring); ``colab`` is its Colab
    address, ``colab_cell`` the Colab cell's source."""
    nb = copy.deepcopy(nb)
    tag_solutions(nb)
    tag_setup_cells(nb, colab_cell)
    fix_heading_levels(nb)
    freeze_widgets(nb)
    add_colab_badge(nb, colab)
    return nb


# --------------------------------------------------------------------------------------------
# The landing page's parts, MathJax, and the build
# --------------------------------------------------------------------------------------------


def readme_section(readme: str, begin: str, end: str) -> str:
    """The text between two marker lines of README.md."""
    if begin not in readme or end not in readme:
        raise ValueError(f"README.md must hold the markers {begin} and {end} around the section the site shows")
    return readme.split(begin, 1)[1].split(end, 1)[0].strip() + "\n"


def notebook_table(readme: str, repo_url: str, notebooks: list[Path]) -> str:
    """The README's table of notebooks with each row linked to its page and to Colab."""
    described = dict(re.findall(r"^\| `notebooks/(\S+\.ipynb)` \| (.+?) \|$", readme, flags=re.MULTILINE))
    rows = ["| Notebook | What it shows | Run it |", "|---|---|---|"]
    for path in notebooks:
        if path.name not in described:
            raise ValueError(f"README.md's table of notebooks has no row for notebooks/{path.name}: add one")
        title = nbformat.read(path, as_version=4).cells[0].source.partition("\n")[0].lstrip("# ").strip()
        rows.append(
            f"| [{title}]({path.name}) | {described[path.name]} "
            f"| [![Open In Colab]({BADGE})]({colab_url(repo_url, path.name)}) |"
        )
    return "\n".join(rows) + "\n"


def readme_commands(readme: str) -> str:
    """README's two set-up commands (the bash blocks that start with '# 1.' and '# 2.')."""
    blocks = re.findall(r"```bash\n(# [12]\. .*?)```", readme, flags=re.DOTALL)
    if len(blocks) != 2:
        raise ValueError(f"README.md should hold two bash blocks starting '# 1.' and '# 2.'; found {len(blocks)}")
    return "".join(f"```bash\n{block}```\n\n" for block in blocks)


def explorer_block(static: Path) -> str:
    """A link to the self-contained explorer page when it exists, and the explorer's screenshot."""
    picture = f"![The gate explorer: a passage coloured by one unit's update gate]({EXPLORER_SCREENSHOT})\n"
    if (static.parent / EXPLORER_PAGE).is_file():
        return (
            "A trained GRU reads passages of *The Time Machine*; colour the text by any unit's update or "
            "reset gate, in your browser with nothing to install: "
            f'<a href="{EXPLORER_PAGE}">open the gate explorer</a>.\n\n' + picture
        )
    return (
        "Notebook 5 opens a trained GRU and colours the text of *The Time Machine* by what its gates "
        "do, unit by unit; run [notebook 5](05_concise.ipynb) to use it.\n\n" + picture
    )


def write_includes(src: Path, notebooks: list[Path]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parts = src / "_includes"
    parts.mkdir()
    (parts / "notebooks.md").write_text(notebook_table(readme, repository_url(), notebooks), encoding="utf-8")
    (parts / "commands.md").write_text(readme_commands(readme), encoding="utf-8")
    (parts / "results.md").write_text(readme_section(readme, RESULTS_BEGIN, RESULTS_END), encoding="utf-8")
    (parts / "explorer.md").write_text(explorer_block(src / "_static"), encoding="utf-8")


def vendor_mathjax(static: Path) -> None:
    """Copy MathJax 3's TeX-to-CommonHTML component and its fonts into ``static``/mathjax."""
    dist = importlib.metadata.distribution("sphinx-mathjax-offline")
    entry = next((f for f in dist.files or [] if f.name == "tex-chtml-full.js"), None)
    if entry is None:
        raise FileNotFoundError("sphinx-mathjax-offline lacks tex-chtml-full.js: pip install 'd2lutil[site]'")
    root = Path(entry.locate()).parent
    target = static / "mathjax"
    for name in MATHJAX_FILES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)
    for folder in MATHJAX_FOLDERS:
        shutil.copytree(root / folder, target / folder)


def jupyter_book() -> str:
    beside = Path(sys.executable).with_name("jupyter-book")
    found = str(beside) if beside.is_file() else shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError("jupyter-book is not installed: pip install -e '.[site]' (Jupyter Book 1.x)")
    return found


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def build(out: Path = OUT, timeout: float = 1800.0, reuse: bool = False) -> Path:
    """Execute, stage and build the site under ``out``; return the folder of the HTML pages.

    The executed notebooks are kept in ``out/executed``; ``reuse=True`` takes them from there
    instead of running the notebooks again (for work on ``book/`` or on this script).
    """
    started = time.monotonic()
    src, executed = out / "src", out / "executed"
    for stale in (src, out / "_build"):
        if stale.exists():
            shutil.rmtree(stale)
    shutil.copytree(BOOK, src)
    executed.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    colab_base = repository_url()
    for path in notebooks:
        tick = time.monotonic()
        if reuse:
            if not (executed / path.name).is_file():
                raise FileNotFoundError(f"--reuse: {executed / path.name} is missing; build once without --reuse")
            nb = nbformat.read(executed / path.name, as_version=4)
        else:
            nb = execute(path, timeout)
            nbformat.write(nb, executed / path.name)
            print(f"[{time.monotonic() - tick:5.0f} s] executed {path.name}", flush=True)
        nbformat.write(prepare(nb, colab_url(colab_base, path.name), colab_cell_source(colab_base)), src / path.name)
    write_includes(src, notebooks)
    vendor_mathjax(src / "_static")
    tick = time.monotonic()
    command = [jupyter_book(), "build", str(src), "--path-output", str(out), "--all", "-W", "--keep-going"]
    subprocess.run(command, check=True)
    site = out / "_build" / "html"
    size, files = folder_size(site)
    pages = len(list(site.glob("*.html")))
    print(
        f"[{time.monotonic() - tick:5.0f} s] jupyter-book build: {pages} HTML pages, {files} files, {size / 1e6:.1f} MB"
    )
    print(f"[{time.monotonic() - started:5.0f} s] site in {site}")
    return site


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT.relative_to(REPO)})")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds one cell may run (default 1800)")
    parser.add_argument(
        "--reuse", action="store_true", help="take the notebooks executed by the previous build in OUT/executed"
    )
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.timeout, args.reuse)


if __name__ == "__main__":
    main()

"""Write the Colab set-up cell of every notebook and the README's "Open in Colab" badges from one place.

The repository's address lives only in ``pyproject.toml`` (``[project.urls] Repository``); the cell
is built from it by ``notebook_policy.colab_cell_source``. This script is the one writer of that
cell: it makes each notebook's first code cell the Colab cell (in the .ipynb, then syncs the .md
twin with jupytext), and rewrites the badge list between the README's ``<!-- colab-badges -->``
markers. ``--check`` changes nothing and exits with 1 when a file is out of date
(``tests/test_notebook_hygiene.py`` makes the same checks).

    python scripts/sync_colab_cells.py          # rewrite
    python scripts/sync_colab_cells.py --check  # verify only
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from notebook_policy import REPO, colab_cell_source, notebooks, repository_url, sync_pair

BADGES_BEGIN, BADGES_END = "<!-- colab-badges -->", "<!-- /colab-badges -->"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def colab_url(url: str, notebook: str, branch: str = "main") -> str:
    """The Colab address that opens ``notebooks/<notebook>`` of the GitHub repository at ``url``."""
    github = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?", url)
    if not github:
        raise ValueError(f"{url} is not a https://github.com/OWNER/NAME address; Colab opens notebooks from GitHub")
    return f"https://colab.research.google.com/github/{github.group(1)}/blob/{branch}/notebooks/{notebook}"


def badges_block(url: str, notebooks: list[Path]) -> str:
    """The README's badge list, one line per notebook, between the markers."""
    lines = [
        f"- [![Open In Colab]({BADGE_IMAGE})]({colab_url(url, nb.name)}) `notebooks/{nb.name}`" for nb in notebooks
    ]
    return "\n".join([BADGES_BEGIN, *lines, BADGES_END])


def first_code_cell(nb: dict) -> dict | None:
    return next((c for c in nb["cells"] if c["cell_type"] == "code"), None)


def cell_source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def sync(check: bool, repo: Path = REPO) -> list[str]:
    """Bring the notebooks and the README in line with the repository address; returns what (would have) changed."""
    url = repository_url(repo)
    want = colab_cell_source(url)
    changed = []
    for path in notebooks(repo):
        if not check:
            sync_pair(path)  # bring in edits of the .md first: the .ipynb may be written next
        nb = nbformat.reads(path.read_text(), as_version=nbformat.NO_CONVERT)
        cell = first_code_cell(nb)
        if cell is not None and cell_source(cell) == want:
            continue
        changed.append(str(path.relative_to(repo)))
        if check:
            continue
        # Replace a first code cell that is a Colab cell (an older address); otherwise insert one
        # after the leading markdown cells (the title).
        if cell is not None and "google.colab" in cell_source(cell):
            cell["source"] = want
        else:
            at = next((i for i, c in enumerate(nb["cells"]) if c["cell_type"] != "markdown"), len(nb["cells"]))
            nb["cells"].insert(at, nbformat.v4.new_code_cell(want))
        path.write_text(nbformat.writes(nb) + "\n")
        sync_pair(path)  # the .ipynb is now the newer file: the .md takes the cell

    readme = repo / "README.md"
    text = readme.read_text()
    block = badges_block(url, notebooks(repo))
    pattern = re.compile(re.escape(BADGES_BEGIN) + r".*?" + re.escape(BADGES_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {BADGES_BEGIN} ... {BADGES_END} block to fill")
    new = pattern.sub(lambda _: block, text)
    if new != text:
        changed.append("README.md")
        if not check:
            readme.write_text(new)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    changed = sync(args.check)
    verb = "out of date" if args.check else "rewritten"
    for name in changed:
        print(f"{verb}: {name}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())

"""How long each lesson is to read: words shown and collapsed, code lines, check and timing cells.

For each notebook pair (read from the ``.md`` side) it counts

* ``shown``: words in markdown cells a reader sees without opening anything (whitespace-separated,
  as issue 25 counts them: ``len(source.split())``, so an equation's tokens count too);
* ``collapsed``: words in markdown cells kept collapsed (cell metadata ``jupyter.source_hidden``,
  the "Going deeper" cells);
* ``code``: non-blank lines in code cells (comments included: the reader reads them);
* ``checks``: code cells that verify rather than teach: two or more assertion statements
  (``assert ...`` or a call to ``assert_close``/``assert_allclose``/...), or assertions making up at
  least half of the cell's statement lines;
* ``timings``: code cells that measure time (``perf_counter``, ``timeit``, ``time.time()``,
  ``time.monotonic``, ``%time``, ``timing_summary``).

The two cell counts are heuristics, written down here so that every helper counts the same way.

    python scripts/word_counts.py                         # notebooks 01-05 of this checkout
    python scripts/word_counts.py notebooks/03_*.md       # just these
    python scripts/word_counts.py --before main           # also the same notebooks at a git revision
    python scripts/word_counts.py --max-shown 2200 --max-total 9000   # exit 1 when over a limit
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import jupytext
from nbformat import NotebookNode

REPO = Path(__file__).resolve().parents[1]
LESSON_NAMES = ("01_motivation", "02_gates", "03_candidate_state", "04_scratch", "05_concise")
LESSONS = [f"notebooks/{name}.md" for name in LESSON_NAMES]

ASSERTION = re.compile(r"^\s*assert\b|\bassert_\w*\(")
TIMING = re.compile(r"perf_counter|timeit|time\.time\(|time\.monotonic|^\s*%%?time\b|timing_summary", re.MULTILINE)


@dataclass
class Counts:
    """One notebook's reading load."""

    shown: int = 0
    collapsed: int = 0
    code: int = 0
    checks: int = 0
    timings: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def is_collapsed(cell: NotebookNode) -> bool:
    """Whether the cell is kept collapsed (``jupyter: {source_hidden: true}``)."""
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False))


def is_check(source: str) -> bool:
    """Whether a code cell verifies rather than teaches (see the module docstring)."""
    statements = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    asserts = sum(1 for line in statements if ASSERTION.search(line))
    return asserts >= 2 or (asserts > 0 and 2 * asserts >= len(statements))


def is_timing(source: str) -> bool:
    """Whether a code cell measures time."""
    return bool(TIMING.search(source))


def count(nb: NotebookNode) -> Counts:
    """The counts of one notebook (a jupytext/nbformat notebook)."""
    c = Counts()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            words = len(cell.source.split())
            if is_collapsed(cell):
                c.collapsed += words
            else:
                c.shown += words
        elif cell.cell_type == "code":
            c.code += sum(1 for line in cell.source.splitlines() if line.strip())
            c.checks += is_check(cell.source)
            c.timings += is_timing(cell.source)
    return c


def read_at(path: str, revision: str | None) -> NotebookNode | None:
    """The notebook at ``path`` (relative to the repository), in the work tree or at a git revision."""
    if revision is None:
        return jupytext.read(REPO / path)
    shown = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True, text=True, check=False
    )
    return jupytext.reads(shown.stdout, fmt="md:myst") if shown.returncode == 0 else None


def _row(name: str, c: Counts | None) -> str:
    if c is None:
        return f"{name:<24}" + "".join(f"{'-':>10}" for _ in fields(Counts))
    return f"{name:<24}" + "".join(f"{v:>10,}" for v in astuple(c))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="notebook .md files (default: notebooks 01-05)")
    parser.add_argument("--before", metavar="REV", help="also count the same notebooks at this git revision")
    parser.add_argument("--max-shown", type=int, help="exit 1 when a notebook shows more words than this")
    parser.add_argument("--max-total", type=int, help="exit 1 when the notebooks together show more words than this")
    args = parser.parse_args(argv)
    paths = [str(Path(p).resolve().relative_to(REPO).with_suffix(".md")) for p in args.paths] or LESSONS

    header = f"{'notebook':<24}" + "".join(f"{f.name:>10}" for f in fields(Counts))
    revisions = [None] if args.before is None else [args.before, None]
    over = []
    for revision in revisions:
        print(f"# {'work tree' if revision is None else revision}")
        print(header)
        total = Counts()
        for path in paths:
            nb = read_at(path, revision)
            c = None if nb is None else count(nb)
            print(_row(Path(path).stem, c))
            if c is not None:
                total += c
                if revision is None and args.max_shown is not None and c.shown > args.max_shown:
                    over.append(f"{Path(path).stem} shows {c.shown:,} words (limit {args.max_shown:,})")
        print(_row("total", total))
        if revision is None and args.max_total is not None and total.shown > args.max_total:
            over.append(f"the notebooks show {total.shown:,} words together (limit {args.max_total:,})")
        print()
    for line in over:
        print("over the limit:", line, file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

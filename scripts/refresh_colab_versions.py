"""Refresh ``tests/colab_runtime.txt`` (Colab's preinstalled packages that the chapter touches) from Colab's list.

Google publishes each Colab runtime's packages in https://github.com/googlecolab/backend-info
(``pip-freeze.gpu.txt`` for the GPU runtime, ``os-info-gpu.txt`` for its Python). After Colab's
next upgrade, download those two files and run

    python scripts/refresh_colab_versions.py pip-freeze.gpu.txt --os-info os-info-gpu.txt \\
        --date YYYY-MM-DD --source https://raw.githubusercontent.com/googlecolab/backend-info/COMMIT/pip-freeze.gpu.txt
    D2LUTIL_QUICK=1 .venv/bin/python -m pytest tests/test_fresh_install.py -k colab   # the check

The package names stay those already in the file (plus ``--add NAME``); only their versions, the
date, the source, Python's and torch's versions change. A name that Colab no longer ships is an
error: remove it from the file by hand (or with ``--drop NAME``) once you know why it went.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSIONS = REPO / "tests" / "colab_runtime.txt"
HEADER_KEYS = ("source", "date", "python", "torch")
PREAMBLE = """\
# Google Colab's preinstalled packages that the chapter touches, at the versions Colab's GPU runtime ships:
# the Jupyter/IPython/widget stack, numpy, matplotlib, anywidget, safetensors, tqdm, pytest and everything
# they (and torch) pull in that Colab lists. tests/test_fresh_install.py builds a venv with exactly these
# versions and checks that the notebooks' Colab cell changes none of them. Written by
# scripts/refresh_colab_versions.py from Colab's published list (source and date below); edit with that script.
# Not pinned: torch (this machine has only its 2.13.0 CPU wheel; Colab's build is named on the torch line)
# and setuptools (torch 2.13.0 needs >=77.0.3; Colab ships 75.2.0 beside its torch 2.11).
"""


def canonical(name: str) -> str:
    """A distribution name as pip compares it (PEP 503): lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(text: str) -> dict[str, tuple[str, str]]:
    """``pip freeze`` output as {canonical name: (name as written, version)}; direct-URL lines are skipped."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = (part.strip() for part in line.split("==", 1))
            out[canonical(name)] = (name, version)
    return out


def read_versions(path: Path = VERSIONS) -> tuple[dict[str, str], dict[str, str]]:
    """The versions file as (header {key: value}, {name as written: version})."""
    return read_versions_text(path.read_text(encoding="utf-8"))


def read_versions_text(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`read_versions` on the text of a versions file."""
    header = dict(re.findall(rf"^# ({'|'.join(HEADER_KEYS)}): (.+)$", text, re.M))
    return header, {name: version for name, version in read_freeze(text).values()}


def python_version(os_info: str) -> str:
    """Python's version from Colab's ``os-info-gpu.txt`` (a line ``Python 3.13.15``)."""
    found = re.search(r"^Python (\S+)$", os_info, re.M)
    if not found:
        raise ValueError("the os-info file names no Python version (no line 'Python X.Y.Z'); pass the Colab one")
    return found.group(1)


def refresh(
    freeze_text: str,
    header: dict[str, str],
    names: list[str],
    *,
    source: str,
    date: str,
    python: str,
    add: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> str:
    """The new versions file: ``names`` (plus ``add``, less ``drop``) at their versions in ``freeze_text``."""
    freeze = read_freeze(freeze_text)
    if "torch" not in freeze:
        raise ValueError("the freeze list has no torch==... line: is it Colab's pip-freeze.gpu.txt?")
    wanted = {canonical(n) for n in [*names, *add]} - {canonical(n) for n in drop}
    missing = sorted(wanted - set(freeze))
    if missing:
        raise ValueError(
            f"Colab's list no longer has {missing}: find out what replaced them, then rerun with --drop for each"
        )
    lines = [PREAMBLE.rstrip("\n")]
    values = {"source": source, "date": date, "python": python, "torch": freeze["torch"][1]}
    lines += [f"# {key}: {values[key] or header.get(key, '')}" for key in HEADER_KEYS]
    lines += [f"{freeze[n][0]}=={freeze[n][1]}" for n in sorted(wanted)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("freeze", type=Path, help="Colab's pip-freeze.gpu.txt, downloaded")
    parser.add_argument("--os-info", type=Path, help="Colab's os-info-gpu.txt (for Python's version)")
    parser.add_argument("--date", required=True, help="the date of Colab's list, YYYY-MM-DD")
    parser.add_argument("--source", required=True, help="the address of the list at its commit")
    parser.add_argument("--add", nargs="*", default=[], metavar="NAME", help="packages to start tracking")
    parser.add_argument("--drop", nargs="*", default=[], metavar="NAME", help="packages to stop tracking")
    parser.add_argument("--out", type=Path, default=VERSIONS)
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", args.date):
        parser.error(f"--date {args.date!r} is not YYYY-MM-DD")
    header, old = read_versions(args.out) if args.out.exists() else ({}, {})
    python = python_version(args.os_info.read_text(encoding="utf-8")) if args.os_info else ""
    new_text = refresh(
        args.freeze.read_text(encoding="utf-8"),
        header,
        list(old),
        source=args.source,
        date=args.date,
        python=python,
        add=args.add,
        drop=args.drop,
    )
    _, new = read_versions_text(new_text)
    old_c = {canonical(n): v for n, v in old.items()}
    for name, version in new.items():
        before = old_c.get(canonical(name))
        if before != version:
            print(f"{name}: {before or '(new)'} -> {version}")
    args.out.write_text(new_text, encoding="utf-8")
    print(f"wrote {args.out} ({len(new)} packages, Colab's list of {args.date})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

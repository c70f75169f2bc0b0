"""A student's install, twice: into Google Colab's package set as it is today, and at the oldest versions we claim.

Both build the package as a wheel and install it into a new virtual environment (torch==2.13.0 first:
this machine's only torch build; any requirement that admits another would pull a CUDA build), then
work from a temporary folder outside the repository, with an empty HOME and no network, so that
d2lutil, The Time Machine and the checkpoints can only come from the installed wheel.

* **Colab's runtime** (``tests/colab_runtime.txt``: Colab's published package list, its date and source
  in the file): a venv with exactly those versions, then the notebooks' Colab cell's own ``%pip``
  command (same arguments; the package from the wheel instead of GitHub). The test prints the package
  table before and after, and fails naming every preinstalled package the cell changed. Then it loads
  every checkpoint, builds, moves and saves the gate explorer with Colab's anywidget and ipywidgets,
  and runs every notebook under nbval with that venv's kernel (quick budget).
* **The oldest versions** (the floors in pyproject.toml's ``[project] dependencies``, torch aside): a
  venv with each floor pinned exactly runs the unit tests and notebooks 1 and 4 under nbval.

Python here is 3.11; Colab runs 3.13 and CUDA torch 2.11, which cannot be installed here (README).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import notebook_policy as policy  # noqa: E402  (a script beside the tests, not a package)
from refresh_colab_versions import VERSIONS, canonical, read_versions  # noqa: E402

# The discard port on this machine: nothing answers, so with it as the proxy every download fails at once.
NO_NETWORK_PROXY = "http://127.0.0.1:9"
TORCH = "torch==2.13.0"
# --no-compile: the .pyc files are written on first import instead (torch alone has thousands of modules)
PIP_INSTALL = ["-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check"]
# What runs the notebooks; not part of a reader's install (Colab has pytest itself: it is in the versions file).
RUNNER = ["nbval"]
# Unit tests that read the repository's own files (notebooks, scripts, README, the website) or start
# a browser or venvs: they test the checkout, not the installed package, and run in the main suite only.
# test_bench times torch.compile and training (torch only, 2.13.0 in every venv; its fixture alone
# took 167 s in the floors' venv on a busy machine); the explorer it also times is test_explorer's.
NOT_UNIT = {
    "test_bench.py",
    "test_browser.py",
    "test_colours.py",
    "test_fresh_install.py",
    "test_layers.py",
    "test_lint.py",
    "test_notebook_hygiene.py",
    "test_prose_numbers.py",
    "test_site.py",
}
# Notebook 1 trains the long-range task and draws with matplotlib; notebook 4 reads the book and
# trains the scratch GRU: between them they use every floor (numpy, matplotlib, ipywidgets, IPython, tqdm, safetensors).
OLDEST_NOTEBOOKS = ["01_motivation.ipynb", "04_scratch.ipynb"]


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    shown = " ".join("<script>" if "\n" in c else c for c in cmd)
    print(f"[{time.monotonic() - start:5.0f} s] {shown}")
    assert result.returncode == 0, (
        f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel, checked to hold the modules, the checkpoints, the book and the explorer."""
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)], 600)
    (built,) = dist.glob("d2lutil-*.whl")
    names = zipfile.ZipFile(built).namelist()
    shipped = sorted(
        p.name for p in (REPO / "d2lutil" / "pretrained").glob("*") if p.suffix in (".json", ".safetensors")
    )
    missing = [n for n in shipped if f"d2lutil/pretrained/{n}" not in names]
    assert not missing, f"the wheel lacks the shipped checkpoint files {missing}"
    modules = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "d2lutil").rglob("*.py"))
    assert not [m for m in modules if m not in names], "the wheel lacks some d2lutil modules"
    assert "d2lutil/explorer/explorer.js" in names, "the wheel lacks the explorer's front-end module"
    assert "d2lutil/corpus/timemachine.txt" in names, "the wheel lacks d2lutil/corpus/timemachine.txt (the book)"
    return built


@pytest.fixture(scope="module")
def torch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding torch 2.13.0 alone, installed once; each test works on a copy (:func:`new_venv`)."""
    path = tmp_path_factory.mktemp("torch") / "venv"
    run([sys.executable, "-m", "venv", str(path)], 300)
    run([str(path / "bin" / "python"), *PIP_INSTALL, TORCH], 900)
    return path


def new_venv(torch_venv: Path, path: Path) -> tuple[str, list[str]]:
    """A copy of ``torch_venv`` at ``path``: (its python, its ``pip install`` command).

    A venv finds its prefix from where its python lies, and every command here runs ``python -m``,
    so the copy works as a venv made at ``path`` (copying takes seconds, installing torch minutes).
    """
    start = time.monotonic()
    shutil.copytree(torch_venv, path, symlinks=True)
    python = str(path / "bin" / "python")
    print(f"[{time.monotonic() - start:5.0f} s] copied the torch venv to {path}")
    return python, [python, *PIP_INSTALL]


def installed(python: str) -> dict[str, tuple[str, str]]:
    """The venv's packages as {canonical name: (name, version)}."""
    listing = run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"], 120).stdout
    return {canonical(p["name"]): (p["name"], p["version"]) for p in json.loads(listing)}


def student_env(tmp_path: Path, venv: Path) -> dict[str, str]:
    """A reader's first run: the venv on PATH, the quick budget, an empty HOME (no cache), no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["D2LUTIL_QUICK"] = "1"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in ("D2LUTIL_DATA_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = NO_NETWORK_PROXY
    # The loopback is not the network: the download tests serve their files from 127.0.0.1.
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    env["MPLBACKEND"] = "Agg"
    return env


# Run in the venv, from outside the repository: where d2lutil and the book come from, every checkpoint
# loads, and the gate explorer is built, moved and saved with the venv's anywidget and ipywidgets.
CHECK = textwrap.dedent(
    """
    import json, pathlib, sys, urllib.request
    import anywidget, ipywidgets, IPython, torch
    import d2lutil
    from d2lutil import checkpoints, data

    where = pathlib.Path(d2lutil.__file__).resolve()
    assert pathlib.Path(sys.prefix).resolve() in where.parents, f"d2lutil imported from {where}, not the venv"
    assert torch.__version__.startswith("2.13.0"), torch.__version__
    try:
        urllib.request.urlopen(data.URL, timeout=10).close()
    except OSError:
        pass
    else:
        raise AssertionError(f"{data.URL} could be downloaded: the test would not show the book ships in the wheel")
    book = data.locate_time_machine()
    assert pathlib.Path(sys.prefix).resolve() in book.resolve().parents, f"The Time Machine came from {book}"
    assert len(data.read_time_machine()) == 173_428, "the packaged book is not d2l's copy"
    loaded = {}
    for manifest in sorted(checkpoints.PRETRAINED_DIR.glob("*.json")):
        model, vocab, info = checkpoints.load_checkpoint(manifest.stem)
        tokens = torch.tensor([vocab[list("the time ")]])
        logits, _ = model(tokens)
        assert logits.shape == (1, 9, len(vocab)) and torch.isfinite(logits).all()
        loaded[manifest.stem] = sum(p.numel() for p in model.parameters())

    from d2lutil.explorer import GateExplorer

    model, vocab, _ = checkpoints.load_checkpoint("gru_lm")
    explorer = GateExplorer(model, vocab, context=8)
    sent = bytes(explorer.gates)
    steps = len(explorer.trace.text)
    assert len(sent) == 2 * 2 * steps * 512 and len(explorer.conn) == steps * 8
    explorer.unit = (explorer.unit + 7) % explorer.hidden_size
    explorer.passage = explorer.passages[1]
    assert bytes(explorer.gates) != sent, "a new passage did not send new gates to the browser"
    page = explorer.save_html("explorer.html").read_text(encoding="utf-8")
    assert "export default" in page and "http" not in page, "the saved page lacks the module or names an address"
    print(json.dumps({
        "d2lutil": str(where), "time_machine": str(book), "checkpoints": loaded, "torch": torch.__version__,
        "anywidget": anywidget.__version__, "ipywidgets": ipywidgets.__version__, "IPython": IPython.__version__,
    }))
    """
)


def check_installed_package(python: str, cwd: Path, env: dict[str, str]) -> dict:
    """Run :data:`CHECK` in the venv; returns its report."""
    report = json.loads(run([python, "-c", CHECK], 600, cwd=cwd, env=env).stdout.strip().splitlines()[-1])
    print(report)
    assert set(report["checkpoints"]) == {p.stem for p in (REPO / "d2lutil" / "pretrained").glob("*.json")}
    return report


def run_pytest(python: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """pytest in the venv (``--current-env``: notebooks run in that venv's kernel, whatever HOME lists)."""
    start = time.monotonic()
    cmd = [python, "-m", "pytest", "--nbval-lax", "--current-env", "-p", "no:cacheprovider", "-q", *args]
    result = run(cmd, 1800, cwd=cwd, env=env)
    # pytest's last line that counts outcomes (summaries from conftest hooks may come before it)
    summary = next(ln for ln in reversed(result.stdout.splitlines()) if re.search(r"\d+ (passed|failed|error)", ln))
    print(summary, f"in {time.monotonic() - start:.0f} s from {cwd}")
    bad = re.search(r"\b\d+ (failed|errors?)\b", summary)  # "2 xfailed" (expected failures) is not one
    assert re.search(r"\d+ passed", summary) and not bad, result.stdout[-4000:]
    return summary


def colab_cell_pip_args(wheel: Path) -> list[str]:
    """The Colab cell's ``%pip`` arguments, with the package from ``wheel`` instead of the repository's address."""
    cell = policy.colab_cell_source(policy.repository_url())
    (line,) = [ln.strip() for ln in cell.splitlines() if ln.strip().startswith("%pip ")]
    args = shlex.split(line)[1:]
    (at,) = [i for i, a in enumerate(args) if a.startswith("d2lutil @ ")]
    args[at] = f"d2lutil @ {wheel.as_uri()}"
    return args


def package_table(pinned: dict[str, str], torch: str, before: dict, after: dict) -> tuple[str, list[str]]:
    """The packages before and after the Colab cell, and the preinstalled ones whose version changed
    (``torch``: Colab's torch, named beside this machine's build)."""
    rows, changed = [], []
    colab = {canonical(n): v for n, v in pinned.items()} | {"torch": f"{torch} (not here)"}
    for key in sorted(set(before) | set(after)):
        name, old = before.get(key, (None, "-"))
        name, new = after.get(key, (name, "-"))
        mark = ""
        if key in before and new != old:
            mark, changed = "CHANGED", [*changed, f"{name} {old} -> {new}"]
        elif key not in before:
            mark = "added by the cell"
        rows.append(f"{name:28} {colab.get(key, '(not pinned)'):26} {old:14} {new:14} {mark}")
    head = f"{'package':28} {'Colab':26} {'before':14} {'after':14}"
    return "\n".join([head, *rows]), changed


@pytest.mark.slow
def test_colab_runtime(wheel: Path, torch_venv: Path, tmp_path: Path) -> None:
    """Colab's preinstalled versions, the Colab cell's own pip command: nothing changes, every notebook runs."""
    header, pinned = read_versions(VERSIONS)
    print(f"Colab runtime of {header['date']} ({header['source']}): Python {header['python']}, torch {header['torch']}")
    print(f"here: Python {sys.version.split()[0]}, {TORCH} (CPU)")
    venv, outside = tmp_path / "venv", tmp_path / "student"
    outside.mkdir()
    python, pip = new_venv(torch_venv, venv)
    spec = [f"{name}=={version}" for name, version in pinned.items()]
    run([*pip, *spec, *RUNNER, "-c", str(VERSIONS)], 1800)
    before = installed(python)
    have = {name: before.get(canonical(name), (name, "missing"))[1] for name in pinned}
    wrong = [f"{name} {have[name]} (Colab: {version})" for name, version in pinned.items() if have[name] != version]
    assert not wrong, f"the venv does not hold Colab's versions: {wrong}"

    args = colab_cell_pip_args(wheel)
    print("the Colab cell's command, run here: %pip " + shlex.join(args))
    run([python, "-m", "pip", *args, "--disable-pip-version-check"], 900)
    after = installed(python)
    table, changed = package_table(pinned, header["torch"], before, after)
    print(table)
    assert "d2lutil" in after, "the Colab cell did not install d2lutil"
    assert not changed, (
        f"the Colab cell changed {len(changed)} of Colab's preinstalled packages: {', '.join(changed)}; "
        "lower the floors in pyproject.toml's [project] dependencies so that Colab's versions satisfy them"
    )

    env = student_env(tmp_path, venv)
    report = check_installed_package(python, outside, env)
    assert report["anywidget"] == pinned["anywidget"] and report["ipywidgets"] == pinned["ipywidgets"], report
    names = [nb.name for nb in policy.notebooks()]
    for name in names:
        shutil.copy(REPO / "notebooks" / name, outside / name)
    run_pytest(python, names, outside, env)


def floors() -> dict[str, str]:
    """The ``>=`` floor of each dependency in pyproject.toml's ``[project] dependencies``, torch aside."""
    with open(REPO / "pyproject.toml", "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    out = {}
    for requirement in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)(\s*,.*)?", requirement.split(";")[0].strip())
        assert match, f"pyproject.toml: {requirement!r} has no '>=' floor; every dependency needs one that is tested"
        out[match.group(1)] = match.group(2)
    out.pop("torch")
    return out


@pytest.mark.slow
def test_oldest_versions(wheel: Path, torch_venv: Path, tmp_path: Path) -> None:
    """Every floor in pyproject.toml installed exactly: the unit tests and notebooks 1 and 4 pass."""
    oldest = floors()
    venv, outside = tmp_path / "venv", tmp_path / "student"
    python, pip = new_venv(torch_venv, venv)
    pins = [f"{name}=={version}" for name, version in oldest.items()]
    run([*pip, str(wheel), *pins, "pytest", "hypothesis", *RUNNER], 1800)
    have = installed(python)
    table = "\n".join(f"{n:14} floor {v:10} installed {have[canonical(n)][1]}" for n, v in oldest.items())
    print(table)
    off = [n for n, v in oldest.items() if Version(have[canonical(n)][1]) != Version(v)]
    assert not off, f"pip did not install the floors of {off}:\n{table}"

    unit = sorted(
        p.name
        for p in (REPO / "tests").glob("test_*.py")
        if p.name not in NOT_UNIT
        and not p.name.startswith("test_lessons_")  # checks of the notebooks' text
        and "from chromium import" not in p.read_text(encoding="utf-8")  # drives Chromium: the main suite's
    )
    shutil.copytree(REPO / "tests", outside / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml"):  # the quick budget and the markers, as in the main suite
        shutil.copy(REPO / name, outside / name)
    for name in OLDEST_NOTEBOOKS:
        shutil.copy(REPO / "notebooks" / name, outside / name)
    env = student_env(tmp_path, venv)
    check_installed_package(python, outside, env)
    run_pytest(python, [*(f"tests/{n}" for n in unit), *OLDEST_NOTEBOOKS], outside, env)


# Colab runs Python 3.13, CI 3.11, and no 3.13 installs here: at least nothing the code imports or calls
# may be gone in 3.12 or 3.13 (What's New in Python 3.12 and 3.13, "Removed"; PEP 594's dead batteries).
REMOVED_MODULES = {
    *("asynchat", "asyncore", "distutils", "imp", "smtpd"),  # 3.12
    *("aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap", "msilib", "nis"),  # 3.13
    *("nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "tkinter.tix"),
}
REMOVED_NAMES = {  # module.function, and methods (by their name alone)
    "locale.resetlocale", "typing.io", "typing.re", "unittest.makeSuite", "unittest.findTestCases",
    "unittest.getTestCaseNames", "configparser.SafeConfigParser", "ssl.wrap_socket",
    "link_to", "readfp", "assertEquals", "assertNotEquals", "assertRegexpMatches", "assertDictContainsSubset",
}  # fmt: skip


def _code_of_the_chapter() -> dict[str, str]:
    """{where: Python source} for d2lutil's modules, the scripts and every notebook's code cells."""
    import nbformat

    sources = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in (REPO / "d2lutil").rglob("*.py")}
    sources |= {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in (REPO / "scripts").glob("*.py")}
    for path in policy.notebooks():
        cells = nbformat.read(path, as_version=4).cells
        code = [c.source for c in cells if c.cell_type == "code"]
        # IPython's magics (%pip, !cmd) are not Python: blank them so that ast can parse the cell.
        sources[path.name] = "\n".join(re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", c) for c in code)
    return sources


def test_nothing_removed_in_python_3_13_is_used() -> None:
    """No module or function removed in Python 3.12 or 3.13 is imported or named (Colab runs 3.13)."""
    import ast

    found = []
    for where, source in _code_of_the_chapter().items():
        for node in ast.walk(ast.parse(source, filename=where)):
            modules, names = [], []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                names = modules
            elif isinstance(node, ast.Attribute):
                names = [node.attr, f"{ast.unparse(node.value)}.{node.attr}"]
            hits = [m for m in modules if m in REMOVED_MODULES or m.split(".")[0] in REMOVED_MODULES]
            hits += [n for n in names if n in REMOVED_NAMES]
            found += [f"{where}:{node.lineno}: {hit}" for hit in hits]
    assert not found, "gone in Python 3.12/3.13 (Colab runs 3.13):\n" + "\n".join(found)


def test_refresh_colab_versions() -> None:
    """The refresh script takes new versions and the header from Colab's list, keeps the names, rejects a gone one."""
    from refresh_colab_versions import read_versions_text, refresh

    header, pinned = read_versions(VERSIONS)
    assert {"source", "date", "python", "torch"} <= set(header), header
    assert {"ipython", "ipywidgets", "anywidget", "numpy", "matplotlib", "traitlets"} <= set(pinned)
    freeze = [f"{n}=={'99.0' if n == 'ipython' else v}" for n, v in pinned.items()]
    freeze += [
        "google-colab @ file:///colabtools/dist/google_colab-1.0.0.tar.gz",
        "torch==9.9.9+cu999",
        "unrelated==1.0",
    ]
    text = refresh("\n".join(freeze), header, list(pinned), source="S", date="2027-01-02", python="3.14.0")
    new_header, new = read_versions_text(text)
    assert new_header == {"source": "S", "date": "2027-01-02", "python": "3.14.0", "torch": "9.9.9+cu999"}
    assert new == {**pinned, "ipython": "99.0"}, "only ipython's version should have changed"
    with pytest.raises(ValueError, match="anywidget"):
        refresh("\n".join(f for f in freeze if not f.startswith("anywidget")), header, list(pinned), source="S",
                date="2027-01-02", python="3.14.0")  # fmt: skip

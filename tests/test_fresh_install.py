"""A student's `pip install`: the wheel alone, in a new virtual environment, outside the repository.

Builds the package as a wheel, installs it into a fresh venv with only its declared dependencies
(torch==2.13.0 first, so that no requirement pulls a CUDA build; ipywidgets 7.7.1, the version
Google Colab ships, which d2lutil must work with; nbval, pytest and ipykernel only to execute), and
from a temporary folder outside the repository

* imports d2lutil from the venv (not from the checkout) and finds The Time Machine;
* loads every shipped checkpoint through ``load_checkpoint`` (the weights travel in the wheel);
* builds the gate explorer on ``gru_lm`` with ipywidgets 7.7.1, moves it, and saves its page;
* draws the figures module's diagrams, when the package has one;
* runs notebook 4 (it reads the book) and notebook 5 (the gate explorer) under nbval, in the quick
  setting, with ipywidgets 7.7.1 in the kernel (the main suite runs every notebook with ipywidgets 8).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Notebook 4 reads The Time Machine, so it proves the book came with the wheel; notebook 5 shows the
# gate explorer, so it proves the explorer runs with Colab's ipywidgets. The others run under nbval
# in the main suite.
NOTEBOOKS = ["04_scratch.ipynb", "05_concise.ipynb"]
# The discard port on this machine: nothing answers, so with it as the proxy every download fails at once.
NO_NETWORK_PROXY = "http://127.0.0.1:9"
TORCH = "torch==2.13.0"
COLAB_IPYWIDGETS = "ipywidgets==7.7.1"

pytestmark = pytest.mark.slow


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    shown = " ".join("<script>" if "\n" in c else c for c in cmd)
    print(f"[{time.monotonic() - start:5.0f} s] {shown}")
    assert result.returncode == 0, (
        f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )
    return result


def test_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    dist, venv, outside = tmp_path / "dist", tmp_path / "venv", tmp_path / "student"
    outside.mkdir()

    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)], 600)
    (wheel,) = dist.glob("d2lutil-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(
        p.name for p in (REPO / "d2lutil" / "pretrained").glob("*") if p.suffix in (".json", ".safetensors")
    )
    missing = [n for n in shipped if f"d2lutil/pretrained/{n}" not in names]
    assert not missing, f"the wheel lacks the shipped checkpoint files {missing}"
    modules = sorted(p.name for p in (REPO / "d2lutil").glob("*.py"))
    assert not [m for m in modules if f"d2lutil/{m}" not in names], "the wheel lacks some d2lutil modules"
    assert "d2lutil/explorer/explorer.js" in names, "the wheel lacks the explorer's front-end module"
    assert "d2lutil/corpus/timemachine.txt" in names, "the wheel lacks d2lutil/corpus/timemachine.txt (the book)"

    run([sys.executable, "-m", "venv", str(venv)], 300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, TORCH], 900)
    run([*pip, str(wheel), COLAB_IPYWIDGETS, "nbval", "pytest", "ipykernel"], 900)
    python = str(venv / "bin" / "python")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["D2LUTIL_QUICK"] = "1"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # A reader's first run: no data folder named, an empty home (no cache) and no way to download,
    # so The Time Machine can only come from the wheel.
    for name in ("D2LUTIL_DATA_DIR", "XDG_CACHE_HOME", "no_proxy", "NO_PROXY"):
        env.pop(name, None)
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = NO_NETWORK_PROXY
    env["MPLBACKEND"] = "Agg"

    check = textwrap.dedent(
        """
        import json, pathlib, sys, urllib.request
        import torch
        import d2lutil
        from d2lutil import checkpoints, data

        where = pathlib.Path(d2lutil.__file__).resolve()
        assert pathlib.Path(sys.prefix).resolve() in where.parents, f"d2lutil imported from {where}, not the venv"
        assert torch.__version__.startswith("2.13.0"), torch.__version__
        report = {"d2lutil": str(where), "torch": torch.__version__}
        try:
            urllib.request.urlopen(data.URL, timeout=10).close()
        except OSError:
            pass
        else:
            raise AssertionError(f"{data.URL} could be downloaded: the test would not show the book ships in the wheel")
        book = data.locate_time_machine()
        assert pathlib.Path(sys.prefix).resolve() in book.resolve().parents, f"The Time Machine came from {book}"
        assert len(data.read_time_machine()) == 173_428, "the packaged book is not d2l's copy"
        report["time_machine"] = str(book)
        loaded = {}
        for manifest in sorted(checkpoints.PRETRAINED_DIR.glob("*.json")):
            model, vocab, info = checkpoints.load_checkpoint(manifest.stem)
            tokens = torch.tensor([vocab[list("the time ")]])
            logits, _ = model(tokens)
            assert logits.shape == (1, 9, len(vocab)) and torch.isfinite(logits).all()
            loaded[manifest.stem] = sum(p.numel() for p in model.parameters())
        report["checkpoints"] = loaded

        import ipywidgets
        from d2lutil.explorer import GateExplorer

        assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
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
        report["ipywidgets"] = ipywidgets.__version__
        try:
            import d2lutil.diagrams as diagrams
        except ModuleNotFoundError:
            diagrams = None
        report["diagrams"] = diagrams is not None
        print(json.dumps(report))
        """
    )
    result = run([python, "-c", check], 300, cwd=outside, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert set(report["checkpoints"]) == {p.stem for p in (REPO / "d2lutil" / "pretrained").glob("*.json")}

    for name in NOTEBOOKS:
        shutil.copy(REPO / "notebooks" / name, outside / name)
    start = time.monotonic()
    # --current-env: the kernel is this venv's Python (ipywidgets 7.7.1), whatever kernels HOME lists.
    result = run(
        [python, "-m", "pytest", "--nbval-lax", "--current-env", "-p", "no:cacheprovider", "-q", *NOTEBOOKS],
        1800,
        cwd=outside,
        env=env,
    )
    summary = result.stdout.strip().splitlines()[-1]
    print(summary, f"in {time.monotonic() - start:.0f} s from {outside}")
    assert " passed" in summary and "failed" not in summary and "error" not in summary, result.stdout[-4000:]

"""A JupyterLab server for the browser tests (tests/test_browser.py): 127.0.0.1, a free port, a
random token, its own settings, runtime and log folders; stopped with its kernels whatever happens."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------


@dataclass
class Lab:
    root: Path
    base_url: str
    token: str
    process: subprocess.Popen
    log: Path
    runtime_dir: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            self.url(path), method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else "(no log)"

    def shutdown_kernels(self) -> None:
        """Shut every running session's kernel down (keeps memory free between notebooks)."""
        with contextlib.suppress(Exception):
            for session in self.api("/api/sessions"):  # type: ignore[union-attr]
                self.api(f"/api/sessions/{session['id']}", method="DELETE")
        with contextlib.suppress(Exception):
            for kernel in self.api("/api/kernels"):  # type: ignore[union-attr]
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_lab_settings(settings_dir: Path) -> None:
    """Settings for a test run: no autosave, every cell kept in the page, no news prompt."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _kill_strays(runtime_dir: Path) -> list[int]:
    """Kill kernels left behind: processes whose command line names this server's runtime folder.

    Kernels run in their own process groups, so killing the server's group does not reach them;
    their connection files (and so their command lines) lie in the runtime folder made for this run.
    """
    killed = []
    marker = str(runtime_dir).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
    return killed


@contextlib.contextmanager
def jupyter_lab(root: Path, work: Path) -> Iterator[Lab]:
    """A JupyterLab server serving ``root``; stopped, with its kernels, whatever happens."""
    token = secrets.token_hex(24)
    port = _free_port()
    runtime_dir, settings_dir = work / "runtime", work / "user-settings"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    _write_lab_settings(settings_dir)
    env = dict(os.environ)
    # The kernels inherit this environment: the quick budget, and the data folder as an absolute path
    # (a relative D2LUTIL_DATA_DIR would be read from the notebook's folder).
    env.setdefault("D2LUTIL_QUICK", "1")
    if env.get("D2LUTIL_DATA_DIR"):
        env["D2LUTIL_DATA_DIR"] = str(Path(env["D2LUTIL_DATA_DIR"]).expanduser().resolve())
    env.update(
        JUPYTER_CONFIG_DIR=str(work / "config"),  # no user configuration leaks in
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        PYTHONUNBUFFERED="1",
    )
    log = work / "jupyterlab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        "--LabApp.extension_manager=readonly",  # no query to PyPI from the extension manager
    ]
    if os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    lab = Lab(root, f"http://127.0.0.1:{port}", token, process, log, runtime_dir)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}")
            with contextlib.suppress(OSError):
                lab.api("/api/status")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within 120 s:\n{lab.log_tail()}")
            time.sleep(0.5)
        yield lab
    finally:
        lab.shutdown_kernels()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        strays = _kill_strays(runtime_dir)
        if strays:
            print(f"killed kernels left running: {strays}")

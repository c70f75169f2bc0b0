"""The project's switches, read from the environment; the device and seed every run starts from; files.

``D2LUTIL_QUICK=1``
    Every notebook trains a small budget that runs on a 2-core CPU in CI. Unset, a notebook
    trains the full recipe on a GPU and a CPU-sized budget on a CPU (see :func:`budget`).
``D2LUTIL_DATA_DIR``
    A folder that overrides the copy of ``timemachine.txt`` shipped in the package (``d2lutil/corpus``);
    the per-user cache and the download are used only when that copy is removed.
"""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import torch

Budget = Literal["quick", "cpu", "full"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def is_quick() -> bool:
    """True when ``D2LUTIL_QUICK`` is set to 1/true/yes/on.

    Raises ValueError for any other non-empty value, so that a typo is not silently ignored.
    """
    value = os.environ.get("D2LUTIL_QUICK", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"D2LUTIL_QUICK={value!r} is not understood: set it to 1 for the quick CI setting, "
        "or unset it (or 0) for the full recipe."
    )


def try_gpu(i: int = 0) -> torch.device:
    """The i-th CUDA GPU if there is one, else the CPU (as in d2l)."""
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """The device in words, for manifests and benchmark results: the GPU's name, or the CPU's model,
    its cores and the threads torch uses."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:  # the model name is more telling than the architecture on Linux
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"CPU ({cpu}, {os.cpu_count()} cores, torch using {threads} thread{'s' if threads != 1 else ''})"


def set_seed(seed: int) -> None:
    """Seed Python's and torch's generators so that a rerun prints the same numbers."""
    random.seed(seed)
    torch.manual_seed(seed)


def budget(device: torch.device | None = None) -> Budget:
    """The training budget a notebook should use.

    ``"quick"`` when ``D2LUTIL_QUICK=1``; otherwise ``"full"`` on a GPU and ``"cpu"`` (a few
    minutes, leaning on the shipped checkpoints) on a CPU.
    """
    if is_quick():
        return "quick"
    if device is None:
        device = try_gpu()
    return "full" if device.type != "cpu" else "cpu"


def describe_setting(device: torch.device | None = None) -> str:
    """One line that a notebook prints so the reader sees which budget is on and why."""
    if device is None:
        device = try_gpu()
    chosen = budget(device)
    why = {
        "quick": "D2LUTIL_QUICK=1 is set (the CI setting: small budgets, still real learning)",
        "cpu": "no GPU found and D2LUTIL_QUICK is unset: a CPU-sized budget of a few minutes",
        "full": "a GPU was found and D2LUTIL_QUICK is unset: the full recipe",
    }[chosen]
    return f"budget = {chosen!r} on device {device}: {why}"


def data_dir_from_env() -> Path | None:
    """The folder named by ``D2LUTIL_DATA_DIR``, or None when the variable is unset."""
    value = os.environ.get("D2LUTIL_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The per-user cache folder for downloads (``$XDG_CACHE_HOME/d2lutil`` or ``~/.cache/d2lutil``)."""
    root = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(root) if root else Path.home() / ".cache") / "d2lutil"


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


Hash = TypeVar("Hash", bound=_Hash)


def file_digest(path: Path, digest: Hash) -> Hash:
    """``digest`` (a ``hashlib`` object) updated with the bytes of the file at ``path``, read in 1 MiB blocks.

    The one hashing loop of the package: ``file_digest(path, hashlib.sha1()).hexdigest()``.
    """
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest

"""Where The Time Machine comes from; the text itself ships beside this file.

The book is in the public domain and ships with the package (``d2lutil/corpus/timemachine.txt``,
178,979 bytes), so a reader needs no download and no data folder. :func:`locate_time_machine`
looks, in order, in

1. ``data_dir=`` or ``$D2LUTIL_DATA_DIR``: an override; a folder named there must hold a good copy;
2. the packaged copy;
3. the per-user cache (``$XDG_CACHE_HOME/d2lutil`` or ``~/.cache/d2lutil``);
4. a download from the address d2l uses, into the cache.

Every copy is checked against the sha1 that d2l itself checks. A download is streamed into a
temporary file beside its target under an overall deadline and a size cap, its sha1 checked, and
only then moved into place, so a failed one leaves nothing behind. Every way a download can fail
(no network, refused or reset connection, timeout, an HTTP error, a garbled or cut-short reply,
too much data) raises ``FileNotFoundError`` that says where to put the file by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

from d2lutil import settings
from d2lutil._checks import check_int, check_path, check_real, show

FILENAME = "timemachine.txt"
URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
PACKAGED = Path(__file__).with_name(FILENAME)
DEADLINE_S = 120.0  # a whole download, however slowly the bytes arrive
MAX_BYTES = 64 * 2**20  # the book is 179 kB; anything far bigger is not the file asked for


def sha1_of(path: Path) -> str:
    """The hex sha1 of a file's bytes."""
    return settings.file_digest(check_path("path", path), hashlib.sha1()).hexdigest()


def _ready_folder(folder: Path) -> None:
    """Create ``folder``; a path that is a file, or one that cannot be created, is a FileNotFoundError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise FileNotFoundError(
            f"cannot use {folder} as the download folder: it (or a folder above it) is a file, not a folder. "
            "Move that file away, or set XDG_CACHE_HOME (or D2LUTIL_DATA_DIR) to another folder."
        ) from err
    except OSError as err:
        raise FileNotFoundError(
            f"cannot create the download folder {folder} ({err}): set XDG_CACHE_HOME (or D2LUTIL_DATA_DIR) "
            "to a folder you can write to."
        ) from err


def _fetch(url: str, out_path: Path, timeout: float, max_bytes: int, cancel: threading.Event) -> None:
    """Stream ``url`` into ``out_path`` (runs in a worker thread; raises on any failure or on cancel)."""
    # "r+b", not "wb": the file was made by mkstemp, and a worker that starts late must not re-create it
    with open(out_path, "r+b") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > max_bytes:
            raise OSError(f"the server announces {int(length):,} bytes, more than the cap of {max_bytes:,}")
        got = 0
        while not cancel.is_set():
            block = response.read1(1 << 16)  # returns what has arrived: a trickle cannot block for long
            if not block:
                break
            got += len(block)
            if got > max_bytes:
                raise OSError(f"more than the cap of {max_bytes:,} bytes arrived")
            out.write(block)
        if length is not None and length.strip().isdigit() and not cancel.is_set() and got != int(length):
            raise OSError(f"the reply ended after {got:,} of {int(length):,} bytes")


def _fetch_within(url: str, tmp: Path, timeout: float, deadline: float, max_bytes: int, by_hand: str) -> None:
    """Run :func:`_fetch` in a worker thread and give up after ``deadline`` seconds; every way it can
    fail is a ``FileNotFoundError`` that ends with ``by_hand`` (where to put the file instead)."""
    failure: list[BaseException] = []
    cancel = threading.Event()

    def worker() -> None:
        try:
            _fetch(url, tmp, timeout, max_bytes, cancel)
        except BaseException as err:  # every network, protocol and file failure, reported below
            failure.append(err)

    thread = threading.Thread(target=worker, name=f"d2lutil-download-{tmp.name}", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(deadline)
    if thread.is_alive():  # a server that trickles or stalls: give up; the worker stops at its next read
        cancel.set()
        raise FileNotFoundError(
            f"Could not download {url}: it did not finish within the deadline of {deadline:g} s "
            f"(waited {time.monotonic() - started:.1f} s). {by_hand}"
        )
    if failure:
        cause = failure[0]
        why = f"{type(cause).__name__}: {str(cause).strip()}"
        raise FileNotFoundError(f"Could not download {url} ({why}). {by_hand}") from cause


def download(
    url: str,
    folder: str | Path,
    sha1: str = SHA1,
    timeout: float = 30.0,
    deadline: float = DEADLINE_S,
    max_bytes: int = MAX_BYTES,
) -> Path:
    """Download ``url`` into ``folder``, check its sha1, and only then move it into place; returns its path.

    ``timeout`` bounds each network wait, ``deadline`` the whole download (seconds), ``max_bytes``
    its size. A failed or corrupt download leaves nothing behind. Raises ``FileNotFoundError`` when
    the file cannot be had (the message says where to put it by hand) and ``ValueError`` when the
    bytes that arrived have the wrong sha1.
    """
    for name, value in (("url", url), ("sha1", sha1)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {show(value)}")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// address, got {show(url)}")
    folder = check_path("folder", folder)
    if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
        raise ValueError(f"sha1 must be 40 lower-case hex digits, got {show(sha1)}")
    timeout = check_real("timeout", timeout, 0.0, 86_400.0, inclusive=(False, True))  # seconds: at most a day
    deadline = check_real("deadline", deadline, 0.0, 86_400.0, inclusive=(False, True))
    max_bytes = check_int("max_bytes", max_bytes, minimum=1)
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or ":" in name:
        raise ValueError(f"url {url!r} does not end in a file name: give the address of the file itself")
    target = folder / name
    by_hand = f"Download it by hand and put it at {target}, or set D2LUTIL_DATA_DIR to the folder that holds {name}."
    _ready_folder(folder)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".tmp")
    except OSError as err:
        raise FileNotFoundError(f"cannot write into {folder} ({err}). {by_hand}") from err
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fetch_within(url, tmp, min(timeout, deadline), deadline, max_bytes, by_hand)
        got = sha1_of(tmp)
        if got != sha1:
            raise ValueError(
                f"The file downloaded from {url} has sha1 {got}, expected {sha1}: it is corrupt or "
                f"not the right file, so it was not kept. Try again, or put the right file at {target}."
            )
        try:
            os.replace(tmp, target)
        except OSError as err:
            raise FileNotFoundError(f"cannot move the download into place at {target} ({err}). {by_hand}") from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return target


def _check(path: Path, fix: str) -> None:
    got = sha1_of(path)
    if got != SHA1:
        raise ValueError(
            f"{path} has sha1 {got}, expected {SHA1}: it is not the d2l copy of The Time Machine "
            f"or it is damaged. {fix}"
        )


def locate_time_machine(data_dir: str | Path | None = None, url: str = URL) -> Path:
    """The path of a verified ``timemachine.txt``: from ``data_dir`` or ``$D2LUTIL_DATA_DIR``, the
    packaged copy, the per-user cache, or a fresh download into the cache, in that order.

    A folder that is named explicitly (argument or environment) must hold a good file: a missing
    one raises ``FileNotFoundError`` and a corrupt one ``ValueError``, each saying what to do. A
    damaged packaged copy is skipped with a warning.
    """
    named = check_path("data_dir", data_dir) if data_dir is not None else settings.data_dir_from_env()
    if named is not None:
        path = named / FILENAME
        if not path.is_file():
            what = "is a file, not a folder" if named.is_file() else f"does not hold {FILENAME}"
            raise FileNotFoundError(
                f"{named} {what}: {path} does not exist. Put The Time Machine text ({FILENAME}, sha1 {SHA1}) "
                f"there, or point D2LUTIL_DATA_DIR (or data_dir=) at the folder that holds it, or unset it "
                "to use the copy that ships with d2lutil."
            )
        _check(path, "Replace it with a good copy, or unset D2LUTIL_DATA_DIR to use the one that ships with d2lutil.")
        return path
    if PACKAGED.is_file():
        if sha1_of(PACKAGED) == SHA1:
            return PACKAGED
        warnings.warn(
            f"{PACKAGED} is damaged (wrong sha1): reinstall d2lutil; using the cache or a download", stacklevel=2
        )
    cached = settings.cache_dir() / FILENAME
    if cached.is_file():
        _check(cached, "Delete it and run again to download a fresh copy.")
        return cached
    return download(url, settings.cache_dir())

"""Where the book comes from: the packaged copy, the override, the cache, and the download path for
real: a local HTTP server on 127.0.0.1 that the test starts and stops, and raw-socket servers that
misbehave (cut the body short, reply garbage, reset, stall, trickle, send too much)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from refusals import assert_refused

from d2lutil import corpus, data, settings
from d2lutil.data import FILENAME, SHA1, download, locate_time_machine, sha1_of


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


_PACKAGED_BOOK = corpus.PACKAGED  # kept before any test hides it


@pytest.fixture
def real_file() -> Path:
    """The real timemachine.txt: from D2LUTIL_DATA_DIR when it holds one, else the packaged copy."""
    folder = settings.data_dir_from_env()
    if folder is not None and (folder / FILENAME).is_file():
        return folder / FILENAME
    if not _PACKAGED_BOOK.is_file():
        pytest.skip("neither D2LUTIL_DATA_DIR nor the package holds timemachine.txt")
    return _PACKAGED_BOOK


@pytest.fixture
def server(tmp_path, real_file):
    """Serve tmp_path/served over HTTP on 127.0.0.1: the real file, and a corrupt one under two names."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(real_file, served / FILENAME)
    (served / "corrupt").mkdir()
    text = real_file.read_bytes()
    (served / "corrupt" / FILENAME).write_bytes(text[:-100] + b"x" * 100)  # the right length, the wrong bytes
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _fds_into(folder: Path) -> list[str]:
    """The files under ``folder`` that this process holds open (Linux; empty elsewhere)."""
    if not os.path.isdir("/proc/self/fd"):
        return []
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def test_good_file_is_saved_and_verified(server, tmp_path, real_file):
    folder = tmp_path / "cache"
    path = download(f"{server}/{FILENAME}", folder)
    assert path == folder / FILENAME
    assert sha1_of(path) == SHA1
    assert path.read_bytes() == real_file.read_bytes()
    assert os.listdir(folder) == [FILENAME]  # no temporary file left beside it


def test_wrong_checksum_is_rejected_and_nothing_left(server, tmp_path, real_file):
    folder = tmp_path / "cache"
    bad_sha1 = sha1_of(tmp_path / "served" / "corrupt" / FILENAME)
    with pytest.raises(ValueError, match=f"sha1 {bad_sha1}, expected {SHA1}") as err:
        download(f"{server}/corrupt/{FILENAME}", folder)
    assert "not kept" in str(err.value) and str(folder / FILENAME) in str(err.value)
    assert os.listdir(folder) == []


def test_wrong_checksum_does_not_replace_a_good_file(server, tmp_path, real_file):
    folder = tmp_path / "cache"
    good = download(f"{server}/{FILENAME}", folder)
    with pytest.raises(ValueError):
        download(f"{server}/corrupt/{FILENAME}", folder)
    assert sha1_of(good) == SHA1 and os.listdir(folder) == [FILENAME]


def test_unreachable_address_says_where_to_put_the_file(tmp_path, closed_port):
    folder = tmp_path / "cache"
    before = _open_fds()
    with pytest.raises(FileNotFoundError) as err:
        download(f"http://127.0.0.1:{closed_port}/{FILENAME}", folder, timeout=5)
    message = str(err.value)
    assert f"put it at {folder / FILENAME}" in message and "D2LUTIL_DATA_DIR" in message
    assert os.listdir(folder) == []
    assert _open_fds() == before  # the temporary file's descriptor is closed too


def test_missing_file_on_the_server(server, tmp_path):
    folder = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match="404"):
        download(f"{server}/nothing-here.txt", folder)
    assert os.listdir(folder) == []


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """No D2LUTIL_DATA_DIR, no packaged copy (as if removed), and the per-user cache in tmp_path."""
    monkeypatch.delenv("D2LUTIL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(corpus, "PACKAGED", tmp_path / "removed" / FILENAME)
    return tmp_path / "xdg" / "d2lutil"


def test_locate_downloads_into_the_cache_then_reuses_it(server, fresh_cache, closed_port):
    assert settings.cache_dir() == fresh_cache and not fresh_cache.exists()
    path = locate_time_machine(url=f"{server}/{FILENAME}")
    assert path == fresh_cache / FILENAME and sha1_of(path) == SHA1
    # a second call finds the cached file and does not touch the network (the address is dead)
    assert locate_time_machine(url=f"http://127.0.0.1:{closed_port}/{FILENAME}") == path
    assert len(data.read_time_machine()) == 173_428


def test_locate_unreachable_with_empty_cache(fresh_cache, closed_port):
    with pytest.raises(FileNotFoundError, match="D2LUTIL_DATA_DIR"):
        locate_time_machine(url=f"http://127.0.0.1:{closed_port}/{FILENAME}")
    assert list(fresh_cache.iterdir()) == []


def test_corrupt_cached_file_is_reported(fresh_cache):
    fresh_cache.mkdir(parents=True)
    (fresh_cache / FILENAME).write_text("not the book")
    with pytest.raises(ValueError, match=r"Delete it and run again"):
        locate_time_machine()


def test_data_dir_env_pointing_at_an_empty_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        locate_time_machine()
    assert str(tmp_path / FILENAME) in str(err.value) and SHA1 in str(err.value)


def test_data_dir_env_with_a_corrupt_file(tmp_path, monkeypatch, real_file):
    (tmp_path / FILENAME).write_bytes(real_file.read_bytes()[:-1])
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=f"{tmp_path / FILENAME} has sha1 .*, expected {SHA1}"):
        locate_time_machine()


def test_data_dir_argument_wins_over_the_environment(tmp_path, monkeypatch, real_file):
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path / "empty"))
    assert locate_time_machine(real_file.parent) == real_file
    with pytest.raises(FileNotFoundError, match="empty"):
        locate_time_machine()


# ---------------------------------------------------------------- the packaged copy (issue 16)


def test_the_book_ships_with_the_package():
    assert corpus.PACKAGED.is_file(), "d2lutil/corpus/timemachine.txt is missing from the package"
    assert corpus.PACKAGED.stat().st_size == 178_979 and sha1_of(corpus.PACKAGED) == SHA1


def test_package_data_carries_the_book():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "corpus/*.txt" in pyproject["tool"]["setuptools"]["package-data"]["d2lutil"]


def test_with_nothing_set_the_packaged_copy_is_used_offline(tmp_path, monkeypatch, closed_port):
    monkeypatch.delenv("D2LUTIL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert locate_time_machine(url=f"http://127.0.0.1:{closed_port}/{FILENAME}") == corpus.PACKAGED
    assert len(data.read_time_machine()) == 173_428
    assert not (tmp_path / "xdg").exists()  # nothing was downloaded or cached


def test_the_override_wins_over_the_packaged_copy(tmp_path, monkeypatch, real_file):
    shutil.copyfile(real_file, tmp_path / FILENAME)
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path))
    assert locate_time_machine() == tmp_path / FILENAME
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path / "nothing-here"))  # named, so it must hold the file
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        locate_time_machine()


def test_a_damaged_packaged_copy_is_skipped_with_a_warning(tmp_path, monkeypatch, server, fresh_cache):
    damaged = tmp_path / "pkg" / FILENAME
    damaged.parent.mkdir()
    damaged.write_text("not the book")
    monkeypatch.setattr(corpus, "PACKAGED", damaged)
    with pytest.warns(UserWarning, match="damaged"):
        path = locate_time_machine(url=f"{server}/{FILENAME}")
    assert path == fresh_cache / FILENAME and sha1_of(path) == SHA1


def test_a_cache_folder_that_is_a_file(server, fresh_cache):
    fresh_cache.parent.mkdir(parents=True)
    fresh_cache.write_text("a file where the cache folder should be")
    with pytest.raises(FileNotFoundError, match=r"is a file, not a folder.*XDG_CACHE_HOME"):
        locate_time_machine(url=f"{server}/{FILENAME}")


def test_a_data_dir_that_is_a_file(tmp_path, real_file):
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        locate_time_machine(real_file)


# ---------------------------------------------------------------- servers that misbehave (issue 14)

Behaviour = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def raw_server():
    """start(behaviour) -> the address of a server on 127.0.0.1 that reads a request, then runs
    behaviour(connection, stop) for each connection; everything stops at the end of the test."""
    stop = threading.Event()
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket, behaviour: Behaviour) -> None:
        with conn:
            try:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                behaviour(conn, stop)
            except OSError:
                pass

    def serve(listener: socket.socket, behaviour: Behaviour) -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            worker = threading.Thread(target=handle, args=(conn, behaviour), daemon=True)
            threads.append(worker)
            worker.start()

    def start(behaviour: Behaviour) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.05)
        listeners.append(listener)
        thread = threading.Thread(target=serve, args=(listener, behaviour), daemon=True)
        threads.append(thread)
        thread.start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/{FILENAME}"

    yield start
    stop.set()
    for thread in threads:
        thread.join(5)
    for listener in listeners:
        listener.close()


def _headers(length: int | None = 178_979) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{size}Connection: close\r\n\r\n".encode()


def _cut_short(conn, stop):
    conn.sendall(_headers() + b"x" * 1000)  # then closes: 1,000 of 178,979 bytes


def _garbage(conn, stop):
    conn.sendall(b"HELLO, THIS IS NOT HTTP\r\n\r\n")


def _reset(conn, stop):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close


def _stall(conn, stop):
    stop.wait(10)


def _trickle_body(conn, stop):
    conn.sendall(_headers())
    while not stop.wait(0.02):
        conn.sendall(b"x")  # one byte every 20 ms: every single read succeeds, the whole never ends


def _trickle_headers(conn, stop):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 10_000:
        if stop.wait(0.02):
            return
        conn.sendall(bytes([byte]))


def _huge_announced(conn, stop):
    conn.sendall(_headers(10**12) + b"x" * 1000)


def _endless_without_length(conn, stop):
    conn.sendall(_headers(None))
    while not stop.is_set():
        conn.sendall(b"x" * 65536)


def _server_error(conn, stop):
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize(
    "behaviour,why",
    [
        (_cut_short, "IncompleteRead|ended after"),
        (_garbage, "BadStatusLine|RemoteDisconnected"),
        (_reset, "Connection|reset|RemoteDisconnected"),
        (_stall, "timed out|deadline"),
        (_server_error, "500"),
        (_huge_announced, "more than the cap"),
        (_endless_without_length, "more than the cap"),
    ],
)
def test_every_server_fault_is_the_documented_error(raw_server, tmp_path, behaviour, why):
    folder = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match=why) as err:
        download(raw_server(behaviour), folder, timeout=1.0, deadline=5.0, max_bytes=1_000_000)
    assert f"put it at {folder / FILENAME}" in str(err.value)  # the by-hand instructions
    assert os.listdir(folder) == []  # no partial file
    assert not _fds_into(folder)  # and no descriptor left open on the temporary file


@pytest.mark.parametrize("behaviour", [_trickle_body, _trickle_headers])
def test_a_trickling_server_meets_the_overall_deadline(raw_server, tmp_path, behaviour):
    folder = tmp_path / "cache"
    url = raw_server(behaviour)
    started = time.monotonic()
    with pytest.raises(FileNotFoundError, match=r"deadline of 1 s") as err:
        download(url, folder, timeout=5.0, deadline=1.0)
    assert time.monotonic() - started < 3.0, "the deadline was not kept"
    assert "put it at" in str(err.value)
    assert os.listdir(folder) == []


@pytest.mark.parametrize(
    "kwargs,error,argument",
    [
        ({"url": "ftp://example.org/x.txt"}, ValueError, "url"),
        ({"url": 42}, TypeError, "url"),
        ({"sha1": 42}, TypeError, "sha1"),
        ({"url": "http://127.0.0.1:9/"}, ValueError, "url"),
        ({"folder": None}, TypeError, "folder"),
        ({"folder": ""}, TypeError, "folder"),
        ({"sha1": "abc"}, ValueError, "sha1"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"deadline": float("nan")}, ValueError, "deadline"),
        ({"deadline": -1}, ValueError, "deadline"),
        ({"deadline": 2**70}, ValueError, "deadline"),
        ({"max_bytes": 0}, ValueError, "max_bytes"),
        ({"max_bytes": True}, TypeError, "max_bytes"),
    ],
)
def test_download_bad_arguments(tmp_path, kwargs, error, argument):
    args = {"url": f"http://127.0.0.1:9/{FILENAME}", "folder": tmp_path / "cache", **kwargs}
    assert_refused(lambda: download(**args), error, argument)
    assert not (tmp_path / "cache").exists()  # refused before anything was created


@pytest.mark.parametrize("data_dir,error", [(42, TypeError), ("", TypeError), (b"/tmp", TypeError)])
def test_locate_bad_data_dir(data_dir, error):
    assert_refused(lambda: locate_time_machine(data_dir), error, "data_dir")

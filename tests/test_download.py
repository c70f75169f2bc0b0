"""The download path for real: a local HTTP server on 127.0.0.1 that the test starts and stops."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from d2lutil import data, settings
from d2lutil.data import FILENAME, SHA1, download, locate_time_machine, sha1_of


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def real_file() -> Path:
    """The real timemachine.txt, from D2LUTIL_DATA_DIR (set by the root conftest)."""
    folder = settings.data_dir_from_env()
    if folder is None or not (folder / FILENAME).is_file():
        pytest.skip("D2LUTIL_DATA_DIR does not hold timemachine.txt")
    return folder / FILENAME


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
    """No D2LUTIL_DATA_DIR, and the per-user cache in tmp_path."""
    monkeypatch.delenv("D2LUTIL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
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

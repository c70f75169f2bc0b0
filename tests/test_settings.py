"""The two switches, D2LUTIL_QUICK and D2LUTIL_DATA_DIR, and the per-user cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from d2lutil.settings import budget, cache_dir, data_dir_from_env, describe_setting, is_quick

CPU, GPU = torch.device("cpu"), torch.device("cuda", 0)  # a device object needs no GPU to exist


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "on"])
def test_quick_on(monkeypatch, value):
    monkeypatch.setenv("D2LUTIL_QUICK", value)
    assert is_quick() is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "", "  "])
def test_quick_off(monkeypatch, value):
    monkeypatch.setenv("D2LUTIL_QUICK", value)
    assert is_quick() is False


def test_quick_unset(monkeypatch):
    monkeypatch.delenv("D2LUTIL_QUICK", raising=False)
    assert is_quick() is False


@pytest.mark.parametrize("value", ["2", "quick", "ture"])
def test_quick_typo_is_an_error(monkeypatch, value):
    monkeypatch.setenv("D2LUTIL_QUICK", value)
    with pytest.raises(ValueError, match=f"D2LUTIL_QUICK='{value}' is not understood: set it to 1"):
        is_quick()


def test_budget(monkeypatch):
    monkeypatch.setenv("D2LUTIL_QUICK", "1")
    assert budget(CPU) == "quick" and budget(GPU) == "quick"
    monkeypatch.delenv("D2LUTIL_QUICK")
    assert budget(CPU) == "cpu"
    assert budget(GPU) == "full"
    assert budget() == ("full" if torch.cuda.is_available() else "cpu")  # the device found here


@pytest.mark.parametrize("quick,device,chosen", [("1", CPU, "quick"), ("0", CPU, "cpu"), ("0", GPU, "full")])
def test_describe_setting_names_the_budget(monkeypatch, quick, device, chosen):
    monkeypatch.setenv("D2LUTIL_QUICK", quick)
    line = describe_setting(device)
    assert line.startswith(f"budget = '{chosen}' on device {device}")
    assert ("D2LUTIL_QUICK=1 is set" in line) == (chosen == "quick")
    assert "\n" not in line


def test_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.delenv("D2LUTIL_DATA_DIR", raising=False)
    assert data_dir_from_env() is None
    monkeypatch.setenv("D2LUTIL_DATA_DIR", "")
    assert data_dir_from_env() is None
    monkeypatch.setenv("D2LUTIL_DATA_DIR", str(tmp_path))
    assert data_dir_from_env() == tmp_path
    monkeypatch.setenv("D2LUTIL_DATA_DIR", "~/books")
    assert data_dir_from_env() == Path.home() / "books"


def test_cache_dir_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "d2lutil"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "d2lutil"

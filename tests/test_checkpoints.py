"""Checkpoints: safetensors weights and a JSON manifest; round trips, and every way a load or a save can go wrong.

Issue 14's examples are here as tests: a vocabulary edited in the manifest (1), a save that fails
half-way (2, at every step), names with a dot (3), a damaged manifest and a huge hidden_size (10),
and a weights path that leaves the checkpoint's folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
import torch
from refusals import assert_refused, names

import d2lutil
from d2lutil import checkpoints
from d2lutil.checkpoints import (
    FORMAT,
    PRETRAINED_DIR,
    CheckpointError,
    digest_of,
    load_checkpoint,
    read_manifest,
    save_checkpoint,
)
from d2lutil.data import Vocab
from d2lutil.models import build_lm

ARGS = {"kind": "gru", "hidden_size": 16, "num_layers": 2, "embed_size": 8, "dropout": 0.1}


@pytest.fixture
def vocab() -> Vocab:
    return Vocab("the time traveller for so it will be convenient to speak of him")


def _model(vocab: Vocab, seed: int = 0, **change) -> torch.nn.Module:
    d2lutil.set_seed(seed)
    model = build_lm(vocab_size=len(vocab), **dict(ARGS, **change))
    with torch.no_grad():  # move every weight away from its init, so that a fresh model cannot pass for it
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return model


def _save(model, vocab, path, **fields):
    fields = {"recipe": {"lr": 2e-3}, "device": "cpu", "train_seconds": 1.5, "val_ppl": 4.25, **fields}
    return save_checkpoint(model, vocab, path, ARGS, **fields)


@pytest.fixture
def saved(tmp_path, vocab):
    model = _model(vocab)
    return model, _save(model, vocab, tmp_path / "ckpt" / "tiny")


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _rewrite(manifest_path, change, redigest: bool = False) -> None:
    """Edit a manifest in place; with redigest, as a consistent but wrong writer would (the digest fits again)."""
    manifest = json.loads(manifest_path.read_text())
    change(manifest)
    if redigest:
        manifest["digest"] = digest_of(manifest, manifest_path.with_name(manifest["weights_file"]))
    manifest_path.write_text(json.dumps(manifest))


# ---------------------------------------------------------------- round trip and the manifest


def test_round_trip_is_bit_exact(saved, vocab):
    model, manifest_path = saved
    loaded, loaded_vocab, manifest = load_checkpoint(manifest_path, vocab=vocab)
    assert loaded_vocab == vocab
    assert _same_weights(loaded, model)
    want, got = model.state_dict(), loaded.state_dict()
    assert all(got[k].dtype == want[k].dtype for k in want)
    assert not loaded.training  # returned in eval mode
    tokens = torch.tensor([vocab[list("the time")]])
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(tokens)[0], model(tokens)[0])


def test_manifest_fields(saved, vocab):
    _, manifest_path = saved
    assert manifest_path.suffix == ".json" and manifest_path.name == "tiny.json"
    manifest = json.loads(manifest_path.read_text())
    weights = manifest_path.with_name(manifest["weights_file"])
    assert re.fullmatch(r"tiny\.[0-9a-f]{12}\.safetensors", weights.name) and weights.is_file()
    assert sorted(os.listdir(manifest_path.parent)) == sorted([manifest_path.name, weights.name])  # no temp files
    assert manifest["format"] == FORMAT
    assert manifest["model"] == dict(ARGS, vocab_size=len(vocab))
    assert manifest["vocab"] == vocab.idx_to_token
    assert manifest["digest"] == digest_of(manifest, weights) and len(manifest["digest"]) == 64
    assert manifest["recipe"] == {"lr": 2e-3} and manifest["device"] == "cpu"
    assert manifest["train_seconds"] == 1.5 and manifest["val_ppl"] == 4.25
    assert read_manifest(manifest_path)[0] == manifest
    assert load_checkpoint(manifest_path.with_suffix(""))[2] == manifest  # folder/NAME names it too


def test_weights_are_safetensors_not_pickle(saved):
    _, manifest_path = saved
    weights = manifest_path.with_name(json.loads(manifest_path.read_text())["weights_file"])
    header_len = int.from_bytes(weights.read_bytes()[:8], "little")
    header = json.loads(weights.read_bytes()[8 : 8 + header_len])
    assert "head.weight" in header and header["head.weight"]["dtype"] == "F32"


def test_resaving_replaces_the_old_pair(saved, vocab):
    _, manifest_path = saved
    other = _model(vocab, seed=1)
    _save(other, vocab, manifest_path.parent / "tiny")
    assert len(os.listdir(manifest_path.parent)) == 2  # the old weights file is gone
    assert _same_weights(load_checkpoint(manifest_path)[0], other)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_every_kind_round_trips_with_its_embedding_dropout(tmp_path, vocab, kind):
    """An LSTM (and the others) saved with embed_dropout comes back bit-exact, embed_dropout in the manifest."""
    args = dict(ARGS, kind=kind, embed_dropout=0.25)
    model = _model(vocab, **args)
    path = save_checkpoint(model, vocab, tmp_path / kind, args, val_ppl=4.0, test_ppl=4.5)
    manifest = json.loads(path.read_text())
    assert manifest["model"] == dict(args, vocab_size=len(vocab)) and manifest["model"]["embed_dropout"] == 0.25
    assert (manifest["val_ppl"], manifest["test_ppl"]) == (4.0, 4.5)
    loaded, _, _ = load_checkpoint(path)
    assert _same_weights(loaded, model) and loaded.embed_dropout.p == 0.25
    assert isinstance(loaded.rnn, type(model.rnn))
    tokens = torch.tensor([vocab[list("the time")]])
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(tokens)[0], model(tokens)[0])


def test_recipe_defaults_to_empty(tmp_path, vocab):
    path = save_checkpoint(_model(vocab), vocab, tmp_path / "bare", ARGS)
    assert load_checkpoint(path)[2]["recipe"] == {}


# ---------------------------------------------------------------- the one digest (issue 14, example 1)


def test_swapped_letters_in_the_vocabulary_are_refused(saved):
    _, manifest_path = saved

    def swap(manifest):
        v = manifest["vocab"]
        v[1], v[2] = v[2], v[1]

    _rewrite(manifest_path, swap)
    with pytest.raises(CheckpointError, match="does not match its digest.*vocabulary"):
        load_checkpoint(manifest_path)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["recipe"].update(lr=0.5),
        lambda m: m.update(val_ppl=1.01),
        lambda m: m["model"].update(dropout=0.2),
        lambda m: m.update(note="edited"),
    ],
    ids=["recipe", "val_ppl", "model", "a new field"],
)
def test_every_manifest_field_is_covered_by_the_digest(saved, change):
    _, manifest_path = saved
    _rewrite(manifest_path, change)
    with pytest.raises(CheckpointError, match="does not match its digest"):
        load_checkpoint(manifest_path)


def test_corrupt_weights(saved):
    _, manifest_path = saved
    weights = manifest_path.with_name(json.loads(manifest_path.read_text())["weights_file"])
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the last tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its digest.*corrupted"):
        load_checkpoint(manifest_path)


def test_truncated_weights(saved):
    _, manifest_path = saved
    weights = manifest_path.with_name(json.loads(manifest_path.read_text())["weights_file"])
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="digest"):
        load_checkpoint(manifest_path)


@pytest.mark.parametrize("name", ["gru_lm", "lstm_lm", "rnn_lm"])
def test_a_letter_swapped_in_a_shipped_vocabulary_is_refused(name, tmp_path):
    if not (PRETRAINED_DIR / f"{name}.json").is_file():
        pytest.skip(f"no shipped {name} in this checkout")
    manifest, path = read_manifest(name)
    shutil.copy(path, tmp_path / path.name)
    shutil.copy(path.with_name(manifest["weights_file"]), tmp_path / manifest["weights_file"])
    vocab = manifest["vocab"]
    i, j = vocab.index("e"), vocab.index("t")
    vocab[i], vocab[j] = vocab[j], vocab[i]
    (tmp_path / path.name).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="does not match its digest"):
        load_checkpoint(tmp_path / name)


# ---------------------------------------------------------------- the weights must fit the described model


@pytest.mark.parametrize(
    "change", [{"hidden_size": 32}, {"num_layers": 1}, {"kind": "rnn"}, {"kind": "lstm"}, {"embed_size": None}]
)
def test_a_consistent_manifest_for_another_model_shape(saved, change):
    """A writer that re-digested a wrong model description: the header's shapes catch it."""
    _, manifest_path = saved
    _rewrite(manifest_path, lambda m: m["model"].update(change), redigest=True)
    with pytest.raises(CheckpointError, match="does not fit the model its manifest describes"):
        load_checkpoint(manifest_path)


def test_a_huge_hidden_size_is_refused_before_any_allocation(saved, monkeypatch):
    _, manifest_path = saved
    built_on = []
    real_build = checkpoints.build_lm

    def spy(**kwargs):
        built_on.append(torch.get_default_device().type)
        return real_build(**kwargs)

    monkeypatch.setattr(checkpoints, "build_lm", spy)
    _rewrite(manifest_path, lambda m: m["model"].update(hidden_size=200_000), redigest=True)
    with pytest.raises(CheckpointError, match=r"'model.hidden_size' must be an integer in \[1, 65536\], got 200000"):
        load_checkpoint(manifest_path)
    assert built_on == []  # refused by the schema
    _rewrite(manifest_path, lambda m: m["model"].update(hidden_size=60_000), redigest=True)  # in range: 86 GB
    with pytest.raises(CheckpointError, match=r"shapes \(found vs described\).*\(48, 8\) vs \(180000, 8\)"):
        load_checkpoint(manifest_path)
    assert built_on == ["meta"]  # only the skeleton on the meta device, which holds no memory


# ---------------------------------------------------------------- damaged manifests (issue 14, example 10)


def _drop(key):
    return lambda m: m.pop(key)


DAMAGE = {
    "missing format": _drop("format"),
    "missing model": _drop("model"),
    "missing vocab": _drop("vocab"),
    "missing recipe": _drop("recipe"),
    "missing weights_file": _drop("weights_file"),
    "missing digest": _drop("digest"),
    "missing model.kind": lambda m: m["model"].pop("kind"),
    "missing model.vocab_size": lambda m: m["model"].pop("vocab_size"),
    "missing model.hidden_size": lambda m: m["model"].pop("hidden_size"),
    "format from the future": lambda m: m.update(format="d2lutil-checkpoint/9"),
    "model is a list": lambda m: m.update(model=[1, 2]),
    "model has an unknown key": lambda m: m["model"].update(bias=True),
    "kind is a number": lambda m: m["model"].update(kind=3),
    "kind is unknown": lambda m: m["model"].update(kind="transformer"),
    "hidden_size is a str": lambda m: m["model"].update(hidden_size="16"),
    "hidden_size is a bool": lambda m: m["model"].update(hidden_size=True),
    "hidden_size is a float": lambda m: m["model"].update(hidden_size=16.0),
    "hidden_size is 0": lambda m: m["model"].update(hidden_size=0),
    "hidden_size is negative": lambda m: m["model"].update(hidden_size=-16),
    "num_layers is huge": lambda m: m["model"].update(num_layers=10**6),
    "embed_size is 0": lambda m: m["model"].update(embed_size=0),
    "dropout is 1": lambda m: m["model"].update(dropout=1.0),
    "dropout is a str": lambda m: m["model"].update(dropout="0.1"),
    "embed_dropout is 1": lambda m: m["model"].update(embed_dropout=1.0),
    "embed_dropout is negative": lambda m: m["model"].update(embed_dropout=-0.1),
    "embed_dropout is a str": lambda m: m["model"].update(embed_dropout="0.1"),
    "vocab_size is not len(vocab)": lambda m: m["model"].update(vocab_size=99),
    "vocab is a str": lambda m: m.update(vocab="abc"),
    "vocab holds a number": lambda m: m["vocab"].append(7),
    "vocab without <unk>": lambda m: m["vocab"].pop(0),
    "vocab with a repeat": lambda m: m["vocab"].__setitem__(2, m["vocab"][1]),
    "recipe is a list": lambda m: m.update(recipe=[]),
    "weights_file is a number": lambda m: m.update(weights_file=5),
    "weights_file is not safetensors": lambda m: m.update(weights_file="tiny.pt"),
    "digest is short": lambda m: m.update(digest="abc"),
    "digest is a number": lambda m: m.update(digest=123),
    "val_ppl is a str": lambda m: m.update(val_ppl="4.2"),
    "val_ppl below 1": lambda m: m.update(val_ppl=0.5),
    "test_ppl is a str": lambda m: m.update(test_ppl="3.7"),
    "test_ppl below 1": lambda m: m.update(test_ppl=0.9),
    "test_ppl is null": lambda m: m.update(test_ppl=None),
    "train_seconds negative": lambda m: m.update(train_seconds=-1),
    "device is a number": lambda m: m.update(device=0),
}


@pytest.mark.parametrize("change", list(DAMAGE.values()), ids=list(DAMAGE))
def test_damaged_manifest_gives_one_clear_error(saved, change):
    _, manifest_path = saved
    _rewrite(manifest_path, change, redigest=False)
    with pytest.raises(CheckpointError, match=r"tiny\.json|'model'") as err:
        load_checkpoint(manifest_path)
    assert type(err.value) is CheckpointError


@pytest.mark.parametrize(
    "raw,message",
    [
        (b'{"format": "d2lutil-checkpoint/2", "model": ', "not valid UTF-8 JSON"),
        (b"", "not valid UTF-8 JSON"),
        (b'{"vocab": ["\xff\xfe"]}', "not valid UTF-8 JSON"),
        (b"\xff\xfe\x00\x00garbage", "not valid UTF-8 JSON"),
        (b'{"val_ppl": NaN}', "not valid UTF-8 JSON.*NaN"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
    ids=["cut short", "empty", "non-UTF-8 inside", "non-UTF-8 start", "NaN", "nested too deep", "list", "str", "null"],
)
def test_unreadable_manifest(saved, raw, message):
    _, manifest_path = saved
    manifest_path.write_bytes(raw)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(manifest_path)


def test_a_manifest_without_format_and_digest_names_both(saved):
    _, manifest_path = saved

    def unversioned(manifest):
        del manifest["format"], manifest["digest"]
        manifest["sha256"] = "0" * 64

    _rewrite(manifest_path, unversioned)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(manifest_path)
    assert names(str(err.value), "format") and names(str(err.value), "digest")


@pytest.mark.parametrize(
    "weights_file", ["../outside.safetensors", "/etc/outside.safetensors", "sub/inner.safetensors", "..", ""]
)
def test_a_weights_path_cannot_leave_the_folder(saved, tmp_path, weights_file):
    model, manifest_path = saved
    real = manifest_path.with_name(json.loads(manifest_path.read_text())["weights_file"])
    shutil.copy(real, tmp_path / "ckpt" / ".." / "outside.safetensors")  # a valid file is there to be found
    _rewrite(manifest_path, lambda m: m.update(weights_file=weights_file), redigest=False)
    with pytest.raises(CheckpointError, match="'weights_file' must be a file name in the checkpoint's folder"):
        load_checkpoint(manifest_path)


def test_another_vocabulary(saved, vocab):
    _, manifest_path = saved
    other = Vocab("a completely different text with other letters: qxz")
    assert_refused(lambda: load_checkpoint(manifest_path, vocab=other), ValueError, "vocab")
    same_letters_other_order = Vocab(idx_to_token=[vocab.idx_to_token[0], *reversed(vocab.idx_to_token[1:])])
    assert_refused(lambda: load_checkpoint(manifest_path, vocab=same_letters_other_order), ValueError, "vocab")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint manifest at .*nowhere.json.*shipped checkpoints"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no checkpoint manifest"):
        load_checkpoint("no_such_shipped_model")


def test_missing_weights_file(saved):
    _, manifest_path = saved
    weights = manifest_path.with_name(json.loads(manifest_path.read_text())["weights_file"])
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=rf"{re.escape(weights.name)} is missing"):
        load_checkpoint(manifest_path)


# ---------------------------------------------------------------- names are names (issue 14, example 3)


def test_names_with_dots_do_not_collide(tmp_path, vocab):
    first, second = _model(vocab, seed=1), _model(vocab, seed=2)
    _save(first, vocab, tmp_path / "run_lr0.01", recipe={"lr": 0.01})
    _save(second, vocab, tmp_path / "run_lr0.02", recipe={"lr": 0.02})
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["run_lr0.01.json", "run_lr0.02.json"]
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    a, _, ma = load_checkpoint(tmp_path / "run_lr0.01")
    b, _, mb = load_checkpoint(tmp_path / "run_lr0.02.json")
    assert ma["recipe"] == {"lr": 0.01} and _same_weights(a, first)
    assert mb["recipe"] == {"lr": 0.02} and _same_weights(b, second)


def test_a_shipped_checkpoint_by_name_or_by_its_weights_file():
    if not (PRETRAINED_DIR / "gru_lm.json").is_file():
        pytest.skip("no shipped gru_lm in this checkout")
    assert read_manifest("gru_lm")[1] == PRETRAINED_DIR / "gru_lm.json"
    assert read_manifest("gru_lm.safetensors")[1] == PRETRAINED_DIR / "gru_lm.json"
    assert read_manifest(PRETRAINED_DIR / "gru_lm.safetensors")[1] == PRETRAINED_DIR / "gru_lm.json"


def test_a_bare_name_saved_in_the_working_folder_loads_from_there(tmp_path, vocab, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _model(vocab)
    _save(model, vocab, "my_run.v2")
    assert (tmp_path / "my_run.v2.json").is_file()
    assert _same_weights(load_checkpoint("my_run.v2")[0], model)


# ---------------------------------------------------------------- a failed save keeps the old one (example 2)


def test_a_value_that_is_not_json_leaves_the_previous_checkpoint(saved, vocab):
    model, manifest_path = saved
    before = sorted(os.listdir(manifest_path.parent))
    with pytest.raises(ValueError, match=r"manifest field 'recipe' = .*cannot be stored as JSON"):
        _save(_model(vocab, seed=5), vocab, manifest_path.parent / "tiny", recipe={"optimizer": object()})
    assert sorted(os.listdir(manifest_path.parent)) == before
    assert _same_weights(load_checkpoint(manifest_path)[0], model)


class _Boom(RuntimeError):
    pass


def _fail_on_call(monkeypatch, owner, attribute, nth):
    """Make owner.attribute raise _Boom on its nth call (1-based) and pass through otherwise."""
    real = getattr(owner, attribute)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            raise _Boom(f"{attribute} failed on call {nth}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, wrapper)


STEPS = [
    ("save_file", checkpoints, "save_file", 1),
    ("mkstemp of the weights", checkpoints.tempfile, "mkstemp", 1),
    ("fsync of the weights", checkpoints.os, "fsync", 1),
    ("sha256 of the weights", checkpoints, "file_digest", 1),
    ("digest", checkpoints, "digest_of", 1),
    ("mkstemp of the manifest", checkpoints.tempfile, "mkstemp", 2),
    ("fsync of the manifest", checkpoints.os, "fsync", 2),
    ("weights into place", checkpoints.os, "replace", 1),
    ("manifest into place", checkpoints.os, "replace", 2),
]


@pytest.mark.parametrize("owner,attribute,nth", [s[1:] for s in STEPS], ids=[s[0] for s in STEPS])
def test_a_save_that_fails_at_any_step_leaves_the_previous_checkpoint(saved, vocab, monkeypatch, owner, attribute, nth):
    model, manifest_path = saved
    before = sorted(os.listdir(manifest_path.parent))
    _fail_on_call(monkeypatch, owner, attribute, nth)
    with pytest.raises(_Boom):
        _save(_model(vocab, seed=7), vocab, manifest_path.parent / "tiny")
    monkeypatch.undo()
    assert sorted(os.listdir(manifest_path.parent)) == before  # nothing half-written left behind
    loaded, _, manifest = load_checkpoint(manifest_path)
    assert _same_weights(loaded, model)


def test_a_failure_after_the_switch_keeps_the_new_checkpoint(saved, vocab, monkeypatch):
    """Removing the old weights is the last step; if it fails, the new checkpoint is complete."""
    _, manifest_path = saved
    new = _model(vocab, seed=8)
    real_unlink = type(manifest_path).unlink
    monkeypatch.setattr(type(manifest_path), "unlink", lambda self, *a, **k: (_ for _ in ()).throw(OSError("busy")))
    _save(new, vocab, manifest_path.parent / "tiny")
    monkeypatch.setattr(type(manifest_path), "unlink", real_unlink)
    assert _same_weights(load_checkpoint(manifest_path)[0], new)


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs,error,argument",
    [
        ({"name_or_path": 42}, TypeError, "name_or_path"),
        ({"name_or_path": None}, TypeError, "name_or_path"),
        ({"name_or_path": ""}, TypeError, "name_or_path"),
        ({"vocab": "abc"}, TypeError, "vocab"),
        ({"vocab": ["<unk>", "a"]}, TypeError, "vocab"),
        ({"device": "gpu0"}, ValueError, "device"),
        ({"device": 3.5}, TypeError, "device"),
        ({"device": "cuda:99"}, ValueError, "device"),
    ],
)
def test_load_bad_arguments(saved, kwargs, error, argument):
    _, manifest_path = saved
    assert_refused(lambda: load_checkpoint(**{"name_or_path": manifest_path, **kwargs}), error, argument)


def test_load_on_cuda_without_a_gpu_names_the_device(saved, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)  # as on a machine without CUDA, GPU or not
    assert_refused(lambda: load_checkpoint(saved[1], device="cuda"), ValueError, "device")


@pytest.mark.parametrize(
    "change,error,argument",
    [
        ({"model": "not a model"}, TypeError, "model"),
        ({"vocab": ["<unk>", "a"]}, TypeError, "vocab"),
        ({"path": ""}, TypeError, "path"),
        ({"path": 7}, TypeError, "path"),
        ({"path": "runs/.hidden"}, ValueError, "path"),
        ({"model_args": ["gru"]}, TypeError, "model_args"),
        ({"model_args": dict(ARGS, hidden_size=32)}, ValueError, "model_args"),
        ({"model_args": dict(ARGS, vocab_size=3)}, ValueError, "model_args"),
        ({"model_args": dict(ARGS, kind="lstm_cell")}, ValueError, "model_args"),
        ({"model_args": dict(ARGS, kind="lstm")}, ValueError, "model_args"),
        ({"model_args": dict(ARGS, embed_dropout=1.0)}, ValueError, "embed_dropout"),
        ({"model_args": dict(ARGS, colour="red")}, ValueError, "colour"),
        ({"digest": "x"}, ValueError, "digest"),
        ({"vocab_extra": {"x": float("nan")}}, ValueError, "vocab_extra"),
        ({"val_ppl": float("inf")}, ValueError, "val_ppl"),
        ({"val_ppl": 0.5}, ValueError, "val_ppl"),
        ({"test_ppl": 0.5}, ValueError, "test_ppl"),
        ({"test_ppl": "3.7"}, ValueError, "test_ppl"),
        ({"recipe": [1]}, ValueError, "recipe"),
    ],
)
def test_save_bad_arguments(tmp_path, vocab, change, error, argument):
    args = {"model": _model(vocab), "vocab": vocab, "path": tmp_path / "out" / "x", "model_args": ARGS, "recipe": {}}
    args.update(change)
    assert_refused(lambda: save_checkpoint(**args), error, argument)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []  # refused before writing


def test_save_into_a_folder_that_is_a_file(tmp_path, vocab):
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        _save(_model(vocab), vocab, tmp_path / "taken" / "x")


def test_numpy_numbers_are_numbers(tmp_path, vocab):
    import numpy as np

    model = _model(vocab)
    args = {k: np.int64(v) if isinstance(v, int) else v for k, v in ARGS.items()}
    path = save_checkpoint(model, vocab, tmp_path / "np", args, recipe={"lr": np.float32(0.5)}, val_ppl=np.float64(4))
    manifest = load_checkpoint(path)[2]
    assert manifest["model"]["hidden_size"] == 16 and type(manifest["model"]["hidden_size"]) is int
    assert manifest["recipe"] == {"lr": 0.5} and manifest["val_ppl"] == 4.0


def test_what_json_changes_is_what_the_digest_covers(tmp_path, vocab):
    """Tuples become lists and int keys strings in JSON: the digest is taken over what a load reads back."""
    model = _model(vocab)
    path = _save(model, vocab, tmp_path / "x", recipe={"betas": (0.9, 0.99), 1: "one", "nested": {2: [3, (4,)]}})
    loaded, _, manifest = load_checkpoint(path)
    assert manifest["recipe"] == {"betas": [0.9, 0.99], "1": "one", "nested": {"2": [3, [4]]}}
    assert _same_weights(loaded, model)


_SAVER = """
import sys, torch
from d2lutil.checkpoints import save_checkpoint
from d2lutil.data import Vocab
from d2lutil.models import build_lm
vocab = Vocab(sys.argv[2])
args = {"kind": "gru", "hidden_size": 16, "num_layers": 2, "embed_size": 8, "dropout": 0.1}
models = []
for seed in (11, 12):
    torch.manual_seed(seed)
    models.append(build_lm(vocab_size=len(vocab), **args))
    torch.save(models[-1].state_dict(), f"{sys.argv[1]}/expected{seed}.pt")
for i in range(100000):
    save_checkpoint(models[i % 2], vocab, f"{sys.argv[1]}/ckpt/run", args, recipe={"i": i})
    if i == 0:
        print("saved", flush=True)
"""


@pytest.mark.slow  # a child process that imports torch: 5-20 s, so it is deselected with -m "not slow"
def test_a_save_killed_at_a_random_moment_leaves_a_loadable_checkpoint(tmp_path, vocab):
    """A real kill (SIGKILL) of a process that saves over and over: what it leaves always loads."""
    import random
    import subprocess
    import sys
    import time

    text = " ".join(vocab.idx_to_token[1:])
    proc = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(tmp_path), text], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "saved"
        time.sleep(random.Random(0).uniform(0.05, 0.3))
    finally:
        proc.kill()
        proc.wait(30)
    loaded, _, manifest = load_checkpoint(tmp_path / "ckpt" / "run")
    seed = (11, 12)[manifest["recipe"]["i"] % 2]
    expected = torch.load(tmp_path / f"expected{seed}.pt")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in expected.items())
    assert manifest["recipe"]["i"] >= 1  # it was killed while saving again, not before

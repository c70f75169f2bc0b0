"""Checkpoints: safetensors weights and a JSON manifest; round trips and every way a load can go wrong."""

from __future__ import annotations

import json

import pytest
import torch

from d2lutil.checkpoints import load_checkpoint, read_manifest, save_checkpoint, sha256_of
from d2lutil.data import Vocab
from d2lutil.models import build_lm
from d2lutil.settings import set_seed

ARGS = {"kind": "gru", "hidden_size": 16, "num_layers": 2, "embed_size": 8, "dropout": 0.1}


@pytest.fixture
def vocab() -> Vocab:
    return Vocab("the time traveller for so it will be convenient to speak of him")


@pytest.fixture
def saved(tmp_path, vocab):
    set_seed(0)
    model = build_lm(vocab_size=len(vocab), **ARGS)
    with torch.no_grad():  # move every weight away from its init, so that a fresh model cannot pass for it
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    manifest_path = save_checkpoint(
        model,
        vocab,
        tmp_path / "ckpt" / "tiny",
        ARGS,
        recipe={"lr": 2e-3},
        device="cpu",
        train_seconds=1.5,
        val_ppl=4.25,
    )
    return model, manifest_path


def test_round_trip_is_bit_exact(saved, vocab):
    model, manifest_path = saved
    loaded, loaded_vocab, manifest = load_checkpoint(manifest_path, vocab=vocab)
    assert loaded_vocab == vocab
    want, got = model.state_dict(), loaded.state_dict()
    assert want.keys() == got.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and torch.equal(got[name], want[name]), name
    assert not loaded.training  # returned in eval mode
    tokens = torch.tensor([vocab[list("the time")]])
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded(tokens)[0], model(tokens)[0])


def test_manifest_fields(saved, vocab):
    _, manifest_path = saved
    assert manifest_path.suffix == ".json"
    weights = manifest_path.with_suffix(".safetensors")
    assert weights.is_file()
    manifest = json.loads(manifest_path.read_text())
    assert manifest["model"] == dict(ARGS, vocab_size=len(vocab))
    assert manifest["vocab"] == vocab.idx_to_token
    assert manifest["weights_file"] == weights.name
    assert manifest["sha256"] == sha256_of(weights) and len(manifest["sha256"]) == 64
    assert manifest["recipe"] == {"lr": 2e-3} and manifest["device"] == "cpu"
    assert manifest["train_seconds"] == 1.5 and manifest["val_ppl"] == 4.25
    assert read_manifest(manifest_path)[0] == manifest
    assert read_manifest(weights)[0] == manifest  # either file of the pair names the checkpoint
    assert load_checkpoint(manifest_path.with_suffix(""))[2] == manifest


def test_weights_are_safetensors_not_pickle(saved):
    _, manifest_path = saved
    header_len = int.from_bytes(manifest_path.with_suffix(".safetensors").read_bytes()[:8], "little")
    header = json.loads(manifest_path.with_suffix(".safetensors").read_bytes()[8 : 8 + header_len])
    assert "head.weight" in header and header["head.weight"]["dtype"] == "F32"


def test_corrupt_weights(saved):
    _, manifest_path = saved
    weights = manifest_path.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the last tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256 .* but its manifest says .*corrupt"):
        load_checkpoint(manifest_path)


def test_truncated_weights(saved):
    _, manifest_path = saved
    weights = manifest_path.with_suffix(".safetensors")
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(manifest_path)


def test_another_vocabulary(saved, vocab):
    _, manifest_path = saved
    other = Vocab("a completely different text with other letters: qxz")
    with pytest.raises(ValueError, match=f"vocabulary of {len(vocab)} tokens.*use the checkpoint's vocabulary"):
        load_checkpoint(manifest_path, vocab=other)
    same_letters_other_order = Vocab(idx_to_token=[vocab.idx_to_token[0], *reversed(vocab.idx_to_token[1:])])
    with pytest.raises(ValueError, match="vocabulary"):
        load_checkpoint(manifest_path, vocab=same_letters_other_order)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint manifest at .*nowhere.json.*shipped checkpoints"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no checkpoint manifest"):
        load_checkpoint("no_such_shipped_model")


def test_missing_weights_file(saved):
    _, manifest_path = saved
    manifest_path.with_suffix(".safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"tiny\.safetensors is missing"):
        load_checkpoint(manifest_path)


@pytest.mark.parametrize("change", [{"hidden_size": 32}, {"num_layers": 1}, {"kind": "rnn"}, {"embed_size": None}])
def test_manifest_for_another_model_shape(saved, change):
    _, manifest_path = saved
    manifest = json.loads(manifest_path.read_text())
    manifest["model"].update(change)  # the sha256 still matches: only the described model differs
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not fit the model its manifest describes"):
        load_checkpoint(manifest_path)


def test_damaged_manifest(saved):
    _, manifest_path = saved
    manifest_path.write_text(manifest_path.read_text()[:-20])
    with pytest.raises(ValueError, match="not valid JSON"):
        load_checkpoint(manifest_path)

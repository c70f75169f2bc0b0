"""The shipped checkpoints: they load, their manifests say how they were made, and they reproduce
their held-out perplexity; a damaged copy is refused."""

from __future__ import annotations

import re
import shutil

import pytest
import torch

import d2lutil
from d2lutil.checkpoints import (
    PRETRAINED_DIR,
    CheckpointError,
    digest_of,
    load_checkpoint,
    read_manifest,
    save_checkpoint,
)
from d2lutil.models import RNNLM

SHIPPED = ["gru_lm", "rnn_lm"]
RECIPE_KEYS = {"batch_size", "num_steps", "num_epochs", "optimizer", "lr", "clip", "seed"}


def shipped(name: str) -> None:
    """Skip, saying why, when the checkpoint is not in the package (it is shipped in the repository)."""
    if not (PRETRAINED_DIR / f"{name}.json").is_file():
        pytest.skip(
            f"{PRETRAINED_DIR / name}.json is absent: this checkout has no shipped {name} "
            "(create it with `python -m d2lutil.pretrain`)"
        )


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_records_how_the_model_was_made(name):
    shipped(name)
    manifest, path = read_manifest(name)
    recipe = manifest["recipe"]
    assert RECIPE_KEYS <= set(recipe), f"the recipe lacks {sorted(RECIPE_KEYS - set(recipe))}"
    assert isinstance(manifest["device"], str) and manifest["device"].strip()
    assert manifest["train_seconds"] > 0
    assert 1.0 < manifest["val_ppl"] < 28.0, "a held-out perplexity must lie between 1 and the vocabulary size"
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["digest"])
    assert manifest["digest"] == digest_of(manifest, path.with_name(manifest["weights_file"]))
    assert manifest["model"]["kind"] == name.split("_")[0]


@pytest.mark.parametrize("name", SHIPPED)
def test_reloaded_model_reproduces_its_held_out_perplexity(name, time_machine):
    shipped(name)
    model, vocab, manifest = load_checkpoint(name, vocab=time_machine.vocab)
    assert isinstance(model, RNNLM) and not model.training
    ppl = d2lutil.evaluate_perplexity(model, time_machine.val_tokens)
    assert ppl == pytest.approx(manifest["val_ppl"], rel=0.01), (
        f"{name}: held-out perplexity {ppl:.4f} now, {manifest['val_ppl']} in the manifest"
    )
    text = d2lutil.predict("time traveller", 30, model, vocab)
    assert len(text) == len("time traveller") + 30 and set(text) <= set(vocab.idx_to_token)


def test_the_gru_beats_the_target_and_the_plain_rnn():
    shipped("gru_lm")
    gru, _ = read_manifest("gru_lm")
    assert gru["val_ppl"] <= 4.0, f"the shipped GRU's held-out perplexity {gru['val_ppl']} misses the target of 4.0"
    if (PRETRAINED_DIR / "rnn_lm.json").is_file():
        rnn, _ = read_manifest("rnn_lm")
        assert gru["val_ppl"] < rnn["val_ppl"], "the shipped GRU should beat the shipped plain RNN"


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", SHIPPED)
def test_a_corrupted_copy_of_the_shipped_checkpoint_is_refused(name, tmp_path):
    shipped(name)
    manifest, path = read_manifest(name)
    shutil.copy(path, tmp_path / path.name)
    copy = shutil.copy(path.with_name(manifest["weights_file"]), tmp_path / manifest["weights_file"])
    load_checkpoint(tmp_path / name)  # the intact copy loads
    _flip_a_byte(copy)
    with pytest.raises(CheckpointError, match="does not match its digest"):
        load_checkpoint(tmp_path / name)


def test_a_corrupted_checkpoint_is_refused_even_without_shipped_ones(tmp_path, time_machine):
    """The same check on a small checkpoint made here, so it runs in every checkout."""
    d2lutil.set_seed(0)
    args = {"kind": "gru", "hidden_size": 8, "num_layers": 2, "embed_size": 4}
    model = d2lutil.build_lm(vocab_size=len(time_machine.vocab), **args)
    save_checkpoint(
        model, time_machine.vocab, tmp_path / "tiny", args, recipe={}, device="cpu", train_seconds=0.0, val_ppl=28.0
    )
    reloaded, _, _ = load_checkpoint(tmp_path / "tiny")
    tokens = torch.randint(0, len(time_machine.vocab), (2, 5))
    torch.testing.assert_close(reloaded(tokens)[0], model.eval()(tokens)[0])
    _flip_a_byte(next(tmp_path.glob("tiny.*.safetensors")))
    with pytest.raises(CheckpointError, match="does not match its digest"):
        load_checkpoint(tmp_path / "tiny")

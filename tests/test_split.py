"""The train/validation/test protocol (issue 17): the book's three parts never overlap, the test
part is its last tenth with validation just before it, and no training code reads the test part.

A *sealed* book is a TimeMachine whose test part raises when read: the exercises' runs and an
ablation run of ``d2lutil.pretrain`` train on it to the end; a run that reports a test figure
reads the test part exactly once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from d2lutil import exercises, pretrain
from d2lutil.checkpoints import load_checkpoint
from d2lutil.data import TimeMachine, load_corpus_time_machine, read_time_machine, split_corpus
from d2lutil.training import Recipe, evaluate_perplexity

pytestmark = pytest.mark.usefixtures("one_thread")

N = 173_428  # the book's characters (GUIDE.md)


def test_the_three_parts_partition_the_book_in_order():
    train, val, test = split_corpus(torch.arange(N))  # every token says where it was
    assert (len(train), len(val), len(test)) == (147_414, 8_671, 17_343)
    assert torch.equal(torch.cat([train, val, test]), torch.arange(N))  # in order, nothing lost or repeated
    assert int(train[-1]) + 1 == int(val[0]) and int(val[-1]) + 1 == int(test[0])  # each starts where one ended
    assert len(test) == round(0.1 * N) and len(val) == round(0.05 * N)  # the last 10%, the 5% just before it


def test_the_test_part_is_the_books_last_tenth(time_machine):
    text = read_time_machine()
    corpus, vocab = load_corpus_time_machine()
    test = "".join(vocab.to_tokens(time_machine.test_tokens))
    val = "".join(vocab.to_tokens(time_machine.val_tokens))
    assert text.endswith(val + test) and len(test) == 17_343 and len(val) == 8_671
    assert not set(range(N - len(test) - len(val), N)) & set(range(len(time_machine.train_tokens)))
    assert torch.equal(time_machine.test_tokens, corpus[-17_343:])


class SealedBook(TimeMachine):
    """A TimeMachine that counts the reads of its test part and, while ``sealed``, refuses them."""

    test_reads = 0
    sealed = False

    def __getattribute__(self, name: str) -> Any:
        if name == "test_tokens":
            state = object.__getattribute__(self, "__dict__")
            state["test_reads"] = state.get("test_reads", 0) + 1
            if state.get("sealed"):
                raise AssertionError("training code read the test part")
        return object.__getattribute__(self, name)


def _small_book(time_machine: TimeMachine, sealed: bool) -> SealedBook:
    """3,000 training, 1,000 validation and 1,000 test characters of the real book."""
    tm = time_machine
    book = SealedBook(tm.vocab, tm.train_tokens[:3000], tm.val_tokens[:1000], tm.test_tokens[:1000])
    book.test_reads, book.sealed = 0, sealed
    return book


def test_an_exercise_run_never_reads_the_test_part(time_machine):
    book = _small_book(time_machine, sealed=True)
    recipe = Recipe(batch_size=8, num_steps=16, lr=1e-2, optimizer="adam")
    row = exercises.lm_trial(book, "gru", recipe, hidden_size=8, num_preds=5)
    assert row["val_ppl"] == pytest.approx(evaluate_perplexity(row["model"], book.val_tokens), rel=1e-6)
    assert book.test_reads == 0


TINY = [
    "model.hidden_size=16",
    "model.embed_size=8",
    "model.embed_dropout=0.1",
    "recipe.num_epochs=2",
    "recipe.batch_size=8",
    "recipe.num_steps=16",
]


@pytest.fixture
def tiny_recipe() -> pretrain.Run:
    return pretrain.with_overrides(pretrain.RUNS["gru_lm"], TINY)


def test_an_ablation_run_never_reads_the_test_part(time_machine, tiny_recipe, tmp_path, monkeypatch):
    book = _small_book(time_machine, sealed=True)
    monkeypatch.setattr(pretrain, "load_time_machine", lambda: book)
    manifest = pretrain.pretrain("gru_tiny", tmp_path, tiny_recipe, read_test=False, note="an ablation")
    assert book.test_reads == 0
    saved = json.loads((tmp_path / "gru_tiny.json").read_text())
    assert "test_ppl" not in manifest and "test_ppl" not in saved
    assert saved["model"]["embed_dropout"] == 0.1 and saved["note"] == "an ablation"
    assert saved["val_ppl_per_epoch"][saved["epoch_kept"] - 1] == min(saved["val_ppl_per_epoch"])
    model, _, _ = load_checkpoint(tmp_path / "gru_tiny")
    assert model.embed_dropout.p == 0.1
    assert evaluate_perplexity(model, book.val_tokens) == pytest.approx(saved["val_ppl"], abs=1e-4)
    with pytest.raises(AssertionError, match="read the test part"):
        book.test_tokens  # noqa: B018 - the seal holds: a read would have failed the run

    book.sealed, book.test_reads = False, 0
    shipped = pretrain.promote(tmp_path / "gru_tiny", "gru_lm", tmp_path / "shipped")  # chosen on validation
    assert book.test_reads == 1  # read once, for the reported figure
    assert shipped["val_ppl"] == saved["val_ppl"] and shipped["test_ppl"] >= 1.0
    assert json.loads((tmp_path / "shipped" / "gru_lm.json").read_text())["test_ppl"] == shipped["test_ppl"]
    with pytest.raises(ValueError, match="already has a test perplexity"):
        pretrain.promote(tmp_path / "shipped" / "gru_lm", "again", tmp_path / "shipped")


def test_a_reported_run_reads_the_test_part_once_after_training(time_machine, tiny_recipe, tmp_path, monkeypatch):
    book = _small_book(time_machine, sealed=False)
    monkeypatch.setattr(pretrain, "load_time_machine", lambda: book)
    manifest = pretrain.pretrain("gru_tiny", tmp_path, tiny_recipe, read_test=True)
    assert book.test_reads == 1
    model, _, saved = load_checkpoint(tmp_path / "gru_tiny")
    assert saved["test_ppl"] == manifest["test_ppl"]
    assert evaluate_perplexity(model, book.test_tokens) == pytest.approx(saved["test_ppl"], abs=1e-4)
    assert saved["val_ppl"] != saved["test_ppl"]  # two readings of two parts

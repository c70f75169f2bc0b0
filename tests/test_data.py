"""The Time Machine: sizes from GUIDE.md, the vocabulary, the split, and both minibatch schemes."""

from __future__ import annotations

import collections
import string

import pytest
import torch
from refusals import assert_refused

from d2lutil.data import (
    UNK,
    Vocab,
    WindowLoader,
    load_corpus_time_machine,
    preprocess,
    read_time_machine,
    split_corpus,
)

N_CHARS = 173_428  # GUIDE.md: lower-cased, non-letters folded to one space
N_TRAIN = 147_414  # the first 85%: round(0.9 * N_CHARS) - round(0.05 * N_CHARS)
N_VAL = 8_671  # the next 5%, round(0.05 * N_CHARS)
N_TEST = 17_343  # the last 10%, N_CHARS - round(0.9 * N_CHARS)


# ---------------------------------------------------------------- the corpus and the vocabulary


def test_corpus_and_vocab_sizes(time_machine):
    text = read_time_machine()
    assert len(text) == N_CHARS
    assert set(text) == set(string.ascii_lowercase) | {" "}
    vocab = time_machine.vocab
    assert len(vocab) == 28 and vocab.idx_to_token[0] == UNK
    assert set(vocab.idx_to_token[1:]) == set(text)
    parts = (time_machine.train_tokens, time_machine.val_tokens, time_machine.test_tokens)
    assert sum(map(len, parts)) == N_CHARS


def test_preprocess_folds_non_letters():
    assert (
        preprocess("The Time-Traveller (for so it will be convenient...)")
        == "the time traveller for so it will be convenient "
    )
    assert preprocess("I  said:\n\n“Yes,” 1895") == "i said yes "
    assert preprocess("") == ""


def test_corpus_tokens_round_trip(time_machine):
    corpus, vocab = load_corpus_time_machine()
    assert corpus.shape == (N_CHARS,) and corpus.dtype == torch.long
    assert vocab == time_machine.vocab
    assert int(corpus.min()) >= 1 and int(corpus.max()) == 27  # no character of the book is unknown
    text = read_time_machine()
    assert "".join(vocab.to_tokens(corpus[:1000].tolist())) == text[:1000]
    assert "".join(vocab.to_tokens(corpus[-1000:])) == text[-1000:]  # a tensor works too


def test_vocab_order_is_by_falling_frequency(time_machine):
    vocab = time_machine.vocab
    counts = collections.Counter(read_time_machine())
    freqs = [counts[t] for t in vocab.idx_to_token[1:]]
    assert freqs == sorted(freqs, reverse=True)
    assert vocab.idx_to_token[1] == " " and vocab.idx_to_token[2] == "e"
    assert vocab.token_freqs[0] == (" ", counts[" "])


def test_vocab_small_by_hand():
    vocab = Vocab("abracadabra")  # a:5, b:2, r:2, c:1, d:1; ties broken alphabetically
    assert vocab.idx_to_token == [UNK, "a", "b", "r", "c", "d"]
    assert vocab["a"] == 1 and vocab["d"] == 5
    assert vocab[list("bad")] == [2, 1, 5]
    assert vocab["z"] == 0 and vocab[["z", "a", "!"]] == [0, 1, 0] and vocab.unk == 0
    assert vocab.to_tokens(3) == "r" and vocab.to_tokens([1, 0]) == ["a", UNK]
    assert vocab.to_tokens(torch.tensor(3)) == "r"  # a 0-d tensor, e.g. logits.argmax()
    assert vocab.to_tokens(torch.tensor([[1, 2]])[0]) == ["a", "b"]
    assert vocab.unknown("cab!?!") == ["!", "?"]
    assert Vocab("abracadabra", min_freq=2).idx_to_token == [UNK, "a", "b", "r"]
    assert Vocab(idx_to_token=vocab.idx_to_token) == vocab
    assert_refused(lambda: Vocab(idx_to_token=["a", "b"]), ValueError, "idx_to_token")


def test_unknown_token_maps_to_zero(time_machine):
    vocab = time_machine.vocab
    assert vocab["!"] == 0 and vocab["T"] == 0 and vocab[UNK] == 0
    assert vocab[list("time!")] == [vocab["t"], vocab["i"], vocab["m"], vocab["e"], 0]


# ---------------------------------------------------------------- the split


def test_split_does_not_overlap_and_covers_the_corpus(time_machine):
    corpus, _ = load_corpus_time_machine()
    train, val, test = time_machine.train_tokens, time_machine.val_tokens, time_machine.test_tokens
    assert (len(train), len(val), len(test)) == (N_TRAIN, N_VAL, N_TEST)
    assert torch.equal(train, corpus[:N_TRAIN])
    assert torch.equal(val, corpus[N_TRAIN : N_TRAIN + N_VAL])
    assert torch.equal(test, corpus[N_TRAIN + N_VAL :])
    assert torch.equal(torch.cat([train, val, test]), corpus)


def test_split_small_by_hand():
    train, val, test = split_corpus(torch.arange(20), val_fraction=0.15, test_fraction=0.25)
    assert train.tolist() == list(range(12)) and val.tolist() == [12, 13, 14] and test.tolist() == list(range(15, 20))
    assert_refused(lambda: split_corpus(torch.arange(10), val_fraction=1.0), ValueError, "val_fraction")
    assert_refused(lambda: split_corpus(torch.arange(10), test_fraction=0.0), ValueError, "test_fraction")
    assert_refused(
        lambda: split_corpus(torch.arange(10), val_fraction=0.5, test_fraction=0.5), ValueError, "val_fraction"
    )
    assert_refused(lambda: split_corpus(torch.zeros(2, 5)), ValueError, "corpus")


# ---------------------------------------------------------------- minibatches


def _arange_loader(n: int = 1000, batch_size: int = 4, num_steps: int = 7, sequential: bool = False, seed: int = 0):
    """A loader over 0..n-1, so that every token says where it came from."""
    return WindowLoader(torch.arange(n), batch_size, num_steps, sequential, seed)


@pytest.mark.parametrize("sequential", [False, True])
def test_window_shapes_and_shift(sequential):
    loader = _arange_loader(sequential=sequential)
    batches = list(loader)
    assert len(batches) == len(loader) > 0
    for X, Y in batches:
        assert X.shape == Y.shape == (4, 7) and X.dtype == torch.long
        assert torch.equal(Y, X + 1)  # Y is X shifted by one token
        assert torch.equal(X[:, 1:], X[:, :-1] + 1)  # each row is a contiguous window


@pytest.mark.parametrize("n,batch_size,num_steps", [(1000, 4, 7), (1001, 3, 10), (500, 16, 5), (97, 2, 8)])
@pytest.mark.parametrize("sequential", [False, True])
def test_len_is_the_number_yielded(n, batch_size, num_steps, sequential):
    for seed in range(4):  # the random offset changes; len() must not
        loader = _arange_loader(n, batch_size, num_steps, sequential, seed)
        assert sum(1 for _ in loader) == len(loader) == sum(1 for _ in loader)


def test_random_windows_do_not_overlap_within_an_epoch():
    loader = _arange_loader(1000, 4, 7)
    X = torch.cat([x for x, _ in loader])  # (num_windows, T)
    assert len(torch.unique(X)) == X.numel()  # no token appears twice
    starts = X[:, 0].sort().values
    assert torch.all(torch.diff(starts) % 7 == 0)
    assert len(X) >= (1000 - 8) // 7 // 4 * 4  # most of the corpus is covered


def test_random_windows_new_order_each_epoch_and_seeded():
    loader = _arange_loader(1000, 4, 7, seed=1)
    epochs = [torch.cat([x for x, _ in loader]) for _ in range(4)]
    for i in range(4):
        for j in range(i):
            assert not torch.equal(epochs[i], epochs[j])  # no two epochs alike
    first = epochs[0]
    assert not torch.all(torch.diff(first[:, 0]) > 0)  # shuffled, not read front to back
    again = _arange_loader(1000, 4, 7, seed=1)
    assert torch.equal(torch.cat([x for x, _ in again]), first)
    other = _arange_loader(1000, 4, 7, seed=2)
    assert not torch.equal(torch.cat([x for x, _ in other]), first)


def test_sequential_batches_continue_row_by_row():
    loader = _arange_loader(1000, 4, 7, sequential=True)
    batches = [x for x, _ in loader]
    for prev, nxt in zip(batches, batches[1:], strict=False):
        assert torch.equal(nxt[:, 0], prev[:, -1] + 1)
    rows = torch.cat(batches, dim=1)  # (B, T * num_batches): each row one contiguous stream
    assert torch.equal(rows[:, 1:], rows[:, :-1] + 1)
    assert torch.all(rows[1:, 0] > rows[:-1, -1])  # the streams do not overlap


def test_sequential_is_seeded():
    a = [x for x, _ in _arange_loader(1000, 4, 7, True, seed=3)]
    b = [x for x, _ in _arange_loader(1000, 4, 7, True, seed=3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_time_machine_iterators(time_machine):
    it, vocab = time_machine.train_iter(batch_size=32, num_steps=35), time_machine.vocab
    assert not it.sequential
    X, Y = next(iter(it))
    assert X.shape == Y.shape == (32, 35)
    assert len(it) == (N_TRAIN - 36) // 35 // 32
    seq = time_machine.train_iter(8, 50, sequential=True)
    assert seq.sequential and len(seq) == (N_TRAIN - 51) // 8 // 50
    X, Y = next(iter(seq))
    assert torch.equal(X[:, 1:], Y[:, :-1])
    assert int(max(x.max() for x, _ in seq)) < len(vocab)

"""Property-based tests (hypothesis) of the data layer: Vocab, the split and both minibatch schemes.

Each property holds for every input hypothesis draws; a failing draw is shrunk to the smallest
counter-example. max_examples is kept modest so that the unit tests stay fast.
"""

from __future__ import annotations

import collections
import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from refusals import assert_refused

from d2lutil.data import UNK, Vocab, WindowLoader, split_corpus

FAST = settings(max_examples=40, deadline=None, database=None)  # no .hypothesis/ folder in the tree
token = st.text(alphabet="abcde <>", min_size=0, max_size=3)  # includes "", "<unk>"-like and multi-char tokens
tokens = st.lists(token, max_size=60)


@FAST
@given(tokens, st.integers(0, 4))
def test_vocab_structure(toks, min_freq):
    vocab = Vocab(toks, min_freq=min_freq)
    counts = collections.Counter(toks)
    kept = {t for t, n in counts.items() if n >= min_freq and t != UNK}
    assert vocab.idx_to_token[0] == UNK and vocab.unk == 0
    assert set(vocab.idx_to_token[1:]) == kept and len(vocab) == 1 + len(kept)  # no token twice
    freqs = [counts[t] for t in vocab.idx_to_token[1:]]
    assert freqs == sorted(freqs, reverse=True)  # by falling frequency
    assert Vocab(idx_to_token=vocab.idx_to_token) == vocab  # a saved vocabulary rebuilds the same


@FAST
@given(tokens, tokens)
def test_vocab_round_trip_and_unknowns(seen, asked):
    vocab = Vocab(seen)
    indices = vocab[asked]
    assert isinstance(indices, list) and len(indices) == len(asked)
    assert all(0 <= i < len(vocab) for i in indices)
    back = vocab.to_tokens(indices)
    for t, i, b in zip(asked, indices, back, strict=True):
        if t in vocab.token_to_idx:
            assert b == t and i == vocab.token_to_idx[t]  # a known token comes back as itself
        else:
            assert i == 0 and b == UNK  # an unknown one is <unk>
    assert vocab.unknown(asked) == list(dict.fromkeys(t for t in asked if t not in vocab.token_to_idx))
    assert vocab.to_tokens(torch.tensor(indices, dtype=torch.long)) == back  # a tensor works the same


@FAST
@given(tokens, st.integers(-(2**70), 2**70))
def test_vocab_to_tokens_refuses_every_index_out_of_range(toks, index):
    vocab = Vocab(toks)
    if 0 <= index < len(vocab):
        assert vocab.to_tokens(index) == vocab.idx_to_token[index]
    else:
        assert_refused(lambda: vocab.to_tokens(index), ValueError, "indices")


# mostly fractions that split a corpus, some that cannot (out of range, nan, inf)
fraction = st.floats(0.01, 0.6) | st.floats(0.01, 0.6) | st.floats(-0.5, 1.5) | st.sampled_from([0.0, 1.0, math.nan])


@FAST
@given(st.integers(0, 300), fraction, fraction)
def test_split_covers_in_order_without_overlap_or_refuses(n, val_fraction, test_fraction):
    corpus = torch.arange(n)
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:  # nan and inf fail this too
            assert_refused(lambda: split_corpus(corpus, val_fraction, test_fraction), ValueError, name)
            return
    if val_fraction + test_fraction >= 1.0:
        assert_refused(lambda: split_corpus(corpus, val_fraction, test_fraction), ValueError, "test_fraction")
        return
    b = round(n * (1.0 - test_fraction))
    a = b - round(n * val_fraction)
    if not 0 < a < b < n:
        assert_refused(lambda: split_corpus(corpus, val_fraction, test_fraction), ValueError, "corpus")
        return
    train, val, test = split_corpus(corpus, val_fraction, test_fraction)
    assert len(train) > 0 and len(val) > 0 and len(test) > 0
    assert torch.equal(torch.cat([train, val, test]), corpus)  # in order, nothing lost, nothing twice
    assert len(test) == n - round(n * (1.0 - test_fraction))  # the test part is the last test_fraction
    assert len(val) == round(n * val_fraction)  # validation is the val_fraction just before it


loader_args = st.tuples(st.integers(1, 6), st.integers(1, 9), st.integers(0, 200), st.booleans(), st.integers(0, 99))


@FAST
@given(loader_args)
def test_loader_shapes_shift_and_coverage(args):
    batch_size, num_steps, extra, sequential, seed = args
    n = batch_size * num_steps + num_steps + 1 + extra  # always enough tokens for one batch
    loader = WindowLoader(torch.arange(n), batch_size, num_steps, sequential, seed)
    batches = list(loader)
    assert len(batches) == len(loader) >= 1
    for X, Y in batches:
        assert X.shape == Y.shape == (batch_size, num_steps) and X.dtype == torch.long
        assert torch.equal(Y, X + 1)  # targets are the inputs shifted by one token
        assert torch.equal(X[:, 1:], X[:, :-1] + 1)  # each row is one contiguous window
        assert int(Y.max()) < n
    X = torch.cat([x.reshape(-1) for x, _ in batches])
    assert len(torch.unique(X)) == X.numel()  # no token is an input twice in an epoch
    # coverage: all but at most one window per row of a batch, the random offset and the last target
    assert X.numel() >= n - num_steps * (batch_size + 2) - 1
    if sequential:
        for prev, nxt in zip(batches, batches[1:], strict=False):
            assert torch.equal(nxt[0][:, 0], prev[0][:, -1] + 1)  # row b continues row b
    again = list(WindowLoader(torch.arange(n), batch_size, num_steps, sequential, seed))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))  # seeded

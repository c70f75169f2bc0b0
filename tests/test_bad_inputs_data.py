"""Bad inputs to every public function of d2lutil.data: each is refused at the boundary with a
TypeError (wrong kind) or ValueError (wrong value) whose message names the argument, never a bare
IndexError/KeyError/AttributeError from deep inside, never a silent result.

The tables below are the inventory: ``BAD`` rows (id, call, exception type, the argument the message
must name) must raise; ``GOOD`` lists the look-alikes that must be accepted (a NumPy integer is an
integer; a NumPy bool a bool). The wording is not matched: tests/test_checks.py pins the format.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from refusals import assert_refused

from d2lutil import data
from d2lutil.data import UNK, TimeMachine, Vocab, WindowLoader, split_corpus

V = Vocab("abracadabra")  # <unk> a b r c d
TOKENS = torch.arange(1000)
Case = tuple[str, Callable[[], Any], type[Exception], str]


def _loader(**kwargs: Any) -> WindowLoader:
    args = {"tokens": TOKENS, "batch_size": 4, "num_steps": 7, "sequential": False, "seed": 0, **kwargs}
    return WindowLoader(**args)


def _book(**kwargs: Any) -> TimeMachine:
    args = {"vocab": V, "train_tokens": torch.tensor([1, 2, 3]), "val_tokens": torch.tensor([4]), **kwargs}
    args.setdefault("test_tokens", torch.tensor([5, 1]))
    return TimeMachine(**args)


BAD: list[Case] = [
    # preprocess(text)
    ("preprocess text=None", lambda: data.preprocess(None), TypeError, "text"),
    ("preprocess text=42", lambda: data.preprocess(42), TypeError, "text"),
    ("preprocess text=bytes", lambda: data.preprocess(b"abc"), TypeError, "text"),
    ("preprocess text=list", lambda: data.preprocess(["a"]), TypeError, "text"),
    # sha1_of(path)
    ("sha1_of path=42", lambda: data.sha1_of(42), TypeError, "path"),
    ("sha1_of path=None", lambda: data.sha1_of(None), TypeError, "path"),
    # read_time_machine / load_* (data_dir)
    ("read_time_machine data_dir=42", lambda: data.read_time_machine(42), TypeError, "data_dir"),
    ("load_corpus data_dir=b''", lambda: data.load_corpus_time_machine(b"x"), TypeError, "data_dir"),
    ("load_time_machine data_dir=1.5", lambda: data.load_time_machine(1.5), TypeError, "data_dir"),
    # Vocab(tokens, min_freq, idx_to_token)
    ("Vocab tokens=42", lambda: Vocab(42), TypeError, "tokens"),
    ("Vocab tokens=bytes", lambda: Vocab(b"abc"), TypeError, "tokens"),
    ("Vocab tokens=tensor", lambda: Vocab(torch.tensor([1, 2])), TypeError, "tokens"),
    ("Vocab tokens=[1, 2]", lambda: Vocab([1, 2]), TypeError, "tokens[0]"),
    ("Vocab tokens=lines", lambda: Vocab([["a", "b"]]), TypeError, "tokens[0]"),
    ("Vocab tokens=[a, None]", lambda: Vocab(["a", None]), TypeError, "tokens[1]"),
    ("Vocab min_freq=-1", lambda: Vocab("ab", min_freq=-1), ValueError, "min_freq"),
    ("Vocab min_freq=1.5", lambda: Vocab("ab", min_freq=1.5), TypeError, "min_freq"),
    ("Vocab min_freq='2'", lambda: Vocab("ab", min_freq="2"), TypeError, "min_freq"),
    ("Vocab min_freq=True", lambda: Vocab("ab", min_freq=True), TypeError, "min_freq"),
    ("Vocab idx_to_token no unk", lambda: Vocab(idx_to_token=["a", "b"]), ValueError, "idx_to_token"),
    ("Vocab idx_to_token=[]", lambda: Vocab(idx_to_token=[]), ValueError, "idx_to_token"),
    ("Vocab idx_to_token repeats", lambda: Vocab(idx_to_token=[UNK, "a", "a"]), ValueError, "idx_to_token"),
    (
        "Vocab idx_to_token=[unk, 3]",
        lambda: Vocab(idx_to_token=[UNK, 3]),
        TypeError,
        "idx_to_token[1]",
    ),
    ("Vocab idx_to_token=5", lambda: Vocab(idx_to_token=5), TypeError, "idx_to_token"),
    ("Vocab both", lambda: Vocab("ab", idx_to_token=[UNK, "a"]), ValueError, "idx_to_token"),
    # vocab[tokens]
    ("vocab[3]", lambda: V[3], TypeError, "tokens"),
    ("vocab[np.int64]", lambda: V[np.int64(3)], TypeError, "tokens"),
    ("vocab[tensor]", lambda: V[torch.tensor([1])], TypeError, "tokens"),
    ("vocab[None]", lambda: V[None], TypeError, "tokens"),
    ("vocab[[1]]", lambda: V[[1]], TypeError, "tokens[0]"),
    ("vocab[['a', None]]", lambda: V[["a", None]], TypeError, "tokens[1]"),
    ("vocab[bytes]", lambda: V[b"ab"], TypeError, "tokens"),
    # vocab.to_tokens(indices)
    ("to_tokens(-1)", lambda: V.to_tokens(-1), ValueError, "indices"),
    ("to_tokens(len)", lambda: V.to_tokens(6), ValueError, "indices"),
    ("to_tokens(2**70)", lambda: V.to_tokens(2**70), ValueError, "indices"),
    ("to_tokens(tensor(-1))", lambda: V.to_tokens(torch.tensor(-1)), ValueError, "indices"),
    ("to_tokens(np.int64(-2))", lambda: V.to_tokens(np.int64(-2)), ValueError, "indices"),
    ("to_tokens(True)", lambda: V.to_tokens(True), TypeError, "indices"),
    ("to_tokens(1.0)", lambda: V.to_tokens(1.0), TypeError, "indices"),
    ("to_tokens(np.float64)", lambda: V.to_tokens(np.float64(1)), TypeError, "indices"),
    ("to_tokens(tensor(1.))", lambda: V.to_tokens(torch.tensor(1.0)), TypeError, "indices"),
    ("to_tokens('a')", lambda: V.to_tokens("a"), TypeError, "indices"),
    ("to_tokens(None)", lambda: V.to_tokens(None), TypeError, "indices"),
    ("to_tokens([0, -1])", lambda: V.to_tokens([0, -1]), ValueError, "indices[1]"),
    ("to_tokens([0, 1.5])", lambda: V.to_tokens([0, 1.5]), TypeError, "indices[1]"),
    ("to_tokens([True])", lambda: V.to_tokens([True]), TypeError, "indices[0]"),
    ("to_tokens(2-D)", lambda: V.to_tokens(torch.ones(2, 3, dtype=torch.long)), ValueError, "indices"),
    ("to_tokens(2-D array)", lambda: V.to_tokens(np.ones((2, 3), dtype=int)), ValueError, "indices"),
    ("to_tokens(bool tensor)", lambda: V.to_tokens(torch.tensor([True])), TypeError, "indices[0]"),
    # vocab.unknown(tokens)
    ("unknown(42)", lambda: V.unknown(42), TypeError, "tokens"),
    ("unknown([1])", lambda: V.unknown([1]), TypeError, "tokens[0]"),
    ("unknown(None)", lambda: V.unknown(None), TypeError, "tokens"),
    # split_corpus(corpus, val_fraction, test_fraction)
    ("split corpus=list", lambda: split_corpus([1, 2, 3]), TypeError, "corpus"),
    ("split corpus=array", lambda: split_corpus(np.arange(10)), TypeError, "corpus"),
    ("split corpus 2-D", lambda: split_corpus(torch.zeros(2, 5, dtype=torch.long)), ValueError, "corpus"),
    ("split corpus float", lambda: split_corpus(torch.rand(10)), TypeError, "corpus"),
    ("split corpus bool", lambda: split_corpus(torch.ones(10, dtype=bool)), TypeError, "corpus"),
    ("split corpus negative", lambda: split_corpus(torch.tensor([1, -1, 2])), ValueError, "corpus"),
    ("split corpus empty", lambda: split_corpus(torch.arange(0)), ValueError, "corpus"),
    ("split corpus 2 tokens", lambda: split_corpus(torch.arange(2)), ValueError, "corpus"),
    ("split corpus 10 tokens", lambda: split_corpus(TOKENS[:10]), ValueError, "corpus"),
    ("split val_fraction tiny", lambda: split_corpus(TOKENS[:30], 0.01), ValueError, "val_fraction"),
    ("split test_fraction tiny", lambda: split_corpus(TOKENS[:30], 0.1, 0.01), ValueError, "test_fraction"),
    ("split val_fraction=0", lambda: split_corpus(TOKENS, 0), ValueError, "val_fraction"),
    ("split val_fraction=1", lambda: split_corpus(TOKENS, 1.0), ValueError, "val_fraction"),
    ("split val_fraction=-0.1", lambda: split_corpus(TOKENS, -0.1), ValueError, "val_fraction"),
    ("split val_fraction=nan", lambda: split_corpus(TOKENS, float("nan")), ValueError, "val_fraction"),
    ("split val_fraction=inf", lambda: split_corpus(TOKENS, float("inf")), ValueError, "val_fraction"),
    ("split val_fraction='0.1'", lambda: split_corpus(TOKENS, "0.1"), TypeError, "val_fraction"),
    ("split val_fraction=True", lambda: split_corpus(TOKENS, True), TypeError, "val_fraction"),
    ("split val_fraction=None", lambda: split_corpus(TOKENS, None), TypeError, "val_fraction"),
    ("split test_fraction=0", lambda: split_corpus(TOKENS, 0.1, 0), ValueError, "test_fraction"),
    ("split test_fraction=1", lambda: split_corpus(TOKENS, 0.1, 1), ValueError, "test_fraction"),
    ("split test_fraction=-0.1", lambda: split_corpus(TOKENS, 0.1, -0.1), ValueError, "test_fraction"),
    ("split test_fraction=nan", lambda: split_corpus(TOKENS, 0.1, math.nan), ValueError, "test_fraction"),
    ("split test_fraction='.1'", lambda: split_corpus(TOKENS, 0.1, ".1"), TypeError, "test_fraction"),
    ("split test_fraction=False", lambda: split_corpus(TOKENS, 0.1, False), TypeError, "test_fraction"),
    ("split test_fraction=None", lambda: split_corpus(TOKENS, 0.1, None), TypeError, "test_fraction"),
    ("split sum=1", lambda: split_corpus(TOKENS, 0.5, 0.5), ValueError, "test_fraction"),
    ("split sum>1", lambda: split_corpus(TOKENS, 0.7, 0.6), ValueError, "val_fraction"),
    # WindowLoader(tokens, batch_size, num_steps, sequential, seed)
    ("loader tokens=list", lambda: _loader(tokens=list(range(100))), TypeError, "tokens"),
    ("loader tokens 2-D", lambda: _loader(tokens=TOKENS.reshape(10, 100)), ValueError, "tokens"),
    ("loader tokens float", lambda: _loader(tokens=TOKENS.float()), TypeError, "tokens"),
    ("loader tokens negative", lambda: _loader(tokens=TOKENS - 1), ValueError, "tokens"),
    ("loader batch_size=0", lambda: _loader(batch_size=0), ValueError, "batch_size"),
    ("loader batch_size=2.5", lambda: _loader(batch_size=2.5), TypeError, "batch_size"),
    ("loader batch_size='4'", lambda: _loader(batch_size="4"), TypeError, "batch_size"),
    ("loader batch_size=True", lambda: _loader(batch_size=True), TypeError, "batch_size"),
    ("loader batch_size=None", lambda: _loader(batch_size=None), TypeError, "batch_size"),
    ("loader batch_size=np.f64", lambda: _loader(batch_size=np.float64(4)), TypeError, "batch_size"),
    ("loader num_steps=-1", lambda: _loader(num_steps=-1), ValueError, "num_steps"),
    ("loader num_steps=7.0", lambda: _loader(num_steps=7.0), TypeError, "num_steps"),
    ("loader too few tokens", lambda: _loader(batch_size=500), ValueError, "batch_size"),
    ("loader sequential='False'", lambda: _loader(sequential="False"), TypeError, "sequential"),
    ("loader sequential=1", lambda: _loader(sequential=1), TypeError, "sequential"),
    ("loader sequential=None", lambda: _loader(sequential=None), TypeError, "sequential"),
    ("loader seed=-1", lambda: _loader(seed=-1), ValueError, "seed"),
    ("loader seed=2**64", lambda: _loader(seed=2**64), ValueError, "seed"),
    ("loader seed=1.5", lambda: _loader(seed=1.5), TypeError, "seed"),
    ("loader seed='0'", lambda: _loader(seed="0"), TypeError, "seed"),
    # TimeMachine(vocab, train_tokens, val_tokens, test_tokens) and its train_iter
    ("TimeMachine vocab=list", lambda: _book(vocab=["<unk>"]), TypeError, "vocab"),
    ("TimeMachine train=list", lambda: _book(train_tokens=[1, 2]), TypeError, "train_tokens"),
    ("TimeMachine val 2-D", lambda: _book(val_tokens=torch.ones(2, 2, dtype=int)), ValueError, "val_tokens"),
    ("TimeMachine index>=len", lambda: _book(val_tokens=torch.tensor([6])), ValueError, "val_tokens"),
    ("TimeMachine test float", lambda: _book(test_tokens=torch.rand(3)), TypeError, "test_tokens"),
    ("TimeMachine test=list", lambda: _book(test_tokens=[1, 2]), TypeError, "test_tokens"),
    ("TimeMachine test index", lambda: _book(test_tokens=torch.tensor([1, 9])), ValueError, "test_tokens"),
    ("TimeMachine no test part", lambda: TimeMachine(V, TOKENS[:5], TOKENS[5:9]), TypeError, "test_tokens"),
    ("train_iter batch_size='4'", lambda: _book().train_iter("4", 2), TypeError, "batch_size"),
    # load_time_machine(data_dir, val_fraction, test_fraction): split_corpus checks the fractions
    ("load_time_machine vf=0", lambda: data.load_time_machine(val_fraction=0), ValueError, "val_fraction"),
    ("load_time_machine vf='.1'", lambda: data.load_time_machine(val_fraction=".1"), TypeError, "val_fraction"),
    ("load_time_machine tf=1", lambda: data.load_time_machine(test_fraction=1), ValueError, "test_fraction"),
    ("load_time_machine tf=None", lambda: data.load_time_machine(test_fraction=None), TypeError, "test_fraction"),
    ("load_time_machine sum=1", lambda: data.load_time_machine(None, 0.9, 0.1), ValueError, "val_fraction"),
]


@pytest.mark.parametrize("call,error,argument", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(call, error, argument):
    assert_refused(call, error, argument)


GOOD: list[tuple[str, Callable[[], Any], Any]] = [
    ("to_tokens(np.int64)", lambda: V.to_tokens(np.int64(3)), "r"),
    ("to_tokens(np.int8 array)", lambda: V.to_tokens(np.array([1, 2], dtype=np.int8)), ["a", "b"]),
    ("to_tokens(0-d tensor)", lambda: V.to_tokens(torch.tensor(5)), "d"),
    ("to_tokens(0-d array)", lambda: V.to_tokens(np.array(1)), "a"),
    ("to_tokens(tuple)", lambda: V.to_tokens((1, 0)), ["a", UNK]),
    ("to_tokens(generator)", lambda: V.to_tokens(i for i in (1, 2)), ["a", "b"]),
    ("vocab[''] is no tokens", lambda: V[""], []),
    ("Vocab(min_freq=np.int64)", lambda: Vocab("aab", min_freq=np.int64(2)).idx_to_token, [UNK, "a"]),
    ("Vocab(tokens=None)", lambda: Vocab().idx_to_token, [UNK]),
    ("split vf=np.float32", lambda: len(split_corpus(TOKENS, np.float32(0.25))[1]), 250),
    ("split tf=np.float64", lambda: len(split_corpus(TOKENS, 0.05, np.float64(0.2))[2]), 200),
    ("split 0.25 + 0.25", lambda: [len(p) for p in split_corpus(TOKENS, 0.25, 0.25)], [500, 250, 250]),
    ("loader np ints", lambda: len(_loader(batch_size=np.int64(4), num_steps=np.int32(7))), len(_loader())),
    ("loader np.bool_", lambda: _loader(sequential=np.bool_(True)).sequential, True),
    ("loader seed 0-d tensor", lambda: _loader(seed=torch.tensor(3)).batch_size, 4),
    ("loader int32 tokens", lambda: next(iter(_loader(tokens=TOKENS.int())))[0].dtype, torch.int32),
]


@pytest.mark.parametrize("call,expected", [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_look_alikes_are_accepted(call, expected):
    assert call() == expected

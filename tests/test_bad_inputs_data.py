"""Bad inputs to every public function of d2lutil.data: each is refused at the boundary with a
TypeError (wrong kind) or ValueError (wrong value) whose message names the argument and shows what
was given, never a bare IndexError/KeyError/AttributeError from deep inside, never a silent result.

The tables below are the inventory (function, argument, bad value): ``BAD`` must raise, ``GOOD``
lists the look-alikes that must be accepted (a NumPy integer is an integer; a NumPy bool a bool).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

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
    ("preprocess text=None", lambda: data.preprocess(None), TypeError, r"text must be a str, got None"),
    ("preprocess text=42", lambda: data.preprocess(42), TypeError, r"text must be a str, got 42 \(int\)"),
    ("preprocess text=bytes", lambda: data.preprocess(b"abc"), TypeError, r"text must be a str.*decode it"),
    ("preprocess text=list", lambda: data.preprocess(["a"]), TypeError, r"text must be a str"),
    # sha1_of(path)
    ("sha1_of path=42", lambda: data.sha1_of(42), TypeError, r"path must be a path.*42 \(int\)"),
    ("sha1_of path=None", lambda: data.sha1_of(None), TypeError, r"path must be a path"),
    # read_time_machine / load_* (data_dir)
    ("read_time_machine data_dir=42", lambda: data.read_time_machine(42), TypeError, r"data_dir must be a path"),
    ("load_corpus data_dir=b''", lambda: data.load_corpus_time_machine(b"x"), TypeError, r"data_dir must be a path"),
    ("load_time_machine data_dir=1.5", lambda: data.load_time_machine(1.5), TypeError, r"data_dir must be a path"),
    # Vocab(tokens, min_freq, idx_to_token)
    ("Vocab tokens=42", lambda: Vocab(42), TypeError, r"tokens must be a str or an iterable of str.*42 \(int\)"),
    ("Vocab tokens=bytes", lambda: Vocab(b"abc"), TypeError, r"tokens must be a str or an iterable"),
    ("Vocab tokens=tensor", lambda: Vocab(torch.tensor([1, 2])), TypeError, r"tokens must be a str or an iterable"),
    ("Vocab tokens=[1, 2]", lambda: Vocab([1, 2]), TypeError, r"tokens\[0\] must be a str token, got 1 \(int\)"),
    ("Vocab tokens=lines", lambda: Vocab([["a", "b"]]), TypeError, r"tokens\[0\] must be a str token.*flatten"),
    ("Vocab tokens=[a, None]", lambda: Vocab(["a", None]), TypeError, r"tokens\[1\] must be a str token"),
    ("Vocab min_freq=-1", lambda: Vocab("ab", min_freq=-1), ValueError, r"min_freq must be an integer at least 0"),
    ("Vocab min_freq=1.5", lambda: Vocab("ab", min_freq=1.5), TypeError, r"min_freq must be an integer, got 1.5"),
    ("Vocab min_freq='2'", lambda: Vocab("ab", min_freq="2"), TypeError, r"min_freq must be an integer, got '2'"),
    ("Vocab min_freq=True", lambda: Vocab("ab", min_freq=True), TypeError, r"min_freq must be an integer, got True"),
    ("Vocab idx_to_token no unk", lambda: Vocab(idx_to_token=["a", "b"]), ValueError, r"must start with '<unk>'"),
    ("Vocab idx_to_token=[]", lambda: Vocab(idx_to_token=[]), ValueError, r"must start with '<unk>'"),
    ("Vocab idx_to_token repeats", lambda: Vocab(idx_to_token=[UNK, "a", "a"]), ValueError, r"\['a'\] more than once"),
    (
        "Vocab idx_to_token=[unk, 3]",
        lambda: Vocab(idx_to_token=[UNK, 3]),
        TypeError,
        r"idx_to_token\[1\] must be a str",
    ),
    ("Vocab idx_to_token=5", lambda: Vocab(idx_to_token=5), TypeError, r"idx_to_token must be a str or an iterable"),
    ("Vocab both", lambda: Vocab("ab", idx_to_token=[UNK, "a"]), ValueError, r"either tokens .* not both"),
    # vocab[tokens]
    ("vocab[3]", lambda: V[3], TypeError, r"vocab\[tokens\] takes str tokens, got 3 \(int\).*to_tokens"),
    ("vocab[np.int64]", lambda: V[np.int64(3)], TypeError, r"vocab\[tokens\] takes str tokens"),
    ("vocab[tensor]", lambda: V[torch.tensor([1])], TypeError, r"vocab\[tokens\] takes str tokens"),
    ("vocab[None]", lambda: V[None], TypeError, r"tokens must be a str or an iterable.*None"),
    ("vocab[[1]]", lambda: V[[1]], TypeError, r"tokens\[0\] must be a str token, got 1"),
    ("vocab[['a', None]]", lambda: V[["a", None]], TypeError, r"tokens\[1\] must be a str token, got None"),
    ("vocab[bytes]", lambda: V[b"ab"], TypeError, r"tokens must be a str or an iterable"),
    # vocab.to_tokens(indices)
    ("to_tokens(-1)", lambda: V.to_tokens(-1), ValueError, r"indices must be an integer between 0 and 5, got -1"),
    ("to_tokens(len)", lambda: V.to_tokens(6), ValueError, r"between 0 and 5, got 6: this vocabulary has 6"),
    ("to_tokens(2**70)", lambda: V.to_tokens(2**70), ValueError, r"between 0 and 5"),
    ("to_tokens(tensor(-1))", lambda: V.to_tokens(torch.tensor(-1)), ValueError, r"between 0 and 5, got -1"),
    ("to_tokens(np.int64(-2))", lambda: V.to_tokens(np.int64(-2)), ValueError, r"between 0 and 5, got -2"),
    ("to_tokens(True)", lambda: V.to_tokens(True), TypeError, r"indices must be an integer, got True \(bool\)"),
    ("to_tokens(1.0)", lambda: V.to_tokens(1.0), TypeError, r"indices must be an integer, got 1.0 \(float\)"),
    ("to_tokens(np.float64)", lambda: V.to_tokens(np.float64(1)), TypeError, r"indices must be an integer"),
    ("to_tokens(tensor(1.))", lambda: V.to_tokens(torch.tensor(1.0)), TypeError, r"indices must be an integer"),
    ("to_tokens('a')", lambda: V.to_tokens("a"), TypeError, r"indices must be integers, got 'a'.*vocab\[\.\.\.\]"),
    ("to_tokens(None)", lambda: V.to_tokens(None), TypeError, r"indices must be an integer, got None"),
    ("to_tokens([0, -1])", lambda: V.to_tokens([0, -1]), ValueError, r"indices\[1\] must be an integer between 0"),
    ("to_tokens([0, 1.5])", lambda: V.to_tokens([0, 1.5]), TypeError, r"indices\[1\] must be an integer, got 1.5"),
    ("to_tokens([True])", lambda: V.to_tokens([True]), TypeError, r"indices\[0\] must be an integer, got True"),
    ("to_tokens(2-D)", lambda: V.to_tokens(torch.ones(2, 3, dtype=torch.long)), ValueError, r"shape \(2, 3\)"),
    ("to_tokens(2-D array)", lambda: V.to_tokens(np.ones((2, 3), dtype=int)), ValueError, r"1-D sequence"),
    ("to_tokens(bool tensor)", lambda: V.to_tokens(torch.tensor([True])), TypeError, r"indices\[0\] must be an int"),
    # vocab.unknown(tokens)
    ("unknown(42)", lambda: V.unknown(42), TypeError, r"tokens must be a str or an iterable"),
    ("unknown([1])", lambda: V.unknown([1]), TypeError, r"tokens\[0\] must be a str token"),
    ("unknown(None)", lambda: V.unknown(None), TypeError, r"tokens must be a str or an iterable"),
    # split_corpus(corpus, val_fraction, test_fraction)
    ("split corpus=list", lambda: split_corpus([1, 2, 3]), TypeError, r"corpus must be a 1-D torch tensor.*list"),
    ("split corpus=array", lambda: split_corpus(np.arange(10)), TypeError, r"corpus must be a 1-D torch tensor"),
    ("split corpus 2-D", lambda: split_corpus(torch.zeros(2, 5, dtype=torch.long)), ValueError, r"1-D.*\(2, 5\)"),
    ("split corpus float", lambda: split_corpus(torch.rand(10)), TypeError, r"integer token indices.*float32"),
    ("split corpus bool", lambda: split_corpus(torch.ones(10, dtype=bool)), TypeError, r"integer token indices"),
    ("split corpus negative", lambda: split_corpus(torch.tensor([1, -1, 2])), ValueError, r"negative token index"),
    ("split corpus empty", lambda: split_corpus(torch.arange(0)), ValueError, r"of 0 tokens leave an empty part"),
    ("split corpus 2 tokens", lambda: split_corpus(torch.arange(2)), ValueError, r"leave an empty part"),
    ("split corpus 10 tokens", lambda: split_corpus(TOKENS[:10]), ValueError, r"training 9, validation 0, test 1"),
    ("split val_fraction tiny", lambda: split_corpus(TOKENS[:30], 0.01), ValueError, r"0.01 .* of 30 tokens leave an"),
    ("split test_fraction tiny", lambda: split_corpus(TOKENS[:30], 0.1, 0.01), ValueError, r"validation 3, test 0"),
    ("split val_fraction=0", lambda: split_corpus(TOKENS, 0), ValueError, r"val_fraction must be a finite number"),
    ("split val_fraction=1", lambda: split_corpus(TOKENS, 1.0), ValueError, r"val_fraction .* in \(0.0, 1.0\)"),
    ("split val_fraction=-0.1", lambda: split_corpus(TOKENS, -0.1), ValueError, r"val_fraction"),
    ("split val_fraction=nan", lambda: split_corpus(TOKENS, float("nan")), ValueError, r"val_fraction.*got nan"),
    ("split val_fraction=inf", lambda: split_corpus(TOKENS, float("inf")), ValueError, r"val_fraction.*got inf"),
    ("split val_fraction='0.1'", lambda: split_corpus(TOKENS, "0.1"), TypeError, r"val_fraction must be a real"),
    ("split val_fraction=True", lambda: split_corpus(TOKENS, True), TypeError, r"val_fraction must be a real"),
    ("split val_fraction=None", lambda: split_corpus(TOKENS, None), TypeError, r"val_fraction must be a real"),
    ("split test_fraction=0", lambda: split_corpus(TOKENS, 0.1, 0), ValueError, r"test_fraction must be a finite"),
    ("split test_fraction=1", lambda: split_corpus(TOKENS, 0.1, 1), ValueError, r"test_fraction .* in \(0.0, 1.0\)"),
    ("split test_fraction=-0.1", lambda: split_corpus(TOKENS, 0.1, -0.1), ValueError, r"test_fraction"),
    ("split test_fraction=nan", lambda: split_corpus(TOKENS, 0.1, math.nan), ValueError, r"test_fraction.*got nan"),
    ("split test_fraction='.1'", lambda: split_corpus(TOKENS, 0.1, ".1"), TypeError, r"test_fraction must be a real"),
    ("split test_fraction=False", lambda: split_corpus(TOKENS, 0.1, False), TypeError, r"test_fraction must be a real"),
    ("split test_fraction=None", lambda: split_corpus(TOKENS, 0.1, None), TypeError, r"test_fraction must be a real"),
    ("split sum=1", lambda: split_corpus(TOKENS, 0.5, 0.5), ValueError, r"no training part: their sum must be below 1"),
    ("split sum>1", lambda: split_corpus(TOKENS, 0.7, 0.6), ValueError, r"val_fraction=0.7 and test_fraction=0.6"),
    # WindowLoader(tokens, batch_size, num_steps, sequential, seed)
    ("loader tokens=list", lambda: _loader(tokens=list(range(100))), TypeError, r"tokens must be a 1-D torch tensor"),
    ("loader tokens 2-D", lambda: _loader(tokens=TOKENS.reshape(10, 100)), ValueError, r"tokens must be a 1-D"),
    ("loader tokens float", lambda: _loader(tokens=TOKENS.float()), TypeError, r"tokens must hold integer"),
    ("loader tokens negative", lambda: _loader(tokens=TOKENS - 1), ValueError, r"negative token index \(-1\)"),
    ("loader batch_size=0", lambda: _loader(batch_size=0), ValueError, r"batch_size must be an integer at least 1"),
    ("loader batch_size=2.5", lambda: _loader(batch_size=2.5), TypeError, r"batch_size must be an integer, got 2.5"),
    ("loader batch_size='4'", lambda: _loader(batch_size="4"), TypeError, r"batch_size must be an integer, got '4'"),
    ("loader batch_size=True", lambda: _loader(batch_size=True), TypeError, r"batch_size must be an integer, got True"),
    ("loader batch_size=None", lambda: _loader(batch_size=None), TypeError, r"batch_size must be an integer"),
    ("loader batch_size=np.f64", lambda: _loader(batch_size=np.float64(4)), TypeError, r"batch_size must be an int"),
    ("loader num_steps=-1", lambda: _loader(num_steps=-1), ValueError, r"num_steps must be an integer at least 1"),
    ("loader num_steps=7.0", lambda: _loader(num_steps=7.0), TypeError, r"num_steps must be an integer, got 7.0"),
    ("loader too few tokens", lambda: _loader(batch_size=500), ValueError, r"too few for batch_size=500"),
    ("loader sequential='False'", lambda: _loader(sequential="False"), TypeError, r"sequential must be True or False"),
    ("loader sequential=1", lambda: _loader(sequential=1), TypeError, r"sequential must be True or False, got 1"),
    ("loader sequential=None", lambda: _loader(sequential=None), TypeError, r"sequential must be True or False"),
    ("loader seed=-1", lambda: _loader(seed=-1), ValueError, r"seed must be an integer between 0 and"),
    ("loader seed=2**64", lambda: _loader(seed=2**64), ValueError, r"seed must be an integer between 0 and"),
    ("loader seed=1.5", lambda: _loader(seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    ("loader seed='0'", lambda: _loader(seed="0"), TypeError, r"seed must be an integer"),
    # TimeMachine(vocab, train_tokens, val_tokens, test_tokens) and its train_iter
    ("TimeMachine vocab=list", lambda: _book(vocab=["<unk>"]), TypeError, r"vocab must be a d2lutil.data.Vocab"),
    ("TimeMachine train=list", lambda: _book(train_tokens=[1, 2]), TypeError, r"train_tokens must be a 1-D torch"),
    ("TimeMachine val 2-D", lambda: _book(val_tokens=torch.ones(2, 2, dtype=int)), ValueError, r"val_tokens must"),
    ("TimeMachine index>=len", lambda: _book(val_tokens=torch.tensor([6])), ValueError, r"index 6.*only 6 tokens"),
    ("TimeMachine test float", lambda: _book(test_tokens=torch.rand(3)), TypeError, r"test_tokens must hold integer"),
    ("TimeMachine test=list", lambda: _book(test_tokens=[1, 2]), TypeError, r"test_tokens must be a 1-D torch"),
    ("TimeMachine test index", lambda: _book(test_tokens=torch.tensor([1, 9])), ValueError, r"test_tokens.*index 9"),
    ("TimeMachine no test part", lambda: TimeMachine(V, TOKENS[:5], TOKENS[5:9]), TypeError, r"test_tokens"),
    ("train_iter batch_size='4'", lambda: _book().train_iter("4", 2), TypeError, r"batch_size must be an integer"),
    # load_time_machine / load_data_time_machine: arguments checked before the book is read
    ("load_time_machine vf=0", lambda: data.load_time_machine(val_fraction=0), ValueError, r"val_fraction must be"),
    ("load_time_machine vf='.1'", lambda: data.load_time_machine(val_fraction=".1"), TypeError, r"val_fraction"),
    ("load_time_machine tf=1", lambda: data.load_time_machine(test_fraction=1), ValueError, r"test_fraction must be"),
    ("load_time_machine tf=None", lambda: data.load_time_machine(test_fraction=None), TypeError, r"test_fraction"),
    ("load_time_machine sum=1", lambda: data.load_time_machine(None, 0.9, 0.1), ValueError, r"sum must be below 1"),
    ("load_data batch_size=0", lambda: data.load_data_time_machine(0, 35), ValueError, r"batch_size must be an int"),
    ("load_data batch_size='32'", lambda: data.load_data_time_machine("32", 35), TypeError, r"batch_size must be"),
    ("load_data num_steps=-1", lambda: data.load_data_time_machine(32, -1), ValueError, r"num_steps must be an int"),
    ("load_data sequential='no'", lambda: data.load_data_time_machine(32, 35, "no"), TypeError, r"sequential must"),
    ("load_data data_dir=42", lambda: data.load_data_time_machine(32, 35, data_dir=42), TypeError, r"data_dir must"),
]


@pytest.mark.parametrize("call,error,message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(call, error, message):
    with pytest.raises(error, match=message) as err:
        call()
    assert type(err.value) in (TypeError, ValueError), f"{type(err.value).__name__} is not the documented error"


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

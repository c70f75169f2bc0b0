"""Bad inputs to the public functions of d2lutil.models, generation and widgets: each is refused at
the boundary with a TypeError (wrong kind) or ValueError (wrong value) whose message names the
argument, never torch's or Python's own error from deep inside, never a silent result.

``BAD`` is the inventory: rows (id, call, exception type, the argument the message must name);
``GOOD`` the look-alikes that must be accepted (a NumPy integer is an integer, a NumPy float a
number). The wording is not matched: tests/test_checks.py pins the format once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from refusals import assert_refused
from torch import Tensor, nn

from d2lutil import generation, models
from d2lutil import widgets as figs
from d2lutil.data import Vocab
from d2lutil.models import RNNLM, GRUD2LStyle, GRUScratch, RNNScratch, build_lm

V = Vocab("abcdefgh ")  # 10 tokens with <unk>
TOKENS = torch.randint(1, len(V), (600,), generator=torch.Generator().manual_seed(0))
torch.manual_seed(0)
LM = build_lm("gru", len(V), 8)
X = torch.zeros(5, 2, 3)
Case = tuple[str, Callable[[], Any], type[Exception], str]

pytestmark = pytest.mark.usefixtures("one_thread")


def _predict(**kwargs: Any) -> str:
    args = {"prefix": "abc", "num_preds": 3, "model": LM, "vocab": V}
    return generation.predict(**{**args, **kwargs})


def _figure(**kwargs: Any) -> figs.InteractiveFigure:
    args = {"draw": lambda fig, n: None, "controls": {"n": widgets.IntSlider(1)}, "dpi": 20, "figsize": (1, 1)}
    return figs.InteractiveFigure(**{**args, **kwargs})


def _fig() -> Any:
    fig = plt.figure(figsize=(1, 1))
    plt.close(fig)
    return fig


BAD: list[Case] = [
    # predict(prefix, num_preds, model, vocab, device, temperature, seed) - issue 14 example 7
    ("predict vocab size", lambda: _predict(model=build_lm("gru", 20, 4)), ValueError, "vocab"),
    ("predict vocab='abc'", lambda: _predict(vocab="abc"), TypeError, "vocab"),
    ("predict model='m'", lambda: _predict(model="m"), TypeError, "model"),
    ("predict prefix=5", lambda: _predict(prefix=5), TypeError, "prefix"),
    ("predict prefix=None", lambda: _predict(prefix=None), TypeError, "prefix"),
    ("predict prefix=''", lambda: _predict(prefix=""), ValueError, "prefix"),
    ("predict prefix unknown", lambda: _predict(prefix="Abz!"), ValueError, "prefix"),
    ("predict num_preds=-1", lambda: _predict(num_preds=-1), ValueError, "num_preds"),
    ("predict num_preds=2.5", lambda: _predict(num_preds=2.5), TypeError, "num_preds"),
    ("predict num_preds='3'", lambda: _predict(num_preds="3"), TypeError, "num_preds"),
    ("predict num_preds=10**9", lambda: _predict(num_preds=10**9), ValueError, "num_preds"),
    ("predict temperature=-1", lambda: _predict(temperature=-1), ValueError, "temperature"),
    ("predict temperature=nan", lambda: _predict(temperature=math.nan), ValueError, "temperature"),
    ("predict temperature=1e-9", lambda: _predict(temperature=1e-9), ValueError, "temperature"),
    ("predict temperature='1'", lambda: _predict(temperature="1"), TypeError, "temperature"),
    ("predict seed=-1", lambda: _predict(temperature=1.0, seed=-1), ValueError, "seed"),
    ("predict seed='0'", lambda: _predict(temperature=1.0, seed="0"), TypeError, "seed"),
    ("predict device=5", lambda: _predict(device=5), TypeError, "device"),
    ("predict device='cuda:99'", lambda: _predict(device="cuda:99"), ValueError, "device"),
    ("predict device='gpu'", lambda: _predict(device="gpu"), ValueError, "device"),
    # RNNLM(rnn, vocab_size, embed_size, dropout) - issue 14 example 6
    ("RNNLM batch_first", lambda: RNNLM(nn.GRU(10, 8, batch_first=True), 10), ValueError, "rnn"),
    ("RNNLM bidirectional", lambda: RNNLM(nn.GRU(10, 8, bidirectional=True), 10), ValueError, "rnn"),
    ("RNNLM proj_size", lambda: RNNLM(nn.LSTM(10, 8, proj_size=4), 10), ValueError, "rnn"),
    ("RNNLM rnn=Linear", lambda: RNNLM(nn.Linear(10, 8), 10), TypeError, "rnn"),
    ("RNNLM rnn='gru'", lambda: RNNLM("gru", 10), TypeError, "rnn"),
    ("RNNLM vocab_size=10.0", lambda: RNNLM(nn.GRU(10, 8), 10.0), TypeError, "vocab_size"),
    ("RNNLM vocab_size=1", lambda: RNNLM(nn.GRU(1, 8), 1), ValueError, "vocab_size"),
    ("RNNLM vocab_size='10'", lambda: RNNLM(nn.GRU(10, 8), "10"), TypeError, "vocab_size"),
    ("RNNLM input size", lambda: RNNLM(nn.GRU(9, 8), 10), ValueError, "rnn"),
    ("RNNLM embed_size=0", lambda: RNNLM(nn.GRU(4, 8), 10, 0), ValueError, "embed_size"),
    ("RNNLM embed_size='4'", lambda: RNNLM(nn.GRU(4, 8), 10, "4"), TypeError, "embed_size"),
    ("RNNLM dropout=1.0", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=1.0), ValueError, "dropout"),
    ("RNNLM dropout=-0.1", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=-0.1), ValueError, "dropout"),
    ("RNNLM dropout=nan", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=math.nan), ValueError, "dropout"),
    ("RNNLM dropout='0.1'", lambda: RNNLM(nn.GRU(10, 8), 10, dropout="0.1"), TypeError, "dropout"),
    ("RNNLM embed_dropout=1", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout=1), ValueError, "embed_dropout"),
    ("RNNLM embed_dropout=-.1", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout=-0.1), ValueError, "embed_dropout"),
    ("RNNLM embed_dropout='0'", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout="0"), TypeError, "embed_dropout"),
    ("RNNLM tokens=list", lambda: LM([[1, 2]]), TypeError, "tokens"),
    ("RNNLM tokens 1-D", lambda: LM(TOKENS[:5]), ValueError, "tokens"),
    ("RNNLM tokens out of range", lambda: LM(torch.tensor([[10]])), ValueError, "tokens"),
    # build_lm(kind, vocab_size, hidden_size, num_layers, embed_size, dropout)
    ("build_lm kind=3", lambda: build_lm(3, 10, 8), TypeError, "kind"),
    ("build_lm kind='LSTM'", lambda: build_lm("LSTM", 10, 8), ValueError, "kind"),
    ("build_lm kind='transformer'", lambda: build_lm("transformer", 10, 8), ValueError, "kind"),
    ("build_lm vocab_size=0", lambda: build_lm("gru", 0, 8), ValueError, "vocab_size"),
    ("build_lm hidden_size=0", lambda: build_lm("gru", 10, 0), ValueError, "hidden_size"),
    ("build_lm hidden_size=2.5", lambda: build_lm("gru", 10, 2.5), TypeError, "hidden_size"),
    ("build_lm num_layers=0", lambda: build_lm("gru", 10, 8, 0), ValueError, "num_layers"),
    ("build_lm num_layers='2'", lambda: build_lm("gru", 10, 8, "2"), TypeError, "num_layers"),
    ("build_lm embed_size=-1", lambda: build_lm("gru", 10, 8, embed_size=-1), ValueError, "embed_size"),
    ("build_lm dropout=1.5", lambda: build_lm("gru", 10, 8, dropout=1.5), ValueError, "dropout"),
    ("build_lm embed_dropout=1", lambda: build_lm("lstm", 10, 8, embed_dropout=1.0), ValueError, "embed_dropout"),
    ("build_lm embed_dropout=nan", lambda: build_lm("gru", 10, 8, embed_dropout=math.nan), ValueError, "embed_dropout"),
    ("build_lm embed_dropout=None", lambda: build_lm("gru", 10, 8, embed_dropout=None), TypeError, "embed_dropout"),
    ("build_lm lstm scratch", lambda: build_lm("lstm_scratch", 10, 8), ValueError, "kind"),
    ("build_lm scratch 2 layers", lambda: build_lm("gru_scratch", 10, 8, 2), ValueError, "num_layers"),
    # scratch layers: sizes (hidden_size=0 divided by zero), reset, inputs
    ("GRUScratch hidden_size=0", lambda: GRUScratch(3, 0), ValueError, "hidden_size"),
    ("GRUScratch input_size=3.0", lambda: GRUScratch(3.0, 4), TypeError, "input_size"),
    ("GRUScratch reset=1", lambda: GRUScratch(3, 4, reset=1), TypeError, "reset"),
    ("GRUScratch reset='middle'", lambda: GRUScratch(3, 4, reset="middle"), ValueError, "reset"),
    ("GRUD2LStyle input_size=0", lambda: GRUD2LStyle(0, 4), ValueError, "input_size"),
    ("RNNScratch hidden_size=-1", lambda: RNNScratch(3, -1), ValueError, "hidden_size"),
    ("GRUScratch X=list", lambda: GRUScratch(3, 4)([[0.0] * 3]), TypeError, "X"),
    ("GRUScratch H='h'", lambda: GRUScratch(3, 4)(X, "h"), TypeError, "H"),
    ("GRUScratch X empty", lambda: GRUScratch(3, 4)(X[:0]), ValueError, "X"),
    ("GRUScratch X no batch", lambda: GRUScratch(3, 4)(X[:, :0]), ValueError, "X"),
    ("GRUScratch X float64", lambda: GRUScratch(3, 4)(X.double()), ValueError, "X"),
    ("GRUScratch H float64", lambda: GRUScratch(3, 4)(X, torch.zeros(1, 2, 4, dtype=torch.float64)), ValueError, "H"),
    ("GRUScratch H int", lambda: GRUScratch(3, 4)(X, torch.zeros(1, 2, 4, dtype=torch.long)), ValueError, "H"),
    ("GRUScratch H shape", lambda: GRUScratch(3, 4)(X, torch.zeros(1, 3, 4)), ValueError, "H"),
    ("GRUScratch H 2-D", lambda: GRUScratch(3, 4)(X, torch.zeros(2, 4)), ValueError, "H"),
    ("GRUScratch X (B, T, d)", lambda: GRUScratch(3, 4)(X.transpose(0, 2)), ValueError, "X"),
    ("GRUScratch.trace H float64", lambda: GRUScratch(3, 4).trace(X, X.new_zeros(1, 2, 4).double()), ValueError, "H"),
    ("GRUD2LStyle X no batch", lambda: GRUD2LStyle(3, 4)(X[:, :0]), ValueError, "X"),
    ("GRUD2LStyle H float64", lambda: GRUD2LStyle(3, 4)(X, torch.zeros(1, 2, 4).double()), ValueError, "H"),
    ("RNNScratch X no batch", lambda: RNNScratch(3, 4)(X[:, :0]), ValueError, "X"),
    ("RNNScratch H float16", lambda: RNNScratch(3, 4)(X, torch.zeros(1, 2, 4).half()), ValueError, "H"),
    (
        "copy_nn_gru src=RNN",
        lambda: models.copy_nn_gru_to_scratch(nn.RNN(3, 4), GRUScratch(3, 4)),
        TypeError,
        "src",
    ),
    ("copy_nn_gru dst='x'", lambda: models.copy_nn_gru_to_scratch(nn.GRU(3, 4), "x"), TypeError, "dst"),
    ("layer_size Linear", lambda: models.layer_size(nn.Linear(2, 3), "hidden_size"), TypeError, "rnn"),
    # InteractiveFigure(draw, controls, figsize, dpi, columns, clear) and figure_png(fig, dpi)
    ("figure draw=3", lambda: _figure(draw=3), TypeError, "draw"),
    ("figure controls=list", lambda: _figure(controls=[widgets.IntSlider()]), TypeError, "controls"),
    ("figure controls value", lambda: _figure(controls={"n": 3}), TypeError, "controls['n']"),
    ("figure control name", lambda: _figure(controls={"a b": widgets.IntSlider()}), ValueError, "controls"),
    ("figure figsize=(0, 2)", lambda: _figure(figsize=(0, 2)), ValueError, "figsize[0]"),
    ("figure figsize=3", lambda: _figure(figsize=3), TypeError, "figsize"),
    ("figure figsize=('a', 2)", lambda: _figure(figsize=("a", 2)), TypeError, "figsize[0]"),
    ("figure dpi=0", lambda: _figure(dpi=0), ValueError, "dpi"),
    ("figure dpi='90'", lambda: _figure(dpi="90"), TypeError, "dpi"),
    ("figure columns=0", lambda: _figure(columns=0), ValueError, "columns"),
    ("figure clear='yes'", lambda: _figure(clear="yes"), TypeError, "clear"),
    ("figure_png fig='f'", lambda: figs.figure_png("f"), TypeError, "fig"),
    ("figure_png dpi=0", lambda: figs.figure_png(_fig(), dpi=0), ValueError, "dpi"),
]


@pytest.mark.parametrize("call,error,argument", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(call: Callable[[], Any], error: type[Exception], argument: str) -> None:
    assert_refused(call, error, argument)


GOOD: list[tuple[str, Callable[[], Any]]] = [
    ("build_lm lstm embed_dropout=np", lambda: build_lm("lstm", 10, 8, embed_size=4, embed_dropout=np.float32(0.2))),
    ("predict num_preds=np.int64", lambda: _predict(num_preds=np.int64(2), temperature=1, seed=np.int64(0))),
    ("build_lm np sizes", lambda: build_lm("gru_scratch", np.int64(10), np.int32(4))),
    ("GRUScratch np sizes", lambda: GRUScratch(np.int64(3), np.int64(4))),
]


@pytest.mark.parametrize("call", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_look_alikes_are_accepted(call: Callable[[], Any]) -> None:
    call()


# --- issue 14, example 6: batch_first recurs across the batch ---


def test_rnnlm_refuses_batch_first_with_the_fix() -> None:
    with pytest.raises(ValueError) as err:
        RNNLM(nn.GRU(len(V), 8, batch_first=True), len(V))
    assert "GRU(..., batch_first=False)" in str(err.value)  # the message gives the fix in code
    RNNLM(nn.GRU(len(V), 8, batch_first=False), len(V))  # the chapter's (T, B, ...) layout


# --- issue 14, example 7: a model for another vocabulary ---


def test_predict_refuses_a_vocab_of_another_size_even_without_vocab_size() -> None:
    class Bare(nn.Module):  # no vocab_size attribute: caught from the logits' size
        def __init__(self) -> None:
            super().__init__()
            self.lm = build_lm("gru", len(V) + 3, 4)

        def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
            return self.lm(tokens, state)

    assert_refused(lambda: generation.predict("abc", 5, Bare(), V), ValueError, "vocab")


# --- a device this machine does not have ---


def test_predict_on_cuda_without_a_gpu_names_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)  # as on a machine without CUDA, GPU or not
    assert_refused(lambda: _predict(device="cuda"), ValueError, "device")
    assert_refused(lambda: _predict(device=torch.device("cuda", 0)), ValueError, "device")

"""Bad inputs to the public functions of d2lutil.training, models, gates, tasks and widgets: each is
refused at the boundary with a TypeError (wrong kind) or ValueError (wrong value) whose message
names the argument, never a bare KeyError/IndexError/ZeroDivisionError/AttributeError/OverflowError
from deep inside, never a silent result. Then issue 14's examples 4 to 7 as behaviour tests: a run
that diverges stops with TrainingDiverged and keeps its history (and, with restore_best, its best
finite weights); perplexity is inf, never an OverflowError.

``BAD`` is the inventory (function, argument, bad value); ``GOOD`` the look-alikes that must be
accepted (a NumPy integer is an integer, a NumPy float a number).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import Tensor, nn

from d2lutil import gates, generation, models, tasks, training
from d2lutil import widgets as figs
from d2lutil.data import TimeMachine, Vocab, WindowLoader
from d2lutil.models import RNNLM, GRUD2LStyle, GRUScratch, RNNScratch, build_lm
from d2lutil.training import Recipe

V = Vocab("abcdefgh ")  # 10 tokens with <unk>
TOKENS = torch.randint(1, len(V), (600,), generator=torch.Generator().manual_seed(0))
BOOK = TimeMachine(V, TOKENS[:450], TOKENS[450:550], TOKENS[550:])
torch.manual_seed(0)
LM = build_lm("gru", len(V), 8)
GRU = nn.GRU(3, 4, 2)
X = torch.zeros(5, 2, 3)
Case = tuple[str, Callable[[], Any], type[Exception], str]

pytestmark = pytest.mark.usefixtures("one_thread")


RECIPE_FIELDS = {f.name for f in dataclasses.fields(Recipe)}


def _train(**kwargs: Any) -> training.History:
    """train() on a tiny model; keyword arguments that are Recipe fields go into its recipe."""
    fields = {k: kwargs.pop(k) for k in list(kwargs) if k in RECIPE_FIELDS}
    recipe = Recipe(**{"batch_size": 4, "num_steps": 8, "lr": 1.0, **fields})
    args = {"train_tokens": TOKENS[:240], "val_tokens": TOKENS[:64], "recipe": recipe, "progress": False}
    return training.train(build_lm("gru", len(V), 8), **{**args, **kwargs})


def _train_positional(*args: Any) -> training.History:
    return training.train(LM, *args, progress=False)


TRAIN, VAL = BOOK.train_tokens, BOOK.val_tokens
WHOLE_BOOK = r"train_tokens must be a tensor of tokens, got the whole book.*data.train_tokens, data.val_tokens"
WHOLE_BOOK_AS_VAL = r"val_tokens must be a tensor of tokens, got the whole book.*never receives data.test_tokens"


def _recipe(**kwargs: Any) -> Recipe:
    return Recipe(**{"batch_size": 4, "num_steps": 8, "lr": 0.1, **kwargs})


def _predict(**kwargs: Any) -> str:
    args = {"prefix": "abc", "num_preds": 3, "model": LM, "vocab": V}
    return generation.predict(**{**args, **kwargs})


def _first(generator: Any) -> Any:
    return next(iter(generator))


def _task(**kwargs: Any) -> tasks.TaskResult:
    args: dict[str, Any] = {
        "model": tasks.SequenceModel(nn.GRU(4, 4), 2, vocab_size=4),
        "make_batch": lambda b, g: tasks.first_token_recall(b, 3, 2, 4, generator=g),
        "num_steps": 1,
        "batch_size": 4,
        "test_size": 8,
    }
    return tasks.train_on_task(**{**args, **kwargs})


def _figure(**kwargs: Any) -> figs.InteractiveFigure:
    args = {"draw": lambda fig, n: None, "controls": {"n": widgets.IntSlider(1)}, "dpi": 20, "figsize": (1, 1)}
    return figs.InteractiveFigure(**{**args, **kwargs})


def _fig() -> Any:
    fig = plt.figure(figsize=(1, 1))
    plt.close(fig)
    return fig


NAN_GATE = torch.full((3, 2), math.nan)

BAD: list[Case] = [
    # evaluate_perplexity(model, tokens, batch_size, num_steps)
    ("evaluate model='m'", lambda: training.evaluate_perplexity("m", TOKENS), TypeError, r"model must be a torch"),
    ("evaluate model=ReLU", lambda: training.evaluate_perplexity(nn.ReLU(), TOKENS), ValueError, r"no parameters"),
    ("evaluate tokens=list", lambda: training.evaluate_perplexity(LM, [1, 2] * 20), TypeError, r"tokens must be a 1-D"),
    ("evaluate tokens 2-D", lambda: training.evaluate_perplexity(LM, TOKENS.view(2, -1)), ValueError, r"tokens.*1-D"),
    ("evaluate tokens float", lambda: training.evaluate_perplexity(LM, TOKENS.float()), TypeError, r"integer token"),
    ("evaluate tokens short", lambda: training.evaluate_perplexity(LM, TOKENS[:10]), ValueError, r"at least 16"),
    ("evaluate batch_size=0", lambda: training.evaluate_perplexity(LM, TOKENS, 0), ValueError, r"batch_size.*least 1"),
    ("evaluate batch_size=-2", lambda: training.evaluate_perplexity(LM, TOKENS, -2), ValueError, r"batch_size"),
    ("evaluate batch_size=2.5", lambda: training.evaluate_perplexity(LM, TOKENS, 2.5), TypeError, r"batch_size"),
    ("evaluate batch_size='8'", lambda: training.evaluate_perplexity(LM, TOKENS, "8"), TypeError, r"batch_size"),
    ("evaluate batch_size=True", lambda: training.evaluate_perplexity(LM, TOKENS, True), TypeError, r"batch_size"),
    ("evaluate batch_size huge", lambda: training.evaluate_perplexity(LM, TOKENS, 400), ValueError, r"at least 800"),
    ("evaluate num_steps=0", lambda: training.evaluate_perplexity(LM, TOKENS, 8, 0), ValueError, r"num_steps"),
    ("evaluate num_steps=None", lambda: training.evaluate_perplexity(LM, TOKENS, 8, None), TypeError, r"num_steps"),
    # train(...) - issue 14 example 4 (clip=-1 ascended, clip=0 froze, lr=nan trained to NaN)
    ("train clip=-1.0", lambda: _train(clip=-1.0), ValueError, r"clip must be positive and finite, got -1.0"),
    ("train clip=0", lambda: _train(clip=0), ValueError, r"clip must be positive and finite, got 0"),
    ("train clip=nan", lambda: _train(clip=math.nan), ValueError, r"clip must be positive"),
    ("train clip=inf", lambda: _train(clip=math.inf), ValueError, r"clip must be positive"),
    ("train clip=True", lambda: _train(clip=True), TypeError, r"clip must be a positive number"),
    ("train clip='1'", lambda: _train(clip="1"), TypeError, r"clip must be a positive number"),
    ("train lr=nan", lambda: _train(lr=math.nan), ValueError, r"lr must be positive and finite, got nan"),
    ("train lr=-0.1", lambda: _train(lr=-0.1), ValueError, r"lr must be positive"),
    ("train lr=0", lambda: _train(lr=0), ValueError, r"lr must be positive"),
    ("train lr='1e-2'", lambda: _train(lr="1e-2"), TypeError, r"lr must be a positive number"),
    ("train num_epochs=0", lambda: _train(num_epochs=0), ValueError, r"num_epochs must be an integer at least 1"),
    ("train num_epochs=1.5", lambda: _train(num_epochs=1.5), TypeError, r"num_epochs must be an integer"),
    ("train num_epochs='2'", lambda: _train(num_epochs="2"), TypeError, r"num_epochs must be an integer"),
    ("train num_epochs=True", lambda: _train(num_epochs=True), TypeError, r"num_epochs must be an integer"),
    ("train optimizer", lambda: _train(optimizer="adamax"), ValueError, r"optimizer must be one of .*got 'adamax'"),
    ("train optimizer=1", lambda: _train(optimizer=1), TypeError, r"optimizer must be"),
    ("train weight_decay=-1", lambda: _train(weight_decay=-1), ValueError, r"weight_decay"),
    ("train max_seconds=-1", lambda: _train(max_seconds=-1), ValueError, r"max_seconds"),
    ("train max_seconds='9'", lambda: _train(max_seconds="9"), TypeError, r"max_seconds"),
    ("train max_seconds=nan", lambda: _train(max_seconds=math.nan), ValueError, r"max_seconds"),
    ("train restore_best='False'", lambda: _train(restore_best="False"), TypeError, r"restore_best must be True or"),
    ("train restore_best=1", lambda: _train(restore_best=1), TypeError, r"restore_best must be True or False"),
    ("train progress=None", lambda: _train(progress=None), TypeError, r"progress must be True or False"),
    ("train title=3", lambda: _train(title=3), TypeError, r"title must be a str"),
    ("train callbacks=[obj]", lambda: _train(callbacks=[object()]), TypeError, r"callbacks\[0\] must be"),
    ("train callbacks=3", lambda: _train(callbacks=3), TypeError, r"callbacks must be a list"),
    ("train device=3", lambda: _train(device=3), TypeError, r"device must be"),
    ("train device='gpu0'", lambda: _train(device="gpu0"), ValueError, r"device 'gpu0' is not a device"),
    ("train model=None", lambda: training.train(None, TOKENS, TOKENS, _recipe()), TypeError, r"model must be"),
    ("train train_tokens=list", lambda: _train(train_tokens=[1] * 40), TypeError, r"train_tokens must be a 1-D"),
    ("train seed=1.5", lambda: _train(seed=1.5), TypeError, r"seed"),
    ("train train_chars=0", lambda: _train(train_chars=0), ValueError, r"train_chars"),
    ("train no end", lambda: _train(num_epochs=None), ValueError, r"num_epochs.*max_seconds"),
    ("train cosine by time", lambda: _train(num_epochs=None, max_seconds=1.0, schedule="cosine"), ValueError, "cosine"),
    ("train val_tokens=list", lambda: _train(val_tokens=[1] * 40), TypeError, r"val_tokens must be a 1-D"),
    ("train val_tokens short", lambda: _train(val_tokens=TOKENS[:5]), ValueError, r"val_tokens.*at least 16"),
    ("train schedule='linear'", lambda: _train(schedule="linear"), ValueError, r"one of 'constant', 'cosine'"),
    ("train schedule=None", lambda: _train(schedule=None), TypeError, r"schedule must be one of"),
    ("train ema_decay=1.0", lambda: _train(ema_decay=1.0), ValueError, r"ema_decay .* in \(0.0, 1.0\), got 1.0"),
    ("train ema_decay=0", lambda: _train(ema_decay=0), ValueError, r"ema_decay .* in \(0.0, 1.0\), got 0"),
    ("train ema_decay=-1", lambda: _train(ema_decay=-1), ValueError, r"ema_decay .*got -1"),
    ("train ema_decay=nan", lambda: _train(ema_decay=math.nan), ValueError, r"ema_decay .*got nan"),
    ("train ema_decay='x'", lambda: _train(ema_decay="x"), TypeError, r"ema_decay must be a real number, got 'x'"),
    ("train ema_decay=True", lambda: _train(ema_decay=True), TypeError, r"ema_decay must be a real number"),
    # Recipe(...)
    ("Recipe batch_size=0", lambda: _recipe(batch_size=0), ValueError, r"batch_size must be an integer at least 1"),
    ("Recipe batch_size='4'", lambda: _recipe(batch_size="4"), TypeError, r"batch_size must be an integer"),
    ("Recipe batch_size=4.0", lambda: _recipe(batch_size=4.0), TypeError, r"batch_size must be an integer"),
    ("Recipe num_steps=0", lambda: _recipe(num_steps=0), ValueError, r"num_steps"),
    ("Recipe lr=0", lambda: _recipe(lr=0), ValueError, r"lr must be positive"),
    ("Recipe lr=nan", lambda: _recipe(lr=math.nan), ValueError, r"lr must be positive"),
    ("Recipe optimizer", lambda: _recipe(optimizer="SGD"), ValueError, r"optimizer must be one of 'sgd'"),
    ("Recipe optimizer=None", lambda: _recipe(optimizer=None), TypeError, r"optimizer must be one of"),
    ("Recipe clip=0", lambda: _recipe(clip=0), ValueError, r"clip must be positive"),
    ("Recipe clip=-1", lambda: _recipe(clip=-1), ValueError, r"clip must be positive"),
    ("Recipe weight_decay=-1", lambda: _recipe(weight_decay=-1), ValueError, r"weight_decay"),
    ("Recipe num_epochs=1.5", lambda: _recipe(num_epochs=1.5), TypeError, r"num_epochs"),
    ("Recipe max_seconds=-1", lambda: _recipe(max_seconds=-1), ValueError, r"max_seconds"),
    ("Recipe schedule='linear'", lambda: _recipe(schedule="linear"), ValueError, r"schedule must be one of 'constant'"),
    ("Recipe schedule='Cosine'", lambda: _recipe(schedule="Cosine"), ValueError, r"schedule .*got 'Cosine'"),
    ("Recipe schedule=0", lambda: _recipe(schedule=0), TypeError, r"schedule must be one of"),
    ("Recipe ema_decay=1.0", lambda: _recipe(ema_decay=1.0), ValueError, r"ema_decay .* in \(0.0, 1.0\), got 1.0"),
    ("Recipe ema_decay=0", lambda: _recipe(ema_decay=0), ValueError, r"ema_decay .*got 0"),
    ("Recipe ema_decay=-1", lambda: _recipe(ema_decay=-1), ValueError, r"ema_decay .*got -1"),
    ("Recipe ema_decay='x'", lambda: _recipe(ema_decay="x"), TypeError, r"ema_decay must be a real number, got 'x'"),
    ("Recipe ema_decay=inf", lambda: _recipe(ema_decay=math.inf), ValueError, r"ema_decay .*got inf"),
    ("Recipe sequential='yes'", lambda: _recipe(sequential="yes"), TypeError, r"sequential must be True or False"),
    ("Recipe sequential=1", lambda: _recipe(sequential=1), TypeError, r"sequential must be True or False, got 1"),
    ("Recipe sequential=None", lambda: _recipe(sequential=None), TypeError, r"sequential must be True or False"),
    # train(model, train_tokens, val_tokens, recipe): the whole book is refused, so is anything but a Recipe
    ("train (book, val)", lambda: _train_positional(BOOK, BOOK.val_tokens, _recipe()), TypeError, WHOLE_BOOK),
    ("train (train, book)", lambda: _train_positional(TRAIN, BOOK, _recipe()), TypeError, WHOLE_BOOK_AS_VAL),
    ("train train='x'", lambda: _train_positional("x", VAL, _recipe()), TypeError, r"train_tokens must be a 1-D"),
    ("train val=list", lambda: _train_positional(TRAIN, [1] * 40, _recipe()), TypeError, r"val_tokens must be a"),
    ("train recipe=dict", lambda: _train_positional(TRAIN, VAL, {}), TypeError, r"recipe must be a d2lutil.Recipe"),
    # predict(prefix, num_preds, model, vocab, device, temperature, seed) - issue 14 example 7
    ("predict vocab size", lambda: _predict(model=build_lm("gru", 20, 4)), ValueError, r"predicts over 20.*has 10"),
    ("predict vocab='abc'", lambda: _predict(vocab="abc"), TypeError, r"vocab must be a d2lutil.data.Vocab"),
    ("predict model='m'", lambda: _predict(model="m"), TypeError, r"model must be"),
    ("predict prefix=5", lambda: _predict(prefix=5), TypeError, r"prefix must be a str"),
    ("predict prefix=None", lambda: _predict(prefix=None), TypeError, r"prefix must be a str"),
    ("predict prefix=''", lambda: _predict(prefix=""), ValueError, r"the prefix is empty"),
    ("predict prefix unknown", lambda: _predict(prefix="Abz!"), ValueError, r"does not know: \['A', 'z', '!'\]"),
    ("predict num_preds=-1", lambda: _predict(num_preds=-1), ValueError, r"num_preds must be an integer between"),
    ("predict num_preds=2.5", lambda: _predict(num_preds=2.5), TypeError, r"num_preds must be an integer"),
    ("predict num_preds='3'", lambda: _predict(num_preds="3"), TypeError, r"num_preds must be an integer"),
    ("predict num_preds=10**9", lambda: _predict(num_preds=10**9), ValueError, r"num_preds.*1000000"),
    ("predict temperature=-1", lambda: _predict(temperature=-1), ValueError, r"temperature must be 0"),
    ("predict temperature=nan", lambda: _predict(temperature=math.nan), ValueError, r"temperature"),
    ("predict temperature=1e-9", lambda: _predict(temperature=1e-9), ValueError, r"at least 0.001"),
    ("predict temperature='1'", lambda: _predict(temperature="1"), TypeError, r"temperature must be a real"),
    ("predict seed=-1", lambda: _predict(temperature=1.0, seed=-1), ValueError, r"seed"),
    ("predict seed='0'", lambda: _predict(temperature=1.0, seed="0"), TypeError, r"seed must be an integer"),
    ("predict device=5", lambda: _predict(device=5), TypeError, r"device must be"),
    # RNNLM(rnn, vocab_size, embed_size, dropout) - issue 14 example 6
    ("RNNLM batch_first", lambda: RNNLM(nn.GRU(10, 8, batch_first=True), 10), ValueError, r"batch_first=False"),
    ("RNNLM bidirectional", lambda: RNNLM(nn.GRU(10, 8, bidirectional=True), 10), ValueError, r"bidirectional=False"),
    ("RNNLM proj_size", lambda: RNNLM(nn.LSTM(10, 8, proj_size=4), 10), ValueError, r"proj_size=0"),
    ("RNNLM rnn=Linear", lambda: RNNLM(nn.Linear(10, 8), 10), TypeError, r"nn.GRU's interface"),
    ("RNNLM rnn='gru'", lambda: RNNLM("gru", 10), TypeError, r"rnn must be a recurrent layer"),
    ("RNNLM vocab_size=10.0", lambda: RNNLM(nn.GRU(10, 8), 10.0), TypeError, r"vocab_size must be an integer"),
    ("RNNLM vocab_size=1", lambda: RNNLM(nn.GRU(1, 8), 1), ValueError, r"vocab_size must be an integer at least 2"),
    ("RNNLM vocab_size='10'", lambda: RNNLM(nn.GRU(10, 8), "10"), TypeError, r"vocab_size"),
    ("RNNLM input size", lambda: RNNLM(nn.GRU(9, 8), 10), ValueError, r"input_size=10"),
    ("RNNLM embed_size=0", lambda: RNNLM(nn.GRU(4, 8), 10, 0), ValueError, r"embed_size"),
    ("RNNLM embed_size='4'", lambda: RNNLM(nn.GRU(4, 8), 10, "4"), TypeError, r"embed_size"),
    ("RNNLM dropout=1.0", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=1.0), ValueError, r"dropout.*\[0.0, 1.0\)"),
    ("RNNLM dropout=-0.1", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=-0.1), ValueError, r"dropout"),
    ("RNNLM dropout=nan", lambda: RNNLM(nn.GRU(10, 8), 10, dropout=math.nan), ValueError, r"dropout"),
    ("RNNLM dropout='0.1'", lambda: RNNLM(nn.GRU(10, 8), 10, dropout="0.1"), TypeError, r"dropout"),
    ("RNNLM embed_dropout=1", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout=1), ValueError, r"embed_dropout.*\[0.0"),
    ("RNNLM embed_dropout=-.1", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout=-0.1), ValueError, r"embed_dropout"),
    ("RNNLM embed_dropout='0'", lambda: RNNLM(nn.GRU(10, 8), 10, embed_dropout="0"), TypeError, r"embed_dropout"),
    ("RNNLM tokens=list", lambda: LM([[1, 2]]), TypeError, r"tokens must be a \(batch_size, num_steps\) int64"),
    ("RNNLM tokens 1-D", lambda: LM(TOKENS[:5]), ValueError, r"tokens must be a \(batch_size, num_steps\) int64"),
    ("RNNLM tokens out of range", lambda: LM(torch.tensor([[10]])), ValueError, r"\[0, 10\)"),
    # build_lm(kind, vocab_size, hidden_size, num_layers, embed_size, dropout)
    ("build_lm kind=3", lambda: build_lm(3, 10, 8), TypeError, r"kind must be a str"),
    ("build_lm kind='LSTM'", lambda: build_lm("LSTM", 10, 8), ValueError, r"unknown kind 'LSTM'.*'lstm'"),
    ("build_lm kind='transformer'", lambda: build_lm("transformer", 10, 8), ValueError, r"unknown kind"),
    ("build_lm vocab_size=0", lambda: build_lm("gru", 0, 8), ValueError, r"vocab_size"),
    ("build_lm hidden_size=0", lambda: build_lm("gru", 10, 0), ValueError, r"hidden_size must be an integer at"),
    ("build_lm hidden_size=2.5", lambda: build_lm("gru", 10, 2.5), TypeError, r"hidden_size must be an integer"),
    ("build_lm num_layers=0", lambda: build_lm("gru", 10, 8, 0), ValueError, r"num_layers"),
    ("build_lm num_layers='2'", lambda: build_lm("gru", 10, 8, "2"), TypeError, r"num_layers"),
    ("build_lm embed_size=-1", lambda: build_lm("gru", 10, 8, embed_size=-1), ValueError, r"embed_size"),
    ("build_lm dropout=1.5", lambda: build_lm("gru", 10, 8, dropout=1.5), ValueError, r"dropout"),
    ("build_lm embed_dropout=1", lambda: build_lm("lstm", 10, 8, embed_dropout=1.0), ValueError, r"embed_dropout"),
    ("build_lm embed_dropout=nan", lambda: build_lm("gru", 10, 8, embed_dropout=math.nan), ValueError, r"embed_drop"),
    ("build_lm embed_dropout=None", lambda: build_lm("gru", 10, 8, embed_dropout=None), TypeError, r"embed_dropout"),
    ("build_lm lstm scratch", lambda: build_lm("lstm_scratch", 10, 8), ValueError, r"unknown kind"),
    ("build_lm scratch 2 layers", lambda: build_lm("gru_scratch", 10, 8, 2), ValueError, r"one layer"),
    # scratch layers: sizes (hidden_size=0 divided by zero), reset, inputs
    ("GRUScratch hidden_size=0", lambda: GRUScratch(3, 0), ValueError, r"hidden_size must be an integer at least 1"),
    ("GRUScratch input_size=3.0", lambda: GRUScratch(3.0, 4), TypeError, r"input_size must be an integer"),
    ("GRUScratch reset=1", lambda: GRUScratch(3, 4, reset=1), ValueError, r"reset must be 'after'"),
    ("GRUD2LStyle input_size=0", lambda: GRUD2LStyle(0, 4), ValueError, r"input_size"),
    ("RNNScratch hidden_size=-1", lambda: RNNScratch(3, -1), ValueError, r"hidden_size"),
    ("GRUScratch X=list", lambda: GRUScratch(3, 4)([[0.0] * 3]), TypeError, r"X must be a tensor"),
    ("GRUScratch H='h'", lambda: GRUScratch(3, 4)(X, "h"), TypeError, r"H must be a tensor"),
    ("GRUScratch X empty", lambda: GRUScratch(3, 4)(X[:0]), ValueError, r"no time steps"),
    (
        "gru_step reset='middle'",
        lambda: models.gru_step(torch.zeros(1, 6), torch.zeros(1, 2), torch.zeros(2, 6), torch.zeros(6), "middle"),
        ValueError,
        r"reset must be 'after'",
    ),
    (
        "copy_nn_gru src=RNN",
        lambda: models.copy_nn_gru_to_scratch(nn.RNN(3, 4), GRUScratch(3, 4)),
        TypeError,
        r"src must be an nn.GRU",
    ),
    ("copy_nn_gru dst='x'", lambda: models.copy_nn_gru_to_scratch(nn.GRU(3, 4), "x"), TypeError, r"dst must be"),
    ("layer_size Linear", lambda: models.layer_size(nn.Linear(2, 3), "hidden_size"), TypeError, r"hidden_size"),
    # trace_gates(rnn, X, layer, H)
    ("trace_gates X=list", lambda: gates.trace_gates(GRU, [[0.0]]), TypeError, r"X must be a torch tensor"),
    ("trace_gates X 2-D", lambda: gates.trace_gates(GRU, X[0]), ValueError, r"X must be a tensor"),
    ("trace_gates X no steps", lambda: gates.trace_gates(GRU, X[:0]), ValueError, r"at least one step"),
    ("trace_gates X no batch", lambda: gates.trace_gates(GRU, X[:, :0]), ValueError, r"one sequence"),
    ("trace_gates X float64", lambda: gates.trace_gates(GRU, X.double()), ValueError, r"float64.*float32"),
    ("trace_gates H shape", lambda: gates.trace_gates(GRU, X, H=torch.zeros(1, 2, 4)), ValueError, r"\(2, 2, 4\)"),
    ("trace_gates H=list", lambda: gates.trace_gates(GRU, X, H=[0.0]), TypeError, r"H must be a torch tensor"),
    ("trace_gates layer='1'", lambda: gates.trace_gates(GRU, X, layer="1"), TypeError, r"layer must be an integer"),
    ("trace_gates layer=1.0", lambda: gates.trace_gates(GRU, X, layer=1.0), TypeError, r"layer must be an integer"),
    ("trace_gates layer=-1", lambda: gates.trace_gates(GRU, X, layer=-1), ValueError, r"layer must be an integer"),
    ("trace_gates layer=2", lambda: gates.trace_gates(GRU, X, layer=2), ValueError, r"0\.\.1"),
    ("trace_gates rnn='gru'", lambda: gates.trace_gates("gru", X), ValueError, r"needs nn.GRU"),
    ("trace_gates rnn=RNN", lambda: gates.trace_gates(nn.RNN(3, 4), X), ValueError, r"only a GRU has"),
    ("trace_gates RNNLM tokens", lambda: gates.trace_gates(LM, torch.tensor([[11]])), ValueError, r"\[0, 10\)"),
    ("trace_gates RNNLM floats", lambda: gates.trace_gates(LM, X), ValueError, r"int64"),
    # saturation(gate, low, high)
    ("saturation gate=list", lambda: gates.saturation([0.5]), TypeError, r"gate must be a torch tensor"),
    ("saturation gate 1-D", lambda: gates.saturation(torch.rand(5)), ValueError, r"\(T, B, h\) or \(T, h\)"),
    ("saturation gate empty", lambda: gates.saturation(torch.rand(0, 4)), ValueError, r"no values"),
    ("saturation gate ints", lambda: gates.saturation(torch.ones(3, 2, dtype=torch.long)), TypeError, r"dtype"),
    ("saturation gate=n", lambda: gates.saturation(torch.full((3, 2), -0.5)), ValueError, r"not gates"),
    ("saturation gate NaN", lambda: gates.saturation(NAN_GATE), ValueError, r"\[0, 1\]"),
    ("saturation low='0.1'", lambda: gates.saturation(torch.rand(3, 2), low="0.1"), TypeError, r"low"),
    ("saturation low > high", lambda: gates.saturation(torch.rand(3, 2), 0.9, 0.1), ValueError, r"low must not"),
    ("saturation high=2", lambda: gates.saturation(torch.rand(3, 2), high=2), ValueError, r"high"),
    # first_token_recall(batch_size, length, num_classes, num_symbols, generator)
    ("recall batch_size='4'", lambda: tasks.first_token_recall("4", 5), TypeError, r"batch_size must be an integer"),
    ("recall length=1", lambda: tasks.first_token_recall(4, 1), ValueError, r"length must be an integer at least 2"),
    ("recall num_classes=1", lambda: tasks.first_token_recall(4, 5, 1), ValueError, r"2 <= num_classes"),
    ("recall num_classes='2'", lambda: tasks.first_token_recall(4, 5, "2"), TypeError, r"num_classes"),
    ("recall num_symbols=8.0", lambda: tasks.first_token_recall(4, 5, 2, 8.0), TypeError, r"num_symbols"),
    ("recall generator=1", lambda: tasks.first_token_recall(4, 5, generator=1), TypeError, r"generator must be"),
    # SequenceModel(rnn, out_size, vocab_size, embed_size)
    ("SequenceModel batch_first", lambda: tasks.SequenceModel(nn.GRU(2, 4, batch_first=True), 2), ValueError, r"first"),
    ("SequenceModel out_size=0", lambda: tasks.SequenceModel(nn.GRU(2, 4), 0), ValueError, r"out_size"),
    ("SequenceModel vocab_size=-1", lambda: tasks.SequenceModel(nn.GRU(2, 4), 2, -1), ValueError, r"vocab_size"),
    ("SequenceModel embed_size=0", lambda: tasks.SequenceModel(nn.GRU(2, 4), 2, 4, 0), ValueError, r"embed_size"),
    ("SequenceModel rnn=Linear", lambda: tasks.SequenceModel(nn.Linear(2, 4), 2), TypeError, r"nn.GRU's interface"),
    # train_on_task(model, make_batch, num_steps, batch_size, lr, optimizer, clip, test_size, log_every, seed)
    ("task model='m'", lambda: _task(model="m"), TypeError, r"model must be a torch"),
    ("task make_batch=[1]", lambda: _task(make_batch=[1]), TypeError, r"make_batch must be a function"),
    ("task num_steps=0", lambda: _task(num_steps=0), ValueError, r"num_steps"),
    ("task batch_size='1'", lambda: _task(batch_size="1"), TypeError, r"batch_size"),
    ("task lr=0", lambda: _task(lr=0), ValueError, r"lr must be positive"),
    ("task clip=-1", lambda: _task(clip=-1), ValueError, r"clip must be positive"),
    ("task optimizer='x'", lambda: _task(optimizer="x"), ValueError, r"optimizer must be one of"),
    ("task test_size=0", lambda: _task(test_size=0), ValueError, r"test_size"),
    ("task log_every=0", lambda: _task(log_every=0), ValueError, r"log_every"),
    ("task seed=-1", lambda: _task(seed=-1), ValueError, r"seed"),
    ("task batch=list", lambda: _task(make_batch=lambda b, g: [1, 2]), TypeError, r"must return a pair of tensors"),
    (
        "task batch shapes",
        lambda: _task(make_batch=lambda b, g: (torch.zeros(b, 3, dtype=torch.long), torch.zeros(b + 1))),
        ValueError,
        r"y \(8,\) int64",
    ),
    # InteractiveFigure(draw, controls, figsize, dpi, columns, clear) and figure_png(fig, dpi)
    ("figure draw=3", lambda: _figure(draw=3), TypeError, r"draw must be a function"),
    ("figure controls=list", lambda: _figure(controls=[widgets.IntSlider()]), TypeError, r"controls must be a dict"),
    ("figure controls value", lambda: _figure(controls={"n": 3}), TypeError, r"controls\['n'\] must be an ipywidgets"),
    ("figure control name", lambda: _figure(controls={"a b": widgets.IntSlider()}), ValueError, r"not a Python name"),
    ("figure figsize=(0, 2)", lambda: _figure(figsize=(0, 2)), ValueError, r"figsize\[0\] must be positive"),
    ("figure figsize=3", lambda: _figure(figsize=3), TypeError, r"figsize must be a pair"),
    ("figure figsize=('a', 2)", lambda: _figure(figsize=("a", 2)), TypeError, r"figsize\[0\]"),
    ("figure dpi=0", lambda: _figure(dpi=0), ValueError, r"dpi must be an integer between 10 and 600"),
    ("figure dpi='90'", lambda: _figure(dpi="90"), TypeError, r"dpi must be an integer"),
    ("figure columns=0", lambda: _figure(columns=0), ValueError, r"columns must be an integer at least 1"),
    ("figure clear='yes'", lambda: _figure(clear="yes"), TypeError, r"clear must be True or False"),
    ("figure_png fig='f'", lambda: figs.figure_png("f"), TypeError, r"fig must be a matplotlib Figure"),
    ("figure_png dpi=0", lambda: figs.figure_png(_fig(), dpi=0), ValueError, r"dpi must be an integer between"),
]


@pytest.mark.parametrize("call,error,message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as err:
        call()
    assert type(err.value) in (TypeError, ValueError), f"{type(err.value).__name__} is not the documented error"


GOOD: list[tuple[str, Callable[[], Any]]] = [
    ("train num_epochs=np.int64, lr=np.float32", lambda: _train(num_epochs=np.int64(1), lr=np.float32(0.5))),
    ("train clip=None, max_seconds=0", lambda: _train(clip=None, max_seconds=0)),
    ("train restore_best=np.bool_", lambda: _train(restore_best=np.bool_(True))),
    ("Recipe np.int64 sizes", lambda: _recipe(batch_size=np.int64(4), num_steps=np.int32(8), lr=np.float64(0.1))),
    ("Recipe ema np.float32, np.bool_", lambda: _recipe(ema_decay=np.float32(0.9), sequential=np.bool_(True))),
    ("train ema_decay=np.float64", lambda: _train(ema_decay=np.float64(0.5), schedule="cosine")),
    ("build_lm lstm embed_dropout=np", lambda: build_lm("lstm", 10, 8, embed_size=4, embed_dropout=np.float32(0.2))),
    ("evaluate batch_size=np.int64", lambda: training.evaluate_perplexity(LM, TOKENS, np.int64(4))),
    ("predict num_preds=np.int64", lambda: _predict(num_preds=np.int64(2), temperature=1, seed=np.int64(0))),
    ("build_lm np sizes", lambda: build_lm("gru_scratch", np.int64(10), np.int32(4))),
    ("GRUScratch np sizes", lambda: GRUScratch(np.int64(3), np.int64(4))),
    ("recall np sizes", lambda: tasks.first_token_recall(np.int64(4), np.int64(5))),
    ("trace_gates layer=np.int64", lambda: gates.trace_gates(GRU, X, layer=np.int64(0))),
]


@pytest.mark.parametrize("call", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_look_alikes_are_accepted(call: Callable[[], Any]) -> None:
    call()


# --- issue 14, examples 4 and 5: a run that diverges ---


class _PoisonAfter(nn.Module):
    """An RNNLM whose logits turn NaN after ``steps`` training calls (a run that blows up mid-epoch)."""

    def __init__(self, steps: int):
        super().__init__()
        torch.manual_seed(0)
        self.lm, self.steps, self.vocab_size = build_lm("gru", len(V), 8), steps, len(V)

    def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        logits, state = self.lm(tokens, state)
        if self.training:
            self.steps -= 1
            if self.steps < 0:
                logits = logits * math.nan
        return logits, state


def _finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_a_nan_loss_stops_the_run_and_restore_best_gives_back_the_start() -> None:
    model = _PoisonAfter(steps=3)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(training.TrainingDiverged, match=r"loss became nan at step 4 of epoch 1") as err:
        training.train(
            model, TOKENS[:240], TOKENS[:64], _recipe(lr=1.0, num_epochs=2, restore_best=True), progress=False
        )
    assert isinstance(err.value, RuntimeError) and err.value.history.val_ppl == []
    assert err.value.history.tokens == 3 * 4 * 8  # the three finite steps are counted
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())  # not the NaN weights


def test_a_nan_loss_in_a_later_epoch_keeps_the_best_finite_weights() -> None:
    model = _PoisonAfter(steps=len(WindowLoader(TOKENS[:240], 4, 8)) + 2)  # the second epoch blows up

    class Keep(training.Callback):
        def on_epoch_end(self, history: training.History) -> None:
            self.after_epoch_1 = {k: v.clone() for k, v in model.state_dict().items()}

    keep = Keep()
    with pytest.raises(training.TrainingDiverged, match=r"epoch 2.*best finite epoch") as err:
        recipe = _recipe(lr=1.0, num_epochs=3, restore_best=True)
        training.train(model, TOKENS[:240], TOKENS[:64], recipe, callbacks=[keep], progress=False)
    assert len(err.value.history.val_ppl) == 1 and math.isfinite(err.value.history.val_ppl[0])
    assert _finite(model)
    assert all(torch.equal(v, keep.after_epoch_1[k]) for k, v in model.state_dict().items())


def test_a_diverging_run_raises_training_diverged_with_its_history_not_overflow_error() -> None:
    torch.manual_seed(0)
    model = build_lm("gru", len(V), 8)
    with pytest.raises(training.TrainingDiverged, match=r"lr=1000000.0, clip=None.*no longer usable") as err:
        training.train(model, TOKENS[:240], TOKENS[:64], _recipe(lr=1e6, clip=None, num_epochs=3), progress=False)
    history = err.value.history
    assert len(history.epochs) >= 1 and history.tokens > 0
    assert not (math.isfinite(history.train_ppl[-1]) and math.isfinite(history.val_ppl[-1]))


def test_perplexity_of_a_diverged_model_is_inf_not_overflow_error() -> None:
    torch.manual_seed(0)
    model = build_lm("gru", len(V), 8)
    with torch.no_grad():
        model.head.weight.mul_(1e6)  # a cross-entropy of thousands of nats per token
    assert training.evaluate_perplexity(model, TOKENS) == math.inf
    assert training.perplexity(1e4) == math.inf and math.isnan(training.perplexity(math.nan))
    assert training.perplexity(0.0) == 1.0


# --- issue 14, example 6: batch_first recurs across the batch ---


def test_rnnlm_refuses_batch_first_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"recur across the batch.*GRU\(\.\.\., batch_first=False\)"):
        RNNLM(nn.GRU(len(V), 8, batch_first=True), len(V))
    RNNLM(nn.GRU(len(V), 8, batch_first=False), len(V))  # the chapter's (T, B, ...) layout


# --- issue 14, example 7: a model for another vocabulary ---


def test_predict_refuses_a_vocab_of_another_size_even_without_vocab_size() -> None:
    class Bare(nn.Module):  # no vocab_size attribute: caught from the logits' size
        def __init__(self) -> None:
            super().__init__()
            self.lm = build_lm("gru", len(V) + 3, 4)

        def forward(self, tokens: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
            return self.lm(tokens, state)

    with pytest.raises(ValueError, match=r"predicts over 13 tokens but the vocab has 10"):
        generation.predict("abc", 5, Bare(), V)

"""Bad inputs to the public functions of d2lutil.training, gates and tasks: each is refused at the
boundary with a TypeError (wrong kind) or ValueError (wrong value) whose message names the
argument, never a bare KeyError/IndexError/ZeroDivisionError/AttributeError/OverflowError from deep
inside, never a silent result. Then issue 14's examples 4 and 5 as behaviour tests: a run that
diverges stops with TrainingDiverged and keeps its history (and, with restore_best, its best
finite weights); perplexity is inf, never an OverflowError. The rows of models, generation and
widgets (issue 14's examples 6 and 7 among them) are in tests/test_bad_inputs_models.py.

``BAD`` is the inventory: rows (id, call, exception type, the argument the message must name);
``GOOD`` the look-alikes that must be accepted (a NumPy integer is an integer, a NumPy float a
number). The wording is not matched: tests/test_checks.py pins the format once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from refusals import assert_refused
from torch import Tensor, nn

from d2lutil import gates, tasks, training
from d2lutil.data import TimeMachine, Vocab, WindowLoader
from d2lutil.models import build_lm
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


NAN_GATE = torch.full((3, 2), math.nan)

BAD: list[Case] = [
    # evaluate_perplexity(model, tokens, batch_size, num_steps)
    ("evaluate model='m'", lambda: training.evaluate_perplexity("m", TOKENS), TypeError, "model"),
    ("evaluate model=ReLU", lambda: training.evaluate_perplexity(nn.ReLU(), TOKENS), ValueError, "model"),
    ("evaluate tokens=list", lambda: training.evaluate_perplexity(LM, [1, 2] * 20), TypeError, "tokens"),
    ("evaluate tokens 2-D", lambda: training.evaluate_perplexity(LM, TOKENS.view(2, -1)), ValueError, "tokens"),
    ("evaluate tokens float", lambda: training.evaluate_perplexity(LM, TOKENS.float()), TypeError, "tokens"),
    ("evaluate tokens short", lambda: training.evaluate_perplexity(LM, TOKENS[:10]), ValueError, "tokens"),
    ("evaluate batch_size=0", lambda: training.evaluate_perplexity(LM, TOKENS, 0), ValueError, "batch_size"),
    ("evaluate batch_size=-2", lambda: training.evaluate_perplexity(LM, TOKENS, -2), ValueError, "batch_size"),
    ("evaluate batch_size=2.5", lambda: training.evaluate_perplexity(LM, TOKENS, 2.5), TypeError, "batch_size"),
    ("evaluate batch_size='8'", lambda: training.evaluate_perplexity(LM, TOKENS, "8"), TypeError, "batch_size"),
    ("evaluate batch_size=True", lambda: training.evaluate_perplexity(LM, TOKENS, True), TypeError, "batch_size"),
    ("evaluate batch_size huge", lambda: training.evaluate_perplexity(LM, TOKENS, 400), ValueError, "tokens"),
    ("evaluate num_steps=0", lambda: training.evaluate_perplexity(LM, TOKENS, 8, 0), ValueError, "num_steps"),
    ("evaluate num_steps=None", lambda: training.evaluate_perplexity(LM, TOKENS, 8, None), TypeError, "num_steps"),
    # train(...) - issue 14 example 4 (clip=-1 ascended, clip=0 froze, lr=nan trained to NaN)
    ("train clip=-1.0", lambda: _train(clip=-1.0), ValueError, "clip"),
    ("train clip=0", lambda: _train(clip=0), ValueError, "clip"),
    ("train clip=nan", lambda: _train(clip=math.nan), ValueError, "clip"),
    ("train clip=inf", lambda: _train(clip=math.inf), ValueError, "clip"),
    ("train clip=True", lambda: _train(clip=True), TypeError, "clip"),
    ("train clip='1'", lambda: _train(clip="1"), TypeError, "clip"),
    ("train lr=nan", lambda: _train(lr=math.nan), ValueError, "lr"),
    ("train lr=-0.1", lambda: _train(lr=-0.1), ValueError, "lr"),
    ("train lr=0", lambda: _train(lr=0), ValueError, "lr"),
    ("train lr='1e-2'", lambda: _train(lr="1e-2"), TypeError, "lr"),
    ("train num_epochs=0", lambda: _train(num_epochs=0), ValueError, "num_epochs"),
    ("train num_epochs=1.5", lambda: _train(num_epochs=1.5), TypeError, "num_epochs"),
    ("train num_epochs='2'", lambda: _train(num_epochs="2"), TypeError, "num_epochs"),
    ("train num_epochs=True", lambda: _train(num_epochs=True), TypeError, "num_epochs"),
    ("train optimizer", lambda: _train(optimizer="adamax"), ValueError, "optimizer"),
    ("train optimizer=1", lambda: _train(optimizer=1), TypeError, "optimizer"),
    ("train weight_decay=-1", lambda: _train(weight_decay=-1), ValueError, "weight_decay"),
    ("train max_seconds=-1", lambda: _train(max_seconds=-1), ValueError, "max_seconds"),
    ("train max_seconds='9'", lambda: _train(max_seconds="9"), TypeError, "max_seconds"),
    ("train max_seconds=nan", lambda: _train(max_seconds=math.nan), ValueError, "max_seconds"),
    ("train restore_best='False'", lambda: _train(restore_best="False"), TypeError, "restore_best"),
    ("train restore_best=1", lambda: _train(restore_best=1), TypeError, "restore_best"),
    ("train progress=None", lambda: _train(progress=None), TypeError, "progress"),
    ("train title=3", lambda: _train(title=3), TypeError, "title"),
    ("train callbacks=[obj]", lambda: _train(callbacks=[object()]), TypeError, "callbacks[0]"),
    ("train callbacks=3", lambda: _train(callbacks=3), TypeError, "callbacks"),
    ("train device=3", lambda: _train(device=3), TypeError, "device"),
    ("train device='gpu0'", lambda: _train(device="gpu0"), ValueError, "device"),
    ("train model=None", lambda: training.train(None, TOKENS, TOKENS, _recipe()), TypeError, "model"),
    ("train train_tokens=list", lambda: _train(train_tokens=[1] * 40), TypeError, "train_tokens"),
    ("train seed=1.5", lambda: _train(seed=1.5), TypeError, "seed"),
    ("train train_chars=0", lambda: _train(train_chars=0), ValueError, "train_chars"),
    ("train no end", lambda: _train(num_epochs=None), ValueError, "num_epochs"),
    (
        "train cosine by time",
        lambda: _train(num_epochs=None, max_seconds=1.0, schedule="cosine"),
        ValueError,
        "schedule",
    ),
    ("train val_tokens=list", lambda: _train(val_tokens=[1] * 40), TypeError, "val_tokens"),
    ("train val_tokens short", lambda: _train(val_tokens=TOKENS[:5]), ValueError, "val_tokens"),
    ("train schedule='linear'", lambda: _train(schedule="linear"), ValueError, "schedule"),
    ("train schedule=None", lambda: _train(schedule=None), TypeError, "schedule"),
    ("train ema_decay=1.0", lambda: _train(ema_decay=1.0), ValueError, "ema_decay"),
    ("train ema_decay=0", lambda: _train(ema_decay=0), ValueError, "ema_decay"),
    ("train ema_decay=-1", lambda: _train(ema_decay=-1), ValueError, "ema_decay"),
    ("train ema_decay=nan", lambda: _train(ema_decay=math.nan), ValueError, "ema_decay"),
    ("train ema_decay='x'", lambda: _train(ema_decay="x"), TypeError, "ema_decay"),
    ("train ema_decay=True", lambda: _train(ema_decay=True), TypeError, "ema_decay"),
    # Recipe(...)
    ("Recipe batch_size=0", lambda: _recipe(batch_size=0), ValueError, "batch_size"),
    ("Recipe batch_size='4'", lambda: _recipe(batch_size="4"), TypeError, "batch_size"),
    ("Recipe batch_size=4.0", lambda: _recipe(batch_size=4.0), TypeError, "batch_size"),
    ("Recipe num_steps=0", lambda: _recipe(num_steps=0), ValueError, "num_steps"),
    ("Recipe lr=0", lambda: _recipe(lr=0), ValueError, "lr"),
    ("Recipe lr=nan", lambda: _recipe(lr=math.nan), ValueError, "lr"),
    ("Recipe optimizer", lambda: _recipe(optimizer="SGD"), ValueError, "optimizer"),
    ("Recipe optimizer=None", lambda: _recipe(optimizer=None), TypeError, "optimizer"),
    ("Recipe clip=0", lambda: _recipe(clip=0), ValueError, "clip"),
    ("Recipe clip=-1", lambda: _recipe(clip=-1), ValueError, "clip"),
    ("Recipe weight_decay=-1", lambda: _recipe(weight_decay=-1), ValueError, "weight_decay"),
    ("Recipe num_epochs=1.5", lambda: _recipe(num_epochs=1.5), TypeError, "num_epochs"),
    ("Recipe max_seconds=-1", lambda: _recipe(max_seconds=-1), ValueError, "max_seconds"),
    ("Recipe schedule='linear'", lambda: _recipe(schedule="linear"), ValueError, "schedule"),
    ("Recipe schedule='Cosine'", lambda: _recipe(schedule="Cosine"), ValueError, "schedule"),
    ("Recipe schedule=0", lambda: _recipe(schedule=0), TypeError, "schedule"),
    ("Recipe ema_decay=1.0", lambda: _recipe(ema_decay=1.0), ValueError, "ema_decay"),
    ("Recipe ema_decay=0", lambda: _recipe(ema_decay=0), ValueError, "ema_decay"),
    ("Recipe ema_decay=-1", lambda: _recipe(ema_decay=-1), ValueError, "ema_decay"),
    ("Recipe ema_decay='x'", lambda: _recipe(ema_decay="x"), TypeError, "ema_decay"),
    ("Recipe ema_decay=inf", lambda: _recipe(ema_decay=math.inf), ValueError, "ema_decay"),
    ("Recipe sequential='yes'", lambda: _recipe(sequential="yes"), TypeError, "sequential"),
    ("Recipe sequential=1", lambda: _recipe(sequential=1), TypeError, "sequential"),
    ("Recipe sequential=None", lambda: _recipe(sequential=None), TypeError, "sequential"),
    # train(model, train_tokens, val_tokens, recipe): the whole book is refused, so is anything but a Recipe
    ("train (book, val)", lambda: _train_positional(BOOK, BOOK.val_tokens, _recipe()), TypeError, "train_tokens"),
    ("train (train, book)", lambda: _train_positional(TRAIN, BOOK, _recipe()), TypeError, "val_tokens"),
    ("train train='x'", lambda: _train_positional("x", VAL, _recipe()), TypeError, "train_tokens"),
    ("train val=list", lambda: _train_positional(TRAIN, [1] * 40, _recipe()), TypeError, "val_tokens"),
    ("train recipe=dict", lambda: _train_positional(TRAIN, VAL, {}), TypeError, "recipe"),
    # trace_gates(rnn, X, layer, H)
    ("trace_gates X=list", lambda: gates.trace_gates(GRU, [[0.0]]), TypeError, "X"),
    ("trace_gates X 2-D", lambda: gates.trace_gates(GRU, X[0]), ValueError, "X"),
    ("trace_gates X no steps", lambda: gates.trace_gates(GRU, X[:0]), ValueError, "X"),
    ("trace_gates X no batch", lambda: gates.trace_gates(GRU, X[:, :0]), ValueError, "X"),
    ("trace_gates X float64", lambda: gates.trace_gates(GRU, X.double()), ValueError, "X"),
    ("trace_gates H shape", lambda: gates.trace_gates(GRU, X, H=torch.zeros(1, 2, 4)), ValueError, "H"),
    ("trace_gates H=list", lambda: gates.trace_gates(GRU, X, H=[0.0]), TypeError, "H"),
    ("trace_gates layer='1'", lambda: gates.trace_gates(GRU, X, layer="1"), TypeError, "layer"),
    ("trace_gates layer=1.0", lambda: gates.trace_gates(GRU, X, layer=1.0), TypeError, "layer"),
    ("trace_gates layer=-1", lambda: gates.trace_gates(GRU, X, layer=-1), ValueError, "layer"),
    ("trace_gates layer=2", lambda: gates.trace_gates(GRU, X, layer=2), ValueError, "layer"),
    ("trace_gates rnn='gru'", lambda: gates.trace_gates("gru", X), TypeError, "rnn"),
    ("trace_gates rnn=RNN", lambda: gates.trace_gates(nn.RNN(3, 4), X), TypeError, "rnn"),
    ("trace_gates RNNLM tokens", lambda: gates.trace_gates(LM, torch.tensor([[11]])), ValueError, "tokens"),
    ("trace_gates RNNLM floats", lambda: gates.trace_gates(LM, X), ValueError, "tokens"),
    # saturation(gate, low, high)
    ("saturation gate=list", lambda: gates.saturation([0.5]), TypeError, "gate"),
    ("saturation gate 1-D", lambda: gates.saturation(torch.rand(5)), ValueError, "gate"),
    ("saturation gate empty", lambda: gates.saturation(torch.rand(0, 4)), ValueError, "gate"),
    ("saturation gate ints", lambda: gates.saturation(torch.ones(3, 2, dtype=torch.long)), TypeError, "gate"),
    ("saturation gate=n", lambda: gates.saturation(torch.full((3, 2), -0.5)), ValueError, "gate"),
    ("saturation gate NaN", lambda: gates.saturation(NAN_GATE), ValueError, "gate"),
    ("saturation low='0.1'", lambda: gates.saturation(torch.rand(3, 2), low="0.1"), TypeError, "low"),
    ("saturation low > high", lambda: gates.saturation(torch.rand(3, 2), 0.9, 0.1), ValueError, "low"),
    ("saturation high=2", lambda: gates.saturation(torch.rand(3, 2), high=2), ValueError, "high"),
    # first_token_recall(batch_size, length, num_classes, num_symbols, generator)
    ("recall batch_size='4'", lambda: tasks.first_token_recall("4", 5), TypeError, "batch_size"),
    ("recall length=1", lambda: tasks.first_token_recall(4, 1), ValueError, "length"),
    ("recall num_classes=1", lambda: tasks.first_token_recall(4, 5, 1), ValueError, "num_classes"),
    ("recall num_classes='2'", lambda: tasks.first_token_recall(4, 5, "2"), TypeError, "num_classes"),
    ("recall num_symbols=8.0", lambda: tasks.first_token_recall(4, 5, 2, 8.0), TypeError, "num_symbols"),
    ("recall generator=1", lambda: tasks.first_token_recall(4, 5, generator=1), TypeError, "generator"),
    # SequenceModel(rnn, out_size, vocab_size, embed_size)
    ("SequenceModel batch_first", lambda: tasks.SequenceModel(nn.GRU(2, 4, batch_first=True), 2), ValueError, "rnn"),
    ("SequenceModel out_size=0", lambda: tasks.SequenceModel(nn.GRU(2, 4), 0), ValueError, "out_size"),
    ("SequenceModel vocab_size=-1", lambda: tasks.SequenceModel(nn.GRU(2, 4), 2, -1), ValueError, "vocab_size"),
    ("SequenceModel embed_size=0", lambda: tasks.SequenceModel(nn.GRU(2, 4), 2, 4, 0), ValueError, "embed_size"),
    ("SequenceModel rnn=Linear", lambda: tasks.SequenceModel(nn.Linear(2, 4), 2), TypeError, "rnn"),
    # train_on_task(model, make_batch, num_steps, batch_size, lr, optimizer, clip, test_size, log_every, seed)
    ("task model='m'", lambda: _task(model="m"), TypeError, "model"),
    ("task make_batch=[1]", lambda: _task(make_batch=[1]), TypeError, "make_batch"),
    ("task num_steps=0", lambda: _task(num_steps=0), ValueError, "num_steps"),
    ("task batch_size='1'", lambda: _task(batch_size="1"), TypeError, "batch_size"),
    ("task lr=0", lambda: _task(lr=0), ValueError, "lr"),
    ("task clip=-1", lambda: _task(clip=-1), ValueError, "clip"),
    ("task optimizer='x'", lambda: _task(optimizer="x"), ValueError, "optimizer"),
    ("task test_size=0", lambda: _task(test_size=0), ValueError, "test_size"),
    ("task log_every=0", lambda: _task(log_every=0), ValueError, "log_every"),
    ("task seed=-1", lambda: _task(seed=-1), ValueError, "seed"),
    ("task batch=list", lambda: _task(make_batch=lambda b, g: [1, 2]), TypeError, "make_batch"),
    (
        "task batch shapes",
        lambda: _task(make_batch=lambda b, g: (torch.zeros(b, 3, dtype=torch.long), torch.zeros(b + 1))),
        ValueError,
        "make_batch",
    ),
]


# gates.trace_gates' message for a model that is not a GRU does not name its argument rnn yet
UNNAMED = {"trace_gates rnn='gru'", "trace_gates rnn=RNN"}


@pytest.mark.parametrize(
    "call,error,argument",
    [
        pytest.param(
            *c[1:], id=c[0], marks=[pytest.mark.xfail(strict=True, reason="rnn not named")] * (c[0] in UNNAMED)
        )
        for c in BAD
    ],
)
def test_bad_input_is_refused_clearly(call: Callable[[], Any], error: type[Exception], argument: str) -> None:
    assert_refused(call, error, argument)


GOOD: list[tuple[str, Callable[[], Any]]] = [
    ("train num_epochs=np.int64, lr=np.float32", lambda: _train(num_epochs=np.int64(1), lr=np.float32(0.5))),
    ("train clip=None, max_seconds=0", lambda: _train(clip=None, max_seconds=0)),
    ("train restore_best=np.bool_", lambda: _train(restore_best=np.bool_(True))),
    ("Recipe np.int64 sizes", lambda: _recipe(batch_size=np.int64(4), num_steps=np.int32(8), lr=np.float64(0.1))),
    ("Recipe ema np.float32, np.bool_", lambda: _recipe(ema_decay=np.float32(0.9), sequential=np.bool_(True))),
    ("train ema_decay=np.float64", lambda: _train(ema_decay=np.float64(0.5), schedule="cosine")),
    ("evaluate batch_size=np.int64", lambda: training.evaluate_perplexity(LM, TOKENS, np.int64(4))),
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

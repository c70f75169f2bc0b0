"""Training, perplexity and generation on a tiny model and a short stretch of the book."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import d2lutil
from d2lutil import training
from d2lutil.data import WindowLoader
from d2lutil.generation import predict
from d2lutil.models import build_lm
from d2lutil.plot import plot_history
from d2lutil.settings import set_seed, try_gpu
from d2lutil.training import (
    Callback,
    History,
    Recipe,
    evaluate_perplexity,
    make_optimizer,
    optimize,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def small(time_machine):
    """The first 6,000 training characters and 1,500 of validation."""
    return time_machine.vocab, time_machine.train_tokens[:6000], time_machine.val_tokens[:1500]


def _model(vocab_size: int, kind: str = "gru", hidden: int = 32, seed: int = 0) -> nn.Module:
    set_seed(seed)
    return build_lm(kind, vocab_size, hidden)


def _quiet(**kwargs):
    return dict(progress=False, **kwargs)


def _recipe(batch_size: int = 8, num_steps: int = 16, lr: float = 1e-2, optimizer: str = "adam", **kwargs) -> Recipe:
    return Recipe(batch_size=batch_size, num_steps=num_steps, lr=lr, optimizer=optimizer, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kind,optimizer,lr,sequential", [("gru", "adam", 1e-2, False), ("gru_scratch", "sgd", 2.0, True)]
)
def test_perplexity_falls(small, kind, optimizer, lr, sequential):
    vocab, tokens, val = small
    model = _model(len(vocab), kind)
    loader = WindowLoader(tokens, 16, 32, sequential=sequential)
    start = evaluate_perplexity(model, val)
    h = train(model, tokens, val, _recipe(16, 32, lr, optimizer, num_epochs=4, sequential=sequential), **_quiet())
    assert h.epochs == [1.0, 2.0, 3.0, 4.0]
    assert len(h.train_ppl) == len(h.val_ppl) == len(h.tokens_per_s) == 4
    assert h.val_ppl[-1] < 0.75 * start and h.val_ppl[-1] < h.val_ppl[0]
    assert h.train_ppl[-1] < h.train_ppl[0]
    assert h.val_ppl[-1] < 20  # well below the 28 of a uniform guess
    assert h.tokens == 4 * len(loader) * 16 * 32
    assert h.train_seconds > 0 and all(t > 0 for t in h.tokens_per_s)
    assert h.best_val_ppl == min(h.val_ppl)
    assert math.isclose(evaluate_perplexity(model, val), h.val_ppl[-1], rel_tol=1e-6)
    assert "validation perplexity" in h.summary() and "tokens/s" in h.summary()


def test_training_is_seeded(small):
    vocab, tokens, val = small
    runs = []
    for _ in range(2):
        model = _model(len(vocab), hidden=16)
        runs.append(train(model, tokens[:2000], val, _recipe(num_epochs=2, seed=5), **_quiet()).val_ppl)
    assert runs[0] == runs[1]


def test_max_seconds_stops_early(small):
    vocab, tokens, val = small
    model = _model(len(vocab), hidden=8)
    loader = WindowLoader(tokens, 8, 16)
    for budget in ({"num_epochs": 50}, {"num_epochs": None}):  # an epoch count and a time budget, or time alone
        h = train(model, tokens, val, _recipe(max_seconds=1e-9, **budget), **_quiet())
        assert len(h.epochs) == 1 and h.epochs[0] == pytest.approx(1 / len(loader))
        assert h.tokens == 8 * 16 and len(h.val_ppl) == 1


def test_restore_best_reloads_the_best_epoch(small, monkeypatch):
    """The validation figures are scripted so that epoch 2 of 3 is the best; its weights must come back."""
    vocab, tokens, val = small
    scripted = iter([9.0, 5.0, 7.0, 9.0, 5.0, 7.0])
    snapshots: list[dict[str, torch.Tensor]] = []

    def fake_perplexity(model, tokens, *args, **kwargs):
        snapshots.append(copy.deepcopy(model.state_dict()))
        return next(scripted)

    monkeypatch.setattr(training, "evaluate_perplexity", fake_perplexity)
    for restore in (True, False):
        model = _model(len(vocab), hidden=8)
        h = train(model, tokens[:1000], val, _recipe(num_epochs=3, restore_best=restore), **_quiet())
        assert h.val_ppl == [9.0, 5.0, 7.0] and h.best_val_ppl == 5.0
        want = snapshots[-2] if restore else snapshots[-1]
        other = snapshots[-1] if restore else snapshots[-2]
        got = model.state_dict()
        assert all(torch.equal(got[k], want[k]) for k in want)
        assert not all(torch.equal(got[k], other[k]) for k in other)  # the epochs did differ


def test_gradient_clipping_bounds_the_step(small):
    """With SGD, clip c and learning rate lr, no parameter moves more than lr * c in norm overall."""
    vocab, tokens, val = small
    model = _model(len(vocab), hidden=16)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    train(model, tokens, val, _recipe(lr=1.0, optimizer="sgd", clip=0.01, max_seconds=1e-9), **_quiet())
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < float((after - before).norm()) <= 0.01 + 1e-6


class _Uniform(nn.Module):
    """A language model that predicts every token with the same probability."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, tokens, state=None):
        return torch.zeros(*tokens.shape, self.vocab_size) + 0 * self.dummy, state


def test_uniform_model_has_perplexity_vocab_size(small):
    vocab, _, val = small
    assert evaluate_perplexity(_Uniform(len(vocab)), val) == pytest.approx(len(vocab), rel=1e-5)  # float32 logits
    model = _model(len(vocab), hidden=8)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert evaluate_perplexity(model, val) == pytest.approx(28.0, rel=1e-5)


def test_perplexity_carries_the_state(small):
    """Reading in chunks with the state carried equals reading each stream in one pass, by hand."""
    vocab, _, val = small
    model = _model(len(vocab), hidden=16).eval()
    tokens = val[:401]
    chunked = evaluate_perplexity(model, tokens, batch_size=4, num_steps=7)
    xs, ys = tokens[:400].reshape(4, 100), tokens[1:401].reshape(4, 100)
    with torch.no_grad():
        logits, _ = model(xs)
    by_hand = math.exp(float(F.cross_entropy(logits.reshape(-1, len(vocab)), ys.reshape(-1))))
    assert chunked == pytest.approx(by_hand, rel=1e-5)
    assert model.training is False
    model.train()
    evaluate_perplexity(model, tokens)
    assert model.training  # the mode is restored


def test_evaluate_perplexity_bad_input():
    with pytest.raises(ValueError, match="1-D tensor of at least 16"):
        evaluate_perplexity(_Uniform(5), torch.zeros(10, dtype=torch.long))


def test_predict_greedy_is_deterministic_and_argmax(small):
    vocab, tokens, val = small
    model = _model(len(vocab), hidden=16)
    out = predict("time traveller", 20, model, vocab)
    assert out == predict("time traveller", 20, model, vocab)
    assert out.startswith("time traveller") and len(out) == len("time traveller") + 20
    assert set(out) <= set(vocab.idx_to_token[1:])
    with torch.no_grad():
        logits, _ = model(torch.tensor([vocab[list("time traveller")]]))
    assert out[len("time traveller")] == vocab.to_tokens(int(logits[0, -1].argmax()))
    assert predict("time", 0, model, vocab) == "time"


def test_predict_sampled_is_reproducible_with_a_seed(small):
    vocab, *_ = small
    model = _model(len(vocab), hidden=16)
    a = predict("the ", 60, model, vocab, temperature=1.5, seed=3)
    assert a == predict("the ", 60, model, vocab, temperature=1.5, seed=3)
    assert a != predict("the ", 60, model, vocab, temperature=1.5, seed=4)
    assert a != predict("the ", 60, model, vocab)  # sampling is not greedy decoding


@pytest.mark.parametrize(
    "prefix,kwargs,message",
    [
        ("", {}, "the prefix is empty"),
        ("Time!", {}, r"does not know: \['T', '!'\].*preprocess"),
        ("time", {"num_preds": -1}, "num_preds must be an integer between 0 and 1000000, got -1"),
        ("time", {"temperature": -0.5}, "temperature must be 0 .* or positive, got -0.5"),
    ],
)
def test_predict_bad_input(small, prefix, kwargs, message):
    vocab, *_ = small
    model = _model(len(vocab), hidden=8)
    args = {"num_preds": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        predict(prefix, args.pop("num_preds"), model, vocab, **args)


def test_a_recipe_refuses_impossible_settings_when_it_is_written():
    with pytest.raises(ValueError, match="optimizer"):
        _recipe(optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr"):
        _recipe(lr=0.0)
    with pytest.raises(ValueError, match="num_epochs"):
        _recipe(num_epochs=0)
    with pytest.raises(ValueError, match="num_epochs.*max_seconds"):
        _recipe(num_epochs=None)  # no end at all
    with pytest.raises(ValueError, match="cosine.*num_epochs"):
        _recipe(num_epochs=None, max_seconds=10.0, schedule="cosine")  # a schedule needs its length
    with pytest.raises(ValueError, match="train_chars"):
        _recipe(num_steps=16, train_chars=16)  # not one window plus its target


def test_train_takes_a_recipe_and_nothing_else(small, time_machine):
    vocab, tokens, val = small
    model = _model(len(vocab), hidden=8)
    with pytest.raises(TypeError, match="recipe must be a d2lutil.Recipe"):
        train(model, tokens, val, {"batch_size": 8, "num_steps": 16, "lr": 0.01})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="train_tokens.*TimeMachine"):
        train(model, time_machine, val, _recipe())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]
)
def test_make_optimizer(name, cls):
    opt = make_optimizer(nn.Linear(2, 2), name, 0.1, weight_decay=0.01)
    assert type(opt) is cls and opt.defaults["lr"] == 0.1 and opt.defaults["weight_decay"] == 0.01


def test_set_seed_and_try_gpu():
    set_seed(7)
    a = torch.rand(3)
    set_seed(7)
    assert torch.equal(a, torch.rand(3))
    device = try_gpu()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert try_gpu(10_000) == torch.device("cpu")


def test_plot_history_is_labelled():
    h = History(epochs=[1.0, 2.0], train_ppl=[9.0, 6.0], val_ppl=[10.0, 7.5], tokens_per_s=[1.0, 1.0])
    fig = plot_history(h, "GRU")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "perplexity"
    assert "validation perplexity 7.50" in ax.get_title() and ax.get_legend() is not None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]


class _Recorder(Callback):
    """Keeps what the loop reports: the epochs seen at every epoch's end, and the final history."""

    def __init__(self):
        self.epochs_seen: list[list[float]] = []
        self.final: History | None = None

    def on_epoch_end(self, history: History) -> None:
        self.epochs_seen.append(list(history.epochs))

    def on_train_end(self, history: History) -> None:
        self.final = history


def test_callbacks_hear_every_epoch_and_the_end(small):
    vocab, tokens, val = small
    recorder = _Recorder()
    model = _model(len(vocab), hidden=8)
    h = train(model, tokens[:2000], val, _recipe(num_epochs=3), callbacks=[recorder], **_quiet())
    assert recorder.epochs_seen == [[1.0], [1.0, 2.0], [1.0, 2.0, 3.0]]
    assert recorder.final is h


def test_the_package_train_is_the_loop_and_the_live_plot_a_callback():
    """``d2lutil.train`` is the one training loop (its signature shows in help()); LivePlot is a Callback."""
    assert d2lutil.train is training.train and d2lutil.Recipe is Recipe
    assert issubclass(d2lutil.LivePlot, Callback)


def test_optimize_takes_one_step_per_batch():
    model = nn.Linear(3, 1)
    batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(5)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = list(optimize(model, batches, lambda X, Y: (F.mse_loss(model(X), Y), len(Y)), opt, clip=None))
    assert len(steps) == 5 and all(s.targets == 4 and s.seconds > 0 and s.loss >= 0 for s in steps)
    assert steps[-1].loss < steps[0].loss or steps[0].loss < 1e-6


def test_train_follows_every_field_of_the_recipe(small):
    vocab, tokens, val = small
    model = _model(len(vocab), hidden=8)
    h = train(model, tokens, val, _recipe(num_epochs=2, train_chars=2000), **_quiet())
    assert h.epochs == [1.0, 2.0]
    assert h.tokens == 2 * len(WindowLoader(tokens[:2000], 8, 16)) * 8 * 16  # only train_chars characters
    assert h.val_ppl[-1] == evaluate_perplexity(model, val)  # measured on the validation tokens given
    stopped = train(_model(len(vocab), hidden=8), tokens, val, _recipe(num_epochs=9, max_seconds=0), **_quiet())
    assert stopped.tokens == 8 * 16 and len(stopped.epochs) == 1
    seeded = [train(_model(len(vocab), hidden=8), tokens[:2000], val, _recipe(seed=s), **_quiet()) for s in (1, 1, 2)]
    assert seeded[0].val_ppl == seeded[1].val_ppl != seeded[2].val_ppl  # the seed orders the windows


# ---------------------------------------------------------------- the recipe's levers (issue 17)


class _LearningRates(Callback):
    """The optimizer's learning rate at the end of every epoch (the optimizer is caught as train makes it)."""

    def __init__(self, monkeypatch):
        self.opts: list[torch.optim.Optimizer] = []
        self.lrs: list[float] = []
        real = training.make_optimizer

        def catching(*args, **kwargs):
            self.opts.append(real(*args, **kwargs))
            return self.opts[-1]

        monkeypatch.setattr(training, "make_optimizer", catching)

    def on_epoch_end(self, history: History) -> None:
        self.lrs.append(self.opts[-1].param_groups[0]["lr"])


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_cosine_schedule_falls_to_zero_along_a_half_cosine(small, monkeypatch, schedule):
    vocab, tokens, val = small
    seen = _LearningRates(monkeypatch)
    model = _model(len(vocab), hidden=8)
    train(model, tokens[:2000], val, _recipe(num_epochs=4, schedule=schedule), callbacks=[seen], **_quiet())
    if schedule == "constant":
        assert seen.lrs == [1e-2] * 4
    else:  # after epoch e of 4 the rate is lr * (1 + cos(pi * e / 4)) / 2: 0.854, 0.5, 0.146 and 0 times lr
        want = [1e-2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in (1, 2, 3, 4)]
        assert seen.lrs == pytest.approx(want, abs=1e-9)
        assert seen.lrs[-1] < 1e-9  # the run ends near a rate of 0


def _step_weights(monkeypatch) -> list[dict[str, torch.Tensor]]:
    """Record the model's weights after every optimisation step of the next run."""
    snapshots: list[dict[str, torch.Tensor]] = []
    real = training.optimize

    def recording(model, *args, **kwargs):
        for step in real(model, *args, **kwargs):
            snapshots.append(copy.deepcopy(model.state_dict()))
            yield step

    monkeypatch.setattr(training, "optimize", recording)
    return snapshots


def _ema(snapshots: list[dict[str, torch.Tensor]], decay: float) -> dict[str, torch.Tensor]:
    """The exponential moving average by hand: the first step's weights, then decay * avg + (1 - decay) * w."""
    avg = {k: v.clone() for k, v in snapshots[0].items()}
    for w in snapshots[1:]:
        avg = {k: decay * avg[k] + (1 - decay) * w[k] for k in avg}
    return avg


def test_ema_scores_validation_on_the_average_and_the_model_ends_holding_it(small, monkeypatch):
    vocab, tokens, val = small
    steps = _step_weights(monkeypatch)
    judged: list[dict[str, torch.Tensor]] = []
    real_evaluate = training.evaluate_perplexity

    def recording_evaluate(model, tokens, *args, **kwargs):
        judged.append(copy.deepcopy(model.state_dict()))
        return real_evaluate(model, tokens, *args, **kwargs)

    monkeypatch.setattr(training, "evaluate_perplexity", recording_evaluate)
    model = _model(len(vocab), hidden=8)
    loader = WindowLoader(tokens[:1000], 8, 16)
    h = train(model, tokens[:1000], val, _recipe(num_epochs=2, ema_decay=0.8), **_quiet())
    per_epoch = len(loader)
    assert len(steps) == 2 * per_epoch and len(judged) == 2
    for epoch in (1, 2):  # validation judged the average of the steps so far, not the last step's weights
        want = _ema(steps[: epoch * per_epoch], 0.8)
        assert all(torch.allclose(judged[epoch - 1][k], want[k], atol=1e-6) for k in want)
        assert not all(torch.allclose(judged[epoch - 1][k], steps[epoch * per_epoch - 1][k]) for k in want)
    final = model.state_dict()
    assert all(torch.allclose(final[k], _ema(steps, 0.8)[k], atol=1e-6) for k in final)  # the model holds it
    assert h.val_ppl[-1] == pytest.approx(real_evaluate(model, val), rel=1e-6)


def test_ema_with_restore_best_keeps_the_best_epochs_average(small, monkeypatch):
    vocab, tokens, val = small
    steps = _step_weights(monkeypatch)
    scripted = iter([9.0, 5.0, 7.0])
    monkeypatch.setattr(training, "evaluate_perplexity", lambda *args, **kwargs: next(scripted))
    model = _model(len(vocab), hidden=8)
    loader = WindowLoader(tokens[:1000], 8, 16)
    train(model, tokens[:1000], val, _recipe(num_epochs=3, ema_decay=0.5, restore_best=True), **_quiet())
    want = _ema(steps[: 2 * len(loader)], 0.5)  # the average at the end of epoch 2, the best one
    assert all(torch.allclose(model.state_dict()[k], want[k], atol=1e-6) for k in want)


class _StateSeen(nn.Module):
    """Wraps a language model and records whether each training call was given a state."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm, self.given = lm, []

    def forward(self, tokens, state=None):
        if self.training:
            self.given.append(state is not None)
        return self.lm(tokens, state)


@pytest.mark.parametrize("sequential", [False, True])
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_a_sequential_recipe_carries_the_state_across_windows(small, sequential, kind):
    vocab, tokens, val = small
    model = _StateSeen(_model(len(vocab), kind, hidden=8))
    h = train(model, tokens[:2000], val, _recipe(num_epochs=2, sequential=sequential), **_quiet())
    per_epoch = len(WindowLoader(tokens[:2000], 8, 16))
    assert len(model.given) == 2 * per_epoch and h.epochs == [1.0, 2.0]
    if sequential:  # each epoch starts from a zero state, then every window continues the previous one
        assert model.given == ([False] + [True] * (per_epoch - 1)) * 2
    else:
        assert not any(model.given)


def test_lstm_language_model_learns(small):
    vocab, tokens, val = small
    model = _model(len(vocab), "lstm", hidden=32)
    assert isinstance(model.rnn, nn.LSTM)
    start = evaluate_perplexity(model, val)
    h = train(model, tokens, val, _recipe(16, 32, num_epochs=3), **_quiet())
    assert h.val_ppl[-1] < 0.75 * start and h.val_ppl[-1] < h.val_ppl[0] and h.val_ppl[-1] < 20

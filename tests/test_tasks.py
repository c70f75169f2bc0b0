"""The synthetic long-range tasks: what the generators promise, and a tiny training run."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from d2lutil.tasks import SequenceModel, first_token_recall, train_on_task

pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("num_classes,num_symbols", [(2, 2), (4, 8), (5, 20)])
def test_first_token_recall(num_classes, num_symbols):
    X, y = first_token_recall(500, 30, num_classes, num_symbols, generator=_gen())
    assert X.shape == (500, 30) and y.shape == (500,)
    assert X.dtype == y.dtype == torch.long
    assert torch.equal(y, X[:, 0])
    assert int(y.min()) == 0 and int(y.max()) == num_classes - 1  # every class occurs in 500 draws
    assert int(X.min()) >= 0 and int(X.max()) == num_symbols - 1
    y[0] = -1
    assert X[0, 0] != -1  # the label is a copy, not a view into X


def test_first_token_recall_is_seeded_and_noisy():
    X1, _ = first_token_recall(64, 20, generator=_gen(1))
    X2, _ = first_token_recall(64, 20, generator=_gen(1))
    X3, _ = first_token_recall(64, 20, generator=_gen(2))
    assert torch.equal(X1, X2) and not torch.equal(X1, X3)
    counts = torch.bincount(X1[:, 1:].flatten(), minlength=8).float()
    assert counts.min() > 0.5 * counts.mean()  # the noise is spread over all 8 symbols


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: first_token_recall(0, 10), "batch_size must be an integer at least 1"),
        (lambda: first_token_recall(-3, 10), "batch_size must be an integer at least 1, got -3"),
        (lambda: first_token_recall(4, 1), "length must be an integer at least 2"),
        (lambda: first_token_recall(4, 10, num_classes=9, num_symbols=8), "2 <= num_classes <= num_symbols"),
        (lambda: first_token_recall(2.0, 10), "batch_size must be an integer, got 2.0"),
    ],
)
def test_task_bad_input(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_train_on_task_classification_learns():
    torch.manual_seed(0)
    model = SequenceModel(nn.GRU(8, 16), out_size=4, vocab_size=8, embed_size=8)
    result = train_on_task(
        model,
        lambda b, g: first_token_recall(b, 6, generator=g),
        num_steps=120,
        batch_size=64,
        lr=1e-2,
        log_every=50,
        test_size=512,
    )
    assert result.steps == [50, 100, 120]
    assert len(result.losses) == 3 and all(math.isfinite(v) for v in result.losses)
    assert result.losses[-1] < result.losses[0] < math.log(4) + 0.2
    assert 0.0 <= result.test_score <= 1.0 and result.test_score > 0.6  # chance is 0.25
    assert result.seconds > 0 and not model.training


def test_sequence_model_shapes():
    model = SequenceModel(nn.GRU(5, 7, num_layers=2), out_size=3, vocab_size=10)
    assert model(torch.zeros(4, 9, dtype=torch.long)).shape == (4, 3)
    assert SequenceModel(nn.RNN(2, 7), out_size=1)(torch.zeros(4, 9, 2)).shape == (4, 1)


def test_train_on_task_rejects_a_non_function():
    with pytest.raises(TypeError, match="make_batch must be a function"):
        train_on_task(SequenceModel(nn.GRU(2, 4), 1), make_batch=[1, 2], num_steps=1)

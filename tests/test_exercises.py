"""The exercises' self-checks are real: each fails on a wrong answer, passes on the solution, and
reports "not attempted yet" (without raising) on the untouched scaffold. Cheap inputs only."""

from __future__ import annotations

import pytest
import torch
from worked_answers import BREAK, flip, gates_solution, label_of, make_break_batch, reset_only_step, sweep

from d2lutil import exercises as ex
from d2lutil.data import TimeMachine, Vocab
from d2lutil.gates import trace_gates
from d2lutil.models import GRUScratch, build_lm
from d2lutil.training import evaluate_perplexity


def _not_attempted(capsys: pytest.CaptureFixture[str], result: object, n: int) -> None:
    assert result is None
    assert f"Exercise {n}: not attempted yet" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ 1


@pytest.fixture(scope="module")
def tiny_data() -> TimeMachine:
    vocab = Vocab(list("abc de"))
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, len(vocab), (600,), generator=gen)
    return TimeMachine(vocab, tokens[:450], tokens[450:550], tokens[550:])


def _fake_ex1_results(data: TimeMachine) -> dict[str, dict[str, object]]:
    rows = {}
    for i, kind in enumerate(ex.LM_KINDS):
        torch.manual_seed(i)
        model = build_lm(kind, len(data.vocab), 4)
        rows[kind] = {
            "model": model,
            "seconds": 1.0 + i,
            "val_ppl": evaluate_perplexity(model, data.val_tokens),
            "sample": "time traveller abc abc",
        }
    return rows


def _answer1(rows: dict[str, dict[str, object]]) -> dict[str, str]:
    best = {fam: min(rows[f"{fam}_scratch"]["val_ppl"], rows[fam]["val_ppl"]) for fam in ("rnn", "gru")}  # type: ignore[type-var]
    return {"faster": "rnn", "lower_perplexity": min(best, key=best.get)}  # type: ignore[arg-type]


def test_exercise_1(tiny_data: TimeMachine, capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_1(None, None, tiny_data), 1)
    rows = _fake_ex1_results(tiny_data)
    assert ex.check_exercise_1(rows, _answer1(rows), tiny_data) is True
    wrong = dict(_answer1(rows), faster="gru")
    with pytest.raises(AssertionError, match="faster one is 'rnn'"):
        ex.check_exercise_1(rows, wrong, tiny_data)
    flipped = dict(_answer1(rows))
    flipped["lower_perplexity"] = "gru" if flipped["lower_perplexity"] == "rnn" else "rnn"
    with pytest.raises(AssertionError, match="lower one is"):
        ex.check_exercise_1(rows, flipped, tiny_data)
    misreported = {k: dict(v) for k, v in rows.items()}
    misreported["gru"]["val_ppl"] = 1.5  # e.g. a training perplexity
    with pytest.raises(AssertionError, match="validation perplexity"):
        ex.check_exercise_1(misreported, _answer1(rows), tiny_data)
    with pytest.raises(AssertionError, match="lacks"):
        ex.check_exercise_1({k: v for k, v in rows.items() if k != "rnn_scratch"}, _answer1(rows), tiny_data)


# ------------------------------------------------------------------------------------------ 2


def test_exercise_2(capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_2(None), 2)
    assert ex.check_exercise_2(gates_solution) is True
    keep_reset_open = lambda s, tp: (1, 0) if s == tp else gates_solution(s, tp)  # noqa: E731
    with pytest.raises(AssertionError, match="initial state|inputs at steps"):
        ex.check_exercise_2(keep_reset_open)
    always_copy = lambda s, tp: (None, 1)  # noqa: E731
    with pytest.raises(AssertionError, match="does not depend on x_"):
        ex.check_exercise_2(always_copy)
    leaky = lambda s, tp: (0, 0) if s == tp else (None, 0.9 if s > tp else None)  # noqa: E731
    with pytest.raises(AssertionError):
        ex.check_exercise_2(leaky)
    with pytest.raises(AssertionError, match="must return a pair"):
        ex.check_exercise_2(lambda s, tp: 0)


def test_hand_set_gru_gates_are_exact() -> None:

    r, z = [0, 1, 0.5, 1], [1, 0, 1, 0.25]
    gru = ex.hand_set_gru(r, z, input_size=2, hidden_size=3)
    X = ex.with_clock(torch.randn(4, 5, 2, dtype=torch.float64))
    values = trace_gates(gru, X)
    assert torch.allclose(values.r[:, 0, 0], torch.tensor(r, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(values.z[:, 0, 0], torch.tensor(z, dtype=torch.float64), atol=1e-12)


# ------------------------------------------------------------------------------------------ 3


def test_exercise_3(capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_3(None, None), 3)
    rows = sweep()
    assert ex.check_exercise_3(rows, {"best": "batch_size", "slowest": "batch_size"}) is True
    with pytest.raises(AssertionError, match="lowest validation perplexity comes from changing 'batch_size'"):
        ex.check_exercise_3(rows, {"best": "hidden_size", "slowest": "batch_size"})
    two_at_once = [*rows, dict(rows[0], lr=1e-3, clip=5.0)]
    with pytest.raises(AssertionError, match="change exactly one"):
        ex.check_exercise_3(two_at_once, {"best": "batch_size", "slowest": "batch_size"})
    with pytest.raises(AssertionError, match="no run changes"):
        ex.check_exercise_3(rows[:3], {"best": "num_steps", "slowest": "num_steps"})


# ------------------------------------------------------------------------------------------ 4


def _plain_rnn_step(gi: torch.Tensor, h: torch.Tensor, W_h: torch.Tensor, b_h: torch.Tensor) -> torch.Tensor:
    k = h.shape[-1]
    return torch.tanh(gi[:, k:] + h @ W_h[:, k:] + b_h[k:])


def flipped_update_step(gi: torch.Tensor, h: torch.Tensor, W_h: torch.Tensor, b_h: torch.Tensor) -> torch.Tensor:
    k = h.shape[-1]
    gh = h @ W_h + b_h
    z = torch.sigmoid(gi[:, :k] + gh[:, :k])
    return z * torch.tanh(gi[:, k:] + gh[:, k:]) + (1 - z) * h


def _reset_before_step(gi: torch.Tensor, h: torch.Tensor, W_h: torch.Tensor, b_h: torch.Tensor) -> torch.Tensor:
    k = h.shape[-1]
    r = torch.sigmoid(gi[:, :k] + h @ W_h[:, :k] + b_h[:k])
    return torch.tanh(gi[:, k:] + (r * h) @ W_h[:, k:] + b_h[k:])


def test_exercise_4(capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_4(None, None), 4)
    assert ex.check_exercise_4(reset_only_step, ex.update_only_step) is True
    assert ex.check_exercise_4(_reset_before_step, ex.update_only_step) is True  # the d2l text's convention
    with pytest.raises(AssertionError, match="reset gate never acts"):
        ex.check_exercise_4(_plain_rnn_step, ex.update_only_step)
    with pytest.raises(AssertionError, match="weighted the candidate by Z"):
        ex.check_exercise_4(reset_only_step, flipped_update_step)
    with pytest.raises(AssertionError, match="shape"):
        ex.check_exercise_4(lambda gi, h, W, b: gi, ex.update_only_step)


def test_one_gate_cells_have_nn_gru_interface() -> None:
    def reset_only(d: int, h: int) -> ex.OneGateRNN:
        return ex.OneGateRNN(d, h, reset_only_step)

    for cls in (reset_only, ex.UpdateOnlyGRU):
        layer = cls(3, 5)
        out, state = layer(torch.randn(7, 2, 3))
        assert out.shape == (7, 2, 5) and state.shape == (1, 2, 5)
        assert torch.equal(out[-1], state[0])
        lm = build_lm("gru", 6, 5)
        lm.rnn = cls(6, 5)  # drops into a language model in place of nn.GRU
        logits, _ = lm(torch.randint(0, 6, (2, 4)))
        assert logits.shape == (2, 4, 6)


# ------------------------------------------------------------------------------------------ 5


def test_exercise_5(capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_5(None, None, None), 5)
    assert ex.check_exercise_5(make_break_batch, label_of, BREAK) is True
    acc = {"gru": [1.0, 0.98], "update_only": [0.99, 1.0]}
    assert ex.check_exercise_5(make_break_batch, label_of, BREAK, acc, False) is True
    with pytest.raises(AssertionError, match="reset_gate_helped should be False"):
        ex.check_exercise_5(make_break_batch, label_of, BREAK, acc, True)

    def first_token(X: torch.Tensor) -> torch.Tensor:  # ignores the breaks: no reset needed
        return X[:, 0] - 1

    def make_first(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        X, _ = make_break_batch(b, g)
        return X, first_token(X)

    with pytest.raises(AssertionError, match="before the last break changed"):
        ex.check_exercise_5(make_first, first_token, BREAK)

    def last_token(X: torch.Tensor) -> torch.Tensor:  # depends on the last segment, but the break is no distractor
        return X[:, -1]

    def make_last(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        X, _ = make_break_batch(b, g)
        return X, last_token(X)

    with pytest.raises(AssertionError, match="no distractor"):
        ex.check_exercise_5(make_last, last_token, BREAK)

    def no_breaks(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        X = torch.randint(1, 5, (b, 10), generator=g)
        return X, label_of(X)

    with pytest.raises(AssertionError, match="hold a break"):
        ex.check_exercise_5(no_breaks, label_of, BREAK)


# ------------------------------------------------------------------------------------------ 6


def test_exercise_6(capsys: pytest.CaptureFixture[str]) -> None:
    _not_attempted(capsys, ex.check_exercise_6(None, None), 6)
    assert ex.check_exercise_6(flip, True) is True
    with pytest.raises(AssertionError, match="same_family should be True"):
        ex.check_exercise_6(flip, False)

    def bias_only(
        W_x: torch.Tensor, W_h: torch.Tensor, b_x: torch.Tensor, b_h: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        _, _, fb_x, fb_h = flip(W_x, W_h, b_x, b_h)
        return W_x, W_h, fb_x, fb_h

    with pytest.raises(AssertionError, match="differs from the original"):
        ex.check_exercise_6(bias_only, True)
    with pytest.raises(AssertionError, match="differs from the original"):
        ex.check_exercise_6(lambda *w: w, True)


def testflipped_gru_matches_nn_gru_through_theflip() -> None:
    torch.manual_seed(0)
    gru = GRUScratch(3, 4)
    twin = ex.load_weights(ex.FlippedGRU(3, 4), *flip(*(p.detach() for p in (gru.W_x, gru.W_h, gru.b_x, gru.b_h))))
    X = torch.randn(5, 2, 3)
    assert torch.allclose(gru(X)[0], twin(X)[0], atol=1e-6)
    traced = twin.trace(X)  # the flipped mix is the state the trace reports, too
    assert torch.allclose(traced.h, twin(X)[0]) and torch.allclose(traced.z, 1 - gru.trace(X).z, atol=1e-6)


def test_format_table() -> None:
    text = ex.format_table([{"a": 1.23456, "b": "x"}, {"a": 12345.0, "b": "yy"}], ["a", "b"])
    assert text.splitlines()[0].split() == ["a", "b"] and "1.23" in text and "12,345" in text

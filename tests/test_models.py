"""The recurrent layers against nn.GRU / nn.RNN and against the chapter's equations, written out here."""

from __future__ import annotations

import pytest
import torch
from refusals import assert_refused
from torch import nn

from d2lutil.models import (
    RNNLM,
    GRUD2LStyle,
    GRUScratch,
    RNNScratch,
    build_lm,
    copy_nn_gru_to_scratch,
    eval_mode,
    gru_step,
)

F64 = torch.float64
SIZES = [(1, 1), (3, 5), (7, 4), (28, 16)]  # (input_size, hidden_size)
SHAPES = [(1, 1), (12, 1), (9, 4)]  # (num_steps, batch_size)


pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=F64)


def _nn_gru(d: int, h: int, seed: int = 0) -> nn.GRU:
    torch.manual_seed(seed)
    gru = nn.GRU(d, h).to(F64)
    with torch.no_grad():  # move the biases away from nn.GRU's small init, so that a bias in the wrong place shows
        for p in gru.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=_gen(seed + 1), dtype=F64))
    return gru


def _split(t: torch.Tensor, h: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (r, z, n) blocks of a stacked weight (.., 3h) or bias (3h,)."""
    return t[..., :h], t[..., h : 2 * h], t[..., 2 * h :]


def reset_before_by_hand(
    model: GRUScratch, X: torch.Tensor, H0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The d2l text's GRU, one step at a time, with separate gate matrices (the equations, not the code)."""
    h_size = model.hidden_size
    W_xr, W_xz, W_xh = _split(model.W_x, h_size)
    W_hr, W_hz, W_hh = _split(model.W_h, h_size)
    b_xr, b_xz, b_xh = _split(model.b_x, h_size)
    b_hr, b_hz, b_hh = _split(model.b_h, h_size)
    H = torch.zeros(X.shape[1], h_size, dtype=X.dtype) if H0 is None else H0[0]
    outs = []
    for t in range(X.shape[0]):
        x = X[t]
        R = torch.sigmoid(x @ W_xr + b_xr + H @ W_hr + b_hr)
        Z = torch.sigmoid(x @ W_xz + b_xz + H @ W_hz + b_hz)
        H_tilde = torch.tanh(x @ W_xh + b_xh + (R * H) @ W_hh + b_hh)
        H = Z * H + (1 - Z) * H_tilde
        outs.append(H)
    return torch.stack(outs), H.unsqueeze(0)


def d2l_style_by_hand(m: GRUD2LStyle, X: torch.Tensor, H0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    H = torch.zeros(X.shape[1], m.hidden_size, dtype=X.dtype) if H0 is None else H0[0]
    outs = []
    for t in range(X.shape[0]):
        x = X[t]
        Z = torch.sigmoid(x @ m.W_xz + H @ m.W_hz + m.b_z)
        R = torch.sigmoid(x @ m.W_xr + H @ m.W_hr + m.b_r)
        H_tilde = torch.tanh(x @ m.W_xh + (R * H) @ m.W_hh + m.b_h)
        H = Z * H + (1 - Z) * H_tilde
        outs.append(H)
    return torch.stack(outs), H.unsqueeze(0)


# ---------------------------------------------------------------- reset after == nn.GRU


@pytest.mark.parametrize("d,h", SIZES)
@pytest.mark.parametrize("T,B", SHAPES)
@pytest.mark.parametrize("with_state", [False, True])
def test_scratch_gru_equals_nn_gru(d, h, T, B, with_state):
    gru = _nn_gru(d, h)
    scratch = copy_nn_gru_to_scratch(gru, GRUScratch(d, h).to(F64))
    X = _randn(T, B, d, seed=2)
    H0 = _randn(1, B, h, seed=3) if with_state else None
    want_out, want_state = gru(X, H0)
    got_out, got_state = scratch(X, H0)
    assert got_out.shape == (T, B, h) and got_state.shape == (1, B, h)
    assert got_out.dtype == F64
    torch.testing.assert_close(got_out, want_out, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_state, want_state, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_state[0], got_out[-1], atol=0, rtol=0)


def test_copy_is_exact():
    gru = _nn_gru(5, 4)
    scratch = copy_nn_gru_to_scratch(gru, GRUScratch(5, 4).to(F64))
    for mine, theirs in (("W_x", "weight_ih_l0"), ("W_h", "weight_hh_l0")):
        assert torch.equal(getattr(scratch, mine), getattr(gru, theirs).T), mine
    for mine, theirs in (("b_x", "bias_ih_l0"), ("b_h", "bias_hh_l0")):
        assert torch.equal(getattr(scratch, mine), getattr(gru, theirs)), mine


@pytest.mark.parametrize("with_state", [False, True])
def test_scratch_gru_gradients_equal_nn_gru(with_state):
    d, h, T, B = 4, 5, 7, 3
    gru = _nn_gru(d, h, seed=7)
    scratch = copy_nn_gru_to_scratch(gru, GRUScratch(d, h).to(F64))
    X = _randn(T, B, d, seed=8)
    H0 = _randn(1, B, h, seed=9) if with_state else None
    w_out, w_state = _randn(T, B, h, seed=10), _randn(1, B, h, seed=11)
    grads = []
    for model in (gru, scratch):
        x = X.clone().requires_grad_()
        h0 = None if H0 is None else H0.clone().requires_grad_()
        out, state = model(x, h0)
        ((out * w_out).sum() + (state * w_state).sum()).backward()
        grads.append((x.grad, None if h0 is None else h0.grad))
    torch.testing.assert_close(grads[1][0], grads[0][0], atol=1e-6, rtol=0)
    if with_state:
        torch.testing.assert_close(grads[1][1], grads[0][1], atol=1e-6, rtol=0)
    pairs = [
        ("W_x", "weight_ih_l0", True),
        ("W_h", "weight_hh_l0", True),
        ("b_x", "bias_ih_l0", False),
        ("b_h", "bias_hh_l0", False),
    ]
    for mine, theirs, transpose in pairs:
        g_mine, g_theirs = getattr(scratch, mine).grad, getattr(gru, theirs).grad
        torch.testing.assert_close(g_mine, g_theirs.T if transpose else g_theirs, atol=1e-6, rtol=0)


def test_reset_conventions_differ():
    """The two conventions are different functions: if they agreed the 'before' tests would prove nothing."""
    torch.manual_seed(0)
    after = GRUScratch(3, 4).to(F64)
    before = GRUScratch(3, 4, reset="before").to(F64)
    before.load_state_dict(after.state_dict())
    X = _randn(5, 2, 3)
    assert (after(X)[0] - before(X)[0]).abs().max() > 1e-3


# ---------------------------------------------------------------- reset before == the equations


@pytest.mark.parametrize("d,h", SIZES)
@pytest.mark.parametrize("T,B", SHAPES)
@pytest.mark.parametrize("with_state", [False, True])
def test_reset_before_matches_equations(d, h, T, B, with_state):
    torch.manual_seed(d * 100 + h)
    model = GRUScratch(d, h, reset="before").to(F64)
    X = _randn(T, B, d, seed=1)
    H0 = _randn(1, B, h, seed=2) if with_state else None
    got_out, got_state = model(X, H0)
    with torch.no_grad():
        want_out, want_state = reset_before_by_hand(model, X, H0)
    torch.testing.assert_close(got_out, want_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(got_state, want_state, atol=1e-10, rtol=0)


def _d2l_style_from_scratch(scratch: GRUScratch) -> GRUD2LStyle:
    """Map the stacked (r, z, n) layout with two biases onto the d2l layout with one bias per gate."""
    h = scratch.hidden_size
    m = GRUD2LStyle(scratch.input_size, h).to(F64)
    (W_xr, W_xz, W_xn), (W_hr, W_hz, W_hn) = _split(scratch.W_x, h), _split(scratch.W_h, h)
    b_x, b_h = _split(scratch.b_x, h), _split(scratch.b_h, h)
    with torch.no_grad():
        for name, value in {
            "W_xr": W_xr, "W_xz": W_xz, "W_xh": W_xn,
            "W_hr": W_hr, "W_hz": W_hz, "W_hh": W_hn,
            "b_r": b_x[0] + b_h[0], "b_z": b_x[1] + b_h[1], "b_h": b_x[2] + b_h[2],
        }.items():  # fmt: skip
            getattr(m, name).copy_(value)
    return m


@pytest.mark.parametrize("d,h", SIZES)
@pytest.mark.parametrize("with_state", [False, True])
def test_d2l_style_matches_equations_and_reset_before(d, h, with_state):
    torch.manual_seed(h)
    scratch = GRUScratch(d, h, reset="before").to(F64)
    m = _d2l_style_from_scratch(scratch)
    X = _randn(8, 3, d, seed=4)
    H0 = _randn(1, 3, h, seed=5) if with_state else None
    got_out, got_state = m(X, H0)
    with torch.no_grad():
        want_out, want_state = d2l_style_by_hand(m, X, H0)
    torch.testing.assert_close(got_out, want_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(got_state, want_state, atol=1e-10, rtol=0)
    s_out, s_state = scratch(X, H0)
    torch.testing.assert_close(got_out, s_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(got_state, s_state, atol=1e-10, rtol=0)


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("reset", ["after", "before"])
def test_gradcheck_gru_step(reset):
    B, h = 2, 3
    gi = _randn(B, 3 * h, seed=1).requires_grad_()
    H = _randn(B, h, seed=2).requires_grad_()
    W_h = (0.5 * _randn(h, 3 * h, seed=3)).requires_grad_()
    b_h = _randn(3 * h, seed=4).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: tuple(gru_step(*a, reset=reset)), (gi, H, W_h, b_h))


@pytest.mark.parametrize("reset", ["after", "before"])
def test_gradcheck_scratch_forward(reset):
    torch.manual_seed(0)
    model = GRUScratch(2, 3, reset=reset).to(F64)
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    X = _randn(4, 2, 2, seed=1).requires_grad_()
    H0 = _randn(1, 2, 3, seed=2).requires_grad_()

    def f(X, H0, *ps):
        return torch.func.functional_call(model, dict(zip(names, ps, strict=True)), (X, H0))

    assert torch.autograd.gradcheck(f, (X, H0, *params))
    assert torch.autograd.gradgradcheck(lambda x, h: f(x, h, *params), (X, H0))


# ---------------------------------------------------------------- plain RNN


@pytest.mark.parametrize("d,h", SIZES)
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_scratch_equals_nn_rnn(d, h, with_state):
    torch.manual_seed(1)
    rnn = nn.RNN(d, h).to(F64)
    scratch = RNNScratch(d, h).to(F64)
    with torch.no_grad():
        scratch.W_x.copy_(rnn.weight_ih_l0.T)
        scratch.W_h.copy_(rnn.weight_hh_l0.T)
        scratch.b_x.copy_(rnn.bias_ih_l0)
        scratch.b_h.copy_(rnn.bias_hh_l0)
    X = _randn(6, 3, d, seed=2)
    H0 = _randn(1, 3, h, seed=3) if with_state else None
    for got, want in zip(scratch(X, H0), rnn(X, H0), strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


# ---------------------------------------------------------------- limiting cases


@pytest.mark.parametrize("reset", ["after", "before"])
def test_update_gate_one_copies_state_with_identity_jacobian(reset):
    B, h = 3, 4
    gi = _randn(B, 3 * h, seed=1)
    gi[:, h : 2 * h] = 80.0  # Z = sigmoid(80 + ...) = 1 in float64
    W_h, b_h, H = 0.5 * _randn(h, 3 * h, seed=2), _randn(3 * h, seed=3), _randn(B, h, seed=4)
    step = gru_step(gi, H, W_h, b_h, reset)
    assert torch.all(step.z == 1.0)
    assert torch.equal(step.h, H)
    J = torch.autograd.functional.jacobian(lambda s: gru_step(gi, s, W_h, b_h, reset).h, H)  # (B, h, B, h)
    torch.testing.assert_close(J.reshape(B * h, B * h), torch.eye(B * h, dtype=F64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_huge_update_bias_keeps_state_over_a_sequence(reset):
    torch.manual_seed(0)
    h = 5
    model = GRUScratch(3, h, reset=reset).to(F64)
    with torch.no_grad():
        model.b_x[h : 2 * h] = 100.0
    X, H0 = _randn(10, 2, 3, seed=1), _randn(1, 2, h, seed=2)
    out, state = model(X, H0)
    assert torch.equal(state, H0)
    assert torch.equal(out, H0.expand(10, 2, h))
    J = torch.autograd.functional.jacobian(lambda s: model(X, s)[1], H0).reshape(2 * h, 2 * h)
    torch.testing.assert_close(J, torch.eye(2 * h, dtype=F64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_reset_one_update_zero_is_the_plain_rnn(reset):
    B, d, h = 3, 2, 4
    x, H = _randn(B, d, seed=1), _randn(B, h, seed=2)
    W_xn, b_xn = _randn(d, h, seed=3), _randn(h, seed=4)
    W_h, b_h = 0.5 * _randn(h, 3 * h, seed=5), _randn(3 * h, seed=6)
    W_hn, b_hn = W_h[:, 2 * h :], b_h[2 * h :]
    gi = torch.cat([torch.full((B, h), 100.0, dtype=F64), torch.full((B, h), -100.0, dtype=F64), x @ W_xn + b_xn], 1)
    step = gru_step(gi, H, W_h, b_h, reset)
    assert torch.all(step.r == 1.0) and torch.all(step.z < 1e-40)
    torch.testing.assert_close(step.h, torch.tanh(x @ W_xn + b_xn + H @ W_hn + b_hn), atol=1e-12, rtol=0)


def test_gru_with_r1_z0_equals_rnn_scratch():
    torch.manual_seed(3)
    d, h = 3, 4
    gru = GRUScratch(d, h).to(F64)
    rnn = RNNScratch(d, h).to(F64)
    with torch.no_grad():
        gru.b_x[:h], gru.b_x[h : 2 * h] = 1000.0, -1000.0
        rnn.W_x.copy_(gru.W_x[:, 2 * h :])
        rnn.W_h.copy_(gru.W_h[:, 2 * h :])
        rnn.b_x.copy_(gru.b_x[2 * h :])
        rnn.b_h.copy_(gru.b_h[2 * h :])
    X, H0 = _randn(7, 2, d, seed=1), _randn(1, 2, h, seed=2)
    for got, want in zip(gru(X, H0), rnn(X, H0), strict=True):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- the language model and build_lm


@pytest.mark.parametrize("kind", ["gru", "rnn", "gru_scratch", "gru_d2l_style", "rnn_scratch"])
@pytest.mark.parametrize("embed_size", [None, 6])
def test_build_lm_shapes(kind, embed_size):
    torch.manual_seed(0)
    model = build_lm(kind, vocab_size=11, hidden_size=8, embed_size=embed_size)
    tokens = torch.randint(0, 11, (3, 5))
    logits, state = model(tokens)
    assert logits.shape == (3, 5, 11)
    assert state.shape == (1, 3, 8)
    logits2, _ = model(tokens[:, 3:], model(tokens[:, :3])[1])  # the state carries across calls
    torch.testing.assert_close(logits2, logits[:, 3:], atol=1e-5, rtol=1e-5)


def test_build_lm_deep_nn_gru():
    model = build_lm("gru", vocab_size=7, hidden_size=8, num_layers=3, embed_size=4, dropout=0.2)
    assert isinstance(model.rnn, nn.GRU) and model.rnn.num_layers == 3 and model.rnn.dropout == 0.2
    assert model(torch.zeros(2, 5, dtype=torch.long))[1].shape == (3, 2, 8)


@pytest.mark.parametrize("embed_size", [None, 6])
def test_build_lm_lstm_carries_hidden_and_cell_state(embed_size):
    torch.manual_seed(0)
    model = build_lm("lstm", vocab_size=11, hidden_size=8, num_layers=2, embed_size=embed_size, dropout=0.2)
    assert isinstance(model.rnn, nn.LSTM) and model.rnn.num_layers == 2 and model.rnn.dropout == 0.2
    model.eval()
    tokens = torch.randint(0, 11, (3, 5))
    logits, (h, c) = model(tokens)
    assert logits.shape == (3, 5, 11) and h.shape == c.shape == (2, 3, 8)
    logits2, _ = model(tokens[:, 3:], model(tokens[:, :3])[1])  # the (h, c) pair carries across calls
    torch.testing.assert_close(logits2, logits[:, 3:], atol=1e-5, rtol=1e-5)


def test_lstm_and_gru_parameter_counts():
    """4 blocks of weights for an LSTM, 3 for a GRU: 4 (h (d + h) + 2 h) against 3 (...) per layer."""
    d, h, v = 6, 8, 11
    for kind, blocks in (("lstm", 4), ("gru", 3), ("rnn", 1)):
        model = build_lm(kind, vocab_size=v, hidden_size=h, embed_size=d)
        layer = blocks * (h * (d + h) + 2 * h)
        assert sum(p.numel() for p in model.rnn.parameters()) == layer
        assert sum(p.numel() for p in model.parameters()) == layer + v * d + h * v + v


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_embed_dropout_drops_the_layers_inputs_in_training_only(kind):
    torch.manual_seed(0)
    model = build_lm(kind, vocab_size=11, hidden_size=8, embed_size=64, embed_dropout=0.5)
    seen: list[torch.Tensor] = []
    model.rnn.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    tokens = torch.randint(0, 11, (4, 10))
    clean = model.embed(tokens)  # (T, B, 64)
    model.train()
    model(tokens)
    dropped = seen[-1]
    zeroed = float((dropped == 0).float().mean())
    assert 0.4 < zeroed < 0.6  # about half of the inputs dropped
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], 2 * clean[kept])  # the rest scaled by 1 / (1 - p)
    model.eval()
    model(tokens)
    torch.testing.assert_close(seen[-1], clean)  # no dropout when evaluating
    plain = build_lm(kind, vocab_size=11, hidden_size=8, embed_size=64)
    assert plain.embed_dropout.p == 0.0 and model.embed_dropout.p == 0.5


def test_one_hot_input_is_one_hot():
    model = build_lm("gru_scratch", vocab_size=5, hidden_size=3)
    X = model.embed(torch.tensor([[0, 4, 2]]))
    assert X.shape == (3, 1, 5)
    assert torch.equal(X[:, 0].argmax(-1), torch.tensor([0, 4, 2]))
    assert torch.equal(X.sum(-1), torch.ones(3, 1))


# ---------------------------------------------------------------- bad input
# (the type and the argument named, as in tests/test_bad_inputs_*.py; the wording is pinned in test_checks.py)

LAYERS = [GRUScratch, GRUD2LStyle, RNNScratch]
SCRATCH_BAD = [
    ("X 2-D", lambda: (torch.zeros(5, 4), None), ValueError, "X"),
    ("X (B, T, d)", lambda: (torch.zeros(5, 2, 7), None), ValueError, "X"),
    ("X float64", lambda: (torch.zeros(5, 2, 4, dtype=F64), None), ValueError, "X"),
    ("X no batch", lambda: (torch.zeros(5, 0, 4), None), ValueError, "X"),
    ("X no steps", lambda: (torch.zeros(0, 2, 4), None), ValueError, "X"),
    ("H float64", lambda: (torch.zeros(5, 2, 4), torch.zeros(1, 2, 3, dtype=F64)), ValueError, "H"),
    *[
        (f"H {bad}", lambda bad=bad: (torch.zeros(5, 2, 4), torch.zeros(*bad)), ValueError, "H")
        for bad in [(2, 3), (1, 3, 3), (1, 2, 4), (2, 2, 3)]
    ],
]


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("inputs,error,argument", [c[1:] for c in SCRATCH_BAD], ids=[c[0] for c in SCRATCH_BAD])
def test_scratch_layers_refuse_bad_inputs(cls, inputs, error, argument):
    layer = cls(4, 3)
    assert_refused(lambda: layer(*inputs()), error, argument)


MODEL_BAD = [
    ("GRUScratch reset='middle'", lambda: GRUScratch(2, 3, reset="middle"), ValueError, "reset"),
    ("RNNLM one-hot size", lambda: RNNLM(nn.GRU(9, 4), vocab_size=10), ValueError, "rnn"),
    ("RNNLM embed size", lambda: RNNLM(GRUScratch(10, 4), vocab_size=10, embed_size=6), ValueError, "rnn"),
    ("tokens 10 of 10", lambda: build_lm("gru", 10, 4)(torch.tensor([[0, 10]])), ValueError, "tokens"),
    ("tokens -1", lambda: build_lm("gru", 10, 4)(torch.tensor([[-1, 2]])), ValueError, "tokens"),
    ("tokens float", lambda: build_lm("gru_scratch", 10, 4)(torch.zeros(2, 3)), ValueError, "tokens"),
    ("tokens 1-D", lambda: build_lm("gru_scratch", 10, 4)(torch.zeros(6, dtype=torch.long)), ValueError, "tokens"),
    ("tokens 3-D", lambda: build_lm("gru", 10, 4)(torch.zeros(1, 2, 3, dtype=torch.long)), ValueError, "tokens"),
    ("build_lm kind", lambda: build_lm("gru_lstm", vocab_size=10, hidden_size=4), ValueError, "kind"),
    ("build_lm rnn_scratch x2", lambda: build_lm("rnn_scratch", 10, 4, num_layers=2), ValueError, "num_layers"),
    ("build_lm gru_scratch x2", lambda: build_lm("gru_scratch", 10, 4, num_layers=2), ValueError, "num_layers"),
    ("copy sizes", lambda: copy_nn_gru_to_scratch(nn.GRU(3, 4), GRUScratch(3, 5)), ValueError, "dst"),
    ("copy reset", lambda: copy_nn_gru_to_scratch(nn.GRU(3, 4), GRUScratch(3, 4, reset="before")), ValueError, "dst"),
    ("copy 2 layers", lambda: copy_nn_gru_to_scratch(nn.GRU(3, 4, num_layers=2), GRUScratch(3, 4)), ValueError, "src"),
    (
        "copy batch_first",
        lambda: copy_nn_gru_to_scratch(nn.GRU(3, 4, batch_first=True), GRUScratch(3, 4)),
        ValueError,
        "src",
    ),
]


@pytest.mark.parametrize("call,error,argument", [c[1:] for c in MODEL_BAD], ids=[c[0] for c in MODEL_BAD])
def test_models_refuse_bad_arguments(call, error, argument):
    assert_refused(call, error, argument)


# ---------------------------------------------------------------- eval_mode


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_gives_back_the_mode_also_after_an_interrupt(training):
    model = build_lm("gru", 10, 4, num_layers=2, dropout=0.5).train(training)
    with eval_mode(model) as inside:
        assert inside is model and not any(m.training for m in model.modules())
    assert all(m.training == training for m in model.modules())
    with pytest.raises(KeyboardInterrupt), eval_mode(model):
        raise KeyboardInterrupt
    assert all(m.training == training for m in model.modules())


def test_predict_interrupted_leaves_the_model_in_training_mode():
    from d2lutil.data import Vocab
    from d2lutil.generation import predict

    class Interrupted(RNNLM):
        calls = 0

        def forward(self, tokens, state=None):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt  # the reader stops a long generation
            return super().forward(tokens, state)

    vocab = Vocab("abc ")
    model = Interrupted(nn.GRU(len(vocab), 4), len(vocab)).train()
    with pytest.raises(KeyboardInterrupt):
        predict("ab", 5, model, vocab)
    assert model.training and model.rnn.training

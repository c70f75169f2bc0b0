"""The gate tracer reproduces nn.GRU (every layer) and the scratch GRU; saturation statistics by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lutil.gates import saturation, trace_gates
from d2lutil.models import GRUScratch, build_lm

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _gru(d: int, h: int, layers: int, seed: int = 0) -> nn.GRU:
    torch.manual_seed(seed)
    return nn.GRU(d, h, layers).to(F64)


def _truncated(gru: nn.GRU, layers: int) -> nn.GRU:
    """The first ``layers`` layers of ``gru`` as a GRU of their own."""
    low = nn.GRU(gru.input_size, gru.hidden_size, layers).to(F64)
    low.load_state_dict({k: v for k, v in gru.state_dict().items() if int(k[-1]) < layers})
    return low


def torch_docs_equations(gru: nn.GRU, layer: int, X: torch.Tensor, h: torch.Tensor):
    """nn.GRU's documented equations for one layer, step by step, with separate gate blocks."""
    W_i, W_h = getattr(gru, f"weight_ih_l{layer}"), getattr(gru, f"weight_hh_l{layer}")
    b_i, b_h = getattr(gru, f"bias_ih_l{layer}"), getattr(gru, f"bias_hh_l{layer}")
    H = gru.hidden_size
    W_ir, W_iz, W_in = W_i[:H], W_i[H : 2 * H], W_i[2 * H :]
    W_hr, W_hz, W_hn = W_h[:H], W_h[H : 2 * H], W_h[2 * H :]
    b_ir, b_iz, b_in = b_i[:H], b_i[H : 2 * H], b_i[2 * H :]
    b_hr, b_hz, b_hn = b_h[:H], b_h[H : 2 * H], b_h[2 * H :]
    rs, zs, ns, hs = [], [], [], []
    for x in X:
        r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        rs.append(r), zs.append(z), ns.append(n), hs.append(h)
    return tuple(torch.stack(v) for v in (rs, zs, ns, hs))


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("with_state", [False, True])
def test_trace_every_layer_of_nn_gru(num_layers, with_state):
    d, h, T, B = 5, 6, 9, 3
    gru = _gru(d, h, num_layers)
    X = _randn(T, B, d, seed=1)
    H0 = _randn(num_layers, B, h, seed=2) if with_state else None
    with torch.no_grad():
        out, _ = gru(X, H0)
    top = trace_gates(gru, X, H=H0)
    torch.testing.assert_close(top.h, out, atol=1e-10, rtol=0)
    for layer in range(num_layers):
        trace = trace_gates(gru, X, layer=layer, H=H0)
        assert all(t.shape == (T, B, h) for t in trace)
        low = _truncated(gru, layer + 1)
        with torch.no_grad():
            low_out, _ = low(X, None if H0 is None else H0[: layer + 1].contiguous())
            # this layer's inputs: X itself, or the outputs of the layers below it
            inputs = X if layer == 0 else _truncated(gru, layer)(X, None if H0 is None else H0[:layer].contiguous())[0]
            want = torch_docs_equations(gru, layer, inputs, torch.zeros(B, h, dtype=F64) if H0 is None else H0[layer])
        torch.testing.assert_close(trace.h, low_out, atol=1e-10, rtol=0)
        for got, ref in zip(trace, want, strict=True):  # R, Z, N and H, each against the documented equations
            torch.testing.assert_close(got, ref, atol=1e-10, rtol=0)
        assert torch.all((trace.r > 0) & (trace.r < 1)) and torch.all((trace.z > 0) & (trace.z < 1))
        assert torch.all(trace.n.abs() < 1)
        h_prev = torch.cat([(torch.zeros(1, B, h, dtype=F64) if H0 is None else H0[layer : layer + 1]), trace.h[:-1]])
        torch.testing.assert_close(trace.h, trace.z * h_prev + (1 - trace.z) * trace.n, atol=1e-12, rtol=0)


def test_trace_ignores_dropout_between_layers():
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, 2, dropout=0.5).to(F64).eval()
    X = _randn(6, 2, 3)
    with torch.no_grad():
        out, _ = gru(X)
    torch.testing.assert_close(trace_gates(gru, X).h, out, atol=1e-10, rtol=0)


@pytest.mark.parametrize("embed_size", [None, 5])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_trace_rnnlm_around_nn_gru(embed_size, num_layers):
    torch.manual_seed(1)
    lm = build_lm("gru", vocab_size=12, hidden_size=7, num_layers=num_layers, embed_size=embed_size).eval()
    tokens = torch.randint(0, 12, (3, 10))
    with torch.no_grad():
        out, state = lm.rnn(lm.embed(tokens))
    trace = trace_gates(lm, tokens)
    assert trace.z.shape == (10, 3, 7)
    torch.testing.assert_close(trace.h, out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(trace.h[-1], state[-1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_trace_gru_scratch(reset):
    torch.manual_seed(2)
    model = GRUScratch(4, 5, reset=reset).to(F64)
    X, H0 = _randn(8, 2, 4, seed=1), _randn(1, 2, 5, seed=2)
    with torch.no_grad():
        out, _ = model(X, H0)
    trace = trace_gates(model, X, H=H0)
    torch.testing.assert_close(trace.h, out, atol=0, rtol=0)
    assert torch.all((trace.r > 0) & (trace.r < 1)) and torch.all((trace.z > 0) & (trace.z < 1))
    lm = build_lm("gru_scratch", vocab_size=6, hidden_size=5)
    tokens = torch.randint(0, 6, (2, 4))
    torch.testing.assert_close(trace_gates(lm, tokens).h, lm.rnn(lm.embed(tokens))[0].detach(), atol=0, rtol=0)


def test_trace_does_not_build_a_graph():
    gru = _gru(3, 4, 1)
    assert not trace_gates(gru, _randn(5, 2, 3)).h.requires_grad


def test_trace_bad_input():
    gru = _gru(3, 4, 2)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        trace_gates(gru, _randn(5, 2, 3), layer=2)
    with pytest.raises(ValueError, match=r"\(num_steps, batch_size, 3\)"):
        trace_gates(gru, _randn(5, 2, 4))
    with pytest.raises(ValueError, match="one-directional"):
        trace_gates(nn.GRU(3, 4, bidirectional=True), torch.zeros(5, 2, 3))
    with pytest.raises(ValueError, match="time-major"):
        trace_gates(nn.GRU(3, 4, batch_first=True), torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="LSTM"):
        trace_gates(nn.LSTM(3, 4), torch.zeros(5, 2, 3))
    with pytest.raises(ValueError, match="one layer"):
        trace_gates(GRUScratch(3, 4), torch.zeros(5, 2, 3), layer=1)


def test_saturation_by_hand():
    gate = torch.tensor(
        [
            [0.05, 0.50, 0.95],
            [0.50, 0.10, 0.99],
            [0.95, 0.90, 0.01],
            [0.99, 0.02, 0.93],
        ]
    )  # (T=4, h=3); exactly 0.1 and 0.9 are not saturated
    left, right = saturation(gate)
    torch.testing.assert_close(left, torch.tensor([0.25, 0.25, 0.25]))
    torch.testing.assert_close(right, torch.tensor([0.50, 0.00, 0.75]))
    left3, right3 = saturation(torch.stack([gate, gate], dim=1))  # (T, B=2, h): the same fractions
    torch.testing.assert_close(left3, left)
    torch.testing.assert_close(right3, right)
    left_wide, right_wide = saturation(gate, low=0.5, high=0.5)
    torch.testing.assert_close(left_wide, torch.tensor([0.25, 0.5, 0.25]))
    torch.testing.assert_close(right_wide, torch.tensor([0.5, 0.25, 0.75]))


def test_saturation_bad_shape():
    with pytest.raises(ValueError, match=r"\(T, B, h\) or \(T, h\)"):
        saturation(torch.rand(5))

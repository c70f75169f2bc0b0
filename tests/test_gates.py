"""The gate tracer reproduces nn.GRU (every layer) and the scratch GRU; saturation statistics by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lutil import gates
from d2lutil.gates import Intervention, saturation, trace_gates, trace_layers
from d2lutil.models import RNNLM, GRUScratch, build_lm

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
    with pytest.raises(TypeError, match="LSTM"):
        trace_gates(nn.LSTM(3, 4), torch.zeros(5, 2, 3))
    with pytest.raises(ValueError, match=r"layer must lie in 0\.\.0"):
        trace_gates(GRUScratch(3, 4), torch.zeros(5, 2, 3), layer=1)


def test_a_batch_first_input_is_refused_not_read_as_one_step():
    """(B=1, T, d) given to a time-major GRU looks like one step of T sequences: refused, with the fix."""
    gru = _gru(3, 4, 1)
    with pytest.raises(ValueError, match=r"X\.transpose\(0, 1\)") as err:
        trace_gates(gru, _randn(1, 7, 3))
    assert "X of shape (1, 7, 3)" in str(err.value)
    assert trace_gates(gru, _randn(7, 1, 3)).h.shape == (7, 1, 4)  # the same sequence, time-major
    lm = build_lm("gru", vocab_size=6, hidden_size=4).to(F64)
    assert trace_gates(lm, torch.randint(0, 6, (5, 1))).h.shape == (1, 5, 4)  # tokens (B, T): no doubt


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


# ----- trace_layers: one pass over every layer, with interventions ----------------------------------


def _lm(kind: str, layers: int = 2, reset: str = "after", seed: int = 3) -> RNNLM:
    torch.manual_seed(seed)
    if kind == "gru_scratch":
        return RNNLM(GRUScratch(5, 6, reset=reset), vocab_size=9, embed_size=5).to(F64).eval()
    return build_lm("gru", vocab_size=9, hidden_size=6, num_layers=layers, embed_size=5, dropout=0.3).to(F64).eval()


@torch.no_grad()
def reference_run(lm: RNNLM, tokens: torch.Tensor, changes=()):
    """The interventions applied by hand to the documented equations, one step at a time, with
    per-gate weight blocks (no code shared with d2lutil.gates): (r, z, n, h) each (L, T, B, h)
    and the log-probabilities (B, T, V)."""
    rnn = lm.rnn
    inputs = lm.embed(tokens).detach()
    T, B, _ = inputs.shape
    out = {k: [] for k in "rznh"}
    layers = getattr(rnn, "num_layers", 1)
    for layer in range(layers):
        if isinstance(rnn, GRUScratch):
            W_x, b_x, W_h, b_h, reset = rnn.W_x.T, rnn.b_x, rnn.W_h.T, rnn.b_h, rnn.reset
        else:
            W_x, W_h = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            b_x, b_h, reset = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}"), "after"
        H = rnn.hidden_size
        blocks = [
            (W_x[i * H : (i + 1) * H], W_h[i * H : (i + 1) * H], b_x[i * H : (i + 1) * H], b_h[i * H : (i + 1) * H])
            for i in range(3)
        ]
        mine = [c for c in changes if c.layer in (None, layer)]
        h = torch.zeros(B, H, dtype=F64)
        rows = {k: [] for k in "rznh"}
        for t in range(T):
            if any(c.kind == "cut" and c.at == t - 1 for c in mine):
                h = torch.zeros_like(h)
            x = inputs[t]
            (Wr, Ur, br, cr), (Wz, Uz, bz, cz), (Wn, Un, bn, cn) = blocks
            r = torch.sigmoid(x @ Wr.T + br + h @ Ur.T + cr)
            z = torch.sigmoid(x @ Wz.T + bz + h @ Uz.T + cz)
            for c in mine:
                units = slice(None) if c.unit is None else c.unit
                if c.kind == "reset":
                    r[:, units] = c.value
                if c.kind == "update":
                    z[:, units] = c.value
            if reset == "after":
                n = torch.tanh(x @ Wn.T + bn + r * (h @ Un.T + cn))
            else:
                n = torch.tanh(x @ Wn.T + bn + (r * h) @ Un.T + cn)
            h = z * h + (1 - z) * n
            for c in mine:
                if c.kind == "silence":
                    h[:, slice(None) if c.unit is None else c.unit] = 0
            for k, v in zip("rznh", (r, z, n, h), strict=True):
                rows[k].append(v)
        for k in "rznh":
            out[k].append(torch.stack(rows[k]))
        inputs = out["h"][-1]
    log_probs = lm.head(inputs).log_softmax(-1).transpose(0, 1).detach()
    return tuple(torch.stack(out[k]) for k in "rznh"), log_probs


CASES = [
    (),
    (Intervention("update", 0, unit=2, value=0.9),),
    (Intervention("update", None, value=0.5),),
    (Intervention("reset", 1, value=1.0),),
    (Intervention("reset", None, unit=4, value=0.0),),
    (Intervention("silence", 0, unit=1),),
    (Intervention("silence", 1),),
    (Intervention("cut", None, at=3),),
    (Intervention("cut", 1, at=0), Intervention("cut", None, at=6)),
    (Intervention("cut", None, at=4), Intervention("update", 1, unit=0, value=0.2), Intervention("silence", 0, unit=5)),
    (Intervention("update", 0, value=0.3), Intervention("update", 0, unit=1, value=0.7)),  # the later one wins
]


@pytest.mark.parametrize("changes", CASES, ids=lambda c: "+".join(i.kind for i in c) or "none")
@pytest.mark.parametrize("kind", ["gru1", "gru2", "gru3", "scratch_after", "scratch_before"])
def test_trace_layers_equals_the_equations_with_the_interventions_by_hand(kind, changes):
    if kind.startswith("scratch"):
        lm = _lm("gru_scratch", reset=kind.split("_")[1])
        changes = tuple(c for c in changes if c.layer in (None, 0))
    else:
        lm = _lm("gru", layers=int(kind[-1]))
        changes = tuple(c for c in changes if c.layer is None or c.layer < lm.rnn.num_layers)
    tokens = torch.randint(0, 9, (3, 10), generator=torch.Generator().manual_seed(4))
    run = trace_layers(lm, tokens, changes)
    (r, z, n, h), log_probs = reference_run(lm, tokens, changes)
    for got, want in zip((run.r, run.z, run.n, run.h), (r, z, n, h), strict=True):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    torch.testing.assert_close(run.log_probs, log_probs, atol=1e-12, rtol=0)
    assert run.interventions == changes
    torch.testing.assert_close(run.x, lm.embed(tokens).detach(), atol=0, rtol=0)
    # each step starts from the state the one before it left (zero after a cut)
    for layer in range(run.h.shape[0]):
        cuts = {c.at + 1 for c in changes if c.kind == "cut" and c.layer in (None, layer)}
        for t in range(10):
            want = torch.zeros_like(run.h[layer, t]) if t == 0 or t in cuts else run.h[layer, t - 1]
            torch.testing.assert_close(run.h_prev[layer, t], want, atol=0, rtol=0)


def test_trace_layers_without_interventions_is_the_models_forward_pass():
    lm = _lm("gru", layers=2)
    lm.train()  # dropout on: the tracer reads without it
    tokens = torch.randint(0, 9, (2, 12))
    run = trace_layers(lm, tokens)
    lm.eval()
    with torch.no_grad():
        logits, state = lm(tokens)
    torch.testing.assert_close(run.log_probs, logits.log_softmax(-1), atol=1e-12, rtol=0)
    torch.testing.assert_close(run.h[:, -1], state, atol=1e-12, rtol=0)
    for layer in range(2):  # the same gates trace_gates gives, layer by layer
        for got, want in zip(
            trace_gates(lm, tokens, layer=layer), (run.r[layer], run.z[layer], run.n[layer], run.h[layer]), strict=True
        ):
            torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_trace_layers_runs_each_layer_once(monkeypatch):
    calls = []
    run_layer = gates._run_layer

    def counted(rnn, layer, *args):
        calls.append(layer)
        return run_layer(rnn, layer, *args)

    monkeypatch.setattr(gates, "_run_layer", counted)
    trace_layers(_lm("gru", layers=3), torch.randint(0, 9, (1, 8)))
    assert calls == [0, 1, 2]


def test_a_cut_reads_what_follows_from_a_zero_state():
    lm = _lm("gru", layers=2)
    tokens = torch.randint(0, 9, (1, 12))
    run = trace_layers(lm, tokens, [Intervention("cut", None, at=4)])
    after = trace_layers(lm, tokens[:, 5:])  # the text after the cut, read alone
    torch.testing.assert_close(run.log_probs[:, 5:], after.log_probs, atol=1e-12, rtol=0)
    torch.testing.assert_close(run.log_probs[:, :5], trace_layers(lm, tokens[:, :5]).log_probs, atol=1e-12, rtol=0)


def test_an_update_gate_of_one_freezes_the_state():
    lm = _lm("gru", layers=2)
    run = trace_layers(lm, torch.randint(0, 9, (2, 7)), [Intervention("update", 0, value=1.0)])
    assert float(run.h[0].abs().max()) == 0.0 and float(run.h[1].abs().max()) > 0
    assert bool((run.z[0] == 1).all()) and bool((run.z[1] < 1).all())


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("clamp", 0), ValueError, "kind must be one of 'update', 'reset', 'silence', 'cut'"),
        ((3, 0), TypeError, "kind must be one of"),
        (("update", 0), ValueError, "value is required for kind='update'"),
        (("reset", 0, None, 1.5), ValueError, r"value must be a finite number in \[0.0, 1.0\]"),
        (("reset", 0, None, "high"), TypeError, "value must be a real number"),
        (("silence", 0, 3, 0.5), ValueError, "value is not taken for kind='silence'"),
        (("cut", None), ValueError, "at is required for kind='cut'"),
        (("cut", None, 2, None, 5), ValueError, "unit must be None for a 'cut'"),
        (("update", 0, None, 0.5, 3), ValueError, "at is not taken for kind='update'"),
        (("silence", -1), ValueError, "layer must be an integer at least 0"),
        (("silence", True), TypeError, "layer must be an integer"),
        (("silence", 0, 2.0), TypeError, "unit must be an integer"),
        (("cut", None, None, None, -2), ValueError, "at must be an integer at least 0"),
    ],
)
def test_an_intervention_is_checked_when_made(args, error, match):
    with pytest.raises(error, match=match):
        Intervention(*args)


def test_interventions_beyond_the_model_or_the_passage_are_refused():
    lm = _lm("gru", layers=2)
    tokens = torch.randint(0, 9, (1, 6))
    with pytest.raises(ValueError, match=r"names layer 2, but the GRU has layers 0\.\.1"):
        trace_layers(lm, tokens, [Intervention("silence", 2)])
    with pytest.raises(ValueError, match=r"names unit 6, but each layer has units 0\.\.5"):
        trace_layers(lm, tokens, [Intervention("update", 0, unit=6, value=0.5)])
    with pytest.raises(ValueError, match=r"cuts after character 6, but the passage has characters 0\.\.5"):
        trace_layers(lm, tokens, [Intervention("cut", None, at=6)])
    with pytest.raises(TypeError, match="interventions must be a list of Intervention"):
        trace_layers(lm, tokens, [("update", 0, None, 0.5)])
    with pytest.raises(TypeError, match="model must be an RNNLM around an nn.GRU or a GRUScratch"):
        trace_layers(build_lm("lstm", vocab_size=9, hidden_size=6), tokens)
    with pytest.raises(TypeError, match="model must be an RNNLM"):
        trace_layers(nn.GRU(3, 4), tokens)
    with pytest.raises(ValueError, match="at least one sequence of one token"):
        trace_layers(lm, torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(TypeError, match="tokens must be"):
        trace_layers(lm, [[1, 2, 3]])
    one = trace_layers(lm, tokens, Intervention("silence", 1))  # one intervention alone is a list of one
    assert one.interventions == (Intervention("silence", 1),)

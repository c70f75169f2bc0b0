"""The self-checks of the exercises worked on paper first: the GRU step's Jacobian (7) and the
parameter counts of recurrent layers (8). Each compares the reader's formula with PyTorch itself."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from d2lutil._checks import show
from d2lutil.exercises.checks_cells import TOLERANCE
from d2lutil.exercises.probes import SATURATED_LOGIT
from d2lutil.exercises.verdict import answer_callable, not_attempted, passed

JacobianFn = Callable[[nn.GRU, Tensor, Tensor], Tensor]
LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def step_jacobian(gru: nn.GRU, x: Tensor, h: Tensor) -> Tensor:
    """dH_t/dH_{t-1} of one ``nn.GRU`` step by autograd: x (d,), h (h,) -> J (h, h), J[i, j] = dH_t[i] / dh[j]."""

    def step(state: Tensor) -> Tensor:
        return gru(x[None, None], state[None, None])[1][0, 0]

    return torch.autograd.functional.jacobian(step, h)


def _random_gru(d: int, h: int, seed: int, z_logit: float | None = None, r_value: float | None = None) -> nn.GRU:
    """A float64 nn.GRU with random weights; with ``z_logit`` its update gate is pinned (bias +-40, no weights)."""
    torch.manual_seed(seed)
    gru = nn.GRU(d, h).double()
    if z_logit is not None:
        with torch.no_grad():
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_hh_l0"):
                gru.get_parameter(name)[h : 2 * h] = 0.0
            gru.get_parameter("bias_ih_l0")[h : 2 * h] = z_logit
            if r_value is not None:  # the reset gate pinned as well
                for name in ("weight_ih_l0", "weight_hh_l0", "bias_hh_l0"):
                    gru.get_parameter(name)[:h] = 0.0
                logit = SATURATED_LOGIT * (2 * r_value - 1) if r_value in (0.0, 1.0) else 0.0
                gru.get_parameter("bias_ih_l0")[:h] = logit
    return gru


def check_exercise_7(jacobian: JacobianFn | None, identity_when: tuple[object, object] | None) -> bool | None:
    """Check ``jacobian(gru, x (d,), h (h,)) -> J (h, h)`` against autograd, and when J is the identity.

    ``J[i, j] = dH_t[i] / dH_{t-1}[j]`` for one step of an ``nn.GRU`` (reset after, two biases).
    ``identity_when``: the gate values ``(r, z)`` for which J is the identity, ``None`` where the
    value does not matter (as in exercise 2).
    """
    if jacobian is None and identity_when is None:
        return not_attempted(7, "`gru_jacobian` and `identity_when`")
    assert jacobian is not None, "write gru_jacobian(gru, x, h)"
    answer_callable(7, "gru_jacobian", jacobian, "(gru, x (d,), h (h,)) -> J (h, h)")
    for d, h, seed in ((3, 4, 0), (2, 5, 1), (4, 1, 2)):
        gru = _random_gru(d, h, seed)
        gen = torch.Generator().manual_seed(seed)
        x, state = (
            torch.randn(d, generator=gen, dtype=torch.float64),
            torch.randn(h, generator=gen, dtype=torch.float64),
        )
        want = step_jacobian(gru, x, state)
        with torch.no_grad():
            got = jacobian(gru, x.clone(), state.clone())
        assert isinstance(got, Tensor), f"gru_jacobian must return a tensor (h, h), got {show(got)}"
        assert got.shape == (h, h), f"gru_jacobian must return J of shape (h, h) = {(h, h)}, got {tuple(got.shape)}"
        assert got.dtype in TOLERANCE, f"gru_jacobian must return a float tensor, got dtype {got.dtype}"
        err = float((got.detach().cpu().double() - want).abs().max())
        if not err <= 1e3 * TOLERANCE[got.dtype]:  # NaN fails too
            w_ih, w_hh = gru.get_parameter("weight_ih_l0"), gru.get_parameter("weight_hh_l0")
            b_ih, b_hh = gru.get_parameter("bias_ih_l0"), gru.get_parameter("bias_hh_l0")
            gh = state @ w_hh.T + b_hh
            z = torch.sigmoid(x @ w_ih[h : 2 * h].T + b_ih[h : 2 * h] + gh[h : 2 * h])
            only_z = float((got.detach().double() - torch.diag(z.detach())).abs().max()) < 1e-6
            hint = (
                " It is diag(Z) alone: the gates and the candidate depend on H_{t-1} too, so add their terms."
                if only_z
                else " Differentiate H_t = Z * H + (1 - Z) * N with the product rule: diag(Z), plus (H - N) times "
                "dZ/dH, plus (1 - Z) times dN/dH, where N reads H both through W_hn and through R."
            )
            raise AssertionError(
                f"your Jacobian differs from autograd's by up to {err:.3g} (d = {d}, h = {h}; J[i, j] = "
                f"dH_t[i]/dH_(t-1)[j]).{hint}"
            )
    assert identity_when is not None, "fill in identity_when: the pair (r, z) for which J is the identity"
    assert isinstance(identity_when, tuple) and len(identity_when) == 2, (
        f"identity_when must be a pair (r, z), None where a value does not matter, got {show(identity_when)}"
    )
    r_answer, z_answer = identity_when
    assert z_answer == 1 and not isinstance(z_answer, bool), (
        f"with z = {z_answer!r} the Jacobian is not the identity: H_t keeps H_(t-1) with weight Z, "
        "so which Z copies it exactly?"
    )
    assert r_answer is None, (
        f"r = {r_answer!r}: once Z = 1 the candidate is multiplied by 1 - Z = 0, so the reset gate does not matter; "
        "answer None"
    )
    for r_value in (0.0, 0.5, 1.0):  # the claim, measured: J = I whatever R is, once Z = 1
        gru = _random_gru(3, 4, 3, z_logit=SATURATED_LOGIT, r_value=r_value)
        J = step_jacobian(gru, torch.randn(3, dtype=torch.float64), torch.randn(4, dtype=torch.float64))
        assert torch.allclose(J, torch.eye(4, dtype=torch.float64), atol=1e-12), "internal: Z = 1 should give J = I"
    return passed(
        7,
        "J = diag(Z) + diag(H - N) dZ/dH + diag(1 - Z) dN/dH, as autograd computes it; with Z = 1 the last two "
        "terms vanish and the state is copied with J = I, whatever R does.",
    )


def check_exercise_8(count: Callable[[str, int, int], int] | None) -> bool | None:
    """Check ``count(kind, input_size, hidden_size) -> int`` for ``"rnn"``, ``"gru"``, ``"lstm"`` against ``nn.*``.

    One layer, with biases, as ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM`` build it.
    """
    if count is None:
        return not_attempted(8, "`count_parameters(kind, input_size, hidden_size)`")
    answer_callable(8, "count_parameters", count, "(kind, input_size, hidden_size) -> int")
    blocks = {"rnn": 1, "gru": 3, "lstm": 4}
    for kind, layer in LAYERS.items():
        for d, h in ((28, 64), (5, 3), (64, 256), (1, 1)):
            want = sum(p.numel() for p in layer(d, h).parameters())
            got: object = count(kind, d, h)
            if isinstance(got, Tensor) and got.numel() == 1:
                got = got.item()
            assert isinstance(got, int) and not isinstance(got, bool), (
                f"count_parameters({kind!r}, {d}, {h}) must return an int, got {show(got)}"
            )
            k = blocks[kind]
            hints = {
                k * h: " One bias vector short: PyTorch keeps two per block (b_ih and b_hh).",
                2 * k * h: " No biases counted: each block has two bias vectors of size h.",
                k * d * h: " The input weights are missing (d x h per block).",
                k * h * h: " The recurrent weights are missing (h x h per block).",
            }
            assert got == want, (
                f"count_parameters({kind!r}, {d}, {h}) = {got:,}, but nn.{layer.__name__}({d}, {h}) has {want:,}."
                + hints.get(
                    want - got,
                    f" Count, for each of its {k} block(s), the weights on the input, on the state, and the biases.",
                )
            )
    return passed(
        8,
        "Per block h(d + h) + 2h, and RNN : GRU : LSTM = 1 : 3 : 4 blocks. At equal width a GRU has 3x an RNN's "
        "parameters, so a fair comparison gives the RNN more units (or says why it does not).",
    )

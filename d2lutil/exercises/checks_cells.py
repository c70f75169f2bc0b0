"""The self-checks of the exercises about a cell's arithmetic: gates set by hand (2), one-gate
cells (4) and the flipped update convention (6). Each runs the reader's code on random inputs."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from d2lutil._checks import check_int, show
from d2lutil.exercises.cells import FlippedGRU, StepFn, load_weights
from d2lutil.exercises.probes import SATURATED_LOGIT, input_sensitivity
from d2lutil.exercises.verdict import answer_bool, answer_callable, not_attempted, passed
from d2lutil.models import GRUScratch, gru_step

GateSchedule = Callable[[int, int], "tuple[float | None, float | None]"]


def _schedule(gates: GateSchedule, T: int, t_prime: int, fill: float) -> tuple[list[float], list[float]]:
    r, z = [], []
    for t in range(T):
        pair = gates(t, t_prime)
        assert isinstance(pair, tuple) and len(pair) == 2, (
            f"gates({t}, {t_prime}) must return a pair (r, z) of gate values (None where the value "
            f"does not matter), got {pair!r}"
        )
        r.append(fill if pair[0] is None else _gate_value(pair[0], f"r in gates({t}, {t_prime})"))
        z.append(fill if pair[1] is None else _gate_value(pair[1], f"z in gates({t}, {t_prime})"))
    return r, z


def _gate_value(value: object, where: str) -> float:
    """A gate value the reader's schedule returned, as a float in [0, 1]."""
    number = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, Tensor) and value.numel() == 1 and value.dtype.is_floating_point:
        number = float(value)
    assert number is not None, f"{where} must be a number in [0, 1] or None, got {show(value)}"
    assert 0.0 <= number <= 1.0, f"{where} is {number}: a gate value lies in [0, 1] (it is a sigmoid)"
    return number


def check_exercise_2(gates: GateSchedule | None, T: int = 8) -> bool | None:
    """Check a gate schedule ``gates(t, t_prime) -> (r, z)`` for "only x_{t'} predicts the output at T-1".

    The schedule sets the gates of :func:`hand_set_gru`; the check measures, for several t', the
    gradient of the last state with respect to every input and to the initial state: it must be
    zero except for x_{t'}, where it must not vanish. A gate answered ``None`` (does not matter)
    is tried at 0, 1/2 and 1, and the claim must hold for each.
    """
    if gates is None:
        return not_attempted(2, "`gates(t, t_prime)`")
    answer_callable(2, "gates", gates, "(t, t_prime) -> (r, z)")
    T = check_int("T", T, minimum=5, maximum=64)
    for t_prime in (0, 3, T - 2, T - 1):
        for fill in (0.0, 0.5, 1.0):
            r, z = _schedule(gates, T, t_prime, fill)
            grads, g0 = input_sensitivity(r, z)
            where = f"(t' = {t_prime}, T = {T}, gates answered None set to {fill})"
            others = [t for t in range(T) if t != t_prime and grads[t] > 1e-9]
            assert grads[t_prime] > 1e-3, (
                f"the output at step {T - 1} does not depend on x_{t_prime} at all {where}: gradient "
                f"{float(grads[t_prime]):.1e}. "
                "The state written at t' is lost: what must the update gate do at t' (take the "
                "candidate) and after it (keep the state)?"
            )
            assert not others, (
                f"the output at step {T - 1} still depends on inputs at steps {others} {where}; gradient norms "
                f"{[round(float(g), 4) for g in grads]}. Which gate lets later inputs in, or lets "
                "earlier ones survive t'?"
            )
            assert g0 <= 1e-9, (
                f"the output at step {T - 1} still depends on the initial state H_0 {where} (gradient "
                f"{g0:.1e}): at t' the "
                "candidate must not read the old state, and the new state must not keep it. Which gate does each?"
            )
    return passed(
        2,
        "At t' the update gate is 0 (take the candidate) and the reset gate 0 (the candidate reads only x_t'); "
        "after t' the update gate is 1 (copy), whatever the reset gate does.",
    )


def _as_gru(
    gi: Tensor, W_h: Tensor, b_h: Tensor, cell: Literal["reset_only", "update_only"]
) -> tuple[Tensor, Tensor, Tensor]:
    """Embed a two-block (gate, n) cell into GRU weights (r, z, n), the missing gate pinned.

    ``"reset_only"``: the gate block is R and Z is pinned at 0; ``"update_only"``: the gate block
    is Z and R is pinned at 1. Returns (gi (B, 3h), W_h (h, 3h), b_h (3h,)) for :func:`gru_step`.
    """
    hidden = W_h.shape[0]
    zeros_w, zeros_b = torch.zeros_like(W_h[:, :hidden]), torch.zeros_like(b_h[:hidden])
    g, n = gi[:, :hidden], gi[:, hidden:]
    W_g, W_n, b_g, b_n = W_h[:, :hidden], W_h[:, hidden:], b_h[:hidden], b_h[hidden:]
    if cell == "reset_only":
        z_pinned_at_0 = torch.full_like(g, -SATURATED_LOGIT)
        return torch.cat([g, z_pinned_at_0, n], 1), torch.cat([W_g, zeros_w, W_n], 1), torch.cat([b_g, zeros_b, b_n])
    r_pinned_at_1 = torch.full_like(g, SATURATED_LOGIT)
    return torch.cat([r_pinned_at_1, g, n], 1), torch.cat([zeros_w, W_g, W_n], 1), torch.cat([zeros_b, b_g, b_n])


def _step_cases(seed: int = 0) -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for B, h in ((3, 5), (1, 2), (4, 7)):
        cases.append(
            tuple(
                torch.randn(*s, generator=gen, dtype=torch.float64) for s in ((B, 2 * h), (B, h), (h, 2 * h), (2 * h,))
            )
        )
    return cases  # type: ignore[return-value]


# How close a step computed in the reader's precision must come to the float64 reference.
TOLERANCE = {torch.float64: 1e-8, torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}


def _call_step(step: StepFn, name: str, args: tuple[Tensor, ...]) -> tuple[Tensor, float]:
    """The reader's step on float64 inputs, as a float64 CPU tensor, and the tolerance of its dtype.

    A step that computes in float32 (or half precision) is compared within that precision's error.
    """
    out = step(*(a.clone() for a in args))
    assert isinstance(out, Tensor), f"{name} must return the new state as a tensor (B, h), got {show(out)}"
    assert out.shape == args[1].shape, (
        f"{name} must return the new state of shape (B, h) = {tuple(args[1].shape)}, got {tuple(out.shape)}"
    )
    assert out.dtype in TOLERANCE, f"{name} must return a float tensor, got dtype {out.dtype}"
    return out.detach().to("cpu", torch.float64), TOLERANCE[out.dtype]


def check_exercise_4(reset_only: StepFn | None, update_only: StepFn | None) -> bool | None:
    """Check the two one-gate steps against a GRU step with the other gate pinned.

    Both take ``(gi (B, 2h), h (B, h), W_h (h, 2h), b_h (2h,))`` with blocks stacked (gate, n)
    and return the new state (B, h). The reset-only cell must equal a GRU with Z = 0 (three reset
    conventions are accepted: nn.GRU's R * (h W_hn + b_hn), gluonbook's R * (h W_hn) + b_hn and the
    d2l text's (R * h) W_hn + b_hn); the update-only cell a GRU with R = 1.
    """
    if reset_only is None and update_only is None:
        return not_attempted(4, "`reset_only_cell_step` and `update_only_cell_step`")
    assert reset_only is not None and update_only is not None, (
        "write both steps: the reset-only one and the update-only one"
    )
    signature = "(gi, h, W_h, b_h) -> new state (B, h)"
    answer_callable(4, "reset_only", reset_only, signature)
    answer_callable(4, "update_only", update_only, signature)
    conventions = set()
    for gi, h, W_h, b_h in _step_cases():
        hidden = h.shape[-1]
        out, atol = _call_step(reset_only, "the reset-only step", (gi, h, W_h, b_h))
        gi3, W3, b3 = _as_gru(gi, W_h, b_h, "reset_only")
        after, before = gru_step(gi3, h, W3, b3, "after").h, gru_step(gi3, h, W3, b3, "before").h
        plain = torch.tanh(gi[:, hidden:] + h @ W_h[:, hidden:] + b_h[hidden:])
        r = torch.sigmoid(gi[:, :hidden] + h @ W_h[:, :hidden] + b_h[:hidden])
        bias_outside = torch.tanh(gi[:, hidden:] + r * (h @ W_h[:, hidden:]) + b_h[hidden:])
        if torch.allclose(out, after, atol=atol):
            conventions.add("reset after the matmul, R * (h W_hn + b_hn), as nn.GRU")
        elif torch.allclose(out, bias_outside, atol=atol):
            conventions.add(
                "reset after the matmul with b_hn outside it, R * (h W_hn) + b_hn, as gluonbook's code computes it"
            )
        elif torch.allclose(out, before, atol=atol):
            conventions.add("reset before the matmul, (R * h) W_hn, as the d2l text")
        else:
            hint = (
                " It equals a plain tanh RNN step: the reset gate never acts."
                if torch.allclose(out, plain, atol=atol)
                else " With Z pinned at 0 the new state is the candidate itself: tanh(x W_xn + b_xn "
                "+ R * (h W_hn + b_hn)) as nn.GRU, tanh(x W_xn + b_xn + R * (h W_hn) + b_hn) as gluonbook, or "
                "tanh(x W_xn + b_xn + (R * h) W_hn + b_hn) as the d2l text; each is accepted."
            )
            raise AssertionError(
                "the reset-only step differs from a GRU step with Z = 0 by up to "
                f"{float((out - after).abs().max()):.3g}.{hint}"
            )
        out, atol = _call_step(update_only, "the update-only step", (gi, h, W_h, b_h))
        gi3, W3, b3 = _as_gru(gi, W_h, b_h, "update_only")
        want = gru_step(gi3, h, W3, b3, "after").h
        if not torch.allclose(out, want, atol=atol):
            z = torch.sigmoid(gi[:, :hidden] + h @ W_h[:, :hidden] + b_h[:hidden])
            n = torch.tanh(gi[:, hidden:] + h @ W_h[:, hidden:] + b_h[hidden:])
            flipped = torch.allclose(out, z * n + (1 - z) * h, atol=atol)
            hint = (
                " You weighted the candidate by Z; the chapter's convention is H' = Z * H + (1 - Z) "
                "* N (exercise 6 asks "
                "whether the other one matters)."
                if flipped
                else " With R pinned at 1: N = tanh(x W_xn + b_xn + h W_hn + b_hn), H' = Z * H + (1 - Z) * N."
            )
            raise AssertionError(
                "the update-only step differs from a GRU step with R = 1 by up to "
                f"{float((out - want).abs().max()):.3g}.{hint}"
            )
    how = "; ".join(sorted(conventions))
    return passed(4, f"The reset-only step is a GRU with Z = 0 ({how}); the update-only step is a GRU with R = 1.")


def check_exercise_6(
    flip: Callable[..., tuple[Tensor, Tensor, Tensor, Tensor]] | None, same_family: bool | None
) -> bool | None:
    """Check ``flip(W_x, W_h, b_x, b_h) -> (W_x', W_h', b_x', b_h')`` and the verdict ``same_family``.

    The tensors are in GRUScratch layout (columns stacked r, z, n). A :class:`FlippedGRU` given
    the flipped weights must compute exactly what the GRUScratch computes with the originals, on
    random inputs and states. ``same_family`` says
    whether the flipped convention describes the same set of models.
    """
    if flip is None and same_family is None:
        return not_attempted(6, "`flip_update_gate` and `same_family`")
    assert flip is not None, "write flip_update_gate(W_x, W_h, b_x, b_h)"
    answer_callable(6, "flip_update_gate", flip, "(W_x, W_h, b_x, b_h) -> (W_x', W_h', b_x', b_h')")
    if same_family is not None:
        same_family = answer_bool(6, "same_family", same_family)
    gen = torch.Generator().manual_seed(0)
    for d, h in ((3, 4), (5, 2)):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        gru = GRUScratch(d, h).double()
        originals = [p.detach().clone() for p in (gru.W_x, gru.W_h, gru.b_x, gru.b_h)]
        flipped = flip(*(p.detach().clone() for p in originals))
        assert (
            isinstance(flipped, (tuple, list)) and len(flipped) == 4 and all(isinstance(w, Tensor) for w in flipped)
        ), f"flip_update_gate must return four tensors (W_x, W_h, b_x, b_h), got {show(flipped)}"
        assert all(w.dtype in TOLERANCE for w in flipped), (
            f"flip_update_gate must return float tensors, got dtypes {[w.dtype for w in flipped]}"
        )
        tolerance = max([1e-10, *(TOLERANCE[w.dtype] for w in flipped if w.dtype != torch.float64)])
        flipped_gru = load_weights(FlippedGRU(d, h).double(), *(w.detach().cpu() for w in flipped))
        X = torch.randn(6, 3, d, generator=gen, dtype=torch.float64)
        H0 = torch.randn(1, 3, h, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            want, got = gru(X, H0)[0], flipped_gru(X, H0)[0]
        err = float((want - got).abs().max())
        if not err <= tolerance:  # NaN fails too
            raise AssertionError(
                f"the flipped GRU with your weights differs from the original by up to {err:.3g}. Z' "
                "= 1 - Z must hold for "
                "every input and state: sigmoid(-a) = 1 - sigmoid(a), so which parts of the z-gate's pre-activation "
                "a = x W_xz + b_xz + h W_hz + b_hz must change sign? (Only the z columns, and all four of them.)"
            )
    assert same_family is not None, "fill in same_family: does the flipped convention describe the same set of models?"
    assert same_family is True, (
        "your flip maps every GRU onto a flipped GRU with the same outputs, and the inverse map is "
        "the same flip, so the two "
        "conventions describe the same set of models: same_family should be True"
    )
    return passed(
        6,
        "Negating the z-gate's weights and biases turns Z into 1 - Z: the flipped convention is the same model family, "
        "and with the initialisation symmetric about 0 even the same distribution of starting points.",
    )

"""Self-checks and small helpers for the chapter's exercises (notebook 6).

Every ``check_exercise_N`` prints ``Exercise N: not attempted yet ...`` and returns None while its
scaffold is untouched (the answer is still ``None``), raises ``AssertionError`` with a message that
says what is wrong on a wrong answer, and prints a short confirmation and returns True on a right
one. The checks test behaviour, not text: they run the reader's code or re-measure the reader's
figures.

Helpers:

* :func:`lm_trial`: train one character language model on The Time Machine and measure it
  (time, held-out perplexity, generated text), the unit of exercises 1, 3 and 4.
* :class:`OneGateRNN` with :func:`reset_only_step` / :func:`update_only_step`: the two one-gate
  cells of exercise 4, with ``nn.GRU``'s interface (:class:`ResetOnlyGRU`, :class:`UpdateOnlyGRU`).
* :func:`hand_set_gru` and :func:`input_sensitivity`: an ``nn.GRU`` whose gates follow a schedule
  set by hand, and how much its last state depends on each input (exercise 2).
* :class:`FlippedGRU`: a GRU with the update convention flipped, H' = Z * N + (1 - Z) * H (exercise 6).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from d2lutil.data import TimeMachine, WindowLoader
from d2lutil.models import GRUScratch, _check_input, _uniform, build_lm, gru_step
from d2lutil.train import evaluate_perplexity, predict, set_seed, train

StepFn = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
HYPER_PARAMETERS = ("hidden_size", "num_steps", "lr", "clip", "batch_size")
LM_KINDS = ("rnn_scratch", "rnn", "gru_scratch", "gru")
_BIG = 40.0  # a gate logit this large gives sigmoid = 1 (or 0) to float64 precision


def _not_attempted(n: int, what: str) -> bool | None:
    """Say the scaffold is untouched; returns None (neither passed nor failed)."""
    print(f"Exercise {n}: not attempted yet. Fill in {what} above, then run this cell again.")
    return None


def _passed(n: int, message: str) -> bool:
    print(f"Exercise {n}: correct. {message}")
    return True


# ---------------------------------------------------------------------------------------------
# A measured language-model run (exercises 1, 3, 4)


def lm_trial(
    data: TimeMachine,
    kind: str | nn.Module,
    hidden_size: int = 64,
    batch_size: int = 128,
    num_steps: int = 32,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    num_epochs: int = 1,
    train_chars: int | None = None,
    optimizer: str = "adam",
    seed: int = 0,
    prefix: str = "time traveller",
    num_preds: int = 40,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Train one character LM and measure it; returns a row for a results table.

    ``kind``: a :func:`d2lutil.build_lm` kind (``"gru"``, ``"rnn_scratch"``, ...) with one-hot
    input, or a recurrent layer with nn.GRU's interface whose ``input_size`` is the vocabulary
    size. ``train_chars`` limits training to the first that many characters (None: all 90%).
    The row holds the hyper-parameters, ``model``, ``seconds`` (training steps only),
    ``tokens_per_s``, ``train_ppl``, ``val_ppl`` (held-out, the last 10% of the book) and
    ``sample`` (greedy continuation of ``prefix``).
    """
    from d2lutil.models import RNNLM

    set_seed(seed)
    vocab_size = len(data.vocab)
    if isinstance(kind, str):
        model = build_lm(kind, vocab_size, hidden_size)
        name = kind
    else:
        model = RNNLM(kind, vocab_size)
        name = type(kind).__name__
    device = device or torch.device("cpu")
    model.to(device)
    tokens = data.train_tokens if train_chars is None else data.train_tokens[:train_chars]
    loader = WindowLoader(tokens, batch_size, num_steps, seed=seed)
    history = train(
        model,
        loader,
        data.val_tokens,
        num_epochs=num_epochs,
        lr=lr,
        optimizer=optimizer,  # type: ignore[arg-type]
        clip=clip,
        device=device,
        plot=False,
        progress=False,
    )
    return {
        "kind": name,
        "hidden_size": hidden_size,
        "num_steps": num_steps,
        "lr": lr,
        "clip": clip,
        "batch_size": batch_size,
        "model": model,
        "seconds": history.train_seconds,
        "tokens_per_s": history.tokens / max(history.train_seconds, 1e-9),
        "train_ppl": history.train_ppl[-1],
        "val_ppl": history.val_ppl[-1],
        "sample": predict(prefix, num_preds, model, data.vocab, device=device),
    }


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of ``rows`` (dicts) with the given columns; floats get 3 significant digits."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
        return str(value)

    body = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Exercise 1: plain RNN vs GRU


def _family(kind: str) -> str:
    return "gru" if kind.startswith("gru") else "rnn"


def check_exercise_1(
    results: dict[str, dict[str, Any]] | None, answer: dict[str, str] | None, data: TimeMachine
) -> bool | None:
    """Check the RNN-vs-GRU comparison.

    ``results``: kind -> row for each of ``"rnn_scratch"``, ``"rnn"``, ``"gru_scratch"``, ``"gru"``,
    each row with ``model``, ``seconds``, ``val_ppl`` and ``sample`` (as :func:`lm_trial` returns).
    The held-out perplexity of every model is measured again and must match the row's.
    ``answer``: ``{"faster": "rnn" or "gru", "lower_perplexity": "rnn" or "gru"}``, read from the
    table: ``faster`` compares ``nn.RNN`` with ``nn.GRU`` (fewer seconds for the same budget),
    ``lower_perplexity`` the best held-out perplexity of each family.
    """
    if results is None and answer is None:
        return _not_attempted(1, "`ex1_results` and `ex1_answer`")
    assert isinstance(results, dict), f"ex1_results must be a dict kind -> row, got {type(results).__name__}"
    missing = [k for k in LM_KINDS if k not in results]
    assert not missing, f"ex1_results lacks {missing}: train every one of {list(LM_KINDS)} with the same budget"
    for kind in LM_KINDS:
        row = results[kind]
        for key in ("model", "seconds", "val_ppl", "sample"):
            assert key in row, f"the row of {kind!r} lacks {key!r} (it has {sorted(row)})"
        assert row["seconds"] > 0, f"{kind}: seconds must be the measured training time, got {row['seconds']}"
        measured = evaluate_perplexity(row["model"], data.val_tokens)
        assert math.isclose(measured, row["val_ppl"], rel_tol=1e-3), (
            f"{kind}: the table says held-out perplexity {row['val_ppl']:.3f}, but the model scores {measured:.3f} "
            "on the held-out part (data.val_tokens, read with evaluate_perplexity). Is it the training perplexity, "
            "or the perplexity of another model?"
        )
        assert isinstance(row["sample"], str) and len(row["sample"]) > len("time traveller"), (
            f"{kind}: 'sample' must be generated text (predict(prefix, num_preds, model, vocab)), got {row['sample']!r}"
        )
    assert isinstance(answer, dict) and {"faster", "lower_perplexity"} <= set(answer), (
        'ex1_answer must be {"faster": "rnn" or "gru", "lower_perplexity": "rnn" or "gru"}'
    )
    faster = "rnn" if results["rnn"]["seconds"] < results["gru"]["seconds"] else "gru"
    best = {
        fam: min(r["val_ppl"] for k, r in results.items() if k in LM_KINDS and _family(k) == fam)
        for fam in ("rnn", "gru")
    }
    lower = "rnn" if best["rnn"] < best["gru"] else "gru"
    assert answer["faster"] == faster, (
        f"your table says nn.RNN took {results['rnn']['seconds']:.2f} s and nn.GRU {results['gru']['seconds']:.2f} s "
        f"for the same budget, so the faster one is {faster!r}, not {answer['faster']!r}"
    )
    assert answer["lower_perplexity"] == lower, (
        f"your table's best held-out perplexities are RNN {best['rnn']:.2f} and GRU {best['gru']:.2f}, "
        f"so the lower one is {lower!r}, not {answer['lower_perplexity']!r}"
    )
    return _passed(
        1,
        f"The measurements are consistent: {faster.upper()} is faster, {lower.upper()} reaches the "
        "lower held-out perplexity.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise 2: gates set by hand

GateSchedule = Callable[[int, int], "tuple[float | None, float | None]"]


def _logit(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise AssertionError(f"a gate value must lie in [0, 1] (it is a sigmoid), got {v}")
    if v <= 0.0:
        return -_BIG
    if v >= 1.0:
        return _BIG
    return math.log(v / (1.0 - v))


def hand_set_gru(
    r: Sequence[float], z: Sequence[float], input_size: int = 3, hidden_size: int = 4, seed: int = 0
) -> nn.GRU:
    """An ``nn.GRU`` (float64) whose reset and update gates follow the schedules ``r`` and ``z``.

    The gates cannot see the data: their weights on the data and on the state are zero, and the
    input carries, besides ``input_size`` data features, a one-hot clock of ``T = len(r)``
    channels whose weight into each gate at step t is the logit of ``r[t]`` / ``z[t]`` (+-40 for
    1 and 0, so the sigmoid gives exactly 1 or 0). The candidate has random weights on the data
    and the state. Feed it ``with_clock(X)``: X (T, B, input_size) -> (T, B, input_size + T).
    """
    T = len(r)
    if len(z) != T:
        raise ValueError(f"r and z must have one value per step, got {len(r)} and {len(z)}")
    gen = torch.Generator().manual_seed(seed)
    h, d = hidden_size, input_size
    gru = nn.GRU(d + T, h).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.zero_()
        w_ih, w_hh = (
            gru.get_parameter("weight_ih_l0"),
            gru.get_parameter("weight_hh_l0"),
        )  # (3h, d+T), (3h, h), rows r, z, n
        for t in range(T):
            w_ih[:h, d + t] = _logit(float(r[t]))
            w_ih[h : 2 * h, d + t] = _logit(float(z[t]))
        w_ih[2 * h :, :d] = torch.randn(h, d, generator=gen, dtype=torch.float64)
        w_hh[2 * h :] = torch.randn(h, h, generator=gen, dtype=torch.float64) / math.sqrt(h)
        gru.get_parameter("bias_ih_l0")[2 * h :] = 0.1 * torch.randn(h, generator=gen, dtype=torch.float64)
        gru.get_parameter("bias_hh_l0")[2 * h :] = 0.1 * torch.randn(h, generator=gen, dtype=torch.float64)
    return gru


def with_clock(X: Tensor) -> Tensor:
    """Append a one-hot clock to inputs X (T, B, d): returns (T, B, d + T)."""
    T, B, _ = X.shape
    clock = torch.eye(T, dtype=X.dtype, device=X.device)[:, None, :].expand(T, B, T)
    return torch.cat([X, clock], dim=-1)


def input_sensitivity(
    r: Sequence[float], z: Sequence[float], input_size: int = 3, hidden_size: int = 4, seed: int = 0
) -> tuple[Tensor, float]:
    """How much the last state of :func:`hand_set_gru` depends on each input and on the initial state.

    Runs the GRU from a random initial state H_0 over random inputs x_0..x_{T-1} and returns
    (the gradient norm of a random projection of H_{T-1} with respect to each x_t, shape (T,),
    the same gradient norm with respect to H_0). Zero means "does not depend on it".
    """
    T = len(r)
    gru = hand_set_gru(r, z, input_size, hidden_size, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(T, 1, input_size, generator=gen, dtype=torch.float64, requires_grad=True)
    H0 = torch.randn(1, 1, hidden_size, generator=gen, dtype=torch.float64, requires_grad=True)
    _, H = gru(with_clock(X), H0)
    w = torch.randn(hidden_size, generator=gen, dtype=torch.float64)
    (H[0, 0] @ w).backward()
    assert X.grad is not None and H0.grad is not None
    return X.grad[:, 0].norm(dim=-1), float(H0.grad.norm())


def _schedule(gates: GateSchedule, T: int, t_prime: int, fill: float) -> tuple[list[float], list[float]]:
    r, z = [], []
    for t in range(T):
        pair = gates(t, t_prime)
        assert isinstance(pair, tuple) and len(pair) == 2, (
            f"gates({t}, {t_prime}) must return a pair (r, z) of gate values (None where the value "
            f"does not matter), got {pair!r}"
        )
        r.append(fill if pair[0] is None else float(pair[0]))
        z.append(fill if pair[1] is None else float(pair[1]))
    return r, z


def check_exercise_2(gates: GateSchedule | None, T: int = 8) -> bool | None:
    """Check a gate schedule ``gates(t, t_prime) -> (r, z)`` for "only x_{t'} predicts the output at T-1".

    The schedule sets the gates of :func:`hand_set_gru`; the check measures, for several t', the
    gradient of the last state with respect to every input and to the initial state: it must be
    zero except for x_{t'}, where it must not vanish. A gate answered ``None`` (does not matter)
    is tried at 0, 1/2 and 1, and the claim must hold for each.
    """
    if gates is None:
        return _not_attempted(2, "`gates(t, t_prime)`")
    assert callable(gates), f"gates must be a function (t, t_prime) -> (r, z), got {type(gates).__name__}"
    for t_prime in (0, 3, T - 2):
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
    return _passed(
        2,
        "At t' the update gate is 0 (take the candidate) and the reset gate 0 (the candidate reads only x_t'); "
        "after t' the update gate is 1 (copy), whatever the reset gate does.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise 3: hyper-parameters


def check_exercise_3(rows: Sequence[dict[str, Any]] | None, answer: dict[str, str] | None) -> bool | None:
    """Check a one-factor-at-a-time sweep and what was read from it.

    ``rows``: the baseline run first, then runs that each change exactly one of
    ``hidden_size, num_steps, lr, clip, batch_size`` (every one changed at least once); each row
    has those five keys and ``seconds``, ``val_ppl``, ``sample`` (as :func:`lm_trial` returns).
    ``answer``: ``{"best": ..., "slowest": ...}``, each the hyper-parameter whose change gave the
    lowest held-out perplexity / the longest training time, or ``"baseline"`` if no change beat it.
    """
    if rows is None and answer is None:
        return _not_attempted(3, "`ex3_rows` and `ex3_answer`")
    assert isinstance(rows, (list, tuple)) and len(rows) >= 2, (
        "ex3_rows must be a list of runs: the baseline first, then one run per change"
    )
    for i, row in enumerate(rows):
        lacking = [k for k in (*HYPER_PARAMETERS, "seconds", "val_ppl", "sample") if k not in row]
        assert not lacking, f"run {i} lacks {lacking}"
        assert row["seconds"] > 0, f"run {i}: seconds must be the measured training time, got {row['seconds']}"
        assert 1.0 <= row["val_ppl"] < 1e3, (
            f"run {i}: held-out perplexity {row['val_ppl']} is not a perplexity of a character model"
        )
    base = rows[0]
    changed_by: list[str] = []
    for i, row in enumerate(rows[1:], start=1):
        diff = [k for k in HYPER_PARAMETERS if row[k] != base[k]]
        assert len(diff) == 1, (
            f"run {i} changes {diff or 'nothing'} relative to the baseline (run 0): change exactly one hyper-parameter "
            "per run, so that each difference in the table has one cause"
        )
        changed_by.append(diff[0])
    unvaried = [k for k in HYPER_PARAMETERS if k not in changed_by]
    assert not unvaried, f"no run changes {unvaried}: vary each of {list(HYPER_PARAMETERS)} at least once"
    assert isinstance(answer, dict) and {"best", "slowest"} <= set(answer), (
        'ex3_answer must be {"best": <hyper-parameter or "baseline">, "slowest": <hyper-parameter or "baseline">}'
    )
    labels = ["baseline", *changed_by]
    best = labels[min(range(len(rows)), key=lambda i: rows[i]["val_ppl"])]
    slowest = labels[max(range(len(rows)), key=lambda i: rows[i]["seconds"])]
    assert answer["best"] == best, (
        f"in your table the lowest held-out perplexity comes from changing {best!r}, not {answer['best']!r}"
    )
    assert answer["slowest"] == slowest, (
        f"in your table the longest training comes from changing {slowest!r}, not {answer['slowest']!r}"
    )
    return _passed(
        3,
        f"A clean one-factor sweep of {len(rows)} runs; changing {best} helped most, changing "
        f"{slowest} cost the most time.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise 4: one-gate cells


def reset_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """One step of a cell with only a reset gate (a GRU with Z pinned at 0), reset after the matmul.

    gi: (B, 2h) = X_t W_x + b_x stacked (r, n); h: (B, h); W_h: (h, 2h); b_h: (2h,). Returns H_t (B, h).
    """
    hidden = h.shape[-1]
    gh = h @ W_h + b_h
    r = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
    return torch.tanh(gi[:, hidden:] + r * gh[:, hidden:])


def update_only_step(gi: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """One step of a cell with only an update gate (a GRU with R pinned at 1).

    gi: (B, 2h) = X_t W_x + b_x stacked (z, n); h: (B, h); W_h: (h, 2h); b_h: (2h,). Returns H_t (B, h).
    """
    hidden = h.shape[-1]
    gh = h @ W_h + b_h
    z = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
    n = torch.tanh(gi[:, hidden:] + gh[:, hidden:])
    return z * h + (1 - z) * n


class OneGateRNN(nn.Module):
    """A recurrent layer with one gate and a candidate, stepped by ``step`` (see :func:`reset_only_step`).

    Parameters are laid out like :class:`d2lutil.models.GRUScratch` with two blocks instead of
    three: W_x (d, 2h), W_h (h, 2h), b_x (2h,), b_h (2h,), initialised uniformly in +-1/sqrt(h).
    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h)), as nn.GRU.
    """

    def __init__(self, input_size: int, hidden_size: int, step: StepFn):
        super().__init__()
        self.input_size, self.hidden_size, self.step = input_size, hidden_size, step
        bound = 1 / math.sqrt(hidden_size)
        self.W_x = _uniform(input_size, 2 * hidden_size, bound=bound)
        self.W_h = _uniform(hidden_size, 2 * hidden_size, bound=bound)
        self.b_x = _uniform(2 * hidden_size, bound=bound)
        self.b_h = _uniform(2 * hidden_size, bound=bound)

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_input(X, self.input_size, H, self.hidden_size, self.W_x.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        outputs = []
        for gi in (X @ self.W_x + self.b_x).unbind(0):
            h = self.step(gi, h, self.W_h, self.b_h)
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)


class ResetOnlyGRU(OneGateRNN):
    """A GRU without its update gate: H_t = tanh(X W_xn + b_xn + R * (H W_hn + b_hn))."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, reset_only_step)


class UpdateOnlyGRU(OneGateRNN):
    """A GRU without its reset gate: H_t = Z * H + (1 - Z) * tanh(X W_xn + b_xn + H W_hn + b_hn)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, update_only_step)


def _pinned(gi: Tensor, W_h: Tensor, b_h: Tensor, which: str) -> tuple[Tensor, Tensor, Tensor]:
    """Embed a two-block (gate, n) cell into GRU weights (r, z, n) with the missing gate pinned."""
    hidden = W_h.shape[0]
    pin = torch.full_like(gi[:, :hidden], _BIG if which == "r" else -_BIG)  # r = 1 or z = 0
    zeros_w, zeros_b = torch.zeros_like(W_h[:, :hidden]), torch.zeros_like(b_h[:hidden])
    g, n = gi[:, :hidden], gi[:, hidden:]
    if which == "z":  # reset-only: the gate block is r, z is pinned at 0
        return (
            torch.cat([g, pin, n], 1),
            torch.cat([W_h[:, :hidden], zeros_w, W_h[:, hidden:]], 1),
            torch.cat([b_h[:hidden], zeros_b, b_h[hidden:]]),
        )
    return (
        torch.cat([pin, g, n], 1),
        torch.cat([zeros_w, W_h[:, :hidden], W_h[:, hidden:]], 1),
        torch.cat([zeros_b, b_h[:hidden], b_h[hidden:]]),
    )


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


def _call_step(step: StepFn, name: str, args: tuple[Tensor, ...]) -> Tensor:
    out = step(*(a.clone() for a in args))
    assert isinstance(out, Tensor), f"{name} must return the new state as a tensor (B, h), got {type(out).__name__}"
    assert out.shape == args[1].shape, (
        f"{name} must return the new state of shape (B, h) = {tuple(args[1].shape)}, got {tuple(out.shape)}"
    )
    return out


def check_exercise_4(reset_only: StepFn | None, update_only: StepFn | None) -> bool | None:
    """Check the two one-gate steps against a GRU step with the other gate pinned.

    Both take ``(gi (B, 2h), h (B, h), W_h (h, 2h), b_h (2h,))`` with blocks stacked (gate, n)
    and return the new state (B, h). The reset-only cell must equal a GRU with Z = 0 (either reset
    convention is accepted); the update-only cell a GRU with R = 1.
    """
    if reset_only is None and update_only is None:
        return _not_attempted(4, "`reset_only_cell_step` and `update_only_cell_step`")
    assert reset_only is not None and update_only is not None, (
        "write both steps: the reset-only one and the update-only one"
    )
    conventions = set()
    for gi, h, W_h, b_h in _step_cases():
        hidden = h.shape[-1]
        out = _call_step(reset_only, "the reset-only step", (gi, h, W_h, b_h))
        gi3, W3, b3 = _pinned(gi, W_h, b_h, "z")
        after, before = gru_step(gi3, h, W3, b3, "after").h, gru_step(gi3, h, W3, b3, "before").h
        plain = torch.tanh(gi[:, hidden:] + h @ W_h[:, hidden:] + b_h[hidden:])
        if torch.allclose(out, after, atol=1e-8):
            conventions.add("after")
        elif torch.allclose(out, before, atol=1e-8):
            conventions.add("before")
        else:
            hint = (
                " It equals a plain tanh RNN step: the reset gate never acts."
                if torch.allclose(out, plain, atol=1e-8)
                else " With Z pinned at 0 the new state is the candidate itself, tanh(x W_xn + b_xn "
                "+ R * (h W_hn + b_hn))."
            )
            raise AssertionError(
                "the reset-only step differs from a GRU step with Z = 0 by up to "
                f"{float((out - after).abs().max()):.3g}.{hint}"
            )
        out = _call_step(update_only, "the update-only step", (gi, h, W_h, b_h))
        gi3, W3, b3 = _pinned(gi, W_h, b_h, "r")
        want = gru_step(gi3, h, W3, b3, "after").h
        if not torch.allclose(out, want, atol=1e-8):
            z = torch.sigmoid(gi[:, :hidden] + h @ W_h[:, :hidden] + b_h[:hidden])
            n = torch.tanh(gi[:, hidden:] + h @ W_h[:, hidden:] + b_h[hidden:])
            flipped = torch.allclose(out, z * n + (1 - z) * h, atol=1e-8)
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
    how = " and ".join(f"reset {c} the matmul" for c in sorted(conventions))
    return _passed(4, f"The reset-only step is a GRU with Z = 0 ({how}); the update-only step is a GRU with R = 1.")


# ---------------------------------------------------------------------------------------------
# Exercise 5: is the reset gate needed?


def check_exercise_5(
    make_batch: Callable[[int, torch.Generator], tuple[Tensor, Tensor]] | None,
    label_of: Callable[[Tensor], Tensor] | None,
    break_token: int | None,
    accuracies: dict[str, Sequence[float]] | None = None,
    reset_gate_helped: bool | None = None,
) -> bool | None:
    """Check a break task and, once measured, the conclusion drawn from it.

    ``make_batch(batch_size, generator) -> (X (B, T) int64, y (B,) int64)``; ``label_of(X) -> y``
    recomputes the labels; ``break_token`` is the symbol of a break. The task must be one where
    the state has to be reset: the label depends only on what follows the last break (changing
    anything before it never changes the label), yet the earlier part is a real distractor
    (removing the last break changes the label often), most sequences hold a break, and there are
    at least two labels. With ``accuracies`` (``{"gru": [...], "update_only": [...]}``, test
    accuracy per seed), ``reset_gate_helped`` must say whether the GRU's mean accuracy beats the
    update-only cell's by more than 0.05.
    """
    if make_batch is None and label_of is None:
        return _not_attempted(5, "`make_break_batch`, `label_of` and `BREAK`")
    assert make_batch is not None and label_of is not None and break_token is not None, (
        "give all three: make_break_batch(batch_size, generator), label_of(X) and the BREAK token"
    )
    X, y = make_batch(512, torch.Generator().manual_seed(123))
    assert isinstance(X, Tensor) and X.dtype == torch.long and X.dim() == 2, (
        f"X must be a (B, T) int64 tensor, got {getattr(X, 'shape', X)}"
    )
    assert isinstance(y, Tensor) and y.shape == (X.shape[0],), (
        f"y must have shape ({X.shape[0]},), got {tuple(getattr(y, 'shape', ()))}"
    )
    assert torch.equal(label_of(X.clone()), y), (
        "label_of(X) does not reproduce the labels y that make_break_batch returned"
    )
    assert y.unique().numel() >= 2, "every label is the same: a classifier could answer without reading anything"
    is_break = X == break_token
    has_break = is_break.any(1)
    assert has_break.float().mean() >= 0.5, (
        f"only {float(has_break.float().mean()):.0%} of the sequences hold a break; make most of them hold one"
    )
    T = X.shape[1]
    pos = torch.arange(T)
    last = torch.where(is_break, pos, torch.full_like(pos, -1)).max(1).values  # (B,), -1 when none
    symbols = X[~is_break].unique()
    gen = torch.Generator().manual_seed(7)
    noise = symbols[torch.randint(0, len(symbols), X.shape, generator=gen)]
    before = pos[None, :] < last[:, None]  # strictly before the last break
    X_changed = torch.where(before & ~is_break, noise, X)
    same = label_of(X_changed) == y
    assert bool(same.all()), (
        f"changing tokens before the last break changed {int((~same).sum())} of {len(y)} labels: the "
        "label must depend only on "
        "what follows the last break (that is what makes a reset necessary)"
    )
    rows = torch.nonzero(has_break).squeeze(1)
    X_merged = X.clone()
    X_merged[rows, last[rows]] = noise[rows, last[rows]]
    flipped = float((label_of(X_merged)[rows] != y[rows]).float().mean())
    assert flipped >= 0.25, (
        f"removing the last break changes only {flipped:.0%} of the labels: the part before the break "
        "is no distractor, so a "
        "model that never resets loses nothing. Make the earlier segments look like the last one"
    )
    if accuracies is None:
        return _passed(
            5,
            f"The task needs a reset: the label ignores everything before the last break, and {flipped:.0%} of "
            "labels would change if the break were missed. Now measure.",
        )
    assert {"gru", "update_only"} <= set(accuracies), 'accuracies must be {"gru": [...], "update_only": [...]}'
    assert reset_gate_helped is not None, "fill in reset_gate_helped (True or False) from your measurements"
    gap = sum(accuracies["gru"]) / len(accuracies["gru"]) - sum(accuracies["update_only"]) / len(
        accuracies["update_only"]
    )
    helped = gap > 0.05
    assert bool(reset_gate_helped) == helped, (
        f"the GRU's mean accuracy is {gap:+.3f} from the update-only cell's, so reset_gate_helped should be {helped} "
        "(it counts as help when the gap exceeds 0.05)"
    )
    return _passed(
        5,
        f"The task needs a reset, and your measured gap of {gap:+.3f} says the reset gate "
        f"{'helped' if helped else 'did not help clearly'}.",
    )


# ---------------------------------------------------------------------------------------------
# Exercise 6: the flipped update convention


class FlippedGRU(GRUScratch):
    """A GRU with the update gate weighting the candidate: H' = Z * N + (1 - Z) * H (reset after).

    Same parameters, layout and gate arithmetic as :class:`d2lutil.models.GRUScratch` (W_x (d, 3h),
    W_h (h, 3h), b_x, b_h (3h,), stacked r, z, n); only the final mix is flipped.
    forward(X (T, B, d), H or None) -> (outputs, H_T), as nn.GRU.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, reset="after")

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_input(X, self.input_size, H, self.hidden_size, self.W_x.dtype)
        h = X.new_zeros(X.shape[1], self.hidden_size) if H is None else H[0]
        outputs = []
        for gi in self._input_projections(X):
            step = gru_step(gi, h, self.W_h, self.b_h, "after")
            h = torch.lerp(h, step.n, step.z)  # Z * N + (1 - Z) * H
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)


def load_weights(layer: nn.Module, W_x: Tensor, W_h: Tensor, b_x: Tensor, b_h: Tensor) -> nn.Module:
    """Copy the four weight tensors into a GRUScratch-layout layer (in place; returns it)."""
    with torch.no_grad():
        for name, value in (("W_x", W_x), ("W_h", W_h), ("b_x", b_x), ("b_h", b_h)):
            target = getattr(layer, name)
            if target.shape != value.shape:
                raise ValueError(f"{name} must have shape {tuple(target.shape)}, got {tuple(value.shape)}")
            target.copy_(value)
    return layer


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
        return _not_attempted(6, "`flip_update_gate` and `same_family`")
    assert flip is not None, "write flip_update_gate(W_x, W_h, b_x, b_h)"
    gen = torch.Generator().manual_seed(0)
    for d, h in ((3, 4), (5, 2)):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        gru = GRUScratch(d, h).double()
        originals = [p.detach().clone() for p in (gru.W_x, gru.W_h, gru.b_x, gru.b_h)]
        flipped = flip(*(p.detach().clone() for p in originals))
        assert isinstance(flipped, tuple) and len(flipped) == 4, (
            "flip_update_gate must return four tensors (W_x, W_h, b_x, b_h)"
        )
        flipped_gru = load_weights(FlippedGRU(d, h).double(), *flipped)
        X = torch.randn(6, 3, d, generator=gen, dtype=torch.float64)
        H0 = torch.randn(1, 3, h, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            want, got = gru(X, H0)[0], flipped_gru(X, H0)[0]
        err = float((want - got).abs().max())
        if err > 1e-10:
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
    return _passed(
        6,
        "Negating the z-gate's weights and biases turns Z into 1 - Z: the flipped convention is the same model family, "
        "and with the initialisation symmetric about 0 even the same distribution of starting points.",
    )


# ---------------------------------------------------------------------------------------------
# A tiny classification run shared by exercises 4 to 6


def accuracy_run(
    rnn: nn.Module,
    make_batch: Callable[[int, torch.Generator], tuple[Tensor, Tensor]],
    num_classes: int,
    vocab_size: int,
    num_steps: int,
    embed_size: int = 16,
    lr: float = 1e-2,
    batch_size: int = 128,
    seed: int = 0,
    log_every: int = 50,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Any]:
    """Train ``SequenceModel(rnn)`` on a synthetic classification task; returns accuracy, time, losses.

    The model is built on ``rnn``'s device in ``dtype``; ``losses`` are training losses averaged
    over every ``log_every`` steps (logged at ``steps``).
    """
    from d2lutil.tasks import SequenceModel, train_on_task

    device = next(rnn.parameters()).device
    model = SequenceModel(rnn, num_classes, vocab_size=vocab_size, embed_size=embed_size).to(device, dtype)
    start = time.perf_counter()
    result = train_on_task(
        model, make_batch, num_steps, batch_size=batch_size, lr=lr, seed=seed, test_size=1024, log_every=log_every
    )
    return {
        "accuracy": result.test_score,
        "seconds": time.perf_counter() - start,
        "steps": result.steps,
        "losses": result.losses,
        "model": model,
    }


__all__ = [
    "FlippedGRU",
    "OneGateRNN",
    "ResetOnlyGRU",
    "UpdateOnlyGRU",
    "accuracy_run",
    "check_exercise_1",
    "check_exercise_2",
    "check_exercise_3",
    "check_exercise_4",
    "check_exercise_5",
    "check_exercise_6",
    "format_table",
    "hand_set_gru",
    "input_sensitivity",
    "lm_trial",
    "load_weights",
    "reset_only_step",
    "update_only_step",
    "with_clock",
]

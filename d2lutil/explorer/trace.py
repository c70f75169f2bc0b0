"""Tracing a passage once for the explorer: gates, saturation, predictions and connectivity.

Everything the browser draws comes from one :class:`PassageTrace`, computed in the kernel when a
passage is chosen or typed; moving a control afterwards needs no kernel at all.

* gates: both gates of every unit of every layer at every character, from one pass of
  :func:`d2lutil.gates.trace_layers`;
* saturation: how often each gate is below 0.1 or above 0.9 (Karpathy, Johnson & Fei-Fei, 2015);
* predictions: the model's most likely next character after each character, and its probability;
* connectivity (after Madsen's "Visualizing memorization in RNNs", Distill 2019): for the prediction
  after character t, the L2 norm of the gradient of its log-probability with respect to the input
  vector (embedding or one-hot) of each of the ``context`` characters t-context+1..t.

Connectivity is computed from the trace's own states: one backward pass per layer and offset,
for all predictions at once, so its cost is O(T * context) backward steps (no step runs forward
twice), not O(T^2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from d2lutil._checks import check_int, show
from d2lutil.data import Vocab, load_time_machine, preprocess
from d2lutil.gates import Intervention, LayerTrace, check_gru_lm, layer_weights, saturation, trace_layers
from d2lutil.models import RNNLM, GRUScratch, Reset, gru_step

GATE_ORDER = ("z", "r")  # index 0: update gate Z, index 1: reset gate R


@dataclass
class PassageTrace:
    """One passage as the model reads it. T characters, L layers, h units, V tokens, k = context.

    gates: (L, 2, T, h) float32, gate order (Z, R); saturation: (L, 2, 2, h) float32, the
    fractions (below 0.1, above 0.9) per layer, gate and unit; predicted: (T,) int64, the most
    likely next token after each character; probability: (T,) float32, its probability;
    log_probs: (T, V) float32, the log-probability of every next token; run: the
    :class:`~d2lutil.gates.LayerTrace` all of it comes from (its states feed the connectivity);
    connectivity: (T, k) float32, entry [t, j] for the character t - j (0 before the passage),
    None until :func:`add_connectivity` has run.
    """

    text: str
    gates: np.ndarray
    saturation: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray
    log_probs: np.ndarray
    run: LayerTrace
    connectivity: np.ndarray | None = None


def check_explorable(model: Any, vocab: Any) -> None:
    """Refuse a model the explorer cannot trace (TypeError), or a vocabulary that is not the model's."""
    check_gru_lm("model", model)
    if not isinstance(vocab, Vocab):
        raise TypeError(
            f"vocab must be a d2lutil Vocab, got {show(vocab)}: pass the vocabulary load_checkpoint returns"
        )
    if len(vocab) != model.vocab_size:
        raise ValueError(
            f"vocab has {len(vocab)} tokens but the model predicts {model.vocab_size}: pass the vocabulary "
            "the model was trained with (load_checkpoint returns it beside the model)"
        )


def check_passage(text: Any, vocab: Vocab, max_chars: int) -> tuple[str, str]:
    """The passage as the model reads it, and a note for the reader (empty, or what was cut).

    ``text`` is lower-cased and every run of non-letters folded into one space, as the training
    text was. Raises ValueError if nothing is left to read or a character is not in ``vocab``.
    """
    if not isinstance(text, str):
        raise TypeError(f"a passage must be a str, got {show(text)}")
    read = preprocess(text)
    if len(read.strip()) < 2:
        raise ValueError(
            f"the passage {text[:40]!r} has fewer than two letters once lower-cased and with non-letters "
            "folded to spaces: give a passage of English text"
        )
    unknown = vocab.unknown(read)
    if unknown:
        raise ValueError(
            f"the passage holds characters the model's vocabulary lacks: {''.join(unknown)!r}; "
            f"its vocabulary is {''.join(t for t in vocab.idx_to_token[1:])!r}"
        )
    if len(read) > max_chars:
        return read[:max_chars], f"only its first {max_chars:,} characters were traced"
    return read, ""


def connectivity(model: RNNLM, run: LayerTrace, targets: Tensor, context: int) -> np.ndarray:
    """Gradient norms of each prediction's log-probability with respect to earlier inputs.

    run: the model's trace of one passage (B = 1, no interventions: the cells below are the
    model's own); targets: (T,), the token whose log-probability after character t is
    differentiated; context: k.
    Returns (T, k) float32: entry [t, j] is ||d log p(targets[t] | chars 0..t) / d x_{t-j}||,
    0 where t - j < 0.

    Every step s of every layer is one application of its cell to (its input, the state before
    it), both known from the trace, so the cell is applied to all T steps at once, as one batch.
    The gradients then go back one step at a time for all T predictions together: at offset j,
    row s of the batch carries the gradient of the prediction at s + j. Each offset is one
    backward pass per layer through that one batched step, and no step is run forward again.
    """
    if run.interventions:
        raise ValueError("connectivity follows the model's own cells: trace the passage without interventions")
    states = list(run.h[:, :, 0])  # per layer (T, h): the state after each step
    T = states[0].shape[0]
    out = np.zeros((T, context), dtype=np.float32)
    if context == 0:
        return out
    cells = _layer_cells(model.rnn)
    x = run.x[:, 0]  # (T, d)
    with torch.enable_grad():
        inputs, before, after = [], [], []
        for layer, cell in enumerate(cells):
            inputs.append((x if layer == 0 else states[layer - 1]).detach().requires_grad_(True))  # (T, d or h)
            before.append(run.h_prev[layer, :, 0].detach().requires_grad_(True))
            after.append(cell(inputs[-1], before[-1]))  # (T, h), equal to states[layer]
        top = states[-1].detach().requires_grad_(True)
        logp = model.head(top).log_softmax(-1).gather(1, targets[:, None]).sum()
        (from_above,) = torch.autograd.grad(logp, top)  # (T, h): row t, the prediction at t
        carried = [torch.zeros_like(state) for state in states]  # per layer: from the step after
        for j in range(min(context, T)):
            for layer in reversed(range(len(cells))):
                grad_in, grad_before = torch.autograd.grad(
                    after[layer], (inputs[layer], before[layer]), carried[layer] + from_above, retain_graph=True
                )
                # row s of grad_before belongs to step s - 1 at the next offset (the first step's
                # initial state is no input: dropped)
                carried[layer] = torch.cat([grad_before[1:], grad_before.new_zeros(1, grad_before.shape[1])])
                from_above = grad_in
            out[j:, j] = from_above[: T - j].norm(dim=-1).float().cpu().numpy()  # row s: prediction s + j
            from_above = torch.zeros_like(top)  # the head feeds the top layer at offset 0 only
    return out


def _layer_cells(rnn: nn.Module) -> list[Callable[[Tensor, Tensor], Tensor]]:
    """One GRU step per layer, cell(x (B, d), h (B, h)) -> h_new (B, h), with the layer's own
    weights and arithmetic (nn.GRU: reset after; GRUScratch: its own ``reset``)."""
    if isinstance(rnn, GRUScratch):
        return [partial(_step, rnn.W_x, rnn.b_x, rnn.W_h, rnn.b_h, reset=rnn.reset)]
    assert isinstance(rnn, nn.GRU), "check_gru_lm admits only nn.GRU and GRUScratch"
    return [partial(_step, *layer_weights(rnn, layer), reset="after") for layer in range(rnn.num_layers)]


def _step(W_x: Tensor, b_x: Tensor, W_h: Tensor, b_h: Tensor, x: Tensor, h: Tensor, reset: Reset) -> Tensor:
    return gru_step(torch.addmm(b_x, x, W_x), h, W_h, b_h, reset).h


def trace_passage(model: RNNLM, vocab: Vocab, text: str, interventions: Sequence[Intervention] = ()) -> PassageTrace:
    """Trace ``text`` (already checked: every character in ``vocab``) in one pass of the model,
    with ``interventions`` applied: gates, saturation and predictions; connectivity follows with
    :func:`add_connectivity` (it costs more)."""
    device = next(model.parameters()).device
    tokens = torch.tensor([vocab[list(text)]], device=device)  # (1, T)
    run = trace_layers(model, tokens, interventions)
    gates = torch.stack([run.z[:, :, 0], run.r[:, :, 0]], dim=1).float()  # (L, 2, T, h)
    log_probs = run.log_probs[0].float()  # (T, V)
    probability, predicted = log_probs.exp().max(-1)  # (T,) each
    stats = np.zeros(gates.shape[:2] + (2, gates.shape[-1]), dtype=np.float32)  # (L, 2, 2, h)
    for layer in range(gates.shape[0]):
        for g in range(2):
            stats[layer, g] = [part.numpy() for part in saturation(gates[layer, g].cpu())]
    return PassageTrace(
        text,
        gates.cpu().numpy(),
        stats,
        predicted.cpu().numpy(),
        probability.cpu().numpy(),
        log_probs.cpu().numpy(),
        run,
    )


def add_connectivity(model: RNNLM, vocab: Vocab, trace: PassageTrace, context: int = 64) -> PassageTrace:
    """Fill ``trace.connectivity`` (T, context) for the model's own predictions; returns ``trace``."""
    targets = torch.from_numpy(trace.predicted).to(trace.run.x.device)
    trace.connectivity = connectivity(model, trace.run, targets, context)
    return trace


def quantise(values: np.ndarray) -> bytes:
    """Values in [0, 1] as one byte each, round(255 v): at most 1/510 off after :func:`dequantise`."""
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * 255), 0, 255).astype(np.uint8).tobytes()


def dequantise(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`quantise`: float32 values of the given shape."""
    return (np.frombuffer(data, dtype=np.uint8).reshape(shape) / 255.0).astype(np.float32)


def held_out_passages(length: int = 600, count: int = 3, data_dir: Any = None) -> dict[str, str]:
    """``count`` passages of about ``length`` characters from the book's last 10% (its test part:
    never trained on, never used to choose anything), each starting at a word, keyed by a label
    that says where they come from (character offsets within that part)."""
    data = load_time_machine(data_dir)
    text = "".join(data.vocab.to_tokens(data.test_tokens.tolist()))
    length = check_int("length", length, minimum=20, maximum=len(text) // 2, fix="characters per passage")
    count = check_int("count", count, minimum=1, maximum=len(text) // length)
    passages = {}
    for k in range(count):
        start = (len(text) - length) * (k + 1) // (count + 1)
        start = text.index(" ", start) + 1
        stop = text.rfind(" ", start, start + length)
        stop = start + length if stop <= start else stop  # no space inside: cut mid-word
        passages[f"held-out text, characters {start:,}-{stop:,}"] = text[start:stop]
    return passages

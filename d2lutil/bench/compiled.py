"""The fused scratch GRU with its time loop compiled by ``torch.compile``, for the benchmark only.

:class:`CompiledGRUScratch` computes what :class:`d2lutil.models.GRUScratch` computes (its
subclass, same weights): the input projections of all steps in one matmul, then the steps
(:func:`d2lutil.models.gru_step`, reset after). In training, the steps run ``steps_per_call`` at
a time through one function compiled with ``torch.compile(dynamic=False, fullgraph=True)``:
Inductor fuses each step's element-wise work, forward and backward, into C++ kernels around the
hidden matmuls, which stay library calls. The loop over the calls stays in Python.

How many steps per compiled call, measured on this project's busy 2-core CPU (h=256, batch 64,
64 steps, one thread; CPU time of a training step against nn.GRU's, models interleaved, 2-4 runs
each): 1 (the step alone) ran at 0.87-0.98x, slower than the eager layer, each compiled call's
fixed cost (the compiled autograd function's wrappers, forward and backward) eating what fusing
saves; 2 at 0.98x; 4 at 0.99-1.05x (about 20-40 s to compile); 8 at 1.00-1.03x (35-60 s); 16 at
1.04x once (100 s); the whole loop of 64 steps took over 5 minutes to compile. Mode
"max-autotune-no-cudagraphs" (tried on the step alone) ran no faster than "default". Most of a step's
time is its (B, h) x (h, 3h) matmuls, forward and backward, which compiling leaves as they are.

Compiling happens at the first training call (forward and backward) for each new shape; in
evaluation (``model.eval()``) the layer runs eagerly, computing the same numbers, so that
evaluating other batch sizes compiles nothing. :func:`compile_and_check` times the first call
and checks the compiled outputs and gradients against the eager layer's.

No notebook or test on the normal path compiles: Inductor needs a C++ compiler, which
:func:`compile_unavailable` looks for first.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from d2lutil._checks import check_int
from d2lutil.models import RNNLM, GRUScratch, gru_step

COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


def gru_steps(gis: Tensor, h: Tensor, W_h: Tensor, b_h: Tensor) -> Tensor:
    """k reset-after GRU steps: gis (k, B, 3h) the steps' input projections, h (B, h) -> states (k, B, h)."""
    states = []
    for gi in gis.unbind(0):
        h = gru_step(gi, h, W_h, b_h, "after").h
        states.append(h)
    return torch.stack(states)


class CompiledGRUScratch(GRUScratch):
    """``GRUScratch`` (reset after) whose steps run ``steps_per_call`` at a time through one
    ``torch.compile``d function in training mode (eagerly in evaluation).

    forward(X (T, B, d), H (1, B, h) or None) -> (outputs (T, B, h), H_T (1, B, h))
    """

    def __init__(self, input_size: int, hidden_size: int, mode: str = "default", steps_per_call: int = 4):
        super().__init__(input_size, hidden_size, reset="after")
        if mode not in COMPILE_MODES:
            raise ValueError(f"mode must be one of {COMPILE_MODES}, got {mode!r}")
        self.mode = mode
        self.steps_per_call = check_int("steps_per_call", steps_per_call, minimum=1, fix="e.g. 4")
        self.compiled_steps = torch.compile(
            gru_steps, mode=None if mode == "default" else mode, dynamic=False, fullgraph=True
        )

    def forward(self, X: Tensor, H: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if not self.training:
            return super().forward(X, H)
        self.check_input(X, H)
        T, B, d = X.shape
        h = X.new_zeros(B, self.hidden_size) if H is None else H[0]
        GI = torch.addmm(self.b_x, X.reshape(T * B, d), self.W_x).view(T, B, -1)  # all steps' X_t W_x + b_x
        chunks = []
        for gis in GI.split(self.steps_per_call):  # views, whose backward joins in one copy (not GI[t:t+k])
            chunks.append(self.compiled_steps(gis, h, self.W_h, self.b_h))
            h = chunks[-1][-1]
        outputs = torch.cat(chunks)
        return outputs, outputs[-1:]


def build_compiled_lm(vocab_size: int, hidden_size: int, mode: str = "default", steps_per_call: int = 4) -> RNNLM:
    """A one-hot language model around a :class:`CompiledGRUScratch`; built after the same seed,
    its weights equal ``build_lm("gru_scratch", vocab_size, hidden_size)``'s."""
    return RNNLM(CompiledGRUScratch(vocab_size, hidden_size, mode, steps_per_call), vocab_size)


def compile_unavailable() -> str | None:
    """Why ``torch.compile`` cannot run here (None when it can): Inductor needs a C++ compiler."""
    cxx = os.environ.get("CXX") or ("clang++" if sys.platform == "darwin" else "g++")
    if shutil.which(cxx) is None:
        return f"no C++ compiler {cxx!r} on PATH (torch.compile's Inductor needs one; set $CXX or install g++)"
    return None


def check_close(name: str, compiled: Tensor, eager: Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> float:
    """The largest absolute difference between two tensors; a RuntimeError when they are not close."""
    diff = float((compiled - eager).abs().max())
    if not torch.allclose(compiled, eager, rtol=rtol, atol=atol):
        raise RuntimeError(
            f"the compiled GRUScratch disagrees with the eager one in {name}: largest difference {diff:.3g} "
            f"(rtol={rtol}, atol={atol}); its timings would not be of the same computation"
        )
    return diff


def compile_and_check(model: RNNLM, X: Tensor, Y: Tensor) -> dict[str, Any]:
    """Compile ``model``'s layer by one forward and backward on X, Y (B, T) and check it against eager.

    Returns ``first_call_s`` (the first forward and backward, almost all of it compiling) and the
    largest differences from an eager ``GRUScratch`` with the same weights (logits, each gradient).
    The model's gradients are cleared afterwards; its weights are not changed.
    """
    if not isinstance(model.rnn, CompiledGRUScratch):
        raise TypeError(f"model.rnn must be a CompiledGRUScratch, got {type(model.rnn).__name__}")
    layer = model.rnn
    eager = RNNLM(GRUScratch(layer.input_size, layer.hidden_size), model.vocab_size).to(X.device)
    eager.load_state_dict(model.state_dict())
    model.train()
    eager.train()

    def forward_backward(m: RNNLM) -> tuple[Tensor, dict[str, Tensor]]:
        """The logits and every parameter's gradient after one forward and backward."""
        m.zero_grad(set_to_none=True)
        logits, _ = m(X)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1)).backward()
        grads = {name: p.grad for name, p in m.named_parameters() if p.grad is not None}
        return logits.detach(), grads

    start = time.perf_counter()
    logits, grads = forward_backward(model)
    if X.device.type == "cuda":
        torch.cuda.synchronize(X.device)
    first_call_s = time.perf_counter() - start
    eager_logits, eager_grads = forward_backward(eager)
    differences = {"logits": check_close("logits", logits, eager_logits)}
    for name, grad in eager_grads.items():
        differences[f"grad {name}"] = check_close(f"the gradient of {name}", grads[name], grad)
    model.zero_grad(set_to_none=True)
    return {
        "first_call_s": round(first_call_s, 2),
        "max_abs_difference": {name: float(f"{d:.3g}") for name, d in differences.items()},
    }

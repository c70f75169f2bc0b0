"""The benchmark's measurements: training runs in fresh worker processes, a throughput
micro-benchmark with the GRUs interleaved, and the gate tracer's timing. Each returns JSON-ready rows.

Training reads only the book's training part; the validation part is measured after each epoch
(nothing is chosen on it in these fixed-budget runs: the final weights are kept), and the test
part (the book's last 10%) is read once, after training, for the reported test perplexity.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch

from d2lutil.bench.compiled import build_compiled_lm, compile_and_check
from d2lutil.bench.explorer_timing import explorer_timings
from d2lutil.checkpoints import load_checkpoint
from d2lutil.data import WindowLoader, load_time_machine
from d2lutil.gates import trace_gates
from d2lutil.models import RNNLM, build_lm
from d2lutil.pretrain import RUNS
from d2lutil.settings import set_seed
from d2lutil.training import LanguageModelLoss, Recipe, evaluate_perplexity, optimize, train

D2L_STYLE = "gru_d2l_style"
COMPILED = "gru_scratch_compiled"
NN_GRU = "gru"
LABELS = {
    "gru_d2l_style": "GRUD2LStyle (scratch, as d2l codes it: 3+3 matmuls a step, reset before)",
    "gru_scratch": "GRUScratch (fused scratch: one matmul a step, reset after)",
    COMPILED: "GRUScratch with its time steps compiled by torch.compile, a few steps per call (dynamic=False)",
    "gru": "nn.GRU",
    "lstm": "nn.LSTM",
    "rnn": "nn.RNN (plain tanh RNN)",
}
SHORT = {
    "gru_d2l_style": "GRUD2LStyle",
    "gru_scratch": "GRUScratch (fused)",
    COMPILED: "GRUScratch (fused, compiled)",
    "gru": "nn.GRU",
    "lstm": "nn.LSTM",
    "rnn": "nn.RNN",
}

SEED = 0
# d2l 1.0.3's GRU section: hidden 32, batch 1024, 32 steps, SGD lr 4, clip 1, 50 epochs of 10,000 windows.
D2L_HIDDEN, D2L_WINDOWS = 32, 50 * 10_000
D2L_RECIPE = Recipe(batch_size=1024, num_steps=32, lr=4.0, optimizer="sgd", clip=1.0, seed=SEED)
# The common recipe: every layer gets COMMON_HIDDEN units (so their parameter counts differ) and the same
# training time (the CLI sets max_seconds: 60 s in full mode, 12 s in quick mode).
COMMON_HIDDEN = 256
COMMON_RECIPE = Recipe(
    batch_size=64, num_steps=64, lr=5e-3, optimizer="adam", clip=1.0, num_epochs=None, max_seconds=60.0, seed=SEED
)
COMMON_KINDS = ("gru_d2l_style", "gru_scratch", COMPILED, "gru", "lstm", "rnn")
MICRO_KINDS = ("gru_d2l_style", "gru_scratch", COMPILED, "gru")


def epochs_for_windows(recipe: Recipe, windows: int, train_chars: int) -> int:
    """The whole epochs of d2lutil's loader (``train_chars`` characters) that hold at least ``windows`` windows."""
    per_epoch = len(WindowLoader(torch.zeros(train_chars, dtype=torch.long), recipe.batch_size, recipe.num_steps))
    return max(1, math.ceil(windows / (per_epoch * recipe.batch_size)))


def sync(device: torch.device) -> None:
    """Wait for the device to finish its queued work (CUDA runs asynchronously), so timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the system does not report them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def build_model(kind: str, vocab_size: int, hidden_size: int, compile_settings: dict[str, Any] | None = None) -> RNNLM:
    """A one-hot language model of ``kind`` (a ``build_lm`` kind, or ``COMPILED`` built with
    ``compile_settings``: ``mode`` and ``steps_per_call``) after seeding: the same seed gives GRUScratch and
    its compiled twin the same weights."""
    set_seed(SEED)
    if kind == COMPILED:
        return build_compiled_lm(vocab_size, hidden_size, **(compile_settings or {}))
    return build_lm(kind, vocab_size, hidden_size)


def train_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one model as ``spec`` says and measure it; runs inside a worker subprocess.

    spec: ``kind``, ``hidden_size``, ``recipe`` (``asdict`` of a :class:`Recipe`), ``device``, ``threads``
    and ``compile`` (for ``COMPILED``: see :func:`build_model`). Returns the row of figures:
    ``val_ppl`` and ``test_ppl`` are the final weights' perplexities on the validation and test parts.
    """
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    device = torch.device(spec["device"])
    data = load_time_machine()
    kind, recipe = spec["kind"], Recipe(**spec["recipe"])
    model = build_model(kind, len(data.vocab), spec["hidden_size"], spec.get("compile")).to(device)
    _warm_up("gru_scratch" if kind == COMPILED else kind, len(data.vocab), data.train_tokens, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    rss_before = peak_rss_mb()
    compiled: dict[str, Any] = {}
    if kind == COMPILED:  # compile before the clock starts; its memory counts (it is the process's peak)
        X, Y = next(iter(WindowLoader(data.train_tokens, recipe.batch_size, recipe.num_steps, seed=SEED + 1)))
        compiled = compile_and_check(model, X.to(device), Y.to(device))
    start = time.perf_counter()
    history = train(model, data.train_tokens, data.val_tokens, recipe, device=device, progress=False)
    sync(device)
    wall = time.perf_counter() - start
    if device.type == "cuda":
        memory_mb, memory_kind = (torch.cuda.max_memory_allocated(device) - base) / 2**20, "cuda max_memory_allocated"
    else:
        memory_mb, memory_kind = peak_rss_mb() - rss_before, "rise of peak RSS"
    if compiled:
        memory_kind += ", compiling included"
    test_ppl = evaluate_perplexity(model, data.test_tokens)  # read once, after training: nothing is chosen on it
    row = {
        "kind": kind,
        "model": LABELS[kind],
        "hidden_size": spec["hidden_size"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokens": history.tokens,
        "windows": history.tokens // recipe.num_steps,
        "epochs": round(history.epochs[-1], 3),
        "train_s": round(history.train_seconds, 2),
        "wall_s": round(wall, 2),
        "tokens_per_s": round(history.tokens / history.train_seconds, 1),
        "peak_memory_mb": round(memory_mb, 1),
        "memory_measure": memory_kind,
        "val_ppl": round(history.val_ppl[-1], 3),
        "test_ppl": round(test_ppl, 3),
        "best_val_ppl": round(history.best_val_ppl, 3),  # over the epochs; the weights kept are the final ones
        "train_ppl": round(history.train_ppl[-1], 3),
    }
    if compiled:
        row.update(compile_s=compiled["first_call_s"], compile_check=compiled["max_abs_difference"])
    return row


def _warm_up(kind: str, vocab_size: int, tokens: torch.Tensor, device: torch.device) -> None:
    """One tiny training run of the same kind of layer, so that the libraries' one-off start-up
    (lazy imports, thread pools, BLAS buffers) is not counted as the measured model's memory."""
    tiny = build_lm(kind, vocab_size, 8).to(device)
    train(tiny, tokens[:200], tokens[:64], Recipe(2, 4, lr=1e-3, optimizer="adam", max_seconds=0.0), progress=False)


def run_worker(spec: dict[str, Any], in_process: bool = False) -> dict[str, Any]:
    """Train one model in a fresh Python process (so its peak memory is its own) and return its row."""
    if in_process:
        return train_one(spec)
    cmd = [sys.executable, "-m", "d2lutil.bench", "--worker", json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the benchmark worker for {spec['kind']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def micro_benchmark(
    device: torch.device,
    hidden: int,
    batch: int,
    steps: int,
    repeats: int,
    kinds: tuple[str, ...] = MICRO_KINDS,
    compile_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Median time of one training step (forward, backward, SGD) of each GRU, interleaved round-robin.

    Each model is an RNNLM with one-hot input; the tokens are random. Also reports tokens per
    CPU-second (process time), which a busy machine disturbs less than wall time, and each
    model's first step (``first_call_s``: for the compiled GRU, compiling; it is checked against eager).
    """
    vocab_size = 28
    models = {kind: build_model(kind, vocab_size, hidden, compile_settings).to(device) for kind in kinds}
    opts = {kind: torch.optim.SGD(m.parameters(), lr=0.1) for kind, m in models.items()}
    generator = torch.Generator().manual_seed(SEED)
    X = torch.randint(0, vocab_size, (batch, steps), generator=generator).to(device)
    Y = torch.randint(0, vocab_size, (batch, steps), generator=generator).to(device)

    losses = {kind: LanguageModelLoss(m, device, carry_state=False) for kind, m in models.items()}

    def step(kind: str) -> None:
        for _ in optimize(models[kind], [(X, Y)], losses[kind], opts[kind], clip=None):
            sync(device)

    wall: dict[str, list[float]] = {k: [] for k in models}
    cpu: dict[str, list[float]] = {k: [] for k in models}
    first: dict[str, float] = {}
    checks: dict[str, Any] = {}
    for kind in models:  # warm-up: first-call allocations, kernel selection, compiling
        if kind == COMPILED:
            checks[kind] = compile_and_check(models[kind], X, Y)
            first[kind] = checks[kind]["first_call_s"]
        else:
            start = time.perf_counter()
            step(kind)
            first[kind] = round(time.perf_counter() - start, 2)
    for _ in range(repeats):
        for kind in models:
            w0, c0 = time.perf_counter(), time.process_time()
            step(kind)
            wall[kind].append(time.perf_counter() - w0)
            cpu[kind].append(time.process_time() - c0)
    tokens = batch * steps
    rows = []
    for kind in models:
        med = statistics.median(wall[kind])
        rows.append(
            {
                "kind": kind,
                "model": LABELS[kind],
                "median_ms": round(med * 1e3, 2),
                "min_ms": round(min(wall[kind]) * 1e3, 2),
                "tokens_per_s": round(tokens / med, 1),
                "tokens_per_cpu_s": round(tokens / statistics.median(cpu[kind]), 1),
                "first_call_s": first[kind],
                **({"compile_check": checks[kind]["max_abs_difference"]} if kind in checks else {}),
            }
        )
    add_ratios(rows, "tokens_per_s", "ratio_vs_d2l_style")
    add_ratios(rows, "tokens_per_cpu_s", "cpu_ratio_vs_d2l_style")
    add_ratios(rows, "tokens_per_s", "ratio_vs_nn_gru", ref=NN_GRU)
    add_ratios(rows, "tokens_per_cpu_s", "cpu_ratio_vs_nn_gru", ref=NN_GRU)
    setting = {
        "hidden_size": hidden,
        "batch_size": batch,
        "num_steps": steps,
        "input": "one-hot, 28 symbols",
        "repeats": repeats,
    }
    return {"setting": setting, "rows": rows}


def add_ratios(rows: list[dict[str, Any]], key: str, name: str, ref: str = D2L_STYLE) -> None:
    """Add ``name`` = row[key] / the ``ref`` model's row[key] to every row (the d2l-style GRU by default)."""
    base = next(r[key] for r in rows if r["kind"] == ref)
    for r in rows:
        r[name] = round(r[key] / base, 3)


def gate_timings(device: torch.device, trace_chars: int, moves: int, repeats: int = 5) -> dict[str, Any]:
    """Time the gate tracer over a passage of ``trace_chars`` characters and the explorer's handlers."""
    data = load_time_machine()
    try:
        model, vocab, manifest = load_checkpoint("gru_lm", vocab=data.vocab, device=device)
        source = f"shipped checkpoint gru_lm ({manifest['model']})"
    except (FileNotFoundError, ValueError) as err:
        set_seed(SEED)
        model = build_lm(vocab_size=len(data.vocab), **RUNS["gru_lm"].model).to(device).eval()
        vocab = data.vocab
        source = (
            f"NO shipped checkpoint gru_lm ({type(err).__name__}: {str(err)[:120]}); "
            f"a freshly built model of the same shape ({RUNS['gru_lm'].model}) was timed instead"
        )
    text = "".join(vocab.to_tokens(data.val_tokens[:trace_chars].tolist()))
    tokens = torch.tensor([vocab[list(text)]], device=device)  # (1, trace_chars)
    trace_gates(model, tokens)  # warm-up
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        trace_gates(model, tokens)
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    result: dict[str, Any] = {
        "model": source,
        "trace": {
            "chars": len(text),
            "repeats": repeats,
            "median_ms": round(statistics.median(times), 2),
            "worst_ms": round(max(times), 2),
        },
    }
    result["explorer"] = explorer_timings(model, vocab, data, trace_chars, moves)
    return result

"""How fast, and how good: the chapter's recurrent models timed and scored in one run on one device.

    python -m d2lutil.bench                          # the full benchmark (about 6 minutes on a CPU)
    python -m d2lutil.bench --quick                  # a small version (under 3 minutes on a 2-core CPU)
    python -m d2lutil.bench --out bench/results.json --table bench/README_table.md

It measures, on the current device (a GPU when there is one), in one run:

1. **The d2l 1.0 recipe** reproduced with d2lutil: the GRU as d2l codes it (:class:`GRUD2LStyle`),
   hidden 32, one-hot input, batch 1024 x 32 steps, SGD lr 4, gradient clipping 1, and d2l's
   training budget (50 epochs over 10,000 windows = 500,000 windows). The data differ from d2l's
   on purpose: d2lutil's loader draws non-overlapping random windows from the first 90% of the
   book, where d2l reuses the same 10,000 overlapping windows from the book's first ~10,000
   characters; every model here is scored on the same held-out last 10%.
2. **One common recipe for four layers** (hidden 256, one-hot, batch 64 x 64 steps, Adam 5e-3,
   clip 1), each trained for the same fixed time: the d2l-style scratch GRU, the fused scratch GRU
   (:class:`GRUScratch`), ``nn.GRU`` and the plain RNN (``nn.RNN``).
3. **A throughput micro-benchmark** (hidden 256, batch 128, 64 steps, one-hot; forward, backward
   and an SGD step), the three GRUs interleaved round-robin so that they share the machine's noise.
4. **The gate explorer**: tracing the gates over a 1,000-character passage with the shipped model,
   and the explorer's handler time per interaction over a scripted sequence of slider moves.

For every training run: training tokens per second, peak memory (CPU: the rise of the process's
peak resident memory, each model trained in a fresh subprocess; GPU: ``max_memory_allocated``),
training and wall time, and held-out perplexity on the last 10% of the book
(:func:`d2lutil.training.evaluate_perplexity`). Ratios are taken against the d2l-style scratch GRU
measured in the same run. The figures go to JSON (``--out``) and a Markdown table (``--table``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

D2L_STYLE = "gru_d2l_style"
LABELS = {
    "gru_d2l_style": "GRUD2LStyle (scratch, as d2l codes it: 3+3 matmuls a step, reset before)",
    "gru_scratch": "GRUScratch (fused scratch: one matmul a step, reset after)",
    "gru": "nn.GRU",
    "rnn": "nn.RNN (plain tanh RNN)",
}
SHORT = {"gru_d2l_style": "GRUD2LStyle", "gru_scratch": "GRUScratch (fused)", "gru": "nn.GRU", "rnn": "nn.RNN"}

# d2l 1.0.3's GRU section: hidden 32, batch 1024, 32 steps, SGD lr 4, clip 1, 50 epochs of 10,000 windows.
D2L_RECIPE: dict[str, Any] = {
    "kind": D2L_STYLE,
    "hidden_size": 32,
    "batch_size": 1024,
    "num_steps": 32,
    "optimizer": "sgd",
    "lr": 4.0,
    "clip": 1.0,
    "windows": 50 * 10_000,
}
COMMON_RECIPE: dict[str, Any] = {
    "hidden_size": 256,
    "batch_size": 64,
    "num_steps": 64,
    "optimizer": "adam",
    "lr": 5e-3,
    "clip": 1.0,
}
COMMON_KINDS = ("gru_d2l_style", "gru_scratch", "gru", "rnn")
MICRO_KINDS = ("gru_d2l_style", "gru_scratch", "gru")
SEED = 0

FULL = {
    "seconds": 60.0,
    "d2l_fraction": 1.0,
    "micro_repeats": 15,
    "micro_hidden": 256,
    "trace_chars": 1000,
    "explorer_moves": 24,
}
QUICK = {
    "seconds": 12.0,
    "d2l_fraction": 0.1,
    "micro_repeats": 5,
    "micro_hidden": 256,
    "trace_chars": 1000,
    "explorer_moves": 12,
}


# ----- measuring ----------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB, macOS bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:  # the model name is more telling than the architecture on Linux
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"CPU ({cpu}, {os.cpu_count()} cores, torch using {threads} thread{'s' if threads != 1 else ''})"


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def train_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one model as ``spec`` says and measure it; runs inside a worker subprocess.

    spec: ``kind``, ``hidden_size``, ``batch_size``, ``num_steps``, ``optimizer``, ``lr``,
    ``clip``, ``device``, and either ``windows`` (a budget of training windows) or ``seconds``
    (a budget of training time). Returns the row of figures.
    """
    from d2lutil.data import load_time_machine
    from d2lutil.models import build_lm
    from d2lutil.settings import set_seed
    from d2lutil.training import train

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    device = torch.device(spec["device"])
    data = load_time_machine()
    set_seed(SEED)
    model = build_lm(spec["kind"], len(data.vocab), spec["hidden_size"]).to(device)  # one-hot input
    loader = data.train_iter(spec["batch_size"], spec["num_steps"], seed=SEED)
    windows_per_epoch = len(loader) * spec["batch_size"]
    if spec.get("windows"):
        num_epochs, max_seconds = max(1, math.ceil(spec["windows"] / windows_per_epoch)), None
    else:
        num_epochs, max_seconds = 1_000_000, float(spec["seconds"])
    _warm_up(spec["kind"], len(data.vocab), data.train_tokens, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    history = train(
        model,
        loader,
        data.val_tokens,
        num_epochs=num_epochs,
        lr=spec["lr"],
        optimizer=spec["optimizer"],
        clip=spec["clip"],
        device=device,
        max_seconds=max_seconds,
        progress=False,
    )
    _sync(device)
    wall = time.perf_counter() - start
    if device.type == "cuda":
        memory_mb, memory_kind = (torch.cuda.max_memory_allocated(device) - base) / 2**20, "cuda max_memory_allocated"
    else:
        memory_mb, memory_kind = _peak_rss_mb() - rss_before, "rise of peak RSS"
    return {
        "kind": spec["kind"],
        "model": LABELS[spec["kind"]],
        "hidden_size": spec["hidden_size"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokens": history.tokens,
        "windows": history.tokens // spec["num_steps"],
        "epochs": round(history.epochs[-1], 3),
        "train_s": round(history.train_seconds, 2),
        "wall_s": round(wall, 2),
        "tokens_per_s": round(history.tokens / history.train_seconds, 1),
        "peak_memory_mb": round(memory_mb, 1),
        "memory_measure": memory_kind,
        "val_ppl": round(history.val_ppl[-1], 3),
        "best_val_ppl": round(history.best_val_ppl, 3),
        "train_ppl": round(history.train_ppl[-1], 3),
    }


def _warm_up(kind: str, vocab_size: int, tokens: torch.Tensor, device: torch.device) -> None:
    """One tiny training run of the same kind of layer, so that the libraries' one-off start-up
    (lazy imports, thread pools, BLAS buffers) is not counted as the measured model's memory."""
    from d2lutil.data import WindowLoader
    from d2lutil.models import build_lm
    from d2lutil.training import train

    tiny = build_lm(kind, vocab_size, 8).to(device)
    train(
        tiny,
        WindowLoader(tokens[:200], 2, 4),
        tokens[:64],
        num_epochs=1,
        lr=1e-3,
        optimizer="adam",
        max_seconds=0.0,
        progress=False,
    )


def run_worker(spec: dict[str, Any], in_process: bool = False) -> dict[str, Any]:
    """Train one model in a fresh Python process (so its peak memory is its own) and return its row."""
    if in_process:
        return train_one(spec)
    cmd = [sys.executable, "-m", "d2lutil.bench", "--worker", json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the benchmark worker for {spec['kind']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def micro_benchmark(device: torch.device, hidden: int, batch: int, steps: int, repeats: int) -> dict[str, Any]:
    """Median time of one training step (forward, backward, SGD) of each GRU, interleaved round-robin.

    Each model is an RNNLM with one-hot input; the tokens are random. Also reports tokens per
    CPU-second (process time), which a busy machine disturbs less than wall time.
    """
    from d2lutil.models import build_lm
    from d2lutil.settings import set_seed

    set_seed(SEED)
    vocab_size = 28
    models = {kind: build_lm(kind, vocab_size, hidden).to(device) for kind in MICRO_KINDS}
    opts = {kind: torch.optim.SGD(m.parameters(), lr=0.1) for kind, m in models.items()}
    X = torch.randint(0, vocab_size, (batch, steps), device=device)
    Y = torch.randint(0, vocab_size, (batch, steps), device=device)

    def step(kind: str) -> None:
        logits, _ = models[kind](X)
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), Y.reshape(-1))
        opts[kind].zero_grad(set_to_none=True)
        loss.backward()
        opts[kind].step()
        _sync(device)

    wall: dict[str, list[float]] = {k: [] for k in models}
    cpu: dict[str, list[float]] = {k: [] for k in models}
    for kind in models:  # warm-up: first-call allocations and kernel selection
        step(kind)
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
            }
        )
    _add_ratios(rows, "tokens_per_s", "ratio_vs_d2l_style")
    _add_ratios(rows, "tokens_per_cpu_s", "cpu_ratio_vs_d2l_style")
    setting = {
        "hidden_size": hidden,
        "batch_size": batch,
        "num_steps": steps,
        "input": "one-hot, 28 symbols",
        "repeats": repeats,
    }
    return {"setting": setting, "rows": rows}


def _add_ratios(rows: list[dict[str, Any]], key: str, name: str) -> None:
    ref = next(r[key] for r in rows if r["kind"] == D2L_STYLE)
    for r in rows:
        r[name] = round(r[key] / ref, 3)


def gate_timings(device: torch.device, trace_chars: int, moves: int, repeats: int = 5) -> dict[str, Any]:
    """Time the gate tracer over a passage of ``trace_chars`` characters and the explorer's handlers."""
    from d2lutil.checkpoints import load_checkpoint
    from d2lutil.data import load_time_machine
    from d2lutil.gates import trace_gates
    from d2lutil.models import build_lm
    from d2lutil.pretrain import RECIPES
    from d2lutil.settings import set_seed

    data = load_time_machine()
    try:
        model, vocab, manifest = load_checkpoint("gru_lm", vocab=data.vocab, device=device)
        source = f"shipped checkpoint gru_lm ({manifest['model']})"
    except (FileNotFoundError, ValueError) as err:
        set_seed(SEED)
        model = build_lm(vocab_size=len(data.vocab), **RECIPES["gru_lm"]["model"]).to(device).eval()
        vocab = data.vocab
        source = (
            f"NO shipped checkpoint gru_lm ({type(err).__name__}: {str(err)[:120]}); "
            f"a freshly built model of the same shape ({RECIPES['gru_lm']['model']}) was timed instead"
        )
    text = "".join(vocab.to_tokens(data.val_tokens[:trace_chars].tolist()))
    tokens = torch.tensor([vocab[list(text)]], device=device)  # (1, trace_chars)
    trace_gates(model, tokens)  # warm-up
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        trace_gates(model, tokens)
        _sync(device)
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


def explorer_timings(model: Any, vocab: Any, data: Any, chars: int, moves: int) -> dict[str, Any]:
    """Drive :class:`d2lutil.explorer.GateExplorer` through a scripted sequence of control moves
    and report its handler times (median and worst); skipped, with the reason, if it is missing."""
    try:
        from d2lutil.explorer import GateExplorer
    except ImportError as err:
        return {"skipped": f"d2lutil.explorer.GateExplorer is not available ({err})"}
    text = "".join(vocab.to_tokens(data.val_tokens.tolist()))
    passages = {f"held-out characters {s:,}-{s + chars:,}": text[s : s + chars] for s in (0, len(text) // 2)}
    start = time.perf_counter()
    explorer = GateExplorer(model, vocab, passages=passages)
    build_ms = (time.perf_counter() - start) * 1e3
    seen = len(explorer.timings_ms)
    seen_by = {name: len(values) for name, values in explorer.timings_by_handler.items()}
    hidden = explorer.hidden_size
    script: list[tuple[str, Any]] = []
    for i in range(moves):  # mostly slider drags, as a reader does, with the other controls mixed in
        script.append(("unit", (i * 37 + 5) % hidden))
        if i % 3 == 1:
            first = (i * 53) % max(1, chars - 120)
            script.append(("window", (first, first + 79)))
        if i % 6 == 2:
            script.append(("gate", "reset gate R" if i % 12 == 2 else "update gate Z"))
        if i % 8 == 4:
            script.append(("feature", "vowel" if i % 16 == 4 else "space"))
    script.append(("passage", list(passages)[1]))
    script.append(("unit", 1))
    for name, value in script:
        getattr(explorer, name).value = value
    ms = explorer.timings_ms[seen:]
    by_handler = {}
    for name, values in explorer.timings_by_handler.items():
        values = values[seen_by.get(name, 0) :]
        if values:
            by_handler[name] = {
                "n": len(values),
                "median_ms": round(statistics.median(values), 2),
                "worst_ms": round(max(values), 2),
            }
    return {
        "interactions": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "worst_ms": round(max(ms), 2),
        "build_ms": round(build_ms, 1),
        "by_handler": by_handler,
        "passage_chars": chars,
    }


# ----- the run ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement; returns the results as a JSON-ready dict."""
    device = torch.device(args.device) if args.device else _default_device()
    threads_reason = "set by --threads" if args.threads else "torch's default"
    load = _load()
    if (
        not args.threads
        and device.type == "cpu"
        and load
        and load[0] > (os.cpu_count() or 1)
        and torch.get_num_threads() > 1
    ):
        # On an oversubscribed CPU, torch's threads wait for each other at every op: measured on a
        # 2-core machine at load 10, 2 threads ran the same GRU step 6x slower than 1 thread.
        args.threads = 1
        threads_reason = (
            f"1 thread chosen because the machine is busy (load average {load[0]} on {os.cpu_count()} cores)"
        )
        print(f"[bench] {threads_reason}; pass --threads N to override", flush=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = dict(QUICK if args.quick else FULL)
    for key in budget:
        if getattr(args, key, None) is not None:
            budget[key] = getattr(args, key)
    started = time.perf_counter()
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "d2lutil.bench", *(sys.argv[1:] if args.argv is None else args.argv)]),
        "mode": "quick" if args.quick else "full",
        "device": _device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "threads_reason": threads_reason,
        "load_average_before": load,
        "budget": budget,
        "note": args.note or "",
    }
    common = {"device": str(device), "threads": args.threads}
    say = print if not args.silent else (lambda *a, **k: None)

    d2l_spec = dict(D2L_RECIPE, **common, windows=max(1, round(D2L_RECIPE["windows"] * budget["d2l_fraction"])))
    say(f"[bench] the d2l recipe: GRUD2LStyle h=32, {d2l_spec['windows']:,} windows of 32 on {device} ...", flush=True)
    d2l_row = run_worker(d2l_spec, args.in_process)
    d2l_row["recipe"] = (
        f"d2l 1.0: h=32, one-hot, batch 1024 x 32 steps, SGD lr 4, clip 1, {d2l_spec['windows']:,} windows"
        + (
            " (d2l's 50 epochs x 10,000)"
            if budget["d2l_fraction"] == 1.0
            else f" ({budget['d2l_fraction']:g} of d2l's 500,000)"
        )
    )
    rows = []
    for kind in COMMON_KINDS:
        say(f"[bench] {SHORT[kind]}: common recipe for {budget['seconds']:g} s of training ...", flush=True)
        rows.append(run_worker(dict(COMMON_RECIPE, kind=kind, seconds=budget["seconds"], **common), args.in_process))
    _add_ratios(rows, "tokens_per_s", "ratio_vs_d2l_style")
    say("[bench] micro-benchmark ...", flush=True)
    micro = micro_benchmark(device, int(budget["micro_hidden"]), 128, 64, int(budget["micro_repeats"]))
    say("[bench] gate tracing and the explorer ...", flush=True)
    gates = gate_timings(device, int(budget["trace_chars"]), int(budget["explorer_moves"]))

    def ratio(rows_: list[dict[str, Any]], a: str, b: str, key: str = "tokens_per_s") -> float:
        va = next(r[key] for r in rows_ if r["kind"] == a)
        vb = next(r[key] for r in rows_ if r["kind"] == b)
        return round(va / vb, 3)

    summary = {
        "training_fused_vs_d2l_style": ratio(rows, "gru_scratch", "gru_d2l_style"),
        "training_fused_vs_nn_gru": ratio(rows, "gru_scratch", "gru"),
        "micro_fused_vs_d2l_style": ratio(micro["rows"], "gru_scratch", "gru_d2l_style"),
        "micro_fused_vs_nn_gru": ratio(micro["rows"], "gru_scratch", "gru"),
        "micro_cpu_time_fused_vs_d2l_style": ratio(micro["rows"], "gru_scratch", "gru_d2l_style", "tokens_per_cpu_s"),
        "micro_cpu_time_fused_vs_nn_gru": ratio(micro["rows"], "gru_scratch", "gru", "tokens_per_cpu_s"),
    }
    meta["load_average_after"] = _load()
    meta["total_s"] = round(time.perf_counter() - started, 1)
    return {
        "meta": meta,
        "d2l_recipe": {
            "recipe": dict(D2L_RECIPE, windows=d2l_spec["windows"]),
            "data": "d2lutil's loader: non-overlapping random windows from the first 90% of the book "
            "(d2l 1.0 reuses 10,000 overlapping windows from the book's first ~10,000 characters)",
            "row": d2l_row,
        },
        "training": {"recipe": dict(COMMON_RECIPE, seconds=budget["seconds"], input="one-hot"), "rows": rows},
        "micro": micro,
        "gates": gates,
        "summary": summary,
    }


def _default_device() -> torch.device:
    from d2lutil.settings import try_gpu

    return try_gpu()


# ----- reporting ----------------------------------------------------------------------------------
def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown_table(results: dict[str, Any]) -> str:
    """The results as Markdown: the training table, the micro-benchmark, the gate timings."""
    m, tr, mi, g, s = results["meta"], results["training"], results["micro"], results["gates"], results["summary"]
    rec, d = tr["recipe"], results["d2l_recipe"]["row"]
    note = f" {m['note']}" if m["note"] else ""
    command = m["command"].replace(shlex.quote(m["note"]), '"…"') if m["note"] else m["command"]  # the note follows
    lines = [
        f"Measured {m['date'][:10]} on {m['device']}, torch {m['torch']}, with `{command}` "
        f"({m['mode']} mode, {m['total_s']:.0f} s in all; load average {m['load_average_before']} before, "
        f"{m['load_average_after']} after; threads: {m['threads_reason']}).{note}",
        "",
        _row(
            "Model",
            "Recipe",
            "Training budget",
            "Tokens/s",
            "× GRUD2LStyle",
            "Peak memory (MB)",
            "Training s",
            "Wall s",
            "Held-out perplexity",
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
        _row(
            f"{SHORT[d['kind']]}, h={d['hidden_size']}",
            d["recipe"],
            f"{d['windows']:,} windows ({d['epochs']:g} epochs of d2lutil's loader)",
            f"{d['tokens_per_s']:,.0f}",
            "–",
            f"{d['peak_memory_mb']:,.0f}",
            f"{d['train_s']:.1f}",
            f"{d['wall_s']:.1f}",
            f"{d['val_ppl']:.2f}",
        ),
    ]
    common = (
        f"h={rec['hidden_size']}, one-hot, batch {rec['batch_size']} x {rec['num_steps']}, "
        f"{rec['optimizer'].capitalize()} {rec['lr']:g}, clip {rec['clip']:g}"
    )
    for r in tr["rows"]:
        lines.append(
            _row(
                f"{SHORT[r['kind']]}, h={r['hidden_size']}",
                common,
                f"{rec['seconds']:g} s ({r['epochs']:.2f} epochs)",
                f"{r['tokens_per_s']:,.0f}",
                f"{r['ratio_vs_d2l_style']:.2f}",
                f"{r['peak_memory_mb']:,.0f}",
                f"{r['train_s']:.1f}",
                f"{r['wall_s']:.1f}",
                f"{r['val_ppl']:.2f}",
            )
        )
    st = mi["setting"]
    lines += [
        "",
        f"Throughput (h={st['hidden_size']}, batch {st['batch_size']}, {st['num_steps']} steps, one-hot; "
        f"forward, backward and SGD step; median of {st['repeats']}, models interleaved):",
        "",
        _row(
            "Layer",
            "ms/step (median)",
            "Tokens/s",
            "× GRUD2LStyle",
            "Tokens per CPU-second",
            "× GRUD2LStyle (CPU time)",
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in mi["rows"]:
        lines.append(
            _row(
                SHORT[r["kind"]],
                f"{r['median_ms']:,.1f}",
                f"{r['tokens_per_s']:,.0f}",
                f"{r['ratio_vs_d2l_style']:.2f}",
                f"{r['tokens_per_cpu_s']:,.0f}",
                f"{r['cpu_ratio_vs_d2l_style']:.2f}",
            )
        )
    t = g["trace"]
    lines += [
        "",
        f"Fused scratch GRU: {s['micro_fused_vs_d2l_style']:.2f}x GRUD2LStyle and "
        f"{s['micro_fused_vs_nn_gru']:.2f}x nn.GRU in the micro-benchmark (CPU time: "
        f"{s['micro_cpu_time_fused_vs_d2l_style']:.2f}x and {s['micro_cpu_time_fused_vs_nn_gru']:.2f}x); "
        f"{s['training_fused_vs_d2l_style']:.2f}x and {s['training_fused_vs_nn_gru']:.2f}x in training.",
        "",
        _row("Gate explorer", "Median ms", "Worst ms", "Count"),
        "|---|---:|---:|---:|",
        _row(
            f"trace_gates over {t['chars']:,} characters",
            f"{t['median_ms']:,.1f}",
            f"{t['worst_ms']:,.1f}",
            t["repeats"],
        ),
    ]
    ex = g["explorer"]
    if "skipped" in ex:
        lines.append(_row("explorer handler per interaction", f"skipped: {ex['skipped']}", "", ""))
    else:
        what = f"explorer handler per interaction (scripted moves, passage of {ex['passage_chars']:,} characters)"
        lines.append(_row(what, f"{ex['median_ms']:,.1f}", f"{ex['worst_ms']:,.1f}", ex["interactions"]))
        for name, h in ex["by_handler"].items():
            lines.append(_row(f"&nbsp;&nbsp;{name} handler", f"{h['median_ms']:,.1f}", f"{h['worst_ms']:,.1f}", h["n"]))
    lines += ["", f"Gate model: {g['model']}."]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m d2lutil.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small budgets: under 3 minutes on a 2-core CPU")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--table", type=Path, help="write the Markdown table here")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: a GPU when there is one)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for every part (default: torch's choice)")
    parser.add_argument("--note", help="a sentence added to the table's heading (e.g. how busy the machine was)")
    parser.add_argument(
        "--seconds", type=float, help="training time per model in the common recipe (full 60, quick 12)"
    )
    parser.add_argument(
        "--d2l-fraction", type=float, help="share of d2l's 500,000 training windows (full 1, quick 0.1)"
    )
    parser.add_argument(
        "--micro-repeats", type=int, help="timed steps per model in the micro-benchmark (full 15, quick 5)"
    )
    parser.add_argument("--micro-hidden", type=int, help="hidden size of the micro-benchmark (default 256)")
    parser.add_argument("--trace-chars", type=int, help="length of the traced passage (default 1000)")
    parser.add_argument("--explorer-moves", type=int, help="scripted slider moves for the explorer (full 24, quick 12)")
    parser.add_argument("--in-process", action="store_true", help="train in this process (memory figures then overlap)")
    parser.add_argument("--silent", action="store_true", help="print only the table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.worker:  # a subprocess that trains one model and prints its row
        print(json.dumps(train_one(json.loads(args.worker))))
        return None
    results = run(args)
    table = markdown_table(results)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text(table)
    return results


if __name__ == "__main__":
    main()

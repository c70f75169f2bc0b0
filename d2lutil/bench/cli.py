"""How fast, and how good: the chapter's recurrent models timed and scored in one run on one device.

    python -m d2lutil.bench                          # the full benchmark (about 9 minutes on a 2-core CPU)
    python -m d2lutil.bench --quick                  # a small version (about 3 minutes on a 2-core CPU)
    python -m d2lutil.bench --out bench/results.json --table bench/README_table.md

The book is split as everywhere in d2lutil (:func:`d2lutil.data.split_corpus`): training on the
first 85%, **validation** on the next 5%, **test** on the last 10%. Every model trains on the
training part only, for a fixed budget, and keeps its final weights (nothing is chosen, on
either part); its validation perplexity is measured after each epoch and its test perplexity
once, after training (:func:`d2lutil.training.evaluate_perplexity`, text read in order with the
state carried). Both are reported, labelled.

It measures, on the current device (a GPU when there is one), in one run:

1. **The d2l 1.0 recipe** reproduced with d2lutil: the GRU as d2l codes it (:class:`GRUD2LStyle`),
   hidden 32, one-hot input, batch 1024 x 32 steps, SGD lr 4, gradient clipping 1, and d2l's
   training budget (50 epochs over 10,000 windows = 500,000 windows). The data differ from d2l's
   on purpose: d2lutil's loader draws non-overlapping random windows from the book's training
   part, where d2l reuses the same 10,000 overlapping windows from the book's first ~10,000
   characters.
2. **One common recipe for six layers**, all with the same hidden size (256; their parameter
   counts differ and are reported), one-hot input, batch 64 x 64 steps, Adam 5e-3, clip 1, each
   trained for the same fixed time: the d2l-style scratch GRU, the fused scratch GRU
   (:class:`GRUScratch`), the same layer with its time steps compiled by ``torch.compile``, four
   steps per compiled call by default (:mod:`d2lutil.bench.compiled`; compiling is timed before
   training, as its own column),
   ``nn.GRU``, ``nn.LSTM`` and the plain RNN (``nn.RNN``).
3. **A throughput micro-benchmark** at the common recipe's shapes (hidden 256, batch 64, 64 steps,
   one-hot; forward, backward and an SGD step), the four GRUs interleaved round-robin so that they
   share the machine's noise, with each one's first call (for the compiled GRU: compiling).
4. **The gate explorer**: tracing the gates over a 1,000-character passage with the shipped model,
   and the explorer's handler time per interaction over a scripted sequence of slider moves.

For every training run: the parameter count, training tokens per second, peak memory (CPU: the
rise of the process's peak resident memory, each model trained in a fresh subprocess; GPU:
``max_memory_allocated``), training and wall time, validation and test perplexity. The compiled
GRU is checked against the eager one (outputs and gradients on one batch) before it is timed;
Inductor's cache is a fresh folder for each run (unless $TORCHINDUCTOR_CACHE_DIR is set), so the
training run's compile is cold and the micro-benchmark's, of the same shapes, reuses its work.
``--no-compile`` leaves the compiled GRU out (it is left out anyway without a C++ compiler).
Ratios are taken against the d2l-style scratch GRU and against ``nn.GRU``, measured in the same
run. The figures go to JSON (``--out``) and a Markdown table (``--table``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from d2lutil.bench.compiled import COMPILE_MODES, compile_unavailable
from d2lutil.bench.measure import (
    COMMON_HIDDEN,
    COMMON_KINDS,
    COMMON_RECIPE,
    COMPILED,
    D2L_HIDDEN,
    D2L_RECIPE,
    D2L_STYLE,
    D2L_WINDOWS,
    MICRO_KINDS,
    NN_GRU,
    SHORT,
    add_ratios,
    epochs_for_windows,
    gate_timings,
    load_average,
    micro_benchmark,
    run_worker,
    train_one,
)
from d2lutil.bench.report import markdown_table
from d2lutil.data import load_time_machine
from d2lutil.settings import device_name, try_gpu

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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement; returns the results as a JSON-ready dict."""
    device = torch.device(args.device) if args.device else try_gpu()
    threads_reason = "set by --threads" if args.threads else "torch's default"
    load = load_average()
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
    skipped = "left out by --no-compile" if args.no_compile else compile_unavailable()
    compile_settings = {"mode": args.compile_mode, "steps_per_call": args.compile_steps}
    kinds = tuple(k for k in COMMON_KINDS if not (skipped and k == COMPILED))
    started = time.perf_counter()
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "d2lutil.bench", *(sys.argv[1:] if args.argv is None else args.argv)]),
        "mode": "quick" if args.quick else "full",
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "threads_reason": threads_reason,
        "load_average_before": load,
        "budget": budget,
        "split": "training: the book's first 85%; validation: the next 5%; test: the last 10% "
        "(d2lutil.data.split_corpus); training reads only the training part, nothing is chosen on validation "
        "or test (the final weights are kept), and test is read once per model, after training",
        "compile": {"skipped": skipped} if skipped else compile_settings,
        "note": args.note or "",
    }
    common = {"device": str(device), "threads": args.threads}
    common_recipe = replace(COMMON_RECIPE, max_seconds=float(budget["seconds"]))
    train_chars = len(load_time_machine().train_tokens)
    say = print if not args.silent else (lambda *a, **k: None)

    with inductor_cache() as cache:
        meta["inductor_cache"] = cache
        windows = max(1, round(D2L_WINDOWS * budget["d2l_fraction"]))
        d2l_recipe = replace(D2L_RECIPE, num_epochs=epochs_for_windows(D2L_RECIPE, windows, train_chars))
        d2l_spec = dict(kind=D2L_STYLE, hidden_size=D2L_HIDDEN, recipe=asdict(d2l_recipe), **common)
        say(f"[bench] the d2l recipe: GRUD2LStyle h=32, {windows:,} windows of 32 on {device} ...", flush=True)
        d2l_row = run_worker(d2l_spec, args.in_process)
        d2l_row["recipe"] = f"d2l 1.0: h=32, one-hot, batch 1024 x 32 steps, SGD lr 4, clip 1, {windows:,} windows" + (
            " (d2l's 50 epochs x 10,000)"
            if budget["d2l_fraction"] == 1.0
            else f" ({budget['d2l_fraction']:g} of d2l's 500,000)"
        )
        rows = []
        for kind in kinds:
            what = " (compiling first)" if kind == COMPILED else ""
            say(f"[bench] {SHORT[kind]}: common recipe for {budget['seconds']:g} s of training{what} ...", flush=True)
            spec = dict(kind=kind, hidden_size=COMMON_HIDDEN, recipe=asdict(common_recipe), compile=compile_settings)
            spec.update(common)
            rows.append(run_worker(spec, args.in_process))
        add_ratios(rows, "tokens_per_s", "ratio_vs_d2l_style")
        add_ratios(rows, "tokens_per_s", "ratio_vs_nn_gru", ref=NN_GRU)
        say("[bench] micro-benchmark ...", flush=True)
        micro = micro_benchmark(
            device,
            int(budget["micro_hidden"]),
            COMMON_RECIPE.batch_size,
            COMMON_RECIPE.num_steps,
            int(budget["micro_repeats"]),
            tuple(k for k in MICRO_KINDS if k in kinds),
            compile_settings,
        )
    say("[bench] gate tracing and the explorer ...", flush=True)
    gates = gate_timings(device, int(budget["trace_chars"]), int(budget["explorer_moves"]))

    def ratio(rows_: list[dict[str, Any]], a: str, b: str, key: str = "tokens_per_s") -> float:
        va = next(r[key] for r in rows_ if r["kind"] == a)
        vb = next(r[key] for r in rows_ if r["kind"] == b)
        return round(va / vb, 3)

    pairs = {"fused": "gru_scratch", **({} if skipped else {"compiled": COMPILED})}
    summary = {}
    for name, kind in pairs.items():
        summary[f"training_{name}_vs_d2l_style"] = ratio(rows, kind, "gru_d2l_style")
        summary[f"training_{name}_vs_nn_gru"] = ratio(rows, kind, NN_GRU)
        summary[f"micro_{name}_vs_d2l_style"] = ratio(micro["rows"], kind, "gru_d2l_style")
        summary[f"micro_{name}_vs_nn_gru"] = ratio(micro["rows"], kind, NN_GRU)
        summary[f"micro_cpu_time_{name}_vs_d2l_style"] = ratio(micro["rows"], kind, "gru_d2l_style", "tokens_per_cpu_s")
        summary[f"micro_cpu_time_{name}_vs_nn_gru"] = ratio(micro["rows"], kind, NN_GRU, "tokens_per_cpu_s")
    meta["load_average_after"] = load_average()
    meta["total_s"] = round(time.perf_counter() - started, 1)
    return {
        "meta": meta,
        "d2l_recipe": {
            "recipe": dict(asdict(d2l_recipe), hidden_size=D2L_HIDDEN, windows=windows),
            "data": "d2lutil's loader: non-overlapping random windows from the book's training part, its first 85% "
            "(d2l 1.0 reuses 10,000 overlapping windows from the book's first ~10,000 characters)",
            "row": d2l_row,
        },
        "training": {
            "recipe": dict(asdict(common_recipe), hidden_size=COMMON_HIDDEN, input="one-hot"),
            "hidden_size_note": f"every layer has hidden size {COMMON_HIDDEN}; parameter counts differ",
            "rows": rows,
        },
        "micro": micro,
        "gates": gates,
        "summary": summary,
    }


@contextlib.contextmanager
def inductor_cache() -> Iterator[str]:
    """A fresh, temporary folder for torch.compile's cache while the block runs (workers inherit it),
    so that the first compile is cold; $TORCHINDUCTOR_CACHE_DIR, when set, is kept. Yields a description."""
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        yield f"$TORCHINDUCTOR_CACHE_DIR={os.environ['TORCHINDUCTOR_CACHE_DIR']} (may hold earlier compiles)"
        return
    with tempfile.TemporaryDirectory(prefix="d2lutil-bench-inductor-") as folder:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
        try:
            yield "a fresh folder for this run (the first compile is cold)"
        finally:
            os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m d2lutil.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small budgets: about 3 minutes on a 2-core CPU")
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
    parser.add_argument(
        "--micro-hidden", type=int, help="hidden size of the micro-benchmark (default 256, the common recipe's)"
    )
    parser.add_argument("--trace-chars", type=int, help="length of the traced passage (default 1000)")
    parser.add_argument("--explorer-moves", type=int, help="scripted slider moves for the explorer (full 24, quick 12)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="train in this process (memory figures then overlap, and later compiles of the same shapes are reused)",
    )
    parser.add_argument("--no-compile", action="store_true", help="leave the compiled scratch GRU out")
    parser.add_argument(
        "--compile-mode", choices=COMPILE_MODES, default="default", help="torch.compile's mode (default: default)"
    )
    parser.add_argument(
        "--compile-steps",
        type=int,
        default=4,
        help="time steps per compiled call of the compiled GRU (1: the step alone; default 4)",
    )
    parser.add_argument("--silent", action="store_true", help="print only the table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compile_steps < 1:
        parser.error(f"--compile-steps must be 1 or more (time steps per compiled call), got {args.compile_steps}")
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

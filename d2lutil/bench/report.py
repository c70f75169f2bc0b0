"""The benchmark's results as Markdown: the training table, the micro-benchmark, the gate timings."""

from __future__ import annotations

import shlex
from typing import Any

from d2lutil.bench.measure import SHORT


def _markdown_row(*cells: object) -> str:
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
        _markdown_row(
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
        _markdown_row(
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
            _markdown_row(
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
        _markdown_row(
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
            _markdown_row(
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
        _markdown_row("Gate explorer", "Median ms", "Worst ms", "Count"),
        "|---|---:|---:|---:|",
        _markdown_row(
            f"trace_gates over {t['chars']:,} characters",
            f"{t['median_ms']:,.1f}",
            f"{t['worst_ms']:,.1f}",
            t["repeats"],
        ),
    ]
    ex = g["explorer"]
    if "skipped" in ex:
        lines.append(_markdown_row("explorer handler per interaction", f"skipped: {ex['skipped']}", "", ""))
    else:
        what = f"explorer handler per interaction (scripted moves, passage of {ex['passage_chars']:,} characters)"
        lines.append(_markdown_row(what, f"{ex['median_ms']:,.1f}", f"{ex['worst_ms']:,.1f}", ex["interactions"]))
        for name, h in ex["by_handler"].items():
            lines.append(
                _markdown_row(f"&nbsp;&nbsp;{name} handler", f"{h['median_ms']:,.1f}", f"{h['worst_ms']:,.1f}", h["n"])
            )
    lines += ["", f"Gate model: {g['model']}."]
    return "\n".join(lines) + "\n"

"""The benchmark's results as Markdown: the training table, the micro-benchmark, the gate timings."""

from __future__ import annotations

import shlex
from typing import Any

from d2lutil.bench.measure import SHORT


def _markdown_row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown_table(results: dict[str, Any]) -> str:
    """The results as Markdown: the training table, the micro-benchmark, the gate timings."""
    meta, training, micro, gates, summary = (
        results["meta"],
        results["training"],
        results["micro"],
        results["gates"],
        results["summary"],
    )
    recipe, d2l = training["recipe"], results["d2l_recipe"]["row"]
    note = f" {meta['note']}" if meta["note"] else ""
    command = (
        meta["command"].replace(shlex.quote(meta["note"]), '"…"') if meta["note"] else meta["command"]
    )  # the note follows
    lines = [
        f"Measured {meta['date'][:10]} on {meta['device']}, torch {meta['torch']}, with `{command}` "
        f"({meta['mode']} mode, {meta['total_s']:.0f} s in all; load average {meta['load_average_before']} before, "
        f"{meta['load_average_after']} after; threads: {meta['threads_reason']}).{note}",
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
            f"{SHORT[d2l['kind']]}, h={d2l['hidden_size']}",
            d2l["recipe"],
            f"{d2l['windows']:,} windows ({d2l['epochs']:g} epochs of d2lutil's loader)",
            f"{d2l['tokens_per_s']:,.0f}",
            "–",
            f"{d2l['peak_memory_mb']:,.0f}",
            f"{d2l['train_s']:.1f}",
            f"{d2l['wall_s']:.1f}",
            f"{d2l['val_ppl']:.2f}",
        ),
    ]
    common = (
        f"h={recipe['hidden_size']}, one-hot, batch {recipe['batch_size']} x {recipe['num_steps']}, "
        f"{recipe['optimizer'].capitalize()} {recipe['lr']:g}, clip {recipe['clip']:g}"
    )
    for row in training["rows"]:
        lines.append(
            _markdown_row(
                f"{SHORT[row['kind']]}, h={row['hidden_size']}",
                common,
                f"{recipe['seconds']:g} s ({row['epochs']:.2f} epochs)",
                f"{row['tokens_per_s']:,.0f}",
                f"{row['ratio_vs_d2l_style']:.2f}",
                f"{row['peak_memory_mb']:,.0f}",
                f"{row['train_s']:.1f}",
                f"{row['wall_s']:.1f}",
                f"{row['val_ppl']:.2f}",
            )
        )
    setting = micro["setting"]
    lines += [
        "",
        f"Throughput (h={setting['hidden_size']}, batch {setting['batch_size']}, {setting['num_steps']} steps, "
        "one-hot; "
        f"forward, backward and SGD step; median of {setting['repeats']}, models interleaved):",
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
    for row in micro["rows"]:
        lines.append(
            _markdown_row(
                SHORT[row["kind"]],
                f"{row['median_ms']:,.1f}",
                f"{row['tokens_per_s']:,.0f}",
                f"{row['ratio_vs_d2l_style']:.2f}",
                f"{row['tokens_per_cpu_s']:,.0f}",
                f"{row['cpu_ratio_vs_d2l_style']:.2f}",
            )
        )
    trace = gates["trace"]
    lines += [
        "",
        f"Fused scratch GRU: {summary['micro_fused_vs_d2l_style']:.2f}x GRUD2LStyle and "
        f"{summary['micro_fused_vs_nn_gru']:.2f}x nn.GRU in the micro-benchmark (CPU time: "
        f"{summary['micro_cpu_time_fused_vs_d2l_style']:.2f}x and {summary['micro_cpu_time_fused_vs_nn_gru']:.2f}x); "
        f"{summary['training_fused_vs_d2l_style']:.2f}x and {summary['training_fused_vs_nn_gru']:.2f}x in training.",
        "",
        _markdown_row("Gate explorer", "Median ms", "Worst ms", "Count"),
        "|---|---:|---:|---:|",
        _markdown_row(
            f"trace_gates over {trace['chars']:,} characters",
            f"{trace['median_ms']:,.1f}",
            f"{trace['worst_ms']:,.1f}",
            trace["repeats"],
        ),
    ]
    explorer = gates["explorer"]
    if "skipped" in explorer:
        lines.append(_markdown_row("explorer handler per interaction", f"skipped: {explorer['skipped']}", "", ""))
    else:
        what = f"explorer handler per interaction (scripted moves, passage of {explorer['passage_chars']:,} characters)"
        lines.append(
            _markdown_row(
                what, f"{explorer['median_ms']:,.1f}", f"{explorer['worst_ms']:,.1f}", explorer["interactions"]
            )
        )
        for name, handler in explorer["by_handler"].items():
            lines.append(
                _markdown_row(
                    f"&nbsp;&nbsp;{name} handler",
                    f"{handler['median_ms']:,.1f}",
                    f"{handler['worst_ms']:,.1f}",
                    handler["n"],
                )
            )
    lines += ["", f"Gate model: {gates['model']}."]
    return "\n".join(lines) + "\n"

"""The benchmark's results as Markdown: the training table, the micro-benchmark, the gate timings."""

from __future__ import annotations

import shlex
from typing import Any

from d2lutil.bench.measure import SHORT


def _markdown_row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown_table(results: dict[str, Any]) -> str:
    """The results as Markdown: the training table, the micro-benchmark, the gate timings."""
    meta, training, micro, gates = results["meta"], results["training"], results["micro"], results["gates"]
    recipe, d2l = training["recipe"], results["d2l_recipe"]["row"]
    note = f" {meta['note']}" if meta["note"] else ""
    command = (
        meta["command"].replace(shlex.quote(meta["note"]), '"…"') if meta["note"] else meta["command"]
    )  # the note follows
    common = (
        f"h={recipe['hidden_size']} for every layer (so the parameter counts differ), one-hot, batch "
        f"{recipe['batch_size']} x {recipe['num_steps']}, {recipe['optimizer'].capitalize()} {recipe['lr']:g}, "
        f"clip {recipe['clip']:g}, {recipe['max_seconds']:g} s of training each"
    )
    compiled_rows = [r for r in training["rows"] if "compile_s" in r]
    lines = [
        f"Measured {meta['date'][:10]} on {meta['device']}, torch {meta['torch']}, with `{command}` "
        f"({meta['mode']} mode, {meta['total_s']:.0f} s in all; load average {meta['load_average_before']} before, "
        f"{meta['load_average_after']} after; threads: {meta['threads_reason']}).{note}",
        "",
        "Every model trains on the book's training part (its first 85%) for a fixed budget and keeps its final "
        "weights: nothing is chosen on the validation or the test part. **Validation perplexity**: those weights "
        "on the validation part (the 5% of the book just before the test part). **Test perplexity**: the same "
        "weights on the test part (the book's last 10%), read once after training. Common recipe: "
        f"{common}.",
        "",
        _markdown_row(
            "Model",
            "Parameters",
            "Recipe",
            "Training budget",
            "Tokens/s",
            "× GRUD2LStyle",
            "× nn.GRU",
            "Compile s",
            "Peak memory (MB)",
            "Training s",
            "Wall s",
            "Validation perplexity",
            "Test perplexity",
        ),
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _markdown_row(
            f"{SHORT[d2l['kind']]}, h={d2l['hidden_size']}",
            f"{d2l['parameters']:,}",
            d2l["recipe"],
            f"{d2l['windows']:,} windows ({d2l['epochs']:g} epochs of d2lutil's loader)",
            f"{d2l['tokens_per_s']:,.0f}",
            "–",
            "–",
            "–",
            f"{d2l['peak_memory_mb']:,.0f}",
            f"{d2l['train_s']:.1f}",
            f"{d2l['wall_s']:.1f}",
            f"{d2l['val_ppl']:.2f}",
            f"{d2l['test_ppl']:.2f}",
        ),
    ]
    for row in training["rows"]:
        compiled = "compile_s" in row
        lines.append(
            _markdown_row(
                f"{SHORT[row['kind']]}, h={row['hidden_size']}",
                f"{row['parameters']:,}",
                "common",
                f"{recipe['max_seconds']:g} s ({row['epochs']:.2f} epochs)",
                f"{row['tokens_per_s']:,.0f}",
                f"{row['ratio_vs_d2l_style']:.2f}",
                f"{row['ratio_vs_nn_gru']:.2f}",
                f"{row['compile_s']:.1f}" if compiled else "–",
                f"{row['peak_memory_mb']:,.0f}" + ("*" if compiled else ""),
                f"{row['train_s']:.1f}",
                f"{row['wall_s']:.1f}",
                f"{row['val_ppl']:.2f}",
                f"{row['test_ppl']:.2f}",
            )
        )
    if compiled_rows:
        lines += [
            "",
            "Compile s: the compiled GRU's first forward and backward, almost all of it compiling, timed before "
            f"its training clock started (Inductor's cache: {meta.get('inductor_cache', 'not recorded')}); its "
            "outputs and gradients matched the eager GRUScratch's on one batch (largest difference "
            f"{max(compiled_rows[0]['compile_check'].values()):.1g}). *Peak memory with compiling included. "
            "Evaluation runs the compiled GRU's layer eagerly (same numbers, nothing compiled for other shapes).",
        ]
    setting = micro["setting"]
    lines += [
        "",
        f"Throughput (h={setting['hidden_size']}, batch {setting['batch_size']}, {setting['num_steps']} steps, "
        "one-hot; forward, backward and SGD step; "
        f"median of {setting['repeats']}, models interleaved; first call: the first step, for the compiled GRU "
        "its compiling, which reuses this run's cache when the training run compiled the same shapes):",
        "",
        _markdown_row(
            "Layer",
            "First call s",
            "ms/step (median)",
            "Tokens/s",
            "× GRUD2LStyle",
            "× nn.GRU",
            "Tokens per CPU-second",
            "× GRUD2LStyle (CPU time)",
            "× nn.GRU (CPU time)",
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in micro["rows"]:
        lines.append(
            _markdown_row(
                SHORT[row["kind"]],
                f"{row['first_call_s']:.2f}",
                f"{row['median_ms']:,.1f}",
                f"{row['tokens_per_s']:,.0f}",
                f"{row['ratio_vs_d2l_style']:.2f}",
                f"{row['ratio_vs_nn_gru']:.2f}",
                f"{row['tokens_per_cpu_s']:,.0f}",
                f"{row['cpu_ratio_vs_d2l_style']:.2f}",
                f"{row['cpu_ratio_vs_nn_gru']:.2f}",
            )
        )
    for line in summary_lines(results):
        lines += ["", line]
    trace = gates["trace"]
    lines += [
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


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The ratios in words: the fused scratch GRU, and the compiled one against nn.GRU."""
    summary, compile_meta = results["summary"], results["meta"]["compile"]
    lines = [
        f"Fused scratch GRU: {summary['micro_fused_vs_d2l_style']:.2f}x GRUD2LStyle and "
        f"{summary['micro_fused_vs_nn_gru']:.2f}x nn.GRU in the micro-benchmark (CPU time: "
        f"{summary['micro_cpu_time_fused_vs_d2l_style']:.2f}x and {summary['micro_cpu_time_fused_vs_nn_gru']:.2f}x); "
        f"{summary['training_fused_vs_d2l_style']:.2f}x and {summary['training_fused_vs_nn_gru']:.2f}x in training."
    ]
    if "skipped" in compile_meta:
        lines.append(f"Compiled scratch GRU: not measured ({compile_meta['skipped']}).")
        return lines
    row = next(r for r in results["training"]["rows"] if "compile_s" in r)
    lines.append(
        f"Compiled scratch GRU (torch.compile mode {compile_meta['mode']!r}, "
        f"{compile_meta['steps_per_call']} steps per compiled call): "
        f"{summary['micro_compiled_vs_nn_gru']:.2f}x nn.GRU in the micro-benchmark (CPU time: "
        f"{summary['micro_cpu_time_compiled_vs_nn_gru']:.2f}x) and {summary['training_compiled_vs_nn_gru']:.2f}x "
        f"in training; {summary['micro_compiled_vs_d2l_style']:.2f}x and "
        f"{summary['training_compiled_vs_d2l_style']:.2f}x GRUD2LStyle; compiling took {row['compile_s']:.1f} s."
    )
    return lines

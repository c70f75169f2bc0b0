"""The benchmark runs end to end in its quick mode (with even smaller budgets) and reports every figure.

Only the shape of the results is checked (keys, positive numbers, the table's rows), never the
figures themselves: they depend on the machine and on how busy it is.
"""

from __future__ import annotations

import json
import math

import pytest

from d2lutil import bench

TINY = [
    "--quick",
    "--in-process",
    "--threads", "1",
    "--seconds", "0.3",
    "--d2l-fraction", "0.001",
    "--micro-repeats", "2",
    "--micro-hidden", "16",
    "--trace-chars", "120",
    "--explorer-moves", "2",
    "--silent",
]  # fmt: skip


def positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    res = bench.main([*TINY, "--out", str(out / "results.json"), "--table", str(out / "table.md")])
    return res, out


def test_json_written_and_equal_to_the_returned_results(results):
    res, out = results
    assert json.loads((out / "results.json").read_text()) == res


def test_meta_records_how_the_figures_were_made(results):
    meta = results[0]["meta"]
    for key in ("date", "command", "device", "torch", "threads", "load_average_before", "budget", "total_s"):
        assert key in meta, key
    assert meta["mode"] == "quick" and meta["threads"] == 1
    assert meta["command"].startswith("python -m d2lutil.bench --quick")


TRAIN_KEYS = ("tokens", "windows", "train_s", "wall_s", "tokens_per_s", "val_ppl", "best_val_ppl", "parameters")


def test_every_training_row_has_positive_figures(results):
    res = results[0]
    d2l = res["d2l_recipe"]
    assert d2l["recipe"]["hidden_size"] == 32 and d2l["recipe"]["batch_size"] == 1024 and d2l["recipe"]["lr"] == 4.0
    assert "first 90%" in d2l["data"]
    rows = [d2l["row"], *res["training"]["rows"]]
    assert [r["kind"] for r in res["training"]["rows"]] == list(bench.COMMON_KINDS)
    for row in rows:
        for key in TRAIN_KEYS:
            assert positive(row[key]), (row["kind"], key, row[key])
        assert row["peak_memory_mb"] >= 0  # in-process runs share one peak, so a later model may add nothing
        assert row["val_ppl"] < 28 * 2  # a perplexity, not a loss or a count (28 symbols)
    for row in res["training"]["rows"]:
        assert positive(row["ratio_vs_d2l_style"])
    assert next(r for r in res["training"]["rows"] if r["kind"] == bench.D2L_STYLE)["ratio_vs_d2l_style"] == 1.0


def test_micro_benchmark_and_summary(results):
    res = results[0]
    micro = res["micro"]
    assert micro["setting"]["hidden_size"] == 16 and micro["setting"]["repeats"] == 2
    assert [r["kind"] for r in micro["rows"]] == list(bench.MICRO_KINDS)
    for row in micro["rows"]:
        for key in (
            "median_ms",
            "min_ms",
            "tokens_per_s",
            "tokens_per_cpu_s",
            "ratio_vs_d2l_style",
            "cpu_ratio_vs_d2l_style",
        ):
            assert positive(row[key]), (row["kind"], key)
    for key, value in res["summary"].items():
        assert positive(value), key


def test_gate_timings(results):
    gates = results[0]["gates"]
    assert gates["trace"]["chars"] == 120 and positive(gates["trace"]["median_ms"])
    assert "gru_lm" in gates["model"]
    explorer = gates["explorer"]
    if "skipped" not in explorer:
        assert explorer["interactions"] >= 3
        assert positive(explorer["median_ms"]) and explorer["worst_ms"] >= explorer["median_ms"]
        assert "unit" in explorer["by_handler"]


def test_table_has_every_row(results):
    res, out = results
    table = (out / "table.md").read_text()
    assert table == bench.markdown_table(res)
    for name in (
        "GRUD2LStyle, h=32",
        "GRUD2LStyle, h=256",
        "GRUScratch (fused), h=256",
        "nn.GRU, h=256",
        "nn.RNN, h=256",
    ):
        assert f"| {name} |" in table, name
    assert "trace_gates over 120 characters" in table
    assert table.count("\n|") >= 5 + 3 + 2 + 6  # header rows and separators included


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--seconds", "soon"])

"""The benchmark runs end to end in its quick mode (with even smaller budgets) and reports every figure.

Only the shape of the results is checked (keys, positive numbers, the table's rows), never the
figures themselves: they depend on the machine and on how busy it is. The run compiles the
scratch GRU once (about 15-40 s, where a C++ compiler is found; the micro-benchmark's shapes are
the training run's, so it reuses that compile); everything else here is cheap.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest
import torch

from d2lutil import bench
from d2lutil.bench import measure
from d2lutil.bench.compiled import CompiledGRUScratch, check_close, compile_unavailable
from d2lutil.data import load_time_machine
from d2lutil.models import GRUScratch

COMPILES = compile_unavailable() is None

TINY = [
    "--quick",
    "--in-process",
    "--threads", "1",
    "--seconds", "0.3",
    "--d2l-fraction", "0.001",
    "--micro-repeats", "2",
    "--micro-hidden", "256",  # the common recipe's: one compile serves training and the micro-benchmark
    "--compile-steps", "1",  # the quickest to compile
    "--trace-chars", "120",
    "--explorer-moves", "2",
    "--silent",
]  # fmt: skip


def positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        # torch sets $TORCHINDUCTOR_CACHE_DIR itself at the first compile of the process (an earlier
        # test may have compiled), which the benchmark would read as the reader's own cache folder
        mp.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
        res = bench.main([*TINY, "--out", str(out / "results.json"), "--table", str(out / "table.md")])
    return res, out


def common_kinds() -> list[str]:
    return [k for k in bench.COMMON_KINDS if COMPILES or k != bench.COMPILED]


def test_json_written_and_equal_to_the_returned_results(results):
    res, out = results
    assert json.loads((out / "results.json").read_text()) == res


def test_meta_records_how_the_figures_were_made(results):
    meta = results[0]["meta"]
    for key in ("date", "command", "device", "torch", "threads", "load_average_before", "budget", "total_s", "split"):
        assert key in meta, key
    assert meta["mode"] == "quick" and meta["threads"] == 1
    assert meta["command"].startswith("python -m d2lutil.bench --quick")
    assert "validation" in meta["split"] and "test: the last 10%" in meta["split"]
    if COMPILES:
        assert meta["compile"] == {"mode": "default", "steps_per_call": 1}
        assert "fresh" in meta["inductor_cache"]
    else:
        assert "C++ compiler" in meta["compile"]["skipped"]


TRAIN_KEYS = (
    "tokens",
    "windows",
    "train_s",
    "wall_s",
    "tokens_per_s",
    "val_ppl",
    "test_ppl",
    "best_val_ppl",
    "parameters",
)


def test_every_training_row_has_positive_figures(results):
    res = results[0]
    d2l = res["d2l_recipe"]
    assert d2l["recipe"]["hidden_size"] == 32 and d2l["recipe"]["batch_size"] == 1024 and d2l["recipe"]["lr"] == 4.0
    assert "first 85%" in d2l["data"]
    rows = [d2l["row"], *res["training"]["rows"]]
    assert [r["kind"] for r in res["training"]["rows"]] == common_kinds()
    for row in rows:
        for key in TRAIN_KEYS:
            assert positive(row[key]), (row["kind"], key, row[key])
        assert row["peak_memory_mb"] >= 0  # in-process runs share one peak, so a later model may add nothing
        assert row["val_ppl"] < 28 * 2 and row["test_ppl"] < 28 * 2  # perplexities, not losses or counts
    for row in res["training"]["rows"]:
        assert row["hidden_size"] == 256  # one hidden size for every layer of the common recipe
        assert positive(row["ratio_vs_d2l_style"]) and positive(row["ratio_vs_nn_gru"])
    by_kind = {r["kind"]: r for r in res["training"]["rows"]}
    assert by_kind[bench.D2L_STYLE]["ratio_vs_d2l_style"] == 1.0 and by_kind[bench.NN_GRU]["ratio_vs_nn_gru"] == 1.0
    assert by_kind["lstm"]["parameters"] > by_kind["gru"]["parameters"] > by_kind["rnn"]["parameters"]


@pytest.mark.skipif(not COMPILES, reason="no C++ compiler for torch.compile")
def test_compiled_gru_is_timed_apart_and_agrees_with_eager(results):
    res = results[0]
    row = next(r for r in res["training"]["rows"] if r["kind"] == bench.COMPILED)
    eager = next(r for r in res["training"]["rows"] if r["kind"] == "gru_scratch")
    assert positive(row["compile_s"]) and "compiling included" in row["memory_measure"]
    assert row["parameters"] == eager["parameters"]
    assert "logits" in row["compile_check"] and all(d < 1e-4 for d in row["compile_check"].values())
    micro = next(r for r in res["micro"]["rows"] if r["kind"] == bench.COMPILED)
    assert all(d < 1e-4 for d in micro["compile_check"].values())
    for key in ("training_compiled_vs_nn_gru", "micro_compiled_vs_nn_gru", "micro_cpu_time_compiled_vs_nn_gru"):
        assert positive(res["summary"][key]), key


def test_micro_benchmark_and_summary(results):
    res = results[0]
    micro = res["micro"]
    assert micro["setting"]["hidden_size"] == 256 and micro["setting"]["repeats"] == 2
    assert micro["setting"]["batch_size"] == measure.COMMON_RECIPE.batch_size
    assert [r["kind"] for r in micro["rows"]] == [k for k in bench.MICRO_KINDS if k in common_kinds()]
    for row in micro["rows"]:
        for key in (
            "median_ms",
            "min_ms",
            "tokens_per_s",
            "tokens_per_cpu_s",
            "first_call_s",
            "ratio_vs_d2l_style",
            "cpu_ratio_vs_d2l_style",
            "ratio_vs_nn_gru",
            "cpu_ratio_vs_nn_gru",
        ):
            assert positive(row[key]), (row["kind"], key)
    assert "training_fused_vs_nn_gru" in res["summary"]
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


def test_table_has_every_row_and_says_which_part_each_perplexity_reads(results):
    res, out = results
    table = (out / "table.md").read_text()
    assert table == bench.markdown_table(res)
    names = ["GRUD2LStyle, h=32", "GRUD2LStyle, h=256", "GRUScratch (fused), h=256", "nn.GRU, h=256"]
    names += ["nn.LSTM, h=256", "nn.RNN, h=256"]
    if COMPILES:
        names.append("GRUScratch (fused, compiled), h=256")
    for name in names:
        assert f"| {name} |" in table, name
    for words in ("| Parameters |", "| Validation perplexity | Test perplexity |", "| Compile s |", "| × nn.GRU |"):
        assert words in table, words
    assert "**Validation perplexity**: those weights on the validation part" in table
    assert "**Test perplexity**: the same weights on the test part (the book's last 10%)" in table
    assert "h=256 for every layer" in table
    assert "trace_gates over 120 characters" in table
    assert table.count("\n|") >= 7 + 2 + 4 + 2 + 6  # header rows and separators included


def test_table_without_the_compiled_gru_says_why(results):
    res = copy.deepcopy(results[0])
    res["meta"]["compile"] = {"skipped": "left out by --no-compile"}
    res["training"]["rows"] = [r for r in res["training"]["rows"] if r["kind"] != bench.COMPILED]
    res["micro"]["rows"] = [r for r in res["micro"]["rows"] if r["kind"] != bench.COMPILED]
    res["summary"] = {k: v for k, v in res["summary"].items() if "compiled" not in k}
    table = bench.markdown_table(res)
    assert "Compiled scratch GRU: not measured (left out by --no-compile)." in table
    assert "(fused, compiled)" not in table and "Compile s: the compiled" not in table


def test_training_never_reads_the_test_part(monkeypatch):
    """The worker hands training only the training and validation parts; the test part is read after."""
    data = load_time_machine()
    calls = []
    real = measure.train

    def spy(model, train_tokens, val_tokens, *args, **kwargs):
        calls.append((train_tokens, val_tokens))
        return real(model, train_tokens, val_tokens, *args, **kwargs)

    monkeypatch.setattr(measure, "train", spy)
    recipe = dataclasses.replace(measure.COMMON_RECIPE, batch_size=2, num_steps=8, max_seconds=0.05)
    row = measure.train_one(dict(kind="gru", hidden_size=8, recipe=dataclasses.asdict(recipe), device="cpu", threads=1))
    warm_up, (train_tokens, val_tokens) = calls  # a tiny warm-up run, then the measured one
    assert len(warm_up[0]) == 200 and torch.equal(warm_up[0], data.train_tokens[:200])
    assert torch.equal(train_tokens, data.train_tokens) and torch.equal(val_tokens, data.val_tokens)
    assert positive(row["test_ppl"]) and positive(row["val_ppl"])


def test_compiled_layer_runs_eagerly_in_evaluation_and_refuses_bad_settings():
    torch.manual_seed(0)
    layer = CompiledGRUScratch(5, 7, steps_per_call=2).eval()
    eager = GRUScratch(5, 7).eval()
    eager.load_state_dict(layer.state_dict())
    X = torch.randn(3, 2, 5)
    torch.testing.assert_close(layer(X), eager(X), rtol=0, atol=0)  # the eager path: nothing compiled
    with pytest.raises(ValueError, match="mode must be one of"):
        CompiledGRUScratch(5, 7, mode="fast")
    with pytest.raises(ValueError, match="steps_per_call"):
        CompiledGRUScratch(5, 7, steps_per_call=0)


def test_check_close_names_what_disagrees():
    a = torch.zeros(3)
    assert check_close("logits", a, a) == 0.0
    with pytest.raises(RuntimeError, match="gradient of W_h: largest difference 0.5"):
        check_close("the gradient of W_h", a, a + 0.5)


def test_compile_unavailable_without_a_cxx_compiler(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-d2lutil")
    assert "no C++ compiler 'no-such-compiler-d2lutil'" in compile_unavailable()


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--seconds", "soon"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--compile-steps", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--compile-mode", "fastest"])

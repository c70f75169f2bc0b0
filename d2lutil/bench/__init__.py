"""The benchmark against the peer: ``python -m d2lutil.bench`` (``--help`` says what it measures).

measure          the timed runs: training in worker processes, the micro-benchmark, gate tracing
compiled         the fused scratch GRU with its step compiled by torch.compile (the benchmark only)
explorer_timing  the gate explorer's handler times over scripted moves
report           the results as a Markdown table
cli              the command: its arguments, one run of every measurement, the JSON and the table
"""

from d2lutil.bench.cli import main, parse_args, run
from d2lutil.bench.measure import COMMON_KINDS, COMPILED, D2L_STYLE, MICRO_KINDS, NN_GRU
from d2lutil.bench.report import markdown_table

__all__ = [
    "COMMON_KINDS",
    "COMPILED",
    "D2L_STYLE",
    "MICRO_KINDS",
    "NN_GRU",
    "main",
    "markdown_table",
    "parse_args",
    "run",
]

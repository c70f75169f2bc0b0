"""``python -m d2lutil.bench``: run the benchmark (see :mod:`d2lutil.bench.cli` for its options)."""

from d2lutil.bench.cli import main

main()

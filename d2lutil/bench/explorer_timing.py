"""The gate explorer's handler times over a scripted sequence of control moves (part 4 of the benchmark)."""

from __future__ import annotations

import statistics
import time
from typing import Any


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

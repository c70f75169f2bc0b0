"""The gate explorer's kernel side: tracing a new passage, and a scripted sequence of control moves
set from Python (part 4 of the benchmark). The drawing happens in the browser, which
tests/test_browser.py times from the input event to the painted frame."""

from __future__ import annotations

import statistics
import time
from typing import Any


def explorer_timings(model: Any, vocab: Any, data: Any, chars: int, moves: int) -> dict[str, Any]:
    """Time :class:`d2lutil.explorer.GateExplorer` in the kernel: each view-state move set from
    Python (validated and sent to the browser; no drawing in the kernel), and a new passage
    ("passage": the whole change, "gates" and "connectivity" its two traces). Reports medians and
    worsts; skipped, with the reason, if the explorer is missing."""
    try:
        from d2lutil.explorer import GateExplorer
    except ImportError as err:
        return {"skipped": f"d2lutil.explorer.GateExplorer is not available ({err})"}
    text = "".join(vocab.to_tokens(data.val_tokens.tolist()))
    passages = {f"validation characters {s:,}-{s + chars:,}": text[s : s + chars] for s in (0, len(text) // 2)}
    start = time.perf_counter()
    explorer = GateExplorer(model, vocab, passages=passages, max_chars=chars)
    build_ms = (time.perf_counter() - start) * 1e3
    script: list[tuple[str, Any]] = []
    for i in range(moves):  # mostly slider moves, as a reader makes them, with the other controls mixed in
        script.append(("unit", (i * 37 + 5) % explorer.hidden_size))
        if i % 3 == 1:
            first = (i * 53) % max(1, chars - 120)
            script.append(("window", [first, first + 79]))
        if i % 6 == 2:
            script.append(("gate", "r" if i % 12 == 2 else "z"))
        if i % 8 == 4:
            script.append(("feature", "vowel" if i % 16 == 4 else "space"))
    script.append(("passage", list(passages)[1]))
    script.append(("unit", 1))
    times: dict[str, list[float]] = {}
    for name, value in script:
        start = time.perf_counter()
        setattr(explorer, name, value)
        times.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
    ms = [m for values in times.values() for m in values]
    times["gates"] = explorer.kernel_ms["gates"][1:]  # the new passage's traces, not the first one's
    times["connectivity"] = explorer.kernel_ms["connectivity"][1:]
    by_handler = {
        name: {"n": len(values), "median_ms": round(statistics.median(values), 2), "worst_ms": round(max(values), 2)}
        for name, values in times.items()
        if values
    }
    return {
        "interactions": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "worst_ms": round(max(ms), 2),
        "build_ms": round(build_ms, 1),
        "by_handler": by_handler,
        "passage_chars": chars,
    }

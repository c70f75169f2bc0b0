"""Write the explorer's self-contained page for a shipped model:
``python -m d2lutil.explorer --save book/_static/gate_explorer.html``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from d2lutil.checkpoints import load_checkpoint
from d2lutil.explorer.trace import held_out_passages
from d2lutil.explorer.widget import GateExplorer


def page_title(name: str, manifest: dict[str, Any]) -> str:
    """The page's title: the checkpoint, its size and, when its manifest records one, its test
    perplexity (``test_ppl``, on the book's last 10%; not ``val_ppl``, which chose the epoch)."""
    spec = manifest["model"]
    title = f"Gate explorer: {name}, a {spec['num_layers']}-layer GRU of {spec['hidden_size']} units"
    if manifest.get("test_ppl") is not None:
        title += f" (test perplexity {manifest['test_ppl']:.2f})"
    return title


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--save", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--checkpoint", default="gru_lm", help="a shipped checkpoint (default: gru_lm)")
    parser.add_argument("--length", type=int, default=400, help="characters per held-out passage (default 400)")
    parser.add_argument(
        "--context", type=int, default=64, help="characters, up to each one, that the connectivity covers (default 64)"
    )
    parser.add_argument("--count", type=int, default=3, help="how many held-out passages (default 3)")
    args = parser.parse_args(argv)
    model, vocab, manifest = load_checkpoint(args.checkpoint)
    explorer = GateExplorer(model, vocab, held_out_passages(args.length, args.count), context=args.context)
    path = explorer.save_html(args.save, title=page_title(args.checkpoint, manifest))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {len(explorer.passages)} passages)")


if __name__ == "__main__":
    main()

"""Train the chapter's shipped checkpoints with the full recipe and write them into the package.

    python -m d2lutil.pretrain              # both models into d2lutil/pretrained
    python -m d2lutil.pretrain --only gru_lm --out /tmp/ckpt

Each model is written as safetensors weights plus a JSON manifest (recipe, device, training time,
held-out perplexity on the last 10% of the book, and ``digest``: one sha256 over the manifest and the
weights together); see :mod:`d2lutil.checkpoints`.
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path
from typing import Any

import torch

from d2lutil.checkpoints import PRETRAINED_DIR, save_checkpoint
from d2lutil.data import load_time_machine
from d2lutil.models import build_lm
from d2lutil.settings import set_seed, try_gpu
from d2lutil.training import Recipe, evaluate_perplexity, train_recipe

# The full recipe (GUIDE.md: a two-layer 512-unit nn.GRU with an embedding, AdamW, dropout,
# random windows; the held-out perplexity is read on the last 10% with the state carried).
RECIPES: dict[str, dict[str, Any]] = {
    "gru_lm": {
        "model": {"kind": "gru", "hidden_size": 512, "num_layers": 2, "embed_size": 64, "dropout": 0.3},
        "train": {
            "batch_size": 64,
            "num_steps": 128,
            "num_epochs": 24,
            "optimizer": "adamw",
            "lr": 2e-3,
            "clip": 1.0,
            "weight_decay": 0.01,
        },
    },
    "rnn_lm": {
        "model": {"kind": "rnn", "hidden_size": 512, "num_layers": 2, "embed_size": 64, "dropout": 0.3},
        "train": {
            "batch_size": 64,
            "num_steps": 128,
            "num_epochs": 30,
            "optimizer": "adamw",
            "lr": 1e-3,
            "clip": 1.0,
            "weight_decay": 0.01,
        },
    },
}
SEED = 0


def pretrain(name: str, out_dir: Path, epochs: int | None = None) -> dict[str, Any]:
    """Train one recipe, keep the epoch with the best held-out perplexity, save it; returns the manifest."""
    shape = RECIPES[name]["model"]
    recipe = dict(RECIPES[name]["train"], **({"num_epochs": epochs} if epochs else {}))
    device = try_gpu()
    data = load_time_machine()
    set_seed(SEED)
    model = build_lm(vocab_size=len(data.vocab), **shape).to(device)
    history = train_recipe(
        model, data, Recipe(**recipe), seed=SEED, device=device, restore_best=True, progress=True, title=name
    )
    val_ppl = evaluate_perplexity(model, data.val_tokens)
    device_name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s))"
    )
    manifest = {
        "recipe": dict(recipe, seed=SEED, data="The Time Machine, first 90% of characters", restore_best=True),
        "device": device_name,
        "torch": torch.__version__,
        "trained_on": datetime.date.today().isoformat(),
        "train_seconds": round(history.train_seconds, 1),
        "tokens_per_s": round(history.tokens / history.train_seconds),
        "val_ppl": round(val_ppl, 4),
        "val_ppl_per_epoch": [round(v, 3) for v in history.val_ppl],
        "val_ppl_reading": (
            "evaluate_perplexity(model, last 10% of the book), batch_size=8, num_steps=256, state carried"
        ),
    }
    save_checkpoint(model.cpu(), data.vocab, out_dir / name, shape, **manifest)
    print(f"{name}: held-out perplexity {val_ppl:.3f}, {history.train_seconds:.0f} s on {device_name}")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RECIPES), help="train just this checkpoint")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="output folder (default: the package's)")
    parser.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    args = parser.parse_args(argv)
    for name in [args.only] if args.only else sorted(RECIPES):
        pretrain(name, args.out, args.epochs)


if __name__ == "__main__":
    main()

"""Train the chapter's shipped checkpoints and write them into the package.

    python -m d2lutil.pretrain                               # gru_lm, lstm_lm and rnn_lm into d2lutil/pretrained
    python -m d2lutil.pretrain --only gru_lm --out /tmp/ckpt
    python -m d2lutil.pretrain --only gru_lm --set model.dropout=0.4 --set train.ema_decay=null \\
        --name gru_lm_dropout0.4 --no-test --out /tmp/ablation     # one ablation run: validation only
    python -m d2lutil.pretrain --promote /tmp/ablation/gru_lm_ema --as gru_lm   # ship a run chosen on validation

The protocol: train on the book's first 85%, choose everything (the epoch kept, the recipe) on the
next 5% (validation), and read the last 10% (test) once, for the figure reported. Ablation runs
(``--no-test``) never read the test part; ``--promote`` reads it once for the run chosen on
validation and writes the shipped checkpoint. Each checkpoint is safetensors weights plus a JSON
manifest (recipe, device, training time, validation and test perplexity, and ``digest``: one sha256
over the manifest and the weights together); see :mod:`d2lutil.checkpoints`.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
from pathlib import Path
from typing import Any

import torch

from d2lutil.checkpoints import PRETRAINED_DIR, load_checkpoint, save_checkpoint
from d2lutil.data import TimeMachine, load_time_machine
from d2lutil.models import build_lm
from d2lutil.settings import device_name, set_seed, try_gpu
from d2lutil.training import Recipe, evaluate_perplexity, train_recipe

# The full recipe: a two-layer recurrent layer with an embedding, AdamW with a cosine schedule and an
# average (EMA) of the weights, windows that follow each other with the state carried, dropout on the
# layer's inputs, between its layers and on its outputs. It was chosen on validation only, against
# the 2026-11 recipe (batch 64, dropout 0.3, constant lr, random windows, no average); the ablation
# is in gru_lm's manifest note and the README. lstm_lm has about gru_lm's parameters (hidden 448:
# 4 blocks of 448 ~ 3 blocks of 512); rnn_lm keeps gru_lm's width. All three share the recipe.
TRAIN: dict[str, Any] = {
    "batch_size": 32,
    "num_steps": 128,
    "num_epochs": 24,
    "optimizer": "adamw",
    "lr": 2e-3,
    "clip": 1.0,
    "weight_decay": 0.01,
    "schedule": "cosine",
    "ema_decay": 0.995,
    "sequential": True,
}
SHAPE: dict[str, Any] = {"num_layers": 2, "embed_size": 64, "dropout": 0.4, "embed_dropout": 0.1}
RECIPES: dict[str, dict[str, Any]] = {
    "gru_lm": {
        "model": {"kind": "gru", "hidden_size": 512, **SHAPE},
        "train": TRAIN,
    },
    "lstm_lm": {
        "model": {"kind": "lstm", "hidden_size": 448, **SHAPE},
        "train": TRAIN,
    },
    "rnn_lm": {
        "model": {"kind": "rnn", "hidden_size": 512, **SHAPE},
        "train": TRAIN,
    },
}
SEED = 0
SPLIT = "The Time Machine: trained on the first 85% of characters, epoch chosen on the next 5%, tested on the last 10%"
READING = "evaluate_perplexity(model, tokens), batch_size=8, num_steps=256, state carried"


def with_overrides(recipe: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``recipe`` with ``part.key=value`` settings applied (value read as JSON, else as a string)."""
    out = copy.deepcopy(recipe)
    for item in overrides:
        key, sep, raw = item.partition("=")
        part, dot, field = key.partition(".")
        if not sep or not dot or part not in out:
            raise ValueError(f"--set {item!r}: write model.KEY=VALUE or train.KEY=VALUE, e.g. model.dropout=0.4")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if value is None:
            out[part].pop(field, None)
        else:
            out[part][field] = value
    return out


def pretrain(
    name: str, out_dir: Path, recipe: dict[str, Any], read_test: bool = True, note: str = ""
) -> dict[str, Any]:
    """Train ``recipe``, keep the epoch with the best validation perplexity, save it; returns the manifest.

    With ``read_test`` the test perplexity of the kept weights is measured once and recorded.
    """
    shape, train_args = recipe["model"], recipe["train"]
    device = try_gpu()
    data = load_time_machine()
    set_seed(SEED)
    model = build_lm(vocab_size=len(data.vocab), **shape).to(device)
    history = train_recipe(
        model,
        data.train_tokens,
        data.val_tokens,
        Recipe(**train_args),
        seed=SEED,
        device=device,
        restore_best=True,
        progress=True,
        title=name,
    )
    best = min(range(len(history.val_ppl)), key=history.val_ppl.__getitem__)
    manifest: dict[str, Any] = {
        "recipe": dict(train_args, seed=SEED, data=SPLIT, restore_best=True),
        "device": device_name(device),
        "torch": torch.__version__,
        "trained_on": datetime.date.today().isoformat(),
        "train_seconds": round(history.train_seconds, 1),
        "tokens_per_s": round(history.tokens / history.train_seconds),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epoch_kept": best + 1,
        "val_ppl": round(evaluate_perplexity(model, data.val_tokens), 4),
        "val_ppl_per_epoch": [round(v, 3) for v in history.val_ppl],
        "ppl_reading": READING,
    }
    if note:
        manifest["note"] = note
    if read_test:
        manifest["test_ppl"] = round(evaluate_perplexity(model, data.test_tokens), 4)
    save_checkpoint(model.cpu(), data.vocab, out_dir / name, shape, **manifest)
    test = f", test {manifest['test_ppl']:.3f}" if read_test else ""
    print(
        f"{name}: validation perplexity {manifest['val_ppl']:.3f} (epoch {best + 1}){test}, "
        f"{history.train_seconds:.0f} s on {manifest['device']}"
    )
    return manifest


def promote(source: Path, name: str, out_dir: Path, note: str = "") -> dict[str, Any]:
    """Ship the validation-only run ``source``: read its test perplexity once and save it as ``out_dir/name``."""
    model, vocab, manifest = load_checkpoint(source)
    if "test_ppl" in manifest:
        raise ValueError(f"{source} already has a test perplexity: promote a run trained with --no-test")
    data: TimeMachine = load_time_machine()
    fields = {k: v for k, v in manifest.items() if k not in ("format", "model", "vocab", "weights_file", "digest")}
    fields["test_ppl"] = round(evaluate_perplexity(model, data.test_tokens), 4)
    if note:
        fields["note"] = note
    save_checkpoint(model, vocab, out_dir / name, dict(manifest["model"]), **fields)
    print(f"{name}: validation perplexity {fields['val_ppl']:.3f}, test {fields['test_ppl']:.3f} (from {source})")
    return fields


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RECIPES), help="train just this checkpoint")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="output folder (default: the package's)")
    parser.add_argument("--set", action="append", default=[], metavar="PART.KEY=VALUE", help="change the recipe")
    parser.add_argument("--name", help="the checkpoint's name (default: the recipe's)")
    parser.add_argument("--no-test", action="store_true", help="an ablation run: never read the test part")
    parser.add_argument("--note", default="", help="a note stored in the manifest")
    parser.add_argument("--promote", type=Path, help="a --no-test checkpoint to ship under --as")
    parser.add_argument("--as", dest="as_name", help="the shipped name for --promote")
    args = parser.parse_args(argv)
    if args.promote:
        if not args.as_name:
            parser.error("--promote needs --as NAME")
        promote(args.promote, args.as_name, args.out, args.note)
        return
    if (args.set or args.name) and not args.only:
        parser.error("--set and --name apply to one recipe: add --only NAME")
    for name in [args.only] if args.only else sorted(RECIPES):
        recipe = with_overrides(RECIPES[name], args.set)
        pretrain(args.name or name, args.out, recipe, read_test=not args.no_test, note=args.note)


if __name__ == "__main__":
    main()

"""Train the chapter's shipped checkpoints and write them into the package.

    python -m d2lutil.pretrain                               # gru_lm, lstm_lm and rnn_lm into d2lutil/pretrained
    python -m d2lutil.pretrain --only gru_lm --out /tmp/ckpt
    python -m d2lutil.pretrain --only gru_lm --set model.dropout=0.4 --set recipe.ema_decay=null \\
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
import datetime
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from d2lutil.checkpoints import PRETRAINED_DIR, RESERVED, load_checkpoint, save_checkpoint
from d2lutil.data import TimeMachine, load_time_machine
from d2lutil.models import build_lm
from d2lutil.settings import device_name, set_seed, try_gpu
from d2lutil.training import Recipe, evaluate_perplexity, train

# The shipped recipe, chosen on validation only (the README lists the runs that chose it). lstm_lm has
# about gru_lm's parameters (hidden 448: 4 blocks of 448 ~ 3 blocks of 512); rnn_lm keeps gru_lm's
# width. All three share the recipe.
RECIPE = Recipe(
    batch_size=32,
    num_steps=128,
    lr=2e-3,
    optimizer="adamw",
    clip=1.0,
    weight_decay=0.01,
    num_epochs=24,
    schedule="cosine",
    ema_decay=0.995,
    sequential=True,
    restore_best=True,
    seed=0,
)
SHAPE: dict[str, Any] = {"num_layers": 2, "embed_size": 64, "dropout": 0.4, "embed_dropout": 0.1}


@dataclass(frozen=True)
class Run:
    """One checkpoint to train: the model's shape (:func:`d2lutil.build_lm`'s arguments) and its recipe."""

    model: dict[str, Any]
    recipe: Recipe


RUNS: dict[str, Run] = {
    "gru_lm": Run({"kind": "gru", "hidden_size": 512, **SHAPE}, RECIPE),
    "lstm_lm": Run({"kind": "lstm", "hidden_size": 448, **SHAPE}, RECIPE),
    "rnn_lm": Run({"kind": "rnn", "hidden_size": 512, **SHAPE}, RECIPE),
}
SPLIT = "The Time Machine: trained on the first 85% of characters, epoch chosen on the next 5%, tested on the last 10%"
READING = "evaluate_perplexity(model, tokens), batch_size=8, num_steps=256, state carried"


def with_overrides(run: Run, overrides: list[str]) -> Run:
    """``run`` with ``model.KEY=VALUE`` and ``recipe.KEY=VALUE`` settings applied (VALUE read as JSON,
    else as a string; ``null`` is None, e.g. ``recipe.ema_decay=null`` for no weight average)."""
    model, recipe = dict(run.model), run.recipe
    for item in overrides:
        key, sep, raw = item.partition("=")
        part, dot, name = key.partition(".")
        if not sep or not dot or part not in ("model", "recipe"):
            raise ValueError(f"--set {item!r}: write model.KEY=VALUE or recipe.KEY=VALUE, e.g. model.dropout=0.4")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if part == "model":
            model[name] = value
        elif name not in {f.name for f in fields(Recipe)}:
            raise ValueError(
                f"--set {item!r}: Recipe has no field {name!r}; its fields: {[f.name for f in fields(Recipe)]}"
            )
        else:
            recipe = replace(recipe, **{name: value})
    return Run(model, recipe)


def pretrain(name: str, out_dir: Path, run: Run, read_test: bool = True, note: str = "") -> dict[str, Any]:
    """Train ``run`` (its recipe keeps the epoch with the best validation perplexity), save it; returns the manifest.

    With ``read_test`` the test perplexity of the kept weights is measured once and recorded.
    """
    device = try_gpu()
    data = load_time_machine()
    set_seed(run.recipe.seed)
    model = build_lm(vocab_size=len(data.vocab), **run.model).to(device)
    history = train(model, data.train_tokens, data.val_tokens, run.recipe, device=device, title=name)
    best = min(range(len(history.val_ppl)), key=history.val_ppl.__getitem__)
    manifest: dict[str, Any] = {
        "recipe": asdict(run.recipe),
        "data": SPLIT,
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
    save_checkpoint(model.cpu(), data.vocab, out_dir / name, run.model, **manifest)
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
    kept = {k: v for k, v in manifest.items() if k not in RESERVED}
    kept["test_ppl"] = round(evaluate_perplexity(model, data.test_tokens), 4)
    if note:
        kept["note"] = note
    save_checkpoint(model, vocab, out_dir / name, dict(manifest["model"]), **kept)
    print(f"{name}: validation perplexity {kept['val_ppl']:.3f}, test {kept['test_ppl']:.3f} (from {source})")
    return kept


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNS), help="train just this checkpoint")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="output folder (default: the package's)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="PART.KEY=VALUE", help="change the model or the recipe"
    )
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
    for name in [args.only] if args.only else sorted(RUNS):
        run = with_overrides(RUNS[name], args.set)
        pretrain(args.name or name, args.out, run, read_test=not args.no_test, note=args.note)


if __name__ == "__main__":
    main()

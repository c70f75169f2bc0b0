"""Model weights in safetensors (loading cannot run code) with a JSON manifest beside them.

A checkpoint named ``NAME`` is two files: ``NAME.safetensors`` and ``NAME.json``. The manifest
holds what is needed to rebuild the model (``model``: the arguments of :func:`build_lm`), the
vocabulary, how it was trained (recipe, device, time), the held-out perplexity and the sha256 of
the weights file, which is checked on every load. The shipped checkpoints live in the package
folder ``d2lutil/pretrained`` so that ``pip install`` (and Colab) gets them too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from d2lutil.data import Vocab
from d2lutil.models import RNNLM, build_lm

PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model: RNNLM, vocab: Vocab, path: str | Path, model_args: dict[str, Any], **manifest: Any) -> Path:
    """Write ``path.safetensors`` and ``path.json``; returns the manifest's path.

    ``model_args`` are the keyword arguments of :func:`build_lm` that rebuild ``model``
    (``kind``, ``hidden_size``, ...); ``manifest`` adds the recipe, device, time, perplexity.
    """
    path = Path(path).with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = path.with_suffix(".safetensors")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(weights))
    info = {"model": dict(model_args, vocab_size=len(vocab)), "vocab": vocab.idx_to_token, **manifest}
    info["weights_file"] = weights.name
    info["sha256"] = sha256_of(weights)
    manifest_path = path.with_suffix(".json")
    manifest_path.write_text(json.dumps(info, indent=2) + "\n")
    return manifest_path


def read_manifest(name_or_path: str | Path) -> tuple[dict[str, Any], Path]:
    """The manifest of a shipped checkpoint name (e.g. ``"gru_lm"``) or of a path, and its path."""
    path = Path(name_or_path)
    if path.suffix not in (".json", ".safetensors") and not path.parent.name:
        path = PRETRAINED_DIR / path.name
    manifest_path = path.with_suffix(".json")
    if not manifest_path.is_file():
        shipped = sorted(p.stem for p in PRETRAINED_DIR.glob("*.json"))
        raise FileNotFoundError(f"no checkpoint manifest at {manifest_path}; the shipped checkpoints are {shipped}")
    try:
        return json.loads(manifest_path.read_text()), manifest_path
    except json.JSONDecodeError as err:
        raise ValueError(f"{manifest_path} is not valid JSON ({err}): the checkpoint is damaged; re-create it") from err


def load_checkpoint(
    name_or_path: str | Path, vocab: Vocab | None = None, device: Any = "cpu"
) -> tuple[RNNLM, Vocab, dict[str, Any]]:
    """Rebuild a model from its checkpoint: returns (model in eval mode, vocabulary, manifest).

    Raises ``ValueError`` when the weights' sha256 differs from the manifest (corrupt file), when
    they do not fit the model the manifest describes, or when ``vocab`` is given and differs from
    the checkpoint's (a model for another vocabulary would silently predict the wrong characters).
    """
    manifest, manifest_path = read_manifest(name_or_path)
    weights = manifest_path.with_name(manifest["weights_file"])
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing; the manifest {manifest_path} refers to it")
    got = sha256_of(weights)
    if got != manifest["sha256"]:
        raise ValueError(
            f"{weights} has sha256 {got}, but its manifest says {manifest['sha256']}: the file is corrupt "
            "or belongs to another manifest. Reinstall d2lutil or re-create the checkpoint "
            "(python -m d2lutil.pretrain)."
        )
    ckpt_vocab = Vocab(idx_to_token=manifest["vocab"])
    if vocab is not None and vocab != ckpt_vocab:
        raise ValueError(
            f"the checkpoint was trained with a vocabulary of {len(ckpt_vocab)} tokens "
            f"{ckpt_vocab.idx_to_token[:6]}..., "
            f"not with the given one of {len(vocab)} tokens {vocab.idx_to_token[:6]}...: use the checkpoint's "
            "vocabulary (the second value returned) to encode text for this model."
        )
    model = build_lm(**manifest["model"])
    try:
        state = load_file(str(weights))
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError) as err:
        raise ValueError(
            f"{weights} does not fit the model its manifest describes ({manifest['model']}): {err}"
        ) from err
    return model.to(device).eval(), ckpt_vocab, manifest

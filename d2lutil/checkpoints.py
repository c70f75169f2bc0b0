"""Model weights in safetensors (loading cannot run code) with a JSON manifest beside them.

A checkpoint named ``NAME`` in a folder is its manifest ``NAME.json`` and the weights file the
manifest names (``NAME.<12 hex>.safetensors``). The
manifest holds what rebuilds the model (``model``: the arguments of :func:`build_lm`), the
``vocab``, how it was trained (``recipe``, device, time), the validation and test perplexity, and one
``digest``: a sha256 over every other field of the manifest and the weights' bytes, checked on
every load, so neither a changed letter of the vocabulary nor a flipped bit of a weight passes.

A load checks, before anything is allocated: the manifest against its schema (types, ranges,
required keys), the digest, and the tensor names and shapes in the weights file's header against
the model the manifest describes. A save writes temporary files in the same folder and moves
them into place with ``os.replace``, the manifest last, and removes the old weights only after
that: whenever it stops, by an exception or a kill, the folder holds a loadable checkpoint.

Errors: ``FileNotFoundError`` (no such checkpoint, or its weights file is missing),
:class:`CheckpointError` (a ``ValueError``: the checkpoint is damaged or inconsistent), and
``TypeError``/``ValueError`` for bad arguments. The shipped checkpoints live in
``d2lutil/pretrained`` so that ``pip install`` (and Colab) gets them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from d2lutil._checks import check_device, check_model, check_path, show
from d2lutil.data import UNK, Vocab
from d2lutil.models import RNNLM, build_lm
from d2lutil.settings import file_digest

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
FORMAT = "d2lutil-checkpoint/2"
MAX_MANIFEST_BYTES = 4 * 2**20
# Sanity ranges of the model arguments; the weights file's header is the real check of the sizes.
MODEL_INTS = {"vocab_size": (2, 2**20), "hidden_size": (1, 2**16), "num_layers": (1, 64), "embed_size": (1, 2**16)}
RESERVED = ("format", "model", "vocab", "weights_file", "digest")


class CheckpointError(ValueError):
    """A checkpoint that is damaged or inconsistent: unreadable or invalid manifest, a digest that
    does not match, or weights that do not fit the model the manifest describes."""


def digest_of(manifest: dict[str, Any], weights: Path) -> str:
    """The checkpoint's digest: sha256 over the manifest without ``digest`` (canonical JSON), then the weights."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    digest = hashlib.sha256(f"{FORMAT}\n".encode())
    digest.update(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n")
    return file_digest(weights, digest).hexdigest()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def check_manifest(manifest: Any, where: str = "the manifest", damaged: bool = True) -> None:
    """Check a manifest against the schema; raises :class:`CheckpointError` naming the field.

    ``damaged=False``: the manifest is about to be saved, so the message does not call it damaged.
    """
    fix = " The checkpoint is damaged; re-create it (save_checkpoint)." if damaged else ""

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise CheckpointError(f"{where}: {what}.{fix}")

    need(isinstance(manifest, dict), f"must be a JSON object, got {show(manifest)}")
    missing = [k for k in (*RESERVED, "recipe") if k not in manifest]
    need(not missing, f"lacks the required field(s) {missing}")
    need(manifest["format"] == FORMAT, f"'format' must be {FORMAT!r}, got {show(manifest['format'])}")
    model = manifest["model"]
    need(isinstance(model, dict), f"'model' must be an object of build_lm arguments, got {show(model)}")
    unknown = sorted(set(model) - {"kind", "dropout", "embed_dropout", *MODEL_INTS})
    need(not unknown, f"'model' has unknown argument(s) {unknown}")
    need(isinstance(model.get("kind"), str), f"'model.kind' must be a str, got {show(model.get('kind'))}")
    for key, (low, high) in MODEL_INTS.items():
        value = model.get(key, 1 if key == "num_layers" else None)
        if value is None and key == "embed_size":
            continue
        need(
            _is_int(value) and low <= value <= high,
            f"'model.{key}' must be an integer in [{low}, {high}], got {show(value)}",
        )
    for key in ("dropout", "embed_dropout"):
        rate = model.get(key, 0.0)
        need(_is_number(rate) and 0.0 <= rate < 1.0, f"'model.{key}' must be a number in [0, 1), got {show(rate)}")
    vocab = manifest["vocab"]
    need(isinstance(vocab, list) and all(isinstance(t, str) for t in vocab), "'vocab' must be a list of str")
    need(
        bool(vocab) and vocab[0] == UNK and len(set(vocab)) == len(vocab),
        f"'vocab' must start with {UNK!r}, no repeats",
    )
    need(
        len(vocab) == model["vocab_size"],
        f"'vocab' has {len(vocab)} tokens but 'model.vocab_size' is {model['vocab_size']}",
    )
    need(isinstance(manifest["recipe"], dict), f"'recipe' must be an object, got {show(manifest['recipe'])}")
    name = manifest["weights_file"]
    plain = isinstance(name, str) and name == Path(name).name and "\\" not in name and "\0" not in name
    need(
        plain and name.endswith(".safetensors") and name != ".safetensors",
        f"'weights_file' must be a file name in the checkpoint's folder ending in .safetensors, got {show(name)}",
    )
    digest = manifest["digest"]
    need(
        isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest) is not None,
        f"'digest' must be 64 hex digits, got {show(digest)}",
    )
    for key in ("train_seconds", "tokens_per_s"):
        if key in manifest:
            need(
                _is_number(manifest[key]) and manifest[key] >= 0,
                f"'{key}' must be a number >= 0, got {show(manifest[key])}",
            )
    for key in ("val_ppl", "test_ppl"):
        if key in manifest:
            need(
                _is_number(manifest[key]) and manifest[key] >= 1,
                f"'{key}' must be a number >= 1, got {show(manifest[key])}",
            )
    for key in ("device", "torch", "trained_on", "note"):
        if key in manifest:
            need(isinstance(manifest[key], str), f"'{key}' must be a str, got {show(manifest[key])}")


def _skeleton_shapes(model_args: dict[str, Any], where: str) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes of the model ``model_args`` describe, built on the meta device (no memory)."""
    try:
        with torch.device("meta"):
            skeleton = build_lm(**model_args)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: 'model' does not describe a model build_lm can make ({err})") from err
    return {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}


def _header_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors file's header, without reading the tensors."""
    try:
        with safe_open(str(weights), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{weights} is not a readable safetensors file ({err}): re-create the checkpoint"
        ) from err


def _fit(expected: dict[str, tuple[int, ...]], got: dict[str, tuple[int, ...]], what: str) -> None:
    if expected == got:
        return
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    wrong = [f"{k}: {got[k]} vs {expected[k]}" for k in expected if k in got and got[k] != expected[k]]
    raise CheckpointError(
        f"{what} does not fit the model its manifest describes: missing {missing[:4]}, unexpected {extra[:4]}, "
        f"shapes (found vs described) {wrong[:4]}"
    )


def _manifest_path(name_or_path: str | os.PathLike[str]) -> Path:
    """``NAME.json`` for a path (with or without ``.json``), or a shipped checkpoint's for a bare name."""
    path = check_path("name_or_path", name_or_path)
    text = str(path)
    if text.endswith(".json"):
        return path
    if text.endswith(".safetensors"):
        text = text[: -len(".safetensors")]  # a shipped pair: NAME.safetensors beside NAME.json
    bare = Path(text)
    if bare.parent == Path(".") and (PRETRAINED_DIR / f"{bare.name}.json").is_file():
        return PRETRAINED_DIR / f"{bare.name}.json"
    return Path(text + ".json")  # names are names: 'run_lr0.01' is run_lr0.01.json


def read_manifest(name_or_path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    """The manifest (checked against the schema, not yet against the weights) and its path.

    ``name_or_path``: a shipped checkpoint's name (``"gru_lm"``), or ``folder/NAME`` or
    ``folder/NAME.json`` of a saved one.
    """
    manifest_path = _manifest_path(name_or_path)
    if not manifest_path.is_file():
        shipped = sorted(p.stem for p in PRETRAINED_DIR.glob("*.json"))
        raise FileNotFoundError(
            f"no checkpoint manifest at {manifest_path}; the shipped checkpoints are {shipped} "
            "(load one by name, or give the folder/NAME that save_checkpoint wrote)"
        )
    if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
        raise CheckpointError(f"{manifest_path} is larger than {MAX_MANIFEST_BYTES:,} bytes: not a manifest")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CheckpointError(
            f"{manifest_path} is not valid UTF-8 JSON ({err}): the checkpoint is damaged; re-create it"
        ) from err
    check_manifest(manifest, str(manifest_path))
    return manifest, manifest_path


def load_checkpoint(
    name_or_path: str | os.PathLike[str], vocab: Vocab | None = None, device: Any = "cpu"
) -> tuple[RNNLM, Vocab, dict[str, Any]]:
    """Rebuild a model from its checkpoint: returns (model in eval mode, vocabulary, manifest).

    Raises ``FileNotFoundError`` (no such checkpoint or weights file), :class:`CheckpointError`
    (damaged: manifest, digest, or weights that do not fit the model) and ``ValueError`` when
    ``vocab`` is given and differs from the checkpoint's (a model for another vocabulary would
    silently predict the wrong characters).
    """
    if vocab is not None and not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a d2lutil.data.Vocab or None, got {show(vocab)}")
    dev = check_device(device) or torch.device("cpu")
    manifest, manifest_path = read_manifest(name_or_path)
    weights = manifest_path.with_name(manifest["weights_file"])
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing; the manifest {manifest_path} refers to it")
    if digest_of(manifest, weights) != manifest["digest"]:
        raise CheckpointError(
            f"the checkpoint {manifest_path} does not match its digest: the weights {weights.name} or the manifest "
            "(model, vocabulary, recipe, ...) was changed or corrupted after saving. Reinstall d2lutil or "
            "re-create the checkpoint (python -m d2lutil.pretrain)."
        )
    _fit(_skeleton_shapes(manifest["model"], str(manifest_path)), _header_shapes(weights), str(weights))
    ckpt_vocab = Vocab(idx_to_token=manifest["vocab"])
    if vocab is not None and vocab != ckpt_vocab:
        raise ValueError(
            f"vocab ({len(vocab)} tokens {vocab.idx_to_token[:6]}...) is not the vocabulary the checkpoint was "
            f"trained with ({len(ckpt_vocab)} tokens {ckpt_vocab.idx_to_token[:6]}...): use the checkpoint's "
            "vocabulary (the second value returned) to encode text for this model."
        )
    model = build_lm(**manifest["model"])
    model.load_state_dict(load_file(str(weights)))  # the digest and the header's shapes were checked above
    return model.to(dev).eval(), ckpt_vocab, manifest


def _plain(value: Any) -> Any:
    """JSON's fallback for NumPy scalars and 0-d tensors (a NumPy integer is an integer)."""
    if isinstance(value, (np.generic, torch.Tensor)) and getattr(value, "ndim", 1) == 0:
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_fields(fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        try:
            json.dumps(value, allow_nan=False, default=_plain)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"manifest field {key!r} = {show(value)} cannot be stored as JSON ({err}): pass str, numbers "
                "(finite), bools, None, lists and dicts"
            ) from None


def _write_temp(folder: Path, name: str, write: Any) -> Path:
    """A new temporary file in ``folder`` filled by ``write(path)`` and flushed to disk."""
    fd, name_of_tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name_of_tmp)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def save_checkpoint(
    model: nn.Module, vocab: Vocab, path: str | os.PathLike[str], model_args: dict[str, Any], **manifest: Any
) -> Path:
    """Write the checkpoint ``path`` (``folder/NAME``): its weights and ``NAME.json``; returns the manifest's path.

    ``model_args`` are the keyword arguments of :func:`build_lm` that rebuild ``model``
    (``kind``, ``hidden_size``, ...); ``manifest`` adds ``recipe`` (a dict) and the device, time,
    perplexity. Everything is checked before a byte is written, and the previous checkpoint of
    that name stays loadable until the new one is complete.
    """
    check_model("model", model)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a d2lutil.data.Vocab, got {show(vocab)}")
    target = check_path("path", path)
    name = target.name[: -len(".json")] if target.name.endswith(".json") else target.name
    if name in ("", ".", "..") or name.startswith("."):
        raise ValueError(f"path must end in a checkpoint name such as 'runs/gru_lr0.01', got {show(path)}")
    if not isinstance(model_args, dict) or not all(isinstance(k, str) for k in model_args):
        raise TypeError(f"model_args must be a dict of build_lm's keyword arguments, got {show(model_args)}")
    if model_args.get("vocab_size", len(vocab)) != len(vocab):
        raise ValueError(f"model_args has vocab_size={model_args['vocab_size']} but the vocabulary has {len(vocab)}")
    clash = sorted(set(manifest) & set(RESERVED))
    if clash:
        raise ValueError(f"{clash} are written by save_checkpoint itself: leave them out of the manifest fields")
    _json_fields({"model_args": model_args, **manifest})
    info = {
        "format": FORMAT,
        "model": dict(model_args, vocab_size=len(vocab)),
        "vocab": list(vocab.idx_to_token),
        "recipe": manifest.pop("recipe", {}),
        **manifest,
    }
    info = json.loads(json.dumps(info, allow_nan=False, default=_plain))  # the digest covers what a load reads
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    try:  # here the schema and the shapes check arguments: a mismatch is a ValueError, not a damaged checkpoint
        check_manifest(dict(info, weights_file="x.safetensors", digest="0" * 64), "model_args or a field", False)
        _fit(_skeleton_shapes(info["model"], "model_args"), shapes, "the model given (check model_args)")
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    return _write_checkpoint(target.parent, name, info, tensors)


def _write_checkpoint(folder: Path, name: str, info: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Path:
    """Write ``tensors`` and the manifest ``info`` (completed with the weights' name and the digest) as
    ``folder/NAME``; the previous checkpoint of that name stays loadable until the switch."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise NotADirectoryError(f"cannot save into {folder}: it or a folder above it is a file, not a folder") from err
    manifest_path = folder / f"{name}.json"
    try:
        old_weights = json.loads(manifest_path.read_text(encoding="utf-8")).get("weights_file")
    except (OSError, ValueError, AttributeError):
        old_weights = None
    tmp_weights = tmp_manifest = placed = None
    try:
        tmp_weights = _write_temp(folder, name, lambda p: save_file(tensors, str(p)))
        info["weights_file"] = f"{name}.{file_digest(tmp_weights, hashlib.sha256()).hexdigest()[:12]}.safetensors"
        info["digest"] = digest_of(info, tmp_weights)
        text = json.dumps(info, indent=2, allow_nan=False) + "\n"
        tmp_manifest = _write_temp(folder, name, lambda p: p.write_text(text, encoding="utf-8"))
        placed = folder / info["weights_file"]
        os.replace(tmp_weights, placed)  # the old manifest still names the old weights, which stay
        tmp_weights = None
        os.replace(tmp_manifest, manifest_path)  # the switch: from here on the new checkpoint is the one
        tmp_manifest = placed = None
    finally:
        for leftover in (tmp_weights, tmp_manifest, placed if placed and placed.name != old_weights else None):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    leftover.unlink()
    ours = isinstance(old_weights, str) and old_weights.startswith(f"{name}.") and old_weights.endswith(".safetensors")
    if ours and old_weights != info["weights_file"] and old_weights == Path(old_weights).name:
        with contextlib.suppress(OSError):
            (folder / old_weights).unlink()  # only now: the new manifest is in place
    return manifest_path

"""Text generation: continue a prefix with a character language model (d2l's ``predict``).

Greedy decoding (temperature 0) or sampling from softmax(logits / temperature), seeded on request.
"""

from __future__ import annotations

import torch
from torch import nn

from d2lutil._checks import check_device, check_int, check_model, check_real, show
from d2lutil.data import Vocab
from d2lutil.models import eval_mode


def _check_prefix(prefix: str, vocab: Vocab) -> None:
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {show(prefix)}: e.g. 'time traveller'")
    if not prefix:
        raise ValueError("the prefix is empty: give at least one character to start from, e.g. 'time traveller'")
    unknown = vocab.unknown(prefix)
    if unknown:
        known = "".join(t for t in vocab.idx_to_token if len(t) == 1)
        raise ValueError(
            f"the prefix {prefix!r} holds characters the vocabulary does not know: {unknown}. "
            f"It knows {sorted(known)!r}; try d2lutil.data.preprocess(prefix) to lower-case it "
            "and fold other characters into spaces."
        )


MAX_PREDS = 1_000_000  # a million characters: more than the book; a larger request is a typo
MIN_TEMPERATURE = 1e-3


def _check_vocab_size(model: nn.Module, vocab_size: int, model_size: object) -> None:
    """Refuse a vocabulary of another size than the model's outputs (``model_size`` None: not known yet)."""
    if isinstance(model_size, int) and model_size != vocab_size:
        raise ValueError(
            f"the model predicts over {model_size} tokens but the vocab has {vocab_size}: pass the Vocab the "
            f"model was trained with (a checkpoint's own: load_checkpoint returns it with the {type(model).__name__})"
        )


@torch.no_grad()
def predict(
    prefix: str,
    num_preds: int,
    model: nn.Module,
    vocab: Vocab,
    device: torch.device | None = None,
    temperature: float = 0.0,
    seed: int | None = None,
) -> str:
    """Continue ``prefix`` by ``num_preds`` characters.

    ``temperature=0`` picks the most likely character each step (greedy); a positive
    temperature samples from softmax(logits / temperature), reproducibly when ``seed`` is given.
    ``model`` must predict over ``vocab``: its output size is ``len(vocab)``.
    """
    check_model("model", model)
    if not isinstance(vocab, Vocab):
        raise TypeError(
            f"vocab must be a d2lutil.data.Vocab, got {show(vocab)}: pass the vocabulary the model was trained on"
        )
    _check_vocab_size(model, len(vocab), getattr(model, "vocab_size", None))
    _check_prefix(prefix, vocab)
    num_preds = check_int("num_preds", num_preds, minimum=0, maximum=MAX_PREDS)
    temperature = check_real("temperature", temperature)
    if temperature < 0 or 0 < temperature < MIN_TEMPERATURE:
        raise ValueError(
            f"temperature must be 0 (greedy) or positive, got {temperature}: a positive one must be at least "
            f"{MIN_TEMPERATURE} (a smaller one overflows softmax(logits / temperature) and is greedy in effect)"
        )
    seed = None if seed is None else check_int("seed", seed, minimum=0)
    device = check_device(device) or next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    tokens = torch.tensor([vocab[list(prefix)]], device=device)  # (1, len(prefix))
    outputs = []
    with eval_mode(model):
        logits, state = model(tokens, None)
        _check_vocab_size(model, len(vocab), logits.shape[-1])
        for _ in range(num_preds):
            last = logits[0, -1]
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                probs = torch.softmax(last / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
            outputs.append(nxt)
            logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prefix + "".join(vocab.to_tokens(outputs))

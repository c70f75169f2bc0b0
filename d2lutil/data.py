"""The Time Machine as d2l uses it: tokens, vocabulary, train/validation/test split and minibatches.

The text ships with the package; where it is looked for (``data_dir=``/``$D2LUTIL_DATA_DIR``, the
packaged copy, the user cache, a download) is :mod:`d2lutil.corpus`, whose names are re-exported
here. Every public function checks its arguments at the boundary: a wrong type raises
``TypeError``, a wrong value ``ValueError``, each naming the argument, the value and the fix.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from d2lutil._checks import check_bool, check_int, check_real, check_tokens, show
from d2lutil.corpus import FILENAME, SHA1, URL, download, locate_time_machine, sha1_of

__all__ = [
    "FILENAME",
    "SHA1",
    "UNK",
    "URL",
    "TimeMachine",
    "Vocab",
    "WindowLoader",
    "download",
    "load_corpus_time_machine",
    "load_time_machine",
    "locate_time_machine",
    "preprocess",
    "read_time_machine",
    "sha1_of",
    "split_corpus",
]

UNK = "<unk>"


def preprocess(text: str) -> str:
    """Lower-case ``text`` and fold every run of non-letters into one space (as d2l does)."""
    if not isinstance(text, str):
        raise TypeError(
            f"text must be a str, got {show(text)}" + (": decode it first" if isinstance(text, bytes) else "")
        )
    return re.sub("[^A-Za-z]+", " ", text).lower()


def read_time_machine(data_dir: str | Path | None = None) -> str:
    """The preprocessed text of The Time Machine (173,428 characters over 27 symbols)."""
    return preprocess(locate_time_machine(data_dir).read_text(encoding="utf-8"))


def _check_token_list(name: str, tokens: Iterable[Any]) -> list[str]:
    """``tokens`` as a list, after checking each is a str (the position of the first that is not is named)."""
    if isinstance(tokens, (bytes, bytearray, torch.Tensor, np.ndarray)) or not isinstance(tokens, Iterable):
        raise TypeError(f"{name} must be a str or an iterable of str tokens, got {show(tokens)}")
    items = list(tokens)
    for i, token in enumerate(items):
        if not isinstance(token, str):
            fix = (
                "flatten lines of tokens first ([t for line in lines for t in line])"
                if isinstance(token, (list, tuple))
                else "a vocabulary maps strings to indices (for indices to tokens use vocab.to_tokens)"
            )
            raise TypeError(f"{name}[{i}] must be a str token, got {show(token)}: {fix}")
    return items


class Vocab:
    """A vocabulary: ``<unk>`` at index 0, then the tokens by falling frequency (ties by token).

    ``Vocab(text)`` counts the tokens of ``text`` (a str is its characters) and keeps those seen at
    least ``min_freq`` times; ``Vocab(idx_to_token=[...])`` rebuilds a saved one (``<unk>`` first,
    no repeats). ``vocab[token]`` and ``vocab[list_of_tokens]`` give indices (unknown tokens map to
    0); ``vocab.to_tokens(indices)`` goes back and refuses an index outside ``0 .. len(vocab) - 1``.
    """

    def __init__(
        self, tokens: Iterable[str] | None = None, min_freq: int = 0, idx_to_token: Sequence[str] | None = None
    ):
        min_freq = check_int("min_freq", min_freq, minimum=0)
        if idx_to_token is not None:
            if tokens is not None:
                raise ValueError("give either tokens (to count) or idx_to_token (a saved vocabulary), not both")
            names = _check_token_list("idx_to_token", idx_to_token)
            if not names or names[0] != UNK:
                raise ValueError(f"idx_to_token must start with {UNK!r}, got {names[:3]}: put {UNK!r} at index 0")
            repeated = [t for t, n in collections.Counter(names).items() if n > 1]
            if repeated:
                raise ValueError(f"idx_to_token lists {repeated[:5]} more than once: every token needs one index")
            self.idx_to_token = names
            self.token_freqs: list[tuple[str, int]] = []
        else:
            counts = collections.Counter(_check_token_list("tokens", () if tokens is None else tokens))
            self.token_freqs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            self.idx_to_token = [UNK] + [t for t, f in self.token_freqs if f >= min_freq and t != UNK]
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: str | Sequence[str]) -> int | list[int]:
        """The index of one token (a str), or the list of indices of a sequence of tokens."""
        if isinstance(tokens, str) and (len(tokens) == 1 or tokens in self.token_to_idx):
            return self.token_to_idx.get(tokens, self.unk)
        if isinstance(tokens, (int, np.integer, torch.Tensor)):
            raise TypeError(f"vocab[tokens] takes str tokens, got {show(tokens)}: for indices use vocab.to_tokens(...)")
        return [self.token_to_idx.get(t, self.unk) for t in _check_token_list("tokens", tokens)]

    def to_tokens(self, indices: int | Iterable[int]) -> str | list[str]:
        """The token of one index (an int, NumPy integer or 0-d tensor), or the tokens of a 1-D sequence."""
        if isinstance(indices, (str, bytes)):
            raise TypeError(f"indices must be integers, got {show(indices)}: for tokens to indices use vocab[...]")
        if getattr(indices, "ndim", None) == 0 or not isinstance(indices, Iterable):
            return self.idx_to_token[self._index(indices, "indices")]
        if getattr(indices, "ndim", 1) != 1:
            raise ValueError(
                f"indices must be one index or a 1-D sequence, got shape {tuple(indices.shape)}: "  # type: ignore[attr-defined]
                "convert one row at a time"
            )
        return [self.idx_to_token[self._index(i, f"indices[{n}]")] for n, i in enumerate(indices)]

    def _index(self, value: Any, name: str) -> int:
        return check_int(
            name, value, 0, len(self) - 1, fix=f"this vocabulary has {len(self)} tokens, indices 0 to {len(self) - 1}"
        )

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens of ``tokens`` that the vocabulary does not know, in order seen."""
        return list(dict.fromkeys(t for t in _check_token_list("tokens", tokens) if t not in self.token_to_idx))

    @property
    def unk(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.idx_to_token[:8]}...)"


def split_corpus(
    corpus: torch.Tensor, val_fraction: float = 0.05, test_fraction: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split a token sequence (n,) into training, validation and test parts, in the book's order.

    ``test`` is the last ``test_fraction`` of the tokens, ``val`` the ``val_fraction`` just before
    it and ``train`` everything before that: ``corpus[:a]``, ``corpus[a:b]``, ``corpus[b:]`` with
    ``b = round(n * (1 - test_fraction))`` and ``a = b - round(n * val_fraction)``. The parts never
    overlap, cover the corpus and are never empty. Validation is for every choice (the epoch kept,
    the recipe); the test part is read once per reported figure.
    """
    corpus = check_tokens("corpus", corpus)
    val_fraction = check_real("val_fraction", val_fraction, 0.0, 1.0, inclusive=(False, False))
    test_fraction = check_real("test_fraction", test_fraction, 0.0, 1.0, inclusive=(False, False))
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} leave no training part: "
            "their sum must be below 1 (e.g. 0.05 and 0.1)"
        )
    n = len(corpus)
    b = round(n * (1.0 - test_fraction))
    a = b - round(n * val_fraction)
    if not 0 < a < b < n:
        raise ValueError(
            f"corpus has {n} tokens, too few for val_fraction={val_fraction} and test_fraction={test_fraction}: "
            f"a part would be empty (training {max(a, 0)}, validation {b - max(a, 0)}, test {n - b}). "
            "Give a longer corpus or other fractions"
        )
    return corpus[:a], corpus[a:b], corpus[b:]


class WindowLoader:
    """Minibatches of (X, Y) windows of ``num_steps`` tokens, Y shifted one step: each (B, T).

    ``sequential=False``: random, non-overlapping windows in a fresh random order each epoch
    (a random start offset too), so consecutive batches are unrelated and the state is reset.
    ``sequential=True``: the corpus is cut into ``batch_size`` contiguous streams and row b of one
    batch continues row b of the previous one, so the hidden state can be carried across batches.
    """

    def __init__(self, tokens: torch.Tensor, batch_size: int, num_steps: int, sequential: bool = False, seed: int = 0):
        tokens = check_tokens("tokens", tokens)
        batch_size = check_int("batch_size", batch_size, minimum=1, fix="e.g. 32")
        num_steps = check_int("num_steps", num_steps, minimum=1, fix="e.g. 35")
        need = batch_size * num_steps + num_steps + 1
        if len(tokens) < need:
            raise ValueError(
                f"{len(tokens)} tokens are too few for batch_size={batch_size} x num_steps={num_steps} "
                f"(need at least {need}): use a smaller batch_size or num_steps."
            )
        self.tokens, self.batch_size, self.num_steps = tokens, batch_size, num_steps
        self.sequential = check_bool("sequential", sequential)
        seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        """Batches per epoch (the same every epoch)."""
        usable = len(self.tokens) - self.num_steps - 1
        if self.sequential:
            return (usable // self.batch_size) // self.num_steps
        return (usable // self.num_steps) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        T, B = self.num_steps, self.batch_size
        offset = int(torch.randint(0, T, (1,), generator=self.generator))
        if self.sequential:
            n = (len(self.tokens) - offset - 1) // B * B
            xs = self.tokens[offset : offset + n].reshape(B, -1)
            ys = self.tokens[offset + 1 : offset + 1 + n].reshape(B, -1)
            for i in range(len(self)):
                yield xs[:, i * T : (i + 1) * T], ys[:, i * T : (i + 1) * T]
            return
        starts = torch.arange(offset, len(self.tokens) - T - 1, T)
        starts = starts[torch.randperm(len(starts), generator=self.generator)]
        cols = torch.arange(T)
        for i in range(len(self)):
            idx = starts[i * B : (i + 1) * B, None] + cols  # (B, T)
            yield self.tokens[idx], self.tokens[idx + 1]


@dataclass
class TimeMachine:
    """The preprocessed book as token indices in three parts that never overlap.

    Train on ``train_tokens``; make every choice (the epoch kept, the recipe) on ``val_tokens``;
    read ``test_tokens`` only to report a figure. The default split is 85% / 5% / 10%, the test
    part being the book's last tenth.
    """

    vocab: Vocab
    train_tokens: torch.Tensor  # (n_train,) int64: the first 85% of the characters
    val_tokens: torch.Tensor  # (n_val,) int64: the next 5%, for choices
    test_tokens: torch.Tensor  # (n_test,) int64: the last 10%, for reported figures only

    def __post_init__(self) -> None:
        if not isinstance(self.vocab, Vocab):
            raise TypeError(f"vocab must be a d2lutil.data.Vocab, got {show(self.vocab)}")
        for name in ("train_tokens", "val_tokens", "test_tokens"):
            tokens = check_tokens(name, getattr(self, name))
            if len(tokens) and int(tokens.max()) >= len(self.vocab):
                raise ValueError(
                    f"{name} holds index {int(tokens.max())}, but the vocabulary has only {len(self.vocab)} "
                    "tokens: encode the text with this vocabulary"
                )

    def train_iter(self, batch_size: int, num_steps: int, sequential: bool = False, seed: int = 0) -> WindowLoader:
        """Minibatches over the training part (see :class:`WindowLoader`)."""
        return WindowLoader(self.train_tokens, batch_size, num_steps, sequential, seed)


def load_corpus_time_machine(data_dir: str | Path | None = None) -> tuple[torch.Tensor, Vocab]:
    """All character indices of the book, (173428,) int64, and its vocabulary (28 tokens with ``<unk>``)."""
    text = read_time_machine(data_dir)
    vocab = Vocab(text)
    return torch.tensor(vocab[list(text)], dtype=torch.long), vocab


def load_time_machine(
    data_dir: str | Path | None = None, val_fraction: float = 0.05, test_fraction: float = 0.1
) -> TimeMachine:
    """The book split into training, validation and test parts (:func:`split_corpus` checks the fractions)."""
    corpus, vocab = load_corpus_time_machine(data_dir)
    return TimeMachine(vocab, *split_corpus(corpus, val_fraction, test_fraction))

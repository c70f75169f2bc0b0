"""The Time Machine as d2l uses it: locating the file, tokens, vocabulary, split and minibatches.

The file is looked for, in order, in ``data_dir`` (an argument), in ``$D2LUTIL_DATA_DIR``, in the
per-user cache, and finally downloaded from the address d2l downloads it from, with its sha1
checked before it is written (atomically) into the cache.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from d2lutil import settings

FILENAME = "timemachine.txt"
URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
UNK = "<unk>"


def sha1_of(path: Path) -> str:
    """The hex sha1 of a file's bytes."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, folder: Path, sha1: str = SHA1, timeout: float = 30.0) -> Path:
    """Download ``url`` into ``folder``, check its sha1, and only then move it into place.

    A failed or corrupt download leaves nothing behind. Raises ``FileNotFoundError`` (the file
    cannot be had: the message says where to put it by hand) or ``ValueError`` (wrong checksum).
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / url.rsplit("/", 1)[-1]
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            # the temporary file is opened first so that its descriptor is closed even when the request fails
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                out.write(response.read())
        except (urllib.error.URLError, OSError) as err:
            raise FileNotFoundError(
                f"Could not download {url} ({err}). Download it by hand and put it at {target}, "
                f"or set D2LUTIL_DATA_DIR to the folder that holds {target.name}."
            ) from err
        got = sha1_of(tmp)
        if got != sha1:
            raise ValueError(
                f"The file downloaded from {url} has sha1 {got}, expected {sha1}: it is corrupt or "
                f"not the right file, so it was not kept. Try again, or put the right file at {target}."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def locate_time_machine(data_dir: str | Path | None = None, url: str = URL) -> Path:
    """The path of a verified ``timemachine.txt``: from ``data_dir``, ``$D2LUTIL_DATA_DIR``,
    the per-user cache, or a fresh download into the cache, in that order.

    A folder that is named explicitly (argument or environment) must hold a good file: a missing
    one raises ``FileNotFoundError`` and a corrupt one ``ValueError``, each saying what to do.
    """
    named = Path(data_dir).expanduser() if data_dir is not None else settings.data_dir_from_env()
    if named is not None:
        path = named / FILENAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist. Put The Time Machine text ({FILENAME}, sha1 {SHA1}) there, "
                f"or point D2LUTIL_DATA_DIR (or data_dir=) at the folder that holds it, or unset it "
                f"to download into {settings.cache_dir()}."
            )
        _check(path)
        return path
    cached = settings.cache_dir() / FILENAME
    if cached.is_file():
        _check(cached)
        return cached
    return download(url, settings.cache_dir())


def _check(path: Path) -> None:
    got = sha1_of(path)
    if got != SHA1:
        raise ValueError(
            f"{path} has sha1 {got}, expected {SHA1}: it is not the d2l copy of The Time Machine "
            "or it is damaged. Delete it and run again to download a fresh copy."
        )


def preprocess(text: str) -> str:
    """Lower-case ``text`` and fold every run of non-letters into one space (as d2l does)."""
    return re.sub("[^A-Za-z]+", " ", text).lower()


def read_time_machine(data_dir: str | Path | None = None) -> str:
    """The preprocessed text of The Time Machine (173,428 characters over 27 symbols)."""
    return preprocess(locate_time_machine(data_dir).read_text(encoding="utf-8"))


class Vocab:
    """A vocabulary: ``<unk>`` at index 0, then the tokens by falling frequency (ties by token).

    ``vocab[token]`` and ``vocab[list_of_tokens]`` give indices (unknown tokens map to 0);
    ``vocab.to_tokens(indices)`` goes back.
    """

    def __init__(self, tokens: Iterable[str] = (), min_freq: int = 0, idx_to_token: Sequence[str] | None = None):
        if idx_to_token is not None:
            if not idx_to_token or idx_to_token[0] != UNK:
                raise ValueError(f"idx_to_token must start with {UNK!r}, got {list(idx_to_token)[:3]}")
            self.idx_to_token = list(idx_to_token)
            self.token_freqs: list[tuple[str, int]] = []
        else:
            counts = collections.Counter(tokens)
            self.token_freqs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            self.idx_to_token = [UNK] + [t for t, f in self.token_freqs if f >= min_freq and t != UNK]
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: str | Sequence[str]) -> int | list[int]:
        if isinstance(tokens, str) and (len(tokens) == 1 or tokens in self.token_to_idx):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.token_to_idx.get(t, self.unk) for t in tokens]

    def to_tokens(self, indices: int | Iterable[int]) -> str | list[str]:
        if isinstance(indices, int) or getattr(indices, "ndim", None) == 0:  # also a 0-d tensor or NumPy scalar
            return self.idx_to_token[int(indices)]  # type: ignore[arg-type]
        return [self.idx_to_token[int(i)] for i in indices]

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens of ``tokens`` that the vocabulary does not know, in order seen."""
        return list(dict.fromkeys(t for t in tokens if t not in self.token_to_idx))

    @property
    def unk(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.idx_to_token[:8]}...)"


def split_train_val(corpus: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a token sequence (n,) into its first ``1 - val_fraction`` and its last ``val_fraction``.

    The two parts never overlap: ``train`` is ``corpus[:k]`` and ``val`` is ``corpus[k:]``.
    """
    if corpus.dim() != 1:
        raise ValueError(f"corpus must be a 1-D tensor of token indices, got shape {tuple(corpus.shape)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    k = round(len(corpus) * (1.0 - val_fraction))
    return corpus[:k], corpus[k:]


class WindowLoader:
    """Minibatches of (X, Y) windows of ``num_steps`` tokens, Y shifted one step: each (B, T).

    ``sequential=False``: random, non-overlapping windows in a fresh random order each epoch
    (a random start offset too), so consecutive batches are unrelated and the state is reset.
    ``sequential=True``: the corpus is cut into ``batch_size`` contiguous streams and row b of one
    batch continues row b of the previous one, so the hidden state can be carried across batches.
    """

    def __init__(self, tokens: torch.Tensor, batch_size: int, num_steps: int, sequential: bool = False, seed: int = 0):
        if tokens.dim() != 1:
            raise ValueError(f"tokens must be a 1-D tensor of token indices, got shape {tuple(tokens.shape)}")
        for name, value in (("batch_size", batch_size), ("num_steps", num_steps)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        need = batch_size * num_steps + num_steps + 1
        if len(tokens) < need:
            raise ValueError(
                f"{len(tokens)} tokens are too few for batch_size={batch_size} x num_steps={num_steps} "
                f"(need at least {need}): use a smaller batch_size or num_steps."
            )
        self.tokens, self.batch_size, self.num_steps = tokens, batch_size, num_steps
        self.sequential = sequential
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
    """The preprocessed book as token indices, split into training and held-out parts."""

    vocab: Vocab
    train_tokens: torch.Tensor  # (n_train,) int64: the first 90% of the characters
    val_tokens: torch.Tensor  # (n_val,) int64: the last 10%

    def train_iter(self, batch_size: int, num_steps: int, sequential: bool = False, seed: int = 0) -> WindowLoader:
        """Minibatches over the training part (see :class:`WindowLoader`)."""
        return WindowLoader(self.train_tokens, batch_size, num_steps, sequential, seed)


def load_corpus_time_machine(data_dir: str | Path | None = None) -> tuple[torch.Tensor, Vocab]:
    """All character indices of the book, (173428,) int64, and its vocabulary (28 tokens with ``<unk>``)."""
    text = read_time_machine(data_dir)
    vocab = Vocab(text)
    return torch.tensor(vocab[list(text)], dtype=torch.long), vocab


def load_time_machine(data_dir: str | Path | None = None, val_fraction: float = 0.1) -> TimeMachine:
    """The book split into its first 90% (training) and last 10% (held out)."""
    corpus, vocab = load_corpus_time_machine(data_dir)
    train, val = split_train_val(corpus, val_fraction)
    return TimeMachine(vocab, train, val)


def load_data_time_machine(
    batch_size: int, num_steps: int, sequential: bool = False, data_dir: str | Path | None = None
) -> tuple[WindowLoader, Vocab]:
    """d2l's familiar pair: a minibatch iterator over the training part, and the vocabulary."""
    data = load_time_machine(data_dir)
    return data.train_iter(batch_size, num_steps, sequential), data.vocab

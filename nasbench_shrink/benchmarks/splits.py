"""Seeded proxy and final splits with exact per-class counts, drawn without replacement.

For data sets with an official test split (CIFAR-10) the proxy follows the official AutoShrink code: training
images from the train split, validation images from the test split; the rest of the test split is the held-out
test set for final evaluation, so no validation image is ever a test image. Single-pool data sets (digits) are
split three ways: held-out test, validation, training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from nasbench_shrink.errors import DataError

if TYPE_CHECKING:  # the split spec is plain data a benchmark holds; the tensors it splits come with torch
    from nasbench_shrink.benchmarks.datasets import ImageData, ImageSet


@dataclass(frozen=True)
class SplitSpec:
    """Images per class for the proxy train / validation sets (and the pool's test set), and the split seed."""

    train_per_class: int | None
    val_per_class: int
    test_per_class: int | None = None  # single-pool data sets only
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Splits:
    proxy_train: ImageSet
    proxy_val: ImageSet
    final_train: ImageSet
    final_test: ImageSet


def _take(
    ys: np.ndarray, idx: np.ndarray, per_class: int | None, n_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw exactly ``per_class`` items of every class from ``idx`` (seeded); returns (taken, rest)."""
    if per_class is None:
        return idx, idx[:0]
    rng = np.random.default_rng(seed)
    taken = []
    for c in range(n_classes):
        pool = idx[ys[idx] == c]
        if per_class > len(pool):
            raise DataError(f"split asks for {per_class} images of class {c} but only {len(pool)} are left")
        taken.append(rng.choice(pool, size=per_class, replace=False))
    chosen = np.sort(np.concatenate(taken)) if taken else idx[:0]
    return chosen, np.setdiff1d(idx, chosen)


def make_splits(data: ImageData, spec: SplitSpec) -> Splits:
    train_y = data.train.y.numpy()
    n_classes = len(data.train.classes)
    all_train = np.arange(len(train_y))
    if data.test is not None:
        test_y = data.test.y.numpy()
        tr, _ = _take(train_y, all_train, spec.train_per_class, n_classes, spec.seed)
        val, held = _take(test_y, np.arange(len(test_y)), spec.val_per_class, n_classes, spec.seed + 1)
        return Splits(data.train.subset(tr), data.test.subset(val), data.train, data.test.subset(held))
    if spec.test_per_class is None:
        raise DataError(f"{data.name} has no test split; its split needs test_per_class")
    test, rest = _take(train_y, all_train, spec.test_per_class, n_classes, spec.seed)
    val, rest2 = _take(train_y, rest, spec.val_per_class, n_classes, spec.seed + 1)
    tr, _ = _take(train_y, rest2, spec.train_per_class, n_classes, spec.seed + 2)
    return Splits(data.train.subset(tr), data.train.subset(val), data.train.subset(rest), data.train.subset(test))

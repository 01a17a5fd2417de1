"""The fitted surrogate: predicted seed-mean validation and test accuracy of a canonical cell, one seed's noise,
and the charged seconds, all from the shipped data set by a deterministic fit.

The accuracy model is the random forest of ``validation`` (chosen by its held-out figures: docs/fidelity.md),
fitted at first use from the shipped data with fixed seeds and one thread, so every machine with the same
scikit-learn gets the same forest (a test pins a checksum of predictions on fixed cells). Queries do not go through
scikit-learn: the forest is copied once into padded node arrays and walked for all trees at once with numpy, which
gives scikit-learn's predictions (tested) in tens of microseconds instead of milliseconds per cell.

The noise model is the pooled within-cell standard deviation of one seed around the seed mean, from the cells
trained at several seeds; the seconds are a Theil–Sen line in the training FLOPs on the reference machine (what a
live run of the tier would be charged there, without the measuring machine's load).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_shrink.surrogates.dataset import load_dataset, seed_means
from nasbench_shrink.surrogates.features import cell_features
from nasbench_shrink.surrogates.validation import fit_model
from search_spaces import Cell

__all__ = ["FittedSurrogate", "ForestArrays", "fit_surrogate"]


class ForestArrays:
    """Fitted scikit-learn forests as flat node arrays (every tree of every forest one after another), walked for
    all trees at once: one pass answers every forest.

    Each tree is laid out breadth first with a node's two children side by side, so one step of the walk is
    ``node = left[node] + (x[feature[node]] > threshold[node])``; a leaf points to itself with an infinite
    threshold, so a walk of the deepest tree's depth ends every tree at its leaf."""

    def __init__(self, forests: list[Any]) -> None:
        trees = [[e.tree_ for e in f.estimators_] for f in forests]
        feature: list[np.ndarray] = []
        threshold: list[np.ndarray] = []
        left: list[np.ndarray] = []
        value: list[np.ndarray] = []
        roots, offset = [], 0
        for t in (t for ts in trees for t in ts):
            order = _breadth_first(t.children_left, t.children_right)
            position = np.empty(t.node_count, dtype=np.intp)
            position[order] = np.arange(len(order))
            leaf = t.children_left[order] == -1
            feature.append(np.where(leaf, 0, t.feature[order]))
            threshold.append(np.where(leaf, np.inf, t.threshold[order]))
            left.append(offset + np.where(leaf, np.arange(len(order)), position[t.children_left[order]]))
            value.append(t.value[order, 0, 0])
            roots.append(offset)
            offset += len(order)
        self.feature = np.concatenate(feature).astype(np.intp)
        self.threshold = np.concatenate(threshold)
        self.left = np.concatenate(left).astype(np.intp)
        self.value = np.concatenate(value)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.depth = max(e.get_depth() for f in forests for e in f.estimators_)
        self.forests = [len(ts) for ts in trees]
        self.average = np.zeros((len(trees), len(roots)))  # row i: the mean over forest i's trees
        for i, start in enumerate(np.cumsum([0, *self.forests[:-1]])):
            self.average[i, start : start + self.forests[i]] = 1.0 / self.forests[i]

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """Each forest's prediction for one feature vector (scikit-learn compares float32 features)."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        node = self.roots
        for _ in range(self.depth):
            node = self.left[node] + (x[self.feature[node]] > self.threshold[node])
        return self.average @ self.value[node]


def _breadth_first(children_left: np.ndarray, children_right: np.ndarray) -> list[int]:
    """A tree's node ids in breadth-first order, each internal node's left child directly before its right."""
    order, k = [0], 0
    while k < len(order):
        n = order[k]
        k += 1
        if children_left[n] != -1:
            order += [int(children_left[n]), int(children_right[n])]
    return order


@dataclass(frozen=True)
class FittedSurrogate:
    """Predictions for N = 8 cells of the tier the data was trained on (``meta`` says which)."""

    forests: ForestArrays  # seed-mean validation accuracy, then seed-mean held-out test accuracy
    noise_sd: float  # one seed's SD around the seed mean
    noise_cells: int  # cells the noise SD was pooled over
    seconds_per_gflop: float
    seconds_intercept: float
    train_examples: int  # examples a training run processes (epochs × training images)
    architectures: int
    rows: int
    meta: dict[str, Any]

    def predict(self, features: np.ndarray) -> tuple[float, float]:
        """(mean validation accuracy, mean test accuracy) for a cell's feature vector (``cell_features``)."""
        acc, test = self.forests.predict_one(features)
        return float(acc), float(test)

    def seconds(self, train_flops: float) -> float:
        return max(0.0, self.seconds_intercept + self.seconds_per_gflop * train_flops / 1e9)

    @cached_property
    def sha256(self) -> str:
        return str(self.meta.get("sha256", ""))


def _noise(frame: pd.DataFrame) -> tuple[float, int]:
    ok = frame[~frame["diverged"]]
    multi = ok.groupby("key").filter(lambda g: g["seed"].nunique() >= 2)
    dev = multi.groupby("key")["accuracy"].transform(lambda v: v - v.mean())
    cells = multi["key"].nunique()
    return float(np.sqrt((dev**2).sum() / max(1, len(dev) - cells))), int(cells)


def _seconds_line(frame: pd.DataFrame) -> tuple[float, float]:
    """Seconds against training GFLOPs on the reference machine (the one that trained the most rows, a table's
    rule), by Theil–Sen: the median of pairwise slopes, so seconds measured while the machine was busy do not tilt
    it (a least-squares line on this data fell below zero for small cells)."""
    from scipy import stats as st

    ref = frame["machine"].value_counts().idxmax() if frame["machine"].notna().any() else None
    rows = frame if ref is None else frame[frame["machine"] == ref]
    fit = st.theilslopes(rows["cost_s"].to_numpy(float), rows["train_flops"].to_numpy(float) / 1e9)
    return float(fit[0]), float(fit[1])


def fit_surrogate(path: Path) -> FittedSurrogate:
    """Fit every part of the surrogate on the data set at ``path`` (deterministic: fixed seeds, one thread)."""
    frame, meta = load_dataset(path)
    means = seed_means(frame)
    test_means = frame[~frame["diverged"]].groupby("key")["test_accuracy"].mean()
    cells = [Cell.from_json(c) for c in means["cell"]]
    x = np.vstack([cell_features(c, m, p) for c, m, p in zip(cells, means["macs"], means["params"])])
    acc = fit_model("rf", x, means["accuracy"].to_numpy(float)).model
    test = fit_model("rf", x, test_means.loc[means["key"]].to_numpy(float)).model
    slope, intercept = _seconds_line(frame)
    sd, noise_cells = _noise(frame)
    examples = frame["train_flops"] / (3 * frame["macs"])
    return FittedSurrogate(
        forests=ForestArrays([acc, test]),
        noise_sd=sd,
        noise_cells=noise_cells,
        seconds_per_gflop=float(slope),
        seconds_intercept=float(intercept),
        train_examples=round(float(examples.median())),
        architectures=len(means),
        rows=len(frame),
        meta=meta,
    )

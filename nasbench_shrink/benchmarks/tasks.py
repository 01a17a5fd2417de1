"""Task kinds: what a benchmark measures and how it scores, for image classification and language modelling.

A benchmark names its kind (``Benchmark.task``); the metric and its direction, what the score's resource counts
and the score's form live here, as data and arithmetic, so a table lookup needs neither torch nor a network. How a
kind's networks are built and trained is ``nasbench_shrink.evaluation.networks``'s business.

Example:
    >>> k = task_kind("image")
    >>> k.metric, k.higher_is_better, round(k.score(0.9, 10**6, lam=0.1), 3)
    ('accuracy', True, 0.9)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from nasbench_shrink.errors import BenchmarkError

__all__ = ["TASKS", "ImageClassification", "LanguageModelling", "TaskKind", "task_kind"]


class TaskKind(ABC):
    """What a kind of task measures and how it scores.

    Attributes:
        name: The kind's name (``Benchmark.task``).
        metric: Name of the performance metric (a column of every table).
        higher_is_better: Direction of the metric.
        resource: What the score's resource term counts.
        unit: What one MAC count is per (``image`` or ``token``).
        curve_metric: The metric's key in a record's per-epoch learning curve (what a pruner is told per epoch).
    """

    name: str
    metric: str
    curve_metric: str
    higher_is_better: bool
    resource: str
    unit: str

    @abstractmethod
    def score_resource(self, bench: Any, cell: Any, macs: int) -> int:
        """The score's resource for ``cell`` on benchmark ``bench`` whose network has ``macs`` forward MACs."""

    @abstractmethod
    def score(self, perf: float, resource: int, lam: float) -> float:
        """Paper Eq. 5 in the official form of this kind."""

    @abstractmethod
    def perf_fields(self, perf: float, diverged: bool) -> dict[str, float | None]:
        """The record's ``accuracy`` and ``perplexity`` fields for a result ``perf``."""


class ImageClassification(TaskKind):
    """CNN cells on an image data set: accuracy (higher is better), MACs in the score."""

    name, metric, higher_is_better, resource, unit = "image", "accuracy", True, "macs", "image"
    curve_metric = "val_acc"

    def score_resource(self, bench, cell, macs):
        return macs

    def score(self, perf, resource, lam):
        return float(perf - lam * (math.log10(max(resource, 1)) - 6.0))

    def perf_fields(self, perf, diverged):
        return {"accuracy": 0.0 if diverged else perf, "perplexity": None}


class LanguageModelling(TaskKind):
    """RNN cells on a PTB corpus: perplexity (lower is better), the cell's own weights in the score."""

    name, metric, higher_is_better, resource, unit = "lm", "perplexity", False, "cell_weights", "token"
    curve_metric = "val_ppl"

    def score_resource(self, bench, cell, macs):
        # official compute_flops: active edges x H^2. An edgeless cell counts as one edge (the official search never
        # scores one: it stops at 4 edges, and log10 0 is undefined).
        return max(len(cell.active_edges), 1) * bench.proxy.network.hidden_size**2

    def score(self, perf, resource, lam):
        return float((200.0 - perf) * 0.25 - lam * (math.log10(max(resource, 1)) - 6.0))

    def perf_fields(self, perf, diverged):
        return {"accuracy": None, "perplexity": None if diverged else perf}


TASKS: dict[str, TaskKind] = {k.name: k for k in (ImageClassification(), LanguageModelling())}


def task_kind(name: str) -> TaskKind:
    try:
        return TASKS[name]
    except KeyError:
        raise BenchmarkError(f"unknown task kind {name!r}; expected one of {', '.join(TASKS)}") from None

"""Task kinds: what differs between image classification and language modelling, behind one interface.

A benchmark names its kind (``Benchmark.task``); everything kind-specific — loading the data of a stage, building
the network, counting its resources, the metric and its direction, the score's resource and form — lives here, so
``evaluation`` reads straight (cache lookup → build → train → record) and no other module compares task names.

Example:
    >>> from nasbench_shrink.tasks import task_kind
    >>> k = task_kind("image")
    >>> k.metric, k.higher_is_better, round(k.score(0.9, 10**6, lam=0.1), 3)
    ('accuracy', True, 0.9)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from search_spaces import Cell, build_cnn, count_macs, count_params, count_resources
from search_spaces.cnn import MacroConfig, input_shape
from search_spaces.rnn import RNNConfig, build_rnn
from nasbench_shrink.datasets import load_dataset
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.fidelity import Fidelity
from nasbench_shrink.lm import LMTask, evaluate_lm
from nasbench_shrink.ptb import Corpus, batchify, find_ptb
from nasbench_shrink.splits import SplitSpec, Splits, make_splits
from nasbench_shrink.training import DeviceData, ImageTask, evaluate_model

if TYPE_CHECKING:
    from nasbench_shrink.benchmarks import Benchmark

__all__ = ["TaskKind", "ImageClassification", "LanguageModelling", "TASKS", "task_kind", "benchmark_splits"]


class TaskKind(ABC):
    """The kind-specific half of a benchmark.

    Attributes:
        metric: Name of the performance metric (a column of every table).
        higher_is_better: Direction of the metric.
        resource: What the score's resource term counts.
        unit: What one MAC count is per (``image`` or ``token``).
    """

    metric: str
    higher_is_better: bool
    resource: str
    unit: str

    @abstractmethod
    def network(self, bench: "Benchmark", fidelity: Fidelity, data_dir: Any = None) -> Any:
        """The stage's network config, completed with facts of the data (e.g. the vocabulary size)."""

    @abstractmethod
    def build(self, cell: Cell, network: Any) -> torch.nn.Module:
        """The network for the (pruned) cell."""

    @abstractmethod
    def resources(self, cell: Cell, network: Any) -> tuple[int, int]:
        """(forward MACs per example, parameters), without training."""

    @abstractmethod
    def training_task(self, bench: "Benchmark", fidelity: Fidelity, data_dir: Any, device: torch.device) -> Any:
        """The training task for the shared loop: the stage's training data and its scoring split."""

    @abstractmethod
    def score_resource(self, bench: "Benchmark", cell: Cell, macs: int) -> int:
        """The score's resource for ``cell``."""

    @abstractmethod
    def score(self, perf: float, resource: int, lam: float) -> float:
        """Paper Eq. 5 in the official form of this kind."""

    @abstractmethod
    def perf_fields(self, perf: float, diverged: bool) -> dict[str, float | None]:
        """The record's ``accuracy`` and ``perplexity`` fields for a result ``perf``."""

    @abstractmethod
    def held_out_perf(self, model: torch.nn.Module, bench: "Benchmark", fidelity: Fidelity, data_dir: Any,
                      device: torch.device) -> float:
        """The metric of a trained ``model`` on the benchmark's held-out test split."""

    def describe(self, bench: "Benchmark", data_dir: Any = None) -> dict[str, Any]:
        """Extra facts for ``nasbench-shrink show``."""
        return {}


# ---------------------------------------------------------------------------------------------------- images
@lru_cache(maxsize=2)
def _dataset(dataset: str, data_dir: str | None):
    return load_dataset(dataset, Path(data_dir) if data_dir else None)


@lru_cache(maxsize=4)
def _splits(dataset: str, split: SplitSpec, data_dir: str | None) -> Splits:
    return make_splits(_dataset(dataset, data_dir), split)


def benchmark_splits(bench: "Benchmark", data_dir: str | Path | None = None) -> Splits:
    """The benchmark's splits, loaded once per process."""
    return _splits(bench.dataset, bench.split, str(data_dir) if data_dir else None)


@lru_cache(maxsize=4096)
def _cnn_resources(cell: Cell, network: MacroConfig) -> tuple[int, int]:
    r = count_resources(build_cnn(cell, network), input_shape(network))
    return r.macs, r.params


class ImageClassification(TaskKind):
    """CNN cells on an image data set: accuracy (higher is better), MACs in the score."""

    metric, higher_is_better, resource, unit = "accuracy", True, "macs", "image"

    def network(self, bench, fidelity, data_dir=None):
        return fidelity.network

    def build(self, cell, network):
        return build_cnn(cell.pruned(), network)

    def resources(self, cell, network):
        return _cnn_resources(cell.pruned(), network)

    def training_task(self, bench, fidelity, data_dir, device):
        splits = benchmark_splits(bench, data_dir)
        train_set, eval_set = ((splits.proxy_train, splits.proxy_val) if fidelity.scored_on == "val"
                               else (splits.final_train, splits.final_test))
        mean, std = torch.tensor(bench.mean), torch.tensor(bench.std)
        channels_last = True  # measured faster here even at 8x8 (6.3 vs 8.3 ms per digits step)
        return ImageTask(DeviceData(train_set, device, mean, std, channels_last),
                         DeviceData(eval_set, device, mean, std, channels_last), fidelity.recipe)

    def held_out_perf(self, model, bench, fidelity, data_dir, device):
        test = benchmark_splits(bench, data_dir).final_test
        data = DeviceData(test, device, torch.tensor(bench.mean), torch.tensor(bench.std), channels_last=True)
        return evaluate_model(model, data)[0]

    def score_resource(self, bench, cell, macs):
        return macs

    def score(self, perf, resource, lam):
        return float(perf - lam * (math.log10(max(resource, 1)) - 6.0))

    def perf_fields(self, perf, diverged):
        return {"accuracy": 0.0 if diverged else perf, "perplexity": None}


# ---------------------------------------------------------------------------------------------------- language
class _RNNStep(torch.nn.Module):
    """One time step of an RNN model, for counting MACs per token."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        return self.model(words.t(), self.model.init_hidden(words.size(0)))[0]


@lru_cache(maxsize=4096)
def _rnn_resources(cell: Cell, network: RNNConfig) -> tuple[int, int]:
    model = build_rnn(cell, network)
    return count_macs(_RNNStep(model), torch.zeros((1, 1), dtype=torch.long)), count_params(model)


class LanguageModelling(TaskKind):
    """RNN cells on a PTB corpus: perplexity (lower is better), the cell's own weights in the score."""

    metric, higher_is_better, resource, unit = "perplexity", False, "cell_weights", "token"

    def corpus(self, bench, fidelity: Fidelity, data_dir=None) -> Corpus:
        return find_ptb(str(data_dir) if data_dir else None, fidelity.corpus, bench.vocab_limit, bench.vocab_from)

    def network(self, bench, fidelity, data_dir=None):
        return replace(fidelity.network, vocab_size=self.corpus(bench, fidelity, data_dir).vocab_size)

    def build(self, cell, network):
        return build_rnn(cell.pruned(), network)

    def resources(self, cell, network):
        return _rnn_resources(cell.pruned(), network)

    def training_task(self, bench, fidelity, data_dir, device):
        corpus = self.corpus(bench, fidelity, data_dir)
        return LMTask(corpus.train, corpus.valid if fidelity.scored_on == "val" else corpus.test, fidelity.recipe,
                      device)

    def held_out_perf(self, model, bench, fidelity, data_dir, device):
        corpus = self.corpus(bench, fidelity, data_dir)
        return evaluate_lm(model, batchify(corpus.test, 10).to(device), fidelity.recipe.bptt)[0]

    def score_resource(self, bench, cell, macs):
        # official compute_flops: active edges x H^2. An edgeless cell counts as one edge (the official search never
        # scores one: it stops at 4 edges, and log10 0 is undefined).
        return max(len(cell.active_edges), 1) * bench.proxy.network.hidden_size ** 2

    def score(self, perf, resource, lam):
        return float((200.0 - perf) * 0.25 - lam * (math.log10(max(resource, 1)) - 6.0))

    def perf_fields(self, perf, diverged):
        return {"accuracy": None, "perplexity": None if diverged else perf}

    def describe(self, bench, data_dir=None):
        return {"vocab_size": self.corpus(bench, bench.proxy, data_dir).vocab_size}


TASKS: dict[str, TaskKind] = {"image": ImageClassification(), "lm": LanguageModelling()}


def task_kind(name: str) -> TaskKind:
    try:
        return TASKS[name]
    except KeyError:
        raise BenchmarkError(f"unknown task kind {name!r}; expected one of {', '.join(TASKS)}") from None

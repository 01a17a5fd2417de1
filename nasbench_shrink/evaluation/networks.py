"""What a task kind's evaluations build and train: its data on the device, its networks, their resources.

The half of a task kind that needs torch (``benchmarks.tasks`` holds the metric and the score). ``evaluate`` reads
straight — cache lookup → build → train → record — because everything kind-specific it needs is here, one
implementation per kind, found by the benchmark's ``task``; no module compares task names.

Example:
    >>> from nasbench_shrink.benchmarks import DIGITS
    >>> networks_of(DIGITS).network(DIGITS, DIGITS.proxy).input_size
    8
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from nasbench_shrink.benchmarks import Benchmark, Fidelity
from nasbench_shrink.benchmarks.datasets import load_dataset
from nasbench_shrink.benchmarks.ptb import Corpus, batchify, find_ptb
from nasbench_shrink.benchmarks.splits import Splits, SplitSpec, make_splits
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.evaluation.lm import LMTask, evaluate_lm
from nasbench_shrink.evaluation.training import DeviceData, ImageTask, evaluate_model
from search_spaces import Cell, build_cnn, count_macs, count_params
from search_spaces.cnn import MacroConfig
from search_spaces.cnn_cost import cnn_resources
from search_spaces.rnn import RNNConfig, build_rnn

__all__ = ["NETWORKS", "ImageNetworks", "LanguageModelNetworks", "TaskNetworks", "benchmark_splits", "networks_of"]


class TaskNetworks(ABC):
    """How one task kind's cells become networks that the one training loop trains."""

    @abstractmethod
    def network(self, bench: Benchmark, fidelity: Fidelity, data_dir: Any = None) -> Any:
        """The stage's network config, completed with facts of the data (e.g. the vocabulary size)."""

    @abstractmethod
    def build(self, cell: Cell, network: Any) -> torch.nn.Module:
        """The network for the (pruned) cell."""

    @abstractmethod
    def resources(self, cell: Cell, network: Any) -> tuple[int, int]:
        """(forward MACs per example, parameters), without training."""

    @abstractmethod
    def training_task(self, bench: Benchmark, fidelity: Fidelity, data_dir: Any, device: torch.device) -> Any:
        """The training task for the shared loop: the stage's training data and its scoring split."""

    @abstractmethod
    def held_out_perf(
        self, model: torch.nn.Module, bench: Benchmark, fidelity: Fidelity, data_dir: Any, device: torch.device
    ) -> float:
        """The metric of a trained ``model`` on the benchmark's held-out test split."""

    def describe(self, bench: Benchmark, data_dir: Any = None) -> dict[str, Any]:
        """Extra facts for ``nasbench-shrink show``."""
        return {}


# ---------------------------------------------------------------------------------------------------- images
@lru_cache(maxsize=2)
def _dataset(dataset: str, data_dir: str | None):
    return load_dataset(dataset, Path(data_dir) if data_dir else None)


@lru_cache(maxsize=4)
def _splits(dataset: str, split: SplitSpec, data_dir: str | None) -> Splits:
    return make_splits(_dataset(dataset, data_dir), split)


def benchmark_splits(bench: Benchmark, data_dir: str | Path | None = None) -> Splits:
    """The benchmark's splits, loaded once per process."""
    return _splits(bench.dataset, bench.split, str(data_dir) if data_dir else None)


@lru_cache(maxsize=4096)
def _cnn_resources(cell: Cell, network: MacroConfig) -> tuple[int, int]:
    r = cnn_resources(cell, network)  # counted without building the network (equal to count_resources: tested)
    return r.macs, r.params


class ImageNetworks(TaskNetworks):
    """CNN cells in the official search network, trained on an image split."""

    def network(self, bench, fidelity, data_dir=None):
        return fidelity.network

    def build(self, cell, network):
        return build_cnn(cell.pruned(), network)

    def resources(self, cell, network):
        return _cnn_resources(cell.pruned(), network)

    def training_task(self, bench, fidelity, data_dir, device):
        splits = benchmark_splits(bench, data_dir)
        train_set, eval_set = (
            (splits.proxy_train, splits.proxy_val)
            if fidelity.scored_on == "val"
            else (splits.final_train, splits.final_test)
        )
        mean, std = torch.tensor(bench.mean), torch.tensor(bench.std)
        channels_last = True  # measured faster here even at 8x8 (6.3 vs 8.3 ms per digits step)
        return ImageTask(
            DeviceData(train_set, device, mean, std, channels_last),
            DeviceData(eval_set, device, mean, std, channels_last),
            fidelity.recipe,
        )

    def held_out_perf(self, model, bench, fidelity, data_dir, device):
        test = benchmark_splits(bench, data_dir).final_test
        data = DeviceData(test, device, torch.tensor(bench.mean), torch.tensor(bench.std), channels_last=True)
        return evaluate_model(model, data)[0]


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


class LanguageModelNetworks(TaskNetworks):
    """RNN cells in the official language model, trained on a PTB corpus with truncated BPTT."""

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
        return LMTask(
            corpus.train, corpus.valid if fidelity.scored_on == "val" else corpus.test, fidelity.recipe, device
        )

    def held_out_perf(self, model, bench, fidelity, data_dir, device):
        corpus = self.corpus(bench, fidelity, data_dir)
        return evaluate_lm(model, batchify(corpus.test, 10).to(device), fidelity.recipe.bptt)[0]

    def describe(self, bench, data_dir=None):
        return {"vocab_size": self.corpus(bench, bench.proxy, data_dir).vocab_size}


NETWORKS: dict[str, TaskNetworks] = {"image": ImageNetworks(), "lm": LanguageModelNetworks()}


def networks_of(bench: Benchmark) -> TaskNetworks:
    """The networks of ``bench``'s task kind."""
    try:
        return NETWORKS[bench.task]
    except KeyError:
        raise BenchmarkError(
            f"no networks for task kind {bench.task!r}; expected one of {', '.join(NETWORKS)}"
        ) from None

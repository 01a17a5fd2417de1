"""Proxy and final evaluation of a cell on a benchmark, with its record and (optional) cache.

The record carries both cost measures: measured seconds and deterministic training FLOPs
(3 × forward MACs × training images × epochs run).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from dataclasses import replace

from search_spaces import Cell, build_cnn, count_macs, count_params, count_resources
from search_spaces.cnn import input_shape
from search_spaces.rnn import RNNConfig, build_rnn
from nasbench_shrink.benchmarks import Benchmark, get_benchmark
from nasbench_shrink.cache import EvaluationCache, cache_key
from nasbench_shrink.datasets import load_dataset
from nasbench_shrink.errors import UserError
from nasbench_shrink.splits import SplitSpec, Splits, make_splits
from nasbench_shrink.lm import LMTask
from nasbench_shrink.ptb import find_ptb
from nasbench_shrink.training import DeviceData, ImageTask, pick_device, set_threads, train

RECORD_VERSION = 2  # 2: the official search network and estimator, score resource, trained examples


@dataclass
class EvalRecord:
    key: str  # canonical architecture key
    benchmark: str
    fidelity: str
    stage: str  # proxy | final
    seed: int
    accuracy: float | None  # image benchmarks: proxy = best validation accuracy; final = test accuracy
    score: float
    macs: int
    params: int
    resource: int  # what the score's resource term counts (benchmark.resource): MACs, or edges x H^2 for RNNs
    cost_s: float
    train_flops: float
    epochs: int
    train_images: int  # size of the training set (images or tokens)
    trained_examples: int  # examples actually processed (an epoch can end early): the FLOPs count these
    diverged: bool
    stop_reason: str
    device: str
    cell: dict
    curve: list[dict] = field(default_factory=list)
    cache_hit: bool = False
    version: int = RECORD_VERSION
    perplexity: float | None = None  # language-model benchmarks: proxy = best validation; final = test

    @property
    def perf(self) -> float | None:
        """The benchmark's performance metric: accuracy (images) or perplexity (language models)."""
        return self.perplexity if self.accuracy is None else self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EvalRecord":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def summary(self) -> dict[str, Any]:
        """The record without its learning curve (the CLI's ``--json`` output)."""
        d = self.to_dict()
        d.pop("curve")
        d["edges"] = len(Cell.from_dict(self.cell).active_edges)
        return d


@lru_cache(maxsize=2)
def _dataset(dataset: str, data_dir: str | None):
    return load_dataset(dataset, Path(data_dir) if data_dir else None)


@lru_cache(maxsize=4)
def _splits(dataset: str, split: SplitSpec, data_dir: str | None) -> Splits:
    return make_splits(_dataset(dataset, data_dir), split)


def benchmark_splits(bench: Benchmark, data_dir: str | Path | None = None) -> Splits:
    """The benchmark's splits, loaded once per process."""
    return _splits(bench.dataset, bench.split, str(data_dir) if data_dir else None)


def network_resources(cell: Cell, macro, bench: Benchmark | None = None, data_dir=None) -> tuple[int, int]:
    """(forward MACs per image or token, parameters) of the network for ``cell``, without training."""
    if isinstance(macro, RNNConfig) and bench is not None:
        macro = replace(macro, vocab_size=corpus_for(bench, "proxy", data_dir).vocab_size)
    return _resources(cell.pruned(), macro)


@lru_cache(maxsize=4096)
def _resources(cell: Cell, macro) -> tuple[int, int]:
    if isinstance(macro, RNNConfig):
        model = build_rnn(cell, macro)
        example = torch.zeros((1, 1), dtype=torch.long)
        r = count_macs(_RNNStep(model), example), count_params(model)
        return r
    r = count_resources(build_cnn(cell, macro), input_shape(macro))
    return r.macs, r.params


class _RNNStep(torch.nn.Module):
    """One time step of an RNN model, for counting MACs per token."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        return self.model(words.t(), self.model.init_hidden(words.size(0)))[0]


def corpus_for(bench: Benchmark, stage: str, data_dir=None):
    return find_ptb(str(data_dir) if data_dir else None, bench.corpus if stage == "proxy" else bench.final_corpus,
                    bench.vocab_limit, bench.vocab_from)


def check_cell(cell: Cell, bench: Benchmark) -> None:
    if cell.space != bench.space:
        raise UserError(f"benchmark {bench.name} searches {bench.space} cells but the cell is a {cell.space} cell")


def _train_and_measure(cell: Cell, bench: Benchmark, stage: str, seed: int, data_dir, device, threads
                       ) -> EvalRecord:
    check_cell(cell, bench)
    macro, recipe = (bench.macro, bench.recipe) if stage == "proxy" else (bench.final_macro, bench.final_recipe)
    fidelity = bench.fidelity_key if stage == "proxy" else bench.final_fidelity_key
    dev = pick_device(device)
    if dev.type == "cpu":
        set_threads(threads or bench.cpu_threads)  # explicit, else the benchmark's, else env / all cores
    # data loading (once per process) is not part of an evaluation's measured cost
    if bench.task == "lm":
        corpus = corpus_for(bench, stage, data_dir)
        macro = replace(macro, vocab_size=corpus.vocab_size)
    else:
        splits = benchmark_splits(bench, data_dir)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    if bench.task == "lm":
        model = build_rnn(cell.pruned(), macro)
        task = LMTask(corpus.train, corpus.valid if stage == "proxy" else corpus.test, recipe, dev)
    else:
        train_set, val_set = ((splits.proxy_train, splits.proxy_val) if stage == "proxy"
                              else (splits.final_train, splits.final_test))
        channels_last = True  # measured faster here even at 8x8 (6.3 vs 8.3 ms per digits step)
        mean, std = torch.tensor(bench.mean), torch.tensor(bench.std)
        model = build_cnn(cell.pruned(), macro)
        task = ImageTask(DeviceData(train_set, dev, mean, std, channels_last),
                         DeviceData(val_set, dev, mean, std, channels_last), recipe)
    macs, params = _resources(cell.pruned(), macro)
    # proxy: the best validation value (Perf); final: the last epoch on the held-out test split, no early stopping
    result = train(model, task, recipe=recipe, seed=seed)
    perf = result.best_val if stage == "proxy" else result.final_val
    cost = time.perf_counter() - t0
    lm = bench.task == "lm"
    resource = bench.score_resource(cell, macs)
    return EvalRecord(
        key=cell.key, benchmark=bench.name, fidelity=fidelity, stage=stage, seed=seed,
        accuracy=None if lm else (0.0 if result.diverged else perf),
        perplexity=(None if result.diverged else perf) if lm else None,
        score=bench.score(perf, resource, diverged=result.diverged), macs=macs, params=params, resource=resource,
        cost_s=cost, train_flops=3.0 * macs * result.examples, epochs=result.epochs, train_images=task.n_train,
        trained_examples=result.examples,
        diverged=result.diverged, stop_reason=result.stop_reason, device=str(dev), cell=cell.to_dict(),
        curve=result.curve,
    )


def evaluate(
    cell: Cell,
    benchmark: str | Benchmark = "digits",
    seed: int = 0,
    cache: EvaluationCache | None = None,
    data_dir: str | Path | None = None,
    device: str | None = None,
    threads: int | None = None,
    lam: float | None = None,
    stage: str = "proxy",
) -> EvalRecord:
    """Evaluate ``cell`` on ``benchmark`` (``stage`` = ``proxy`` or ``final``), through ``cache`` when given.

    A cache hit returns the stored record with its original cost; only the score is recomputed (with ``lam``
    when given), since λ is not part of the fidelity.
    """
    bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    check_cell(cell, bench)
    fidelity = bench.fidelity_key if stage == "proxy" else bench.final_fidelity_key
    key = cache_key(cell.key, fidelity, seed)
    record = None
    if cache is not None:
        stored = cache.get(key)
        if stored is not None:
            record = EvalRecord.from_dict(stored)
            record.cache_hit = True
            record.cell = cell.to_dict()  # the stored cell may be an isomorphic relabelling
    if record is None:
        record = _train_and_measure(cell, bench, stage, seed, data_dir, device, threads)
        if cache is not None:
            cache.put(key, record.key, fidelity, seed, record.to_dict())
    record.score = bench.score(record.perf, record.resource, lam=lam, diverged=record.diverged)
    return record

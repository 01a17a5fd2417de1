"""Evaluating a cell on a benchmark stage: one interface, answered through the cache.

``evaluate()`` reads straight: cache lookup → the benchmark's ``Evaluator`` → store → score. ``LiveTraining``, the
default evaluator, builds the network of the benchmark's task kind and trains it with the one training loop; a
precomputed table answers through the same ``Evaluator`` interface. The record carries both cost measures:
measured seconds and deterministic training FLOPs (3 × forward MACs × training examples processed).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.cache import EvaluationCache, cache_key
from search_spaces import Cell

__all__ = ["EvalRecord", "Evaluator", "LiveTraining", "check_cell", "evaluate", "network_resources", "record_rungs"]

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
    # proxy: the metric of the proxy-trained network on the held-out test split (as NAS-Bench-201 records it);
    # measured after training and not part of the charged cost
    test_perf: float | None = None
    machine: str | None = None  # where it was trained (machine.machine_of); None for records older than the field
    # validation points inside epochs ({"epoch": 0.25, metric, "val_loss"}), recorded when the evaluator was asked
    # for rungs (LiveTraining.rungs_per_epoch); their time is not in cost_s
    rungs: list[dict] = field(default_factory=list)

    @property
    def perf(self) -> float | None:
        """The benchmark's performance metric: accuracy (images) or perplexity (language models)."""
        return self.perplexity if self.accuracy is None else self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def summary(self) -> dict[str, Any]:
        """The record without its learning curve (the CLI's ``--json`` output)."""
        d = self.to_dict()
        d.pop("curve")
        d.pop("rungs")
        d["edges"] = len(Cell.from_dict(self.cell).active_edges)
        return d


def network_resources(cell: Cell, bench: Benchmark, stage: str = "proxy", data_dir=None) -> tuple[int, int]:
    """(forward MACs per image or token, parameters) of ``bench``'s ``stage`` network for ``cell``, untrained.

    Example:
        >>> from search_spaces import complete_cell
        >>> from nasbench_shrink.benchmarks import DIGITS
        >>> network_resources(complete_cell("cnn", 5), DIGITS)[0] > 0
        True
    """
    from nasbench_shrink.evaluation.networks import networks_of  # torch: imported only where a network is built

    nets = networks_of(bench)
    return nets.resources(cell, nets.network(bench, bench.stage(stage), data_dir))


def check_cell(cell: Cell, bench: Benchmark) -> None:
    if cell.space != bench.space:
        raise UserError(f"benchmark {bench.name} searches {bench.space} cells but the cell is a {cell.space} cell")


class Evaluator(ABC):
    """Answers an evaluation of a cell at a benchmark stage with a record (trained live, or looked up)."""

    cacheable = True  # worth storing in the evaluation cache (a lookup is not)
    instant = False  # answers without training, in microseconds (a table lookup)
    curves = False  # its records carry a per-epoch learning curve (what a pruner is told)
    default_seeds: int | None = 3  # a comparison's default seeds (None: as many as the paired test needs)
    table: Any = None  # the table it answers from (a table lookup's)
    predicts = False  # it answers with a fitted model's predictions (``compare --verify-live`` checks it by training)

    def seed_for(self, run_seed: int, arch_key: str) -> int:
        """The evaluation seed of architecture ``arch_key`` in a run: the run's seed (a table draws one of its
        recorded seeds, fixed by run seed and architecture, so a repeat answers with the same record)."""
        return run_seed

    def describe(self) -> dict[str, Any]:
        """Facts for ``nasbench-shrink benchmarks`` (a table: the live benchmark, nodes and seeds behind it)."""
        return {}

    def landscape(self, bench: Benchmark) -> Any:
        """What it knows of every cell's true (seed-mean) score, as a ``tables.Landscape``: a table knows every
        architecture, a surrogate every cell it is shown; ``None`` for live training (no regret, only scores)."""
        return None

    @property
    def architectures(self) -> int | None:
        """How many distinct architectures it can answer (``None``: unbounded, e.g. live training); a budget of
        more evaluations can never be spent, since a repeat is free."""
        return None

    @abstractmethod
    def run(
        self,
        cell: Cell,
        bench: Benchmark,
        stage: str,
        seed: int,
        data_dir: Any = None,
        device: str | None = None,
        threads: int | None = None,
        on_epoch: Callable[[dict, int], bool] | None = None,
    ) -> EvalRecord:
        """The record of ``cell`` on ``bench``'s ``stage`` at ``seed`` (``score`` at the benchmark's λ).

        An evaluator that trains tells ``on_epoch(point, resource)`` each epoch's curve point but the last and stops
        when it returns True (a record with ``stop_reason`` ``pruned``); a lookup answers whole at once."""


class LiveTraining(Evaluator):
    """Build the task kind's network for the cell and train it with the stage's recipe.

    ``rungs_per_epoch`` > 1 also records the validation metric at every 1/R epoch (rungs for pruners), outside
    the measured cost and without changing the trained network (the training loop's guarantee)."""

    curves = True

    def __init__(self, rungs_per_epoch: int = 1, bf16: bool = True) -> None:
        self.rungs_per_epoch = rungs_per_epoch
        self.bf16 = bf16  # on CUDA: bf16 autocast (the fast path) or fp32 throughout

    def run(self, cell, bench, stage, seed, data_dir=None, device=None, threads=None, on_epoch=None):
        import torch  # here, not at the top: a table lookup never needs it (and importing it costs seconds)

        from nasbench_shrink.evaluation.machine import machine_of
        from nasbench_shrink.evaluation.training import pick_device, set_threads, train

        check_cell(cell, bench)
        from nasbench_shrink.evaluation.networks import networks_of

        nets, fidelity = networks_of(bench), bench.stage(stage)
        dev = pick_device(device)
        if dev.type == "cpu":
            set_threads(threads or bench.cpu_threads)  # explicit, else the benchmark's, else env / all cores
        # data loading (once per process) is not part of an evaluation's measured cost
        network = nets.network(bench, fidelity, data_dir)
        task = nets.training_task(bench, fidelity, data_dir, dev)
        for data in (getattr(task, "train_data", None), getattr(task, "val_data", None)):
            if data is not None and hasattr(data, "bf16"):
                data.bf16 = self.bf16
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        model = nets.build(cell, network)
        macs, params = nets.resources(cell, network)
        resource = bench.score_resource(cell, macs)
        told = None if on_epoch is None else (lambda point: on_epoch(point, resource))
        result = train(
            model, task, recipe=fidelity.recipe, seed=seed, rungs_per_epoch=self.rungs_per_epoch, on_epoch=told
        )
        # proxy: the best validation value (Perf); final: the last epoch on the held-out test split
        perf = result.best_val if fidelity.scored_on == "val" else result.final_val
        cost = time.perf_counter() - t0 - result.rung_seconds
        test_perf = None  # (a pruned network is not tested: its record is never a result)
        if fidelity.scored_on == "val" and not result.diverged and result.stop_reason != "pruned":
            test_perf = nets.held_out_perf(model, bench, fidelity, data_dir, dev)
        return EvalRecord(
            key=cell.key,
            benchmark=bench.name,
            fidelity=bench.fidelity_key(stage),
            stage=stage,
            seed=seed,
            **bench.kind.perf_fields(perf, result.diverged),
            score=bench.score(perf, resource, diverged=result.diverged),
            macs=macs,
            params=params,
            resource=resource,
            cost_s=cost,
            train_flops=3.0 * macs * result.examples,
            epochs=result.epochs,
            train_images=task.n_train,
            trained_examples=result.examples,
            diverged=result.diverged,
            stop_reason=result.stop_reason,
            device=str(dev),
            cell=cell.to_dict(),
            curve=result.curve,
            test_perf=test_perf,
            machine=machine_of(dev),
            rungs=result.rungs,
        )


LIVE = LiveTraining()


def record_rungs(rungs_per_epoch: int) -> None:
    """Make this process's live evaluations record ``rungs_per_epoch`` validation points per epoch (data
    collection for pruners); the default, 1, records the epochs' own points only."""
    if rungs_per_epoch < 1:
        raise UserError(f"rungs per epoch must be >= 1 (got {rungs_per_epoch})")
    LIVE.rungs_per_epoch = rungs_per_epoch


def evaluate(
    cell: Cell,
    bench: Benchmark,
    seed: int = 0,
    cache: EvaluationCache | None = None,
    data_dir: str | Path | None = None,
    device: str | None = None,
    threads: int | None = None,
    lam: float | None = None,
    stage: str = "proxy",
    on_epoch: Callable[[dict, int], bool] | None = None,
) -> EvalRecord:
    """Evaluate ``cell`` on ``bench`` (``stage`` = ``proxy`` or ``final``), through ``cache`` when given.

    A cache hit returns the stored record with its original cost; only the score is recomputed (with ``lam``
    when given), since λ is not part of the fidelity. ``on_epoch`` (see ``Evaluator.run``) may stop live training
    early: such a record is partial and never cached.

    Example:
        >>> from search_spaces import Cell
        >>> from nasbench_shrink.benchmarks import DIGITS
        >>> rec = evaluate(Cell("cnn", 2, [(0, 1)], ["input", "conv1x1"]), DIGITS, seed=0)
        >>> 0.0 <= rec.accuracy <= 1.0 and rec.train_flops == 3 * rec.macs * rec.trained_examples
        True
    """
    if not isinstance(bench, Benchmark):  # a name: resolved at the public entry, not here
        raise UserError(
            f"evaluation.evaluate takes a Benchmark, not {bench!r}; nasbench_shrink.evaluate and "
            "nasbench_shrink.get_benchmark take a benchmark's name"
        )
    check_cell(cell, bench)
    evaluator = bench.evaluator or LIVE
    if not evaluator.cacheable:
        cache = None
    fidelity = bench.fidelity_key(stage)
    key = cache_key(cell.key, fidelity, seed)
    record = None
    if cache is not None:
        stored = cache.get(key)
        if stored is not None:
            record = EvalRecord.from_dict(stored)
            record.cache_hit = True
            record.cell = cell.to_dict()  # the stored cell may be an isomorphic relabelling
    if record is None:
        record = evaluator.run(cell, bench, stage, seed, data_dir, device, threads, on_epoch=on_epoch)
        if cache is not None and record.stop_reason != "pruned":
            cache.put(key, record.key, fidelity, seed, record.to_dict())
    record.score = bench.score(record.perf, record.resource, lam=lam, diverged=record.diverged)
    return record

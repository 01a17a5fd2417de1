"""The Optuna objective: params → ``Cell`` → cached proxy evaluation → the study's objectives (the score, maximised,
or the metric and a cost: ``nasbench_shrink.objectives``).

Two rules of fairness live here. A repeat of an architecture inside one run is answered from the run's own
earlier trial (the same record, charged nothing: ``budget.repeat_attrs``), on a table and live alike. And no
held-out test figure is ever written into a trial: the study is readable by every sampler, so test values stay
in the cache / table and reach only the final evaluation and the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import charged_trial, repeat_attrs
from nasbench_shrink.evaluation.cache import EvaluationCache, open_cache
from nasbench_shrink.evaluation.evaluator import LIVE, evaluate
from nasbench_shrink.objectives import Objectives, parse_objectives
from nasbench_shrink.samplers.cell_sampler import trial_system_attrs
from nasbench_shrink.samplers.params import suggest_cell
from nasbench_shrink.storage.optuna_private import storage_of, study_id_of
from nasbench_shrink.work.plan import worker_name

# the user attrs that hold the evaluation record (a repeat copies these; the proposal's own attrs are its own)
RECORD_ATTRS = (
    ta.SCORE,
    ta.MACS,
    ta.PARAMS,
    ta.RESOURCE,
    ta.COST_S,
    ta.TRAIN_FLOPS,
    ta.CACHE_HIT,
    ta.ARCH_KEY,
    ta.EDGES,
    ta.CELL,
    ta.EPOCHS,
    ta.DIVERGED,
    ta.BENCHMARK,
    ta.EVAL_SEED,
    "accuracy",
    "perplexity",
    ta.PRUNED_AT_EPOCH,
)


class CellObjective:
    """Evaluate the trial's cell on ``benchmark`` and record everything a comparison needs as user attrs."""

    def __init__(
        self,
        benchmark: Benchmark,
        nodes: int | None = None,
        seed: int = 0,
        cache: EvaluationCache | str | None = None,
        data_dir: str | Path | None = None,
        lam: float | None = None,
        device: str | None = None,
        threads: int | None = None,
        objectives: Objectives | str | None = None,
        prunes: bool = False,
    ) -> None:
        self.bench = benchmark
        self.prunes = prunes  # report each epoch of the record's curve to the study's pruner
        self.objectives = parse_objectives(objectives)
        self.nodes = nodes or self.bench.nodes
        self.seed = seed
        self._cache = cache
        self.data_dir = data_dir
        self.lam = lam
        self.device = device
        self.threads = threads
        self.last_attrs: dict = {}  # the user attrs of the latest evaluation (what the stop rule charges)
        # per study: (its storage, {architecture key: its first finished trial}, trial numbers already indexed)
        self._seen: dict[tuple[int, int], tuple[object, dict[str, optuna.trial.FrozenTrial], set[int], list[int]]] = {}

    @property
    def cache(self) -> EvaluationCache | None:
        if isinstance(self._cache, str):  # opened lazily, in the worker process that uses it
            self._cache = open_cache(self._cache)
        return self._cache

    def values(self, attrs: dict) -> float | tuple[float, float]:
        """The trial's value(s) from its record's attrs: the score, or (metric, cost)."""
        return self.objectives.values(
            attrs[ta.SCORE],
            attrs.get(self.bench.metric),
            attrs[ta.MACS],
            attrs[ta.PARAMS],
            self.bench.kind.higher_is_better,
        )

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        self.last_attrs = {}
        sys_attrs = trial_system_attrs(trial)
        if sys_attrs.get(ta.SKIP):
            raise optuna.TrialPruned("the strategy has nothing left to evaluate")
        cell = suggest_cell(trial, self.bench.space, self.nodes)
        first = self.first_evaluation(trial.study, cell.key)
        if first is not None:  # a repeat inside this run: the same record, free
            return self._repeat(trial, cell, first, sys_attrs)
        seed = (self.bench.evaluator or LIVE).seed_for(self.seed, cell.key)
        started = time.time()
        rec = evaluate(
            cell,
            self.bench,
            seed=seed,
            cache=self.cache,
            data_dir=self.data_dir,
            device=self.device,
            threads=self.threads,
            lam=self.lam,
            on_epoch=self._told(trial) if self.prunes else None,
        )
        attrs = {
            ta.SCORE: rec.score,
            self.bench.metric: rec.perf,
            ta.MACS: rec.macs,
            ta.PARAMS: rec.params,
            ta.RESOURCE: rec.resource,
            ta.COST_S: rec.cost_s,
            ta.TRAIN_FLOPS: rec.train_flops,
            ta.CACHE_HIT: rec.cache_hit,
            ta.ARCH_KEY: rec.key,
            ta.EDGES: len(cell.active_edges),
            ta.CELL: cell.to_dict(),
            ta.EPOCHS: rec.epochs,
            ta.DIVERGED: rec.diverged,
            ta.BENCHMARK: self.bench.name,
            ta.EVAL_SEED: seed,
        }
        # strategy-specific attrs of the proposal (AutoShrink: step, removed_edge, parent_key, parent)
        attrs.update({k: v for k, v in sys_attrs.get(ta.PROPOSAL, {}).items() if k != "cell"})
        if (self.bench.evaluator or LIVE).cacheable:  # it trained: the real clock, in the attrs a simulated
            # clock writes (runs.clock); a lookup's real time says nothing
            attrs.update({ta.CLOCK_START: started, ta.CLOCK_END: time.time(), ta.CLOCK_WORKER: worker_name()})
        if self.prunes and rec.stop_reason == "pruned":  # the pruner stopped its live training
            self._pruned_live(trial, rec, attrs)
        elif self.prunes and (rec.cache_hit or not (self.bench.evaluator or LIVE).cacheable):
            self._report_epochs(trial, rec, attrs)  # a lookup's curve, told now; raises TrialPruned when stopped
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        self.last_attrs = attrs
        return self.values(attrs)

    def _repeat(
        self, trial: optuna.Trial, cell: Any, first: Any, sys_attrs: dict[str, Any]
    ) -> float | tuple[float, float]:
        """A cell this run evaluated before (trial ``first``): its record again, free; pruned at the same epoch
        if it was."""
        record = {k: v for k, v in first.user_attrs.items() if k in RECORD_ATTRS}
        attrs = repeat_attrs(record, first.number)
        attrs[ta.CELL] = cell.to_dict()
        attrs.update({k: v for k, v in sys_attrs.get(ta.PROPOSAL, {}).items() if k != "cell"})
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        self.last_attrs = attrs
        if ta.PRUNED_AT_EPOCH in attrs:  # what the run saw before: stopped at the same epoch, free
            for step, v in sorted(first.intermediate_values.items()):
                trial.report(v, step)
            raise optuna.TrialPruned(f"a repeat of trial {first.number}, pruned at epoch {attrs[ta.PRUNED_AT_EPOCH]}")
        return self.values(attrs)

    def _told(self, trial: optuna.Trial) -> Callable[[dict, int], bool]:
        """What live training tells after each epoch but the last: the trial reports the epoch's score (the same
        value, at the same step, as a lookup's curve reports) and learns whether its pruner stops it."""
        kind, reported = self.bench.kind, [0]

        def on_epoch(point: dict, resource: int) -> bool:
            if point.get(kind.curve_metric) is None:
                return False
            reported[0] += 1
            trial.report(self._epoch_score(point, resource), reported[0])
            return trial.should_prune()

        return on_epoch

    def _pruned_live(self, trial: optuna.Trial, rec: Any, attrs: dict[str, Any]) -> None:
        """A live evaluation its pruner stopped: charged what it trained (the record's measured seconds and FLOPs of
        the epochs it ran), with the metric it had then; marked pruned."""
        kind = self.bench.kind
        last = [p for p in rec.curve if p.get(kind.curve_metric) is not None][-1]
        self._stopped(trial, attrs, self._epoch_score(last, rec.resource), last, rec.epochs, share=1.0)
        raise optuna.TrialPruned(f"pruned after epoch {rec.epochs} of live training")

    def _report_epochs(self, trial: optuna.Trial, rec: Any, attrs: dict[str, Any]) -> None:
        """Tell the study's pruner the score after each epoch of the record's learning curve; when it stops the
        trial after epoch e of E, the trial is charged e/E of the record's seconds and FLOPs, keeps the metric it
        had then, and is marked pruned (``budget.ta.PRUNED_AT_EPOCH``)."""
        kind = self.bench.kind
        epochs = [p for p in rec.curve if kind.curve_metric in p and p[kind.curve_metric] is not None]
        for i, point in enumerate(epochs[:-1], start=1):  # after the last epoch the evaluation is complete anyway
            value = self._epoch_score(point, rec.resource)
            trial.report(value, i)
            if trial.should_prune():
                self._stopped(trial, attrs, value, point, i, share=i / len(epochs))
                raise optuna.TrialPruned(f"pruned after epoch {i} of {len(epochs)}")

    def _epoch_score(self, point: dict, resource: int) -> float:
        """The score after an epoch of a learning curve: what the pruner is told."""
        return self.bench.score(point[self.bench.kind.curve_metric], resource, lam=self.lam)

    def _stopped(
        self, trial: optuna.Trial, attrs: dict[str, Any], value: float, point: dict, epoch: int, share: float
    ) -> None:
        """Record a trial its pruner stopped after ``epoch``: the score and metric it had then, ``share`` of the
        record's seconds and FLOPs (1: the record is already what was trained), marked pruned."""
        attrs.update(
            {
                ta.SCORE: value,
                self.bench.metric: point[self.bench.kind.curve_metric],
                ta.COST_S: attrs[ta.COST_S] * share,
                ta.TRAIN_FLOPS: attrs[ta.TRAIN_FLOPS] * share,
                ta.PRUNED_AT_EPOCH: epoch,
            }
        )
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        self.last_attrs = attrs

    def first_evaluation(self, study: optuna.Study, key: str) -> optuna.trial.FrozenTrial | None:
        """The run's earliest finished trial of architecture ``key``, read from the study's storage (so other
        workers' trials count) and indexed incrementally (a run re-reads only its new trials)."""
        storage = storage_of(study)
        entry = self._seen.get((id(storage), study_id_of(study)))
        if entry is None or entry[0] is not storage:
            entry = self._seen[(id(storage), study_id_of(study))] = (storage, {}, set(), [0])
        _, first, indexed, done_prefix = entry
        trials = study.get_trials(deepcopy=False)
        prefix = True  # every trial before done_prefix[0] is finished and indexed: it is not read again
        for pos in range(done_prefix[0], len(trials)):
            t = trials[pos]
            if not t.state.is_finished():
                prefix = False
                continue
            if t.number not in indexed:
                indexed.add(t.number)
                k = t.user_attrs.get(ta.ARCH_KEY)
                if charged_trial(t) and k is not None and (k not in first or first[k].number > t.number):
                    first[k] = t
            if prefix:
                done_prefix[0] = pos + 1
        return first.get(key)

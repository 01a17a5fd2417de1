"""A simulated clock for W asynchronous workers on a table benchmark: search time as users live it.

Each run is an Optuna ask-and-tell loop over an event queue of (finish time, worker, trial). A free worker asks
the study for a trial as soon as the sampler can propose one (``CellSampler.ready``: AutoShrink between steps is
not, so its workers wait at the step barrier); the trial is evaluated at once (a lookup) but stays RUNNING, so
every sampler sees it as in flight, until the clock reaches its end: its start plus the architecture's charged
seconds (a repeat is free, so instantaneous). Only the samplers' own work costs real time: nothing sleeps.
Each trial records ``clock_start``, ``clock_end`` and ``clock_worker`` (user attrs; live runs record the same
from the real clock), so optuna-dashboard's timeline and the report show them. With one worker the clock replays
the sequential run exactly: the same trials in the same order, its end equal to the summed charged seconds.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from nasbench_shrink.budget import Budget, cost_of
from nasbench_shrink.samplers.cell_sampler import CellSampler

__all__ = ["CLOCK_ATTRS", "ClockResult", "simulate"]

CLOCK_ATTRS = ("clock_start", "clock_end", "clock_worker")


@dataclass(frozen=True)
class ClockResult:
    """A simulated run: its makespan (simulated seconds until its last trial ended), worker-seconds spent
    evaluating, and the trials in the order they ended."""

    workers: int
    makespan: float
    busy: float
    order: tuple[int, ...]

    @property
    def idle(self) -> float:
        """Worker-seconds without a trial between the start and the makespan (waiting at a barrier, or at the
        end of the run while the last trials finish)."""
        return self.workers * self.makespan - self.busy

    @property
    def utilisation(self) -> float:
        return self.busy / (self.workers * self.makespan) if self.makespan > 0 else 1.0


def _ready(study: optuna.Study) -> bool:
    sampler = study.sampler
    return not isinstance(sampler, CellSampler) or sampler.ready(study)


def simulate(study: optuna.Study, objective: Callable[[optuna.Trial], float], workers: int,
             limit: Budget = Budget(), ended: Callable[[optuna.Study], bool] | None = None,
             last_attrs: Callable[[], dict[str, Any]] | None = None, failures: tuple[type, ...] = ()
             ) -> ClockResult:
    """Run ``study`` with ``workers`` simulated workers until ``ended(study)`` (the strategy finished, or the
    finished trials spent ``limit``) or the charge of the trials started reaches ``limit`` (no worker starts a
    trial that could not count). ``last_attrs()`` returns the user attrs the objective just wrote (what the trial
    is charged); ``failures`` are exceptions that fail a trial and let the run go on."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    attrs_of = last_attrs or (lambda: {})
    clock, busy, committed = 0.0, 0.0, 0.0
    free = list(range(workers))  # idle workers, lowest id first
    running: list[tuple[float, int, int, optuna.Trial, float | None]] = []
    order: list[int] = []
    exhausted = False  # the strategy answered a trial with nothing to propose: it has ended

    def over() -> bool:
        return exhausted or (ended is not None and ended(study)) or (limit.kind is not None
                                                                     and limit.reached(committed))

    while True:
        while free and not over() and _ready(study):
            worker = free.pop(0)
            trial = study.ask()
            try:
                value: float | None = objective(trial)
            except optuna.TrialPruned:  # the strategy has nothing left: the worker stays free
                study.tell(trial, state=TrialState.PRUNED)
                free.insert(0, worker)
                exhausted = True
                continue
            except failures:
                value = None
            spent = cost_of(attrs_of(), "seconds") if value is not None else 0.0
            if limit.kind is not None and value is not None:
                committed += cost_of(attrs_of(), limit.kind)
            for name, v in zip(CLOCK_ATTRS, (clock, clock + spent, worker)):
                trial.set_user_attr(name, v)
            busy += spent
            heapq.heappush(running, (clock + spent, worker, trial.number, trial, value))
        if not running:
            break
        end, worker, number, trial, value = heapq.heappop(running)
        clock = end
        if value is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)
        order.append(number)
        free.append(worker)
        free.sort()
    return ClockResult(workers, clock, busy, tuple(order))

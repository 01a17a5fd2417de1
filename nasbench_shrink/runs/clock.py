"""A simulated clock for W asynchronous workers on a table benchmark: search time as users live it.

Each run is an Optuna ask-and-tell loop over an event queue of (finish time, worker, trial). A free worker asks
the study for a trial as soon as the sampler can propose one (``CellSampler.ready``: AutoShrink between steps is
not, so its workers wait at the step barrier); the trial is evaluated at once (a lookup) but stays RUNNING, so
every sampler sees it as in flight, until the clock reaches its end: its start plus the architecture's charged
seconds (a repeat is free, so instantaneous). Only the samplers' own work costs real time: nothing sleeps.
Each trial records ``clock_start``, ``clock_end`` and ``clock_worker`` (user attrs; live runs record the same
from the real clock), so optuna-dashboard's timeline and the report show them. With one worker the clock replays
the sequential run exactly: the same trials in the same order, its end equal to the summed charged seconds.
An architecture proposed while the run is still training it (two workers asking at once) is not paid twice: the
second trial waits for the first, holding its worker idle, and is a free repeat of its record, as a shared
evaluation cache would make it.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.budget import (
    WALLCLOCK,
    Budget,
    cost_of,
    cumulative_column,
    repeat_attrs,
    running_totals,
    within_limit,
)
from nasbench_shrink.samplers.cell_sampler import CellSampler

__all__ = ["CLOCK_ATTRS", "ClockResult", "simulate"]

CLOCK_ATTRS = (ta.CLOCK_START, ta.CLOCK_END, ta.CLOCK_WORKER)


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


def _started(
    trial: optuna.Trial,
    attrs: dict[str, Any],
    evaluated: bool,
    clock: float,
    in_flight: dict[str, tuple[int, float]],
    limit: Budget,
) -> tuple[float, float, float]:
    """A trial started at ``clock``: when it ends, the seconds its worker is busy, and what it commits of
    ``limit``. An architecture whose evaluation is in flight on another worker waits for it and comes free (a
    repeat); otherwise the trial takes its recorded seconds and is the architecture's evaluation in flight."""
    key = attrs.get(ta.ARCH_KEY)
    if key is not None and key in in_flight and not attrs.get(ta.REPEAT):
        first, end = in_flight[key]
        for name, v in repeat_attrs(attrs, first).items():
            trial.set_user_attr(name, v)
        return end, 0.0, 0.0
    spent = cost_of(attrs, "seconds") if evaluated else 0.0
    end = clock + spent
    charge = cost_of(attrs, limit.kind) if limit.kind not in (None, WALLCLOCK) and evaluated else 0.0
    if key is not None and not attrs.get(ta.REPEAT):
        in_flight[key] = (trial.number, end)
    return end, spent, charge


def simulate(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    workers: int,
    limit: Budget = Budget(),
    ended: Callable[[optuna.Study], bool] | None = None,
    last_attrs: Callable[[], dict[str, Any]] | None = None,
    failures: tuple[type, ...] = (),
    sampler_time: bool = False,
) -> ClockResult:
    """Run ``study`` with ``workers`` simulated workers until ``ended(study)`` (the strategy finished, or the
    finished trials spent ``limit``) or the charge of the trials started reaches ``limit`` (no worker starts a
    trial that could not count). ``last_attrs()`` returns the user attrs the objective just wrote (what the trial
    is charged); ``failures`` are exceptions that fail a trial and let the run go on.

    ``sampler_time``: a worker also spends the real seconds its strategy took to decide (``study.ask`` and the
    objective's parameter suggestions, measured here; recorded as ``sampler_s``) before its trial starts, so a
    slow model-based sampler is as slow on the clock as it would be beside training. Off by default: measured
    seconds make the simulated clock depend on the machine and its load, and the run no longer replays exactly."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    attrs_of = last_attrs or (lambda: {})
    clock, busy, committed = 0.0, 0.0, 0.0
    free = list(range(workers))  # idle workers, lowest id first
    running: list[tuple[float, int, int, optuna.Trial, float | None]] = []
    in_flight: dict[str, tuple[int, float]] = {}  # architecture key → (trial number, end) of its paid evaluation
    order: list[int] = []
    exhausted = False  # the strategy answered a trial with nothing to propose: it has ended
    # whether the run has ended depends on finished trials only: asked once per finished trial, not per ask
    has_ended = ended is not None and ended(study)

    def over() -> bool:
        if limit.kind == WALLCLOCK:  # no trial starts at or after the limit
            return exhausted or has_ended or clock >= limit.limit
        return exhausted or has_ended or (limit.kind is not None and limit.reached(committed))

    while True:
        while free and not over() and _ready(study):
            worker = free.pop(0)
            asked = time.perf_counter()
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
            attrs = dict(attrs_of()) if value is not None else {}
            start = clock
            if sampler_time:  # (a lookup inside the objective takes microseconds: the time is the sampler's)
                decided = time.perf_counter() - asked
                trial.set_user_attr(ta.SAMPLER_S, decided)
                start = clock + decided
            end, spent, charge = _started(trial, attrs, value is not None, start, in_flight, limit)
            committed += charge
            for name, v in zip(CLOCK_ATTRS, (start, end, worker)):
                trial.set_user_attr(name, v)
            busy += spent
            heapq.heappush(running, (end, worker, trial.number, trial, value))
        if not running:
            break
        end, worker, number, trial, value = heapq.heappop(running)
        clock = end
        key = trial.user_attrs.get(ta.ARCH_KEY)
        if key is not None and in_flight.get(key, (None,))[0] == number:
            del in_flight[key]
        if value is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)
        order.append(number)
        has_ended = ended is not None and ended(study)
        free.append(worker)
        free.sort()
    return ClockResult(workers, clock, busy, tuple(order))


def counted_clock(study: optuna.Study, limit: Budget, workers: int) -> dict[str, float]:
    """The study's ``clock`` attr over the trials that count under ``limit`` (the rule of ``summary.csv``: the
    running total including a trial stays within the limit), so the dashboard and the summary agree: makespan =
    the last counted trial's end, busy = their charged seconds."""
    rows = [r for r in running_totals(study.get_trials(deepcopy=False)) if ta.CLOCK_END in r["trial"].user_attrs]
    if not rows:
        return {"workers": workers, "makespan_s": 0.0, "busy_s": 0.0, "idle_s": 0.0, "utilisation": 1.0}
    if limit.kind is not None:
        col = cumulative_column(limit.kind)
        cum = [r["trial"].user_attrs[ta.CLOCK_END] if col == "clock_end" else r[col] for r in rows]
        keep = within_limit(cum, limit.limit)
        rows = [r for r, k in zip(rows, keep) if k]
    ends = [r["trial"].user_attrs[ta.CLOCK_END] for r in rows]
    starts = [r["trial"].user_attrs[ta.CLOCK_START] for r in rows]
    makespan = (max(ends) - min(starts)) if rows else 0.0
    busy = sum(cost_of(r["trial"].user_attrs, "seconds") for r in rows)
    return {
        "workers": workers,
        "makespan_s": makespan,
        "busy_s": busy,
        "idle_s": workers * makespan - busy,
        "utilisation": busy / (workers * makespan) if makespan > 0 else 1.0,
    }

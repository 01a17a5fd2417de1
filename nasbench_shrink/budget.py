"""Budget accounting, the heart of a fair comparison, in one place.

The cost rule (tables and live alike):

- a run pays for each distinct architecture (canonical key) the first time it evaluates it;
- a repeat of an architecture inside the same run returns the same record and costs nothing (the trial is
  marked ``repeat``): a live run would have answered it from its own cache;
- a cache hit made by *another* run is charged its recorded cost, so a run's cost never depends on the order in
  which the runs of a comparison happened to execute;
- a trial counts within a budget only if the run's total *including its own cost* stays within the limit, and
  nothing after the first trial that does not fit counts (no overshoot, no cherry-picking of cheap trials);
- with an automatic budget, strategy X at seed s gets exactly what the budget-setting strategy spent at seed s
  (``paired_budgets``), so a paired test compares runs of equal cost.

Three cost kinds exist: evaluations, training FLOPs (deterministic: 3 × forward MACs × examples trained) and
seconds (on a table: the architecture's cost normalised to the table's reference machine). A strategy that scores
cells with a zero-cost proxy before it trains any pays for that too: its proposals carry ``proxy_cost_s`` and
``proxy_flops`` (3 × MACs × the proxy's minibatch per scored cell, a training step's FLOPs), charged in seconds and
FLOPs even on a trial that repeats an architecture (the proxy work was done); a proxy is not an evaluation. A
fourth budget kind,
``wallclock``, limits a run on a simulated clock of W workers (``runs.clock``) by its simulated time: no trial
starts at or after the limit, and a trial counts only if it ends within it.

A trial that a pruner stopped after e of its E epochs (``--pruner``) is an evaluation too: it is charged the
seconds and FLOPs of the epochs it trained (e/E of its record's) and counts as one evaluation; its attrs carry
``pruned_at_epoch``. A later trial of the same architecture in the run is what the run saw before: pruned at the
same epoch, free.

Example:
    >>> from nasbench_shrink.budget import Budget
    >>> Budget("evals", 3).admits(2.0, 1.0), Budget("evals", 3).admits(3.0, 1.0)
    (True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import trial_attrs as ta

__all__ = [
    "BUDGET_KINDS",
    "COST_KINDS",
    "MAX_REPEATS_IN_A_ROW",
    "WALLCLOCK",
    "Budget",
    "budget_of_seed",
    "charged",
    "charged_trial",
    "cost_label",
    "cost_of",
    "cumulative_column",
    "paired_budgets",
    "repeat_attrs",
    "running_totals",
    "within_limit",
]

COST_KINDS: tuple[str, ...] = ("evals", "flops", "seconds")
WALLCLOCK = "wallclock"  # simulated time on W workers: a limit, not a charge (no trial is charged "wallclock")
BUDGET_KINDS: tuple[str, ...] = (*COST_KINDS, WALLCLOCK)
# a run whose last trials were all free repeats has nothing new to buy: it stops after this many in a row
MAX_REPEATS_IN_A_ROW = 50
# the trial user attr that records each kind's cost (an evaluation costs 1)
_ATTR = {"evals": None, "flops": ta.TRAIN_FLOPS, "seconds": ta.COST_S}
# the proposal's own cost in each kind: zero-cost proxies a strategy computed to choose it
PROXY_ATTR = {"evals": None, "flops": ta.PROXY_FLOPS, "seconds": ta.PROXY_COST_S}
# the running-total column of trials.csv for each kind, and its axis label
_CUMULATIVE = {"evals": "eval_index", "flops": "cum_train_flops", "seconds": "cum_cost_s", WALLCLOCK: "clock_end"}
_LABEL = {
    "evals": "evaluations",
    "flops": "cumulative charged training FLOPs",
    "seconds": "cumulative charged seconds",
    WALLCLOCK: "simulated wall-clock seconds",
}


def _check(kind: str, kinds: tuple[str, ...] = BUDGET_KINDS) -> str:
    if kind not in kinds:
        raise ValueError(f"unknown budget kind {kind!r}; use one of {kinds}")
    return kind


def cost_of(attrs: Mapping[str, Any], kind: str) -> float:
    """What one finished trial with user attrs ``attrs`` is charged in ``kind`` (a repeat: nothing)."""
    attr, proxy = _ATTR[_check(kind, COST_KINDS)], PROXY_ATTR[kind]
    screening = float(attrs.get(proxy, 0.0) or 0.0) if proxy is not None else 0.0
    if attrs.get(ta.REPEAT):
        return screening
    return 1.0 if attr is None else float(attrs.get(attr, 0.0) or 0.0) + screening


def repeat_attrs(first: Mapping[str, Any], first_number: int) -> dict[str, Any]:
    """The user attrs of a trial that repeats the run's trial ``first_number`` (attrs ``first``): the same
    record, charged nothing."""
    out = dict(first)
    out.update(
        {
            ta.REPEAT: True,
            ta.REPEAT_OF: first_number,
            ta.CACHE_HIT: False,
            **{a: 0.0 for a in _ATTR.values() if a is not None},
        }
    )
    return out


def charged_trial(t: FrozenTrial) -> bool:
    """Whether a finished trial is charged: it completed, or a pruner stopped its evaluation (a trial pruned
    because its strategy had nothing left to propose evaluated nothing)."""
    return t.state == TrialState.COMPLETE or (t.state == TrialState.PRUNED and ta.PRUNED_AT_EPOCH in t.user_attrs)


def charged(trials: Iterable[FrozenTrial]) -> dict[str, float]:
    """Total cost charged for the finished trials (``charged_trial``), in every kind."""
    done = [t for t in trials if charged_trial(t)]
    return {kind: sum(cost_of(t.user_attrs, kind) for t in done) for kind in COST_KINDS}


def cumulative_column(kind: str) -> str:
    """The trials.csv column holding the running total of ``kind``."""
    return _CUMULATIVE[_check(kind)]


def cost_label(kind: str) -> str:
    return _LABEL[_check(kind)]


@dataclass(frozen=True)
class Budget:
    """A limit in one cost kind (``limit=None``: no limit)."""

    kind: str | None = None
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.kind is not None:
            _check(self.kind)
        if self.limit is not None and self.limit <= 0:
            raise ValueError("the budget must be positive")

    @property
    def unlimited(self) -> bool:
        return self.kind is None or self.limit is None

    def admits(self, charged_before: float, own_cost: float) -> bool:
        """Whether a trial of cost ``own_cost`` after ``charged_before`` fits: the total including it stays
        within the limit (a relative tolerance of 1e-9 absorbs float summation order)."""
        if self.unlimited:
            return True
        return charged_before + own_cost <= self.limit * (1 + 1e-9)  # type: ignore[operator]

    def reached(self, total: float) -> bool:
        """Whether a run that has been charged ``total`` must stop (its budget used up, or overshot by a trial
        that does not count)."""
        return not self.unlimited and total >= self.limit * (1 - 1e-9)  # type: ignore[operator]

    def spent(self, trials: Iterable[FrozenTrial]) -> bool:
        """Whether the finished ``trials`` have used the whole budget (or one did not fit): the run must stop."""
        if self.unlimited:
            return False
        if self.kind == WALLCLOCK:  # the simulated clock has reached the limit
            return self.reached(
                max(
                    (t.user_attrs.get(ta.CLOCK_END, 0.0) for t in trials if t.state == TrialState.COMPLETE), default=0.0
                )
            )
        return self.reached(charged(trials)[self.kind])  # type: ignore[index]


def running_totals(trials: Iterable[FrozenTrial]) -> list[dict[str, Any]]:
    """For the charged trials (``charged_trial``) in trial order: the 1-based count of charged evaluations and the
    running totals of seconds and FLOPs after each (which of them count under a budget is ``within_limit``'s)."""
    done = sorted((t for t in trials if charged_trial(t)), key=lambda t: t.number)
    totals = {kind: 0.0 for kind in COST_KINDS}
    rows = []
    for t in done:
        for kind in COST_KINDS:
            totals[kind] += cost_of(t.user_attrs, kind)
        rows.append(
            {
                "trial": t,
                "eval_index": int(totals["evals"]),
                "cum_cost_s": totals["seconds"],
                "cum_train_flops": totals["flops"],
                "repeat": bool(t.user_attrs.get(ta.REPEAT)),
            }
        )
    return rows


def within_limit(cumulative: np.ndarray, limit: np.ndarray | float | None) -> np.ndarray:
    """``Budget.admits`` for whole runs at once: a trial counts when the running total including it stays within
    the limit. Costs are never negative, so the running total only grows and the trials that count are exactly
    the longest prefix that fits (NaN or None limit: no limit)."""
    cum = np.asarray(cumulative, dtype=float)
    lim = np.broadcast_to(np.asarray(np.nan if limit is None else limit, dtype=float), cum.shape)
    return np.where(np.isnan(lim), True, cum <= lim * (1 + 1e-9))


def paired_budgets(spent_by_setter: Mapping[str, Mapping[int, float]]) -> dict[int, float]:
    """The automatic budget per seed: what the budget-setting strategy spent at that seed (with several
    setters, the largest of their costs at that seed)."""
    seeds = sorted({s for costs in spent_by_setter.values() for s in costs})
    return {s: max(costs[s] for costs in spent_by_setter.values() if s in costs) for s in seeds}


def budget_of_seed(budget: float | Mapping[int, float] | None, seed: int) -> float | None:
    """A run's limit: a fixed budget, or its seed's entry of a paired budget."""
    if budget is None or isinstance(budget, (int, float)):
        return budget  # type: ignore[return-value]
    return budget[seed]

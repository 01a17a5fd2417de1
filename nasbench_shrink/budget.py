"""Budget accounting, the heart of a fair comparison, in one place.

Every finished trial is charged its recorded cost — cache hits included, at their original cost — so a strategy is
never cheaper because another one trained the same architecture first. Three cost kinds exist: evaluations,
training FLOPs (deterministic: 3 × forward MACs × examples trained) and measured seconds. A run stays inside its
budget while the cost charged *before* a trial is below the limit, so the trial that crosses the limit counts, for
every strategy alike.

Example:
    >>> from nasbench_shrink.budget import Budget
    >>> Budget("evals", 3).admits(2.0), Budget("evals", 3).admits(3.0)
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from optuna.trial import FrozenTrial, TrialState

__all__ = ["COST_KINDS", "Budget", "charged", "cost_of", "running_totals", "cumulative_column", "cost_label"]

COST_KINDS: tuple[str, ...] = ("evals", "flops", "seconds")
# the trial user attr that records each kind's cost (an evaluation costs 1)
_ATTR = {"evals": None, "flops": "train_flops", "seconds": "cost_s"}
# the running-total column of trials.csv for each kind, and its axis label
_CUMULATIVE = {"evals": "eval_index", "flops": "cum_train_flops", "seconds": "cum_cost_s"}
_LABEL = {"evals": "evaluations", "flops": "cumulative charged training FLOPs", "seconds": "cumulative charged seconds"}


def _check(kind: str) -> str:
    if kind not in COST_KINDS:
        raise ValueError(f"unknown budget kind {kind!r}; use one of {COST_KINDS}")
    return kind


def cost_of(attrs: Mapping[str, Any], kind: str) -> float:
    """What one finished evaluation with user attrs ``attrs`` is charged in ``kind``."""
    attr = _ATTR[_check(kind)]
    return 1.0 if attr is None else float(attrs.get(attr, 0.0) or 0.0)


def charged(trials: Iterable[FrozenTrial]) -> dict[str, float]:
    """Total cost charged for the finished (COMPLETE) trials, in every kind."""
    done = [t for t in trials if t.state == TrialState.COMPLETE]
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

    def admits(self, charged_before: float) -> bool:
        """Whether a trial that starts after ``charged_before`` has been charged counts."""
        return self.unlimited or charged_before < self.limit  # type: ignore[operator]

    def spent(self, trials: Iterable[FrozenTrial]) -> bool:
        """Whether the finished trials have used the whole budget (the run must stop)."""
        return not self.unlimited and charged(trials)[self.kind] >= self.limit  # type: ignore[index,operator]


def running_totals(trials: Iterable[FrozenTrial], budget: Budget) -> list[dict[str, Any]]:
    """For the finished trials in trial order: the 1-based evaluation index, the running totals of seconds and
    FLOPs after each, and whether each counts under ``budget``."""
    done = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.number)
    totals = {kind: 0.0 for kind in COST_KINDS}
    rows = []
    for t in done:
        before = totals[budget.kind] if budget.kind is not None else 0.0
        for kind in COST_KINDS:
            totals[kind] += cost_of(t.user_attrs, kind)
        rows.append({"trial": t, "eval_index": int(totals["evals"]), "cum_cost_s": totals["seconds"],
                     "cum_train_flops": totals["flops"], "within_budget": budget.admits(before)})
    return rows

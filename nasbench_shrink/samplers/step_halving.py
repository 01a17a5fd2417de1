"""Successive halving inside an AutoShrink step: the pruner of ``autoshrink-sha`` (our extension).

A step trains its K candidates; at each rung (epoch r·η^i) a candidate goes on only if its score is among the
best 1/η of the scores its step's candidates reached at that rung so far (asynchronous successive halving, as
Optuna's ``SuccessiveHalvingPruner``, but competing only within the step: candidates of other steps are other
cells at another point of the shrinking). The first candidate to reach a rung always goes on, so a step run by
one worker always finishes at least one candidate, and the step chooses among its finished candidates.
"""

from __future__ import annotations

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial

from nasbench_shrink import trial_attrs as ta

__all__ = ["StepHalvingPruner"]


class StepHalvingPruner(BasePruner):
    """Prune a candidate whose score at a rung is outside the best 1/``reduction_factor`` of its step's.

    Args:
        min_resource: The first rung (epochs).
        reduction_factor: η: rungs at ``min_resource`` × η^i, and the share 1/η that goes on at each.
    """

    def __init__(self, min_resource: int = 1, reduction_factor: int = 2) -> None:
        if min_resource < 1 or reduction_factor < 2:
            raise ValueError("min_resource >= 1 and reduction_factor >= 2")
        self.min_resource, self.reduction_factor = min_resource, reduction_factor

    def _is_rung(self, step: int) -> bool:
        r = self.min_resource
        while r < step:
            r *= self.reduction_factor
        return r == step

    @staticmethod
    def _step_of(trial: FrozenTrial) -> tuple | None:
        proposal = trial.system_attrs.get(ta.PROPOSAL) or {}
        return None if ta.STEP not in proposal else (proposal.get(ta.RESTART, 0), proposal[ta.STEP])

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        epoch = trial.last_step
        if epoch is None or not self._is_rung(epoch):
            return False
        mine = self._step_of(trial)
        if mine is None:
            return False
        scores = [
            t.intermediate_values[epoch]
            for t in study.get_trials(deepcopy=False)
            if epoch in t.intermediate_values and self._step_of(t) == mine
        ]
        value = trial.intermediate_values[epoch]
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        keep = max(1, len(scores) // self.reduction_factor)
        best = sorted(scores, reverse=maximize)[:keep]
        return not (value >= best[-1] if maximize else value <= best[-1])

"""The complete DAG with the seeded op assignment: the paper's Complete-DAG row (one evaluation, then stop)."""

from __future__ import annotations

from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink.samplers.cell_sampler import CellSampler, stop_study
from search_spaces import Cell, complete_cell


class CompleteDAGSampler(CellSampler):
    strategy_name = "complete"
    supports_multi_objective = True  # it never reads the values

    def is_finished(self, study: Study) -> bool:
        return any(self.proposed_cell(t) is not None for t in self.finished(study, states=(TrialState.COMPLETE,)))

    def propose(self, study: Study, trial: FrozenTrial) -> Cell | None:
        if self.is_finished(study):
            stop_study(study)
            return None
        return complete_cell(self.space, self.nodes, self.seed)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values) -> None:
        if state == TrialState.COMPLETE:
            stop_study(study)

"""Base class for strategies that propose whole cells: AutoShrink and the baselines.

A subclass implements ``propose(study, trial) -> Proposal`` (a cell and the attrs to store with it); the base class
writes the proposal to the trial's system attrs in one storage write, turns it into Optuna relative parameters
and answers any parameter outside the cell space with a seeded independent sampler, so the sampler is valid in any
study. Per-trial randomness comes from ``trial_rng`` (seed + trial number), so a run does not depend on timing.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.samplers.params import cell_to_params, search_space
from nasbench_shrink.storage.optuna_private import storage_of, trial_id_of
from nasbench_shrink.work.plan import worker_name
from search_spaces import Cell

__all__ = ["CellSampler", "Proposal"]


@dataclass(frozen=True)
class Proposal:
    """A proposed cell and the strategy's attrs stored with it (the objective copies them into user attrs).

    Example:
        >>> from search_spaces import complete_cell
        >>> Proposal(complete_cell("cnn", 3), {"step": 0}).attrs
        {'step': 0}
    """

    cell: Cell
    attrs: dict[str, Any] = field(default_factory=dict)


class CellSampler(BaseSampler, ABC):
    """An Optuna sampler that proposes complete cells of one space and node count.

    Args:
        space: ``cnn`` or ``rnn``.
        nodes: Cell nodes N.
        seed: Seed of every random choice (with the trial number, so a run does not depend on timing).

    Example:
        >>> import optuna
        >>> from search_spaces import all_edges
        >>> class Chain(CellSampler):
        ...     def propose(self, study, trial):
        ...         return Proposal(Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"]))
        >>> Chain("cnn", 3).nodes
        3
    """

    strategy_name = "cell"
    # whether it can run in a two-objective study (a strategy that never reads the values can; one that ranks
    # by them must say how it compares two of them)
    supports_multi_objective = False

    def __init__(self, space: str = "cnn", nodes: int = 8, seed: int = 0) -> None:
        self.space = space
        self.nodes = nodes
        self.seed = seed
        # Optuna's sampler for parameters outside the cell, made at first use: seeding its RNG costs about as much
        # as a one-trial run of a table (the complete DAG), and a cell strategy rarely needs it
        self._fallback: RandomSampler | None = None
        self._reseeded = False
        self._space = search_space(space, nodes)

    # -- to implement -------------------------------------------------------------------------------------
    @abstractmethod
    def propose(self, study: Study, trial: FrozenTrial) -> Proposal | Cell | None:
        """The proposal for ``trial`` (a bare ``Cell`` means no attrs); ``None`` means the strategy is finished
        (the trial is marked to skip)."""

    def is_finished(self, study: Study) -> bool:
        """Whether this strategy has ended its run, read from the storage (strategies that end by themselves)."""
        return False

    def ready(self, study: Study) -> bool:
        """Whether a trial asked now gets its proposal without waiting for a running trial to finish (a
        synchronous strategy between steps is not ready); the simulated clock leaves a worker idle until then."""
        return True

    # -- helpers --------------------------------------------------------------------------------------------
    def trial_rng(self, trial: FrozenTrial, tag: str = "") -> random.Random:
        return random.Random(f"{self.strategy_name}:{self.seed}:{trial.number}:{tag}")

    @staticmethod
    def proposed_cell(trial: FrozenTrial) -> Cell | None:
        raw = trial.system_attrs.get(ta.PROPOSAL)
        return None if raw is None else Cell.from_dict(raw["cell"])

    @staticmethod
    def finished(study: Study, states=(TrialState.COMPLETE,)) -> list[FrozenTrial]:
        return [t for t in study.get_trials(deepcopy=False, states=states)]

    # -- Optuna sampler API ---------------------------------------------------------------------------------
    def _independent(self) -> RandomSampler:
        if self._fallback is None:
            self._fallback = RandomSampler(seed=None if self._reseeded else self.seed)
        return self._fallback

    def reseed_rng(self) -> None:
        if self._fallback is None:
            self._reseeded = True  # it will be made with a fresh seed
        else:
            self._fallback.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if len(study.directions) > 1 and not self.supports_multi_objective:
            raise ValueError(
                f"{type(self).__name__} supports single-objective studies only (the score of Eq. 5); "
                "create the study with one direction"
            )
        if ta.PROPOSAL in trial.system_attrs or ta.SKIP in trial.system_attrs:
            return  # already assigned (e.g. a re-queued trial)
        proposal = self.propose(study, trial)
        storage = storage_of(study)
        if proposal is None:
            storage.set_trial_system_attr(trial_id_of(trial), ta.SKIP, True)
            return
        if isinstance(proposal, Cell):
            proposal = Proposal(proposal)
        # the worker (host:pid) that evaluates it: shown in the dashboard, and how a stuck trial is traced
        storage.set_trial_system_attr(
            trial_id_of(trial),
            ta.PROPOSAL,
            {"cell": proposal.cell.to_dict(), **proposal.attrs, "worker": worker_name()},
        )

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        # the FrozenTrial handed to sample_relative predates before_trial's writes: read them from the storage
        cell = self.proposed_cell(storage_of(study).get_trial(trial_id_of(trial)))
        if cell is None:  # skipped trial: any valid point; the objective prunes it before evaluating
            cell = Cell(
                self.space,
                self.nodes,
                [],
                ["input"]
                + [
                    self._space[f"op_{k}"].choices[0]  # type: ignore
                    for k in range(1, self.nodes)
                ],
            )
        params = cell_to_params(cell)
        return {k: v for k, v in params.items() if k in search_space}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._independent().sample_independent(study, trial, param_name, param_distribution)


def stop_study(study: Study) -> None:
    """Stop ``study.optimize``; a no-op outside it (ask-and-tell use)."""
    try:
        study.stop()
    except RuntimeError:
        pass


def trial_system_attrs(trial: optuna.Trial) -> dict[str, Any]:
    """A live trial's system attrs (read through the storage; ``Trial`` no longer exposes them)."""
    return storage_of(trial.study).get_trial_system_attrs(trial_id_of(trial))


def is_skipped(trial: optuna.Trial) -> bool:
    return bool(trial_system_attrs(trial).get(ta.SKIP))

"""Baseline strategies over the shared cell space, each an Optuna sampler on the cell-sampler base
(registered by name in ``nasbench_shrink.strategies``)."""

from baselines.complete import CompleteDAGSampler
from baselines.evolution import RegularizedEvolutionSampler
from baselines.random_dag import RandomDAGSampler
from baselines.random_wiring import RandomWiringSampler, wiring_cell
from baselines.zc_rank import ZeroCostRankSampler

__all__ = [
    "CompleteDAGSampler",
    "RandomDAGSampler",
    "RandomWiringSampler",
    "RegularizedEvolutionSampler",
    "ZeroCostRankSampler",
    "wiring_cell",
]

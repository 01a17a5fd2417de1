"""Baseline strategies over the shared cell space, each an Optuna sampler (see ``nasbench_shrink.registry``)."""

from baselines.complete import CompleteDAGSampler
from baselines.evolution import RegularizedEvolutionSampler
from baselines.random_dag import RandomDAGSampler
from baselines.random_wiring import RandomWiringSampler, wiring_cell

__all__ = ["CompleteDAGSampler", "RandomDAGSampler", "RandomWiringSampler", "RegularizedEvolutionSampler",
           "wiring_cell"]

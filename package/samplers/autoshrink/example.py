"""AutoShrink on the cifar10-small table (lookups, no training), as OptunaHub users would run it."""

from pathlib import Path

import optuna
import optunahub


def load(package: str):
    """The package from the OptunaHub registry, or this clone's copy of it when the registry cannot be reached
    (no network, or running from a checkout before the package is published)."""
    try:
        return optunahub.load_module(package)
    except Exception as exc:  # GitPython, network and registry errors alike
        print(f"(optunahub registry unavailable: {type(exc).__name__}; loading {package} from this clone)")
        return optunahub.load_local_module(package, registry_root=str(Path(__file__).resolve().parents[2]))


module = load("samplers/autoshrink")
problem = load("benchmarks/nasbench_shrink").Problem("cifar10-small-table")

sampler = module.AutoShrinkSampler(space=problem.space, nodes=problem.nodes, k=problem.k, seed=0)
study = optuna.create_study(directions=problem.directions, sampler=sampler)
study.optimize(problem, n_trials=50)  # AutoShrink stops the study once its cell has no edge left

print(
    f"trials: {len(study.trials)}, best score: {study.best_value:.4f}, regret: {problem.regret(study.best_params):.4f}"
)

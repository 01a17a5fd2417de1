"""Any Optuna sampler on the cifar10-small table: one and two objectives (lookups, no training)."""

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


hub = load("benchmarks/nasbench_shrink")

problem = hub.Problem("cifar10-small-table", objectives="score", seed=0)
study = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(problem, n_trials=50)
print(
    f"TPE, 50 trials: best score {study.best_value:.4f}, regret {problem.regret(study.best_params):.4f} "
    f"(table optimum {problem.known_optimum:.4f})"
)

front = hub.Problem("cifar10-small-table", objectives="metric,macs", seed=0)
study = optuna.create_study(directions=front.directions, sampler=optuna.samplers.NSGAIISampler(seed=0))
study.optimize(front, n_trials=50)
print(
    f"NSGA-II, 50 trials: {len(study.best_trials)} non-dominated trials; the table's exact front has "
    f"{len(front.pareto_front)} points, reference point {front.reference_point}"
)

"""AutoShrink on the cifar10-small table (lookups, no training), as OptunaHub users would run it."""

import optuna
import optunahub


module = optunahub.load_module("samplers/autoshrink")
problem = optunahub.load_module("benchmarks/nasbench_shrink").Problem("cifar10-small-table")

sampler = module.AutoShrinkSampler(space=problem.space, nodes=problem.nodes, k=problem.k, seed=0)
study = optuna.create_study(directions=problem.directions, sampler=sampler)
study.optimize(problem, n_trials=50)  # AutoShrink stops the study once its cell has no edge left

print(f"trials: {len(study.trials)}, best score: {study.best_value:.4f}, regret: {problem.regret(study.best_params):.4f}")

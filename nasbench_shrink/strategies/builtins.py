"""The built-in strategies: one module-level factory each (picklable, built once), and their declared traits.

Each factory is called as ``factory(benchmark=Benchmark, seed=int, **options)``; the samplers it builds are
imported when it is called, so listing the strategies imports no sampler.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.strategies.strategy import Strategy

__all__ = ["BUILTINS", "DEFAULT_PROXY", "NSGA_POPULATION", "PARETO_WIDTH", "SCREEN_FACTOR", "ZC_POOL", "sweep_lams"]

NSGA_POPULATION = 20  # Optuna's default is 50; paired budgets on the tables are ~100-200 evaluations
PARETO_WIDTH = 3  # Pareto shrinking keeps at most this many cells per step
DEFAULT_PROXY = "grasp"  # the best Spearman rho with the score on both shipped tables (0.48, 0.44)
SCREEN_FACTOR = 3  # proxy-screened AutoShrink draws M = 3K removals per step
ZC_POOL = 100  # zc-rank scores random cells in pools of this many


def sweep_lams(benchmark: Benchmark) -> tuple[float, ...]:
    """The λ values of AutoShrink's sweep on ``benchmark``: 0 (accuracy alone), the benchmark's λ, and 3× and 10×
    it (the cheap end of the front)."""
    return tuple(float(f * benchmark.lam) for f in (0.0, 1.0, 3.0, 10.0))


def autoshrink(
    benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, **kw: Any
) -> BaseSampler:
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    return AutoShrinkSampler(benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, **kw)


def step_halving(epochs: int) -> Any:
    """``autoshrink-sha``'s pruner: successive halving among each step's candidates, rungs at 1, 2, 4, ... epochs."""
    from nasbench_shrink.samplers.step_halving import StepHalvingPruner

    return StepHalvingPruner(min_resource=1, reduction_factor=2)


def autoshrink_restarts(
    benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, **kw: Any
) -> BaseSampler:
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    return AutoShrinkSampler(benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, restarts=True, **kw)


def autoshrink_sweep(
    benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, lams: Any = None, **kw: Any
) -> BaseSampler:
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    return AutoShrinkSampler(
        benchmark.space,
        nodes or benchmark.nodes,
        k or benchmark.k,
        seed,
        lams=tuple(lams) if lams is not None else sweep_lams(benchmark),
        score=lambda perf, resource, lam: benchmark.score(perf, resource, lam=lam, diverged=perf is None),
        metric=benchmark.metric,
    )


def autoshrink_pareto(
    benchmark: Benchmark,
    seed: int = 0,
    nodes: int | None = None,
    k: int | None = None,
    width: int | None = None,
    **kw: Any,
) -> BaseSampler:
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    return AutoShrinkSampler(
        benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, pareto_width=width or PARETO_WIDTH
    )


def autoshrink_zc(
    benchmark: Benchmark,
    seed: int = 0,
    nodes: int | None = None,
    k: int | None = None,
    proxy: str = DEFAULT_PROXY,
    screen: int | None = None,
    **kw: Any,
) -> BaseSampler:
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler
    from nasbench_shrink.strategies.oracle import proxy_oracle

    k = k or benchmark.k
    return AutoShrinkSampler(
        benchmark.space,
        nodes or benchmark.nodes,
        k,
        seed,
        screen=proxy_oracle(benchmark, proxy),
        screen_m=screen or SCREEN_FACTOR * k,
    )


def zc_rank(
    benchmark: Benchmark,
    seed: int = 0,
    nodes: int | None = None,
    proxy: str = DEFAULT_PROXY,
    pool: int = ZC_POOL,
    **kw: Any,
) -> BaseSampler:
    from baselines import ZeroCostRankSampler
    from nasbench_shrink.strategies.oracle import proxy_oracle

    return ZeroCostRankSampler(
        benchmark.space, nodes or benchmark.nodes, seed, proxy_oracle(benchmark, proxy), pool, proxy
    )


def complete(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
    from baselines import CompleteDAGSampler

    return CompleteDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)


def random_dag(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
    from baselines import RandomDAGSampler

    return RandomDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)


def random_wiring(
    benchmark: Benchmark, seed: int = 0, graph_nodes: int | None = None, *, kind: str, **kw: Any
) -> BaseSampler:
    """``kind`` (ws, er, ba) is bound per strategy with ``functools.partial``, which pickles."""
    from baselines import RandomWiringSampler

    params = {k: v for k, v in kw.items() if k in ("k", "p", "m")}
    return RandomWiringSampler(kind, benchmark.space, graph_nodes or benchmark.wiring_nodes, seed, **params)


def evolution(
    benchmark: Benchmark, seed: int = 0, nodes: int | None = None, population: int = 10, sample: int = 3, **kw: Any
) -> BaseSampler:
    from baselines import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(benchmark.space, nodes or benchmark.nodes, seed, population, sample)


def tpe(benchmark: Benchmark, seed: int = 0, **kw: Any) -> BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=kw.get("n_startup_trials", 10))


def optuna_random(benchmark: Benchmark, seed: int = 0, **kw: Any) -> BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def nsga2(benchmark: Benchmark, seed: int = 0, population: int = NSGA_POPULATION, **kw: Any) -> BaseSampler:
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)


def nsga3(benchmark: Benchmark, seed: int = 0, population: int = NSGA_POPULATION, **kw: Any) -> BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.NSGAIIISampler(population_size=population, seed=seed)


both = ("single", "multi")  # strategies that never read the values, and Optuna's that handle both
wiring_traits: dict[str, Any] = dict(options=("graph_nodes", "p", "m"), in_default_comparison=True, objectives=both)
default = dict(in_default_comparison=True)
BUILTINS: tuple[Strategy, ...] = (
    Strategy(
        "autoshrink",
        autoshrink,
        "AutoShrink edge shrinking from the complete DAG (K candidates per step)",
        ends_by_itself=True,
        sets_auto_budget=True,
        options=("nodes", "k"),
        paper_row="Shrink",
        reference_for=("single",),
        **default,
        prunable=False,
    ),
    Strategy(
        "autoshrink-sweep",
        autoshrink_sweep,
        "AutoShrink once per λ of a sweep (two objectives: the front of everything evaluated; our extension)",
        ends_by_itself=True,
        sets_auto_budget=True,
        options=("nodes", "k", "lams"),
        objectives=("multi",),
        reference_for=("multi",),
        **default,
        prunable=False,
    ),
    Strategy(
        "autoshrink-pareto",
        autoshrink_pareto,
        "Pareto shrinking: each step keeps its non-dominated "
        "candidates as the next parents (two objectives; our extension)",
        ends_by_itself=True,
        options=("nodes", "k", "width"),
        objectives=("multi",),
        **default,
        prunable=False,
    ),
    Strategy(
        "autoshrink-sha",
        autoshrink,
        "AutoShrink whose steps train their K candidates by successive halving: at 1, 2, 4, ... epochs a candidate "
        "goes on only among its step's best half (our extension; needs per-epoch curves)",
        ends_by_itself=True,
        options=("nodes", "k"),
        prunable=False,
        pruner=step_halving,
    ),
    Strategy(
        "autoshrink-restarts",
        autoshrink_restarts,
        "AutoShrink restarted from a fresh seed's complete "
        "DAG whenever a shrinking run ends, so it can spend a fixed budget (our extension)",
        options=("nodes", "k"),
        prunable=False,
    ),
    Strategy(
        "autoshrink-zc",
        autoshrink_zc,
        "AutoShrink with proxy-screened candidates: M = 3K one-edge "
        "removals ranked by a zero-cost proxy, the best K trained (our extension)",
        ends_by_itself=True,
        options=("nodes", "k", "proxy", "screen"),
        prunable=False,
    ),
    Strategy(
        "zc-rank",
        zc_rank,
        "Random cells evaluated in the order a zero-cost proxy ranks them (pools of 100, proxy cost charged)",
        options=("nodes", "proxy", "pool"),
        objectives=both,
    ),
    Strategy(
        "complete",
        complete,
        "The complete DAG with seeded ops, evaluated once (paper's Complete-DAG row)",
        ends_by_itself=True,
        options=("nodes",),
        paper_row="Complete-DAG",
        objectives=both,
        **default,
    ),
    Strategy(
        "random",
        random_dag,
        "Uniform random sub-DAGs of the complete DAG with random ops",
        options=("nodes",),
        objectives=both,
        **default,
    ),
    Strategy(
        "ws",
        partial(random_wiring, kind="ws"),
        "Random wiring, Watts-Strogatz graphs (K=4, P=0.75), N=15 on cifar10",
        paper_row="WS",
        **wiring_traits,
    ),
    Strategy(
        "er",
        partial(random_wiring, kind="er"),
        "Random wiring, Erdos-Renyi graphs (P=0.2), N=15 on cifar10",
        paper_row="ER",
        **wiring_traits,
    ),
    Strategy(
        "ba",
        partial(random_wiring, kind="ba"),
        "Random wiring, Barabasi-Albert graphs (M=5), N=15 on cifar10",
        paper_row="BA",
        **wiring_traits,
    ),
    Strategy(
        "evolution",
        evolution,
        "Regularized (aging) evolution: tournament, one-edge/op mutation "
        "(two objectives: the tournament picks by domination count)",
        options=("nodes", "population", "sample"),
        objectives=both,
        **default,
    ),
    Strategy(
        "tpe",
        tpe,
        "Optuna's TPE sampler over the edge and op parameters (MOTPE on two objectives)",
        options=("nodes", "n_startup_trials"),
        objectives=both,
        **default,
    ),
    Strategy(
        "optuna-random",
        optuna_random,
        "Optuna's RandomSampler over the edge and op parameters",
        options=("nodes",),
        objectives=both,
        **default,
    ),
    Strategy(
        "nsga2",
        nsga2,
        "Optuna's NSGAIISampler over the edge and op parameters",
        options=("nodes", "population"),
        objectives=("multi",),
        **default,
    ),
    Strategy(
        "nsga3",
        nsga3,
        "Optuna's NSGAIIISampler over the edge and op parameters",
        options=("nodes", "population"),
        objectives=("multi",),
        **default,
    ),
)

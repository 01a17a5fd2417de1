"""Strategy registry: built-ins, strategies registered in Python, entry points, and ``module.path:factory``.

A strategy factory is called as ``factory(benchmark=Benchmark, seed=int, **options)`` and returns an Optuna
sampler. Cell samplers carry their node count (``sampler.nodes``); for other samplers the benchmark's is used.
Third-party packages register through the entry-point group ``nasbench_shrink.strategies`` (the entry point
loads a factory, or a ``Strategy``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

import optuna
from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark, get_benchmark
from nasbench_shrink.errors import UserError

ENTRY_POINT_GROUP = "nasbench_shrink.strategies"
Factory = Callable[..., BaseSampler]


@dataclass(frozen=True)
class Strategy:
    name: str
    factory: Factory
    description: str
    source: str = "built-in"


_REGISTRY: dict[str, Strategy] = {}


def register_strategy(name: str, factory: Factory, description: str = "", source: str = "python") -> None:
    """Make ``factory`` available as strategy ``name`` (replaces an earlier registration of that name)."""
    _REGISTRY[name] = Strategy(name, factory, description or (factory.__doc__ or "").strip().split("\n")[0], source)


def _wiring_nodes(bench: Benchmark) -> int:
    return 16 if bench.name.startswith("cifar10") else bench.nodes + 2


def _builtin() -> None:
    from baselines import CompleteDAGSampler, RandomDAGSampler, RandomWiringSampler, RegularizedEvolutionSampler
    from nasbench_shrink.autoshrink import AutoShrinkSampler

    def autoshrink(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None,
                   **kw: Any) -> BaseSampler:
        return AutoShrinkSampler(benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, **kw)

    def complete(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
        return CompleteDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)

    def random_dag(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
        return RandomDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)

    def wiring(kind: str) -> Factory:
        def make(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
            params = {k: v for k, v in kw.items() if k in ("k", "p", "m")}
            return RandomWiringSampler(kind, benchmark.space, nodes or _wiring_nodes(benchmark), seed, **params)
        return make

    def evolution(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, population: int = 10,
                  sample: int = 3, **kw: Any) -> BaseSampler:
        return RegularizedEvolutionSampler(benchmark.space, nodes or benchmark.nodes, seed, population, sample)

    def tpe(benchmark: Benchmark, seed: int = 0, **kw: Any) -> BaseSampler:
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=kw.get("n_startup_trials", 10))

    def optuna_random(benchmark: Benchmark, seed: int = 0, **kw: Any) -> BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)

    for name, f, desc in [
        ("autoshrink", autoshrink, "AutoShrink edge shrinking from the complete DAG (K candidates per step)"),
        ("complete", complete, "The complete DAG with seeded ops, evaluated once (paper's Complete-DAG row)"),
        ("random", random_dag, "Uniform random sub-DAGs of the complete DAG with random ops"),
        ("ws", wiring("ws"), "Random wiring, Watts-Strogatz graphs (K=4, P=0.75), N=15 on cifar10"),
        ("er", wiring("er"), "Random wiring, Erdos-Renyi graphs (P=0.2), N=15 on cifar10"),
        ("ba", wiring("ba"), "Random wiring, Barabasi-Albert graphs (M=5), N=15 on cifar10"),
        ("evolution", evolution, "Regularized (aging) evolution: tournament, one-edge/op mutation"),
        ("tpe", tpe, "Optuna's TPE sampler over the edge and op parameters"),
        ("optuna-random", optuna_random, "Optuna's RandomSampler over the edge and op parameters"),
    ]:
        _REGISTRY.setdefault(name, Strategy(name, f, desc))


def _entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY and _REGISTRY[ep.name].source != "entry point":
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plug-in must not break the tool
            _REGISTRY[ep.name] = Strategy(ep.name, _broken(ep.name, exc), f"(failed to load: {exc})", "entry point")
            continue
        if isinstance(obj, Strategy):
            _REGISTRY[ep.name] = Strategy(ep.name, obj.factory, obj.description, "entry point")
        else:
            register_strategy(ep.name, obj, source="entry point")


def _broken(name: str, exc: Exception) -> Factory:
    def factory(**_: Any) -> BaseSampler:
        raise UserError(f"strategy {name!r} failed to load ({exc}); reinstall the package that provides it")
    return factory


def strategies() -> dict[str, Strategy]:
    """Every known strategy by name: built-ins, then entry points, then Python registrations."""
    _builtin()
    _entry_points()
    return dict(sorted(_REGISTRY.items()))


def _load_path(path: str) -> Factory:
    module, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load strategy {path!r} ({exc}); pass an importable module.path:factory") from None
    return obj  # type: ignore[return-value]


def resolve(name: str) -> Strategy:
    if ":" in name:
        return Strategy(name, _load_path(name), "custom factory", "path")
    known = strategies()
    if name not in known:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(known)} or pass module.path:factory "
                        "(see 'nasbench-shrink strategies')")
    return known[name]


def make_sampler(name: str, benchmark: str | Benchmark = "digits", seed: int = 0, **options: Any) -> BaseSampler:
    """Build strategy ``name`` (registered name or ``module.path:factory``) for ``benchmark`` and ``seed``."""
    bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    options = {k: v for k, v in options.items() if v is not None}
    sampler = resolve(name).factory(benchmark=bench, seed=seed, **options)
    if not isinstance(sampler, BaseSampler):
        raise UserError(f"strategy {name!r} returned {type(sampler).__name__}, not an optuna BaseSampler")
    return sampler


def sampler_nodes(sampler: BaseSampler, benchmark: Benchmark, nodes: int | None = None) -> int:
    """The node count the objective must use with ``sampler``."""
    return int(getattr(sampler, "nodes", None) or nodes or benchmark.nodes)

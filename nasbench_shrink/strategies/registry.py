"""Strategy registry: built-ins, strategies registered in Python, entry points, and ``module.path:factory``.

A strategy factory is called as ``factory(benchmark=Benchmark, seed=int, **options)`` and returns an Optuna
sampler. Each strategy declares its traits (``Strategy``): whether it ends by itself, whether it sets compare's
automatic budget, whether it is in the default comparison, which options it takes and their per-benchmark
defaults; nothing else asks for a name. Names become ``Strategy`` objects in ``resolve``, at a command's entry. Cell
samplers carry their node count (``sampler.nodes``); for other samplers the benchmark's is used.
Third-party packages register through the entry-point group ``nasbench_shrink.strategies`` (the entry point
loads a factory, or a ``Strategy``).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Strategy",
    "default_strategies",
    "make_sampler",
    "register_strategy",
    "resolve",
    "sampler_nodes",
    "strategies",
    "unregister_strategy",
]

ENTRY_POINT_GROUP = "nasbench_shrink.strategies"
NSGA_POPULATION = 20  # Optuna's default is 50; paired budgets on the tables are ~100-200 evaluations
PARETO_WIDTH = 3  # Pareto shrinking keeps at most this many cells per step
DEFAULT_PROXY = "grasp"  # the best Spearman rho with the score on both shipped tables (0.48, 0.44)
SCREEN_FACTOR = 3  # proxy-screened AutoShrink draws M = 3K removals per step
ZC_POOL = 100  # zc-rank scores random cells in pools of this many


def sweep_lams(benchmark: Benchmark) -> tuple[float, ...]:
    """The λ values of AutoShrink's sweep on ``benchmark``: 0 (accuracy alone), the benchmark's λ, and 3× and 10×
    it (the cheap end of the front)."""
    return tuple(float(f * benchmark.lam) for f in (0.0, 1.0, 3.0, 10.0))


Factory = Callable[..., BaseSampler]


@dataclass(frozen=True)
class Strategy:
    """A search strategy and the traits that ``search`` and ``compare`` ask about (never its name).

    Args:
        name: Registered name.
        factory: ``factory(benchmark=Benchmark, seed=int, **options) -> optuna.samplers.BaseSampler``.
        description: One line for ``nasbench-shrink strategies``.
        source: ``built-in``, ``python``, ``entry point`` or ``path``.
        ends_by_itself: The strategy stops its study when done, so it needs no budget (AutoShrink, complete DAG).
        sets_auto_budget: ``compare`` with no budget runs this strategy first and gives every other strategy at
            seed s what this one spent at seed s (a paired budget).
        options: The options it takes (``nodes``, ``k``, ``population``...); ``None`` passes every given option.
        defaults: Per-benchmark defaults of those options, e.g. the random-graph size of a benchmark.
        paper_row: The row of the paper's Tables 4/5 this strategy reproduces (``Shrink``, ``Complete-DAG``,
            ``WS``, ``ER``, ``BA``), for the report's side-by-side table; ``None`` for the others.
        in_default_comparison: ``compare --strategies all`` (its default) runs it, in every kind of study it
            supports.
        objectives: The kinds of study it runs in: ``single`` (the score), ``multi`` (metric against cost); a
            comparison refuses it in any other.
        reference_for: The kinds of comparison whose report tests every strategy against this one (AutoShrink
            for the score, its λ sweep for two objectives).
        prunable: Whether ``--pruner`` may stop its trials early (AutoShrink's steps choose among all K
            candidates' final values, so its runs are never pruned).

    Example:
        >>> from nasbench_shrink.strategies.registry import Strategy
        >>> s = Strategy("mine", lambda benchmark, seed=0, **kw: None, ends_by_itself=True, options=("nodes",))
        >>> s.options_for(None, nodes=4, k=3)
        {'nodes': 4}
    """

    name: str
    factory: Factory
    description: str = ""
    source: str = "built-in"
    ends_by_itself: bool = False
    sets_auto_budget: bool = False
    options: tuple[str, ...] | None = None
    defaults: Callable[[Benchmark], dict[str, Any]] | None = None
    paper_row: str | None = None
    in_default_comparison: bool = False
    objectives: tuple[str, ...] = ("single",)
    reference_for: tuple[str, ...] = ()
    label: str | None = None  # the name a plug-in declares (its sampler's ``strategy_name``), shown in results
    prunable: bool = True  # its runs may be pruned per epoch (--pruner); AutoShrink's steps need every candidate

    @property
    def display_name(self) -> str:
        """What tables, figures and reports call it: a plug-in's declared name, else its name."""
        return self.label or self.name

    def sampler(self, benchmark: Benchmark, seed: int = 0, **options: Any) -> BaseSampler:
        """This strategy's sampler for ``benchmark`` and ``seed``; options it does not declare are not passed
        (``compare --k 3`` reaches only AutoShrink)."""
        if not isinstance(benchmark, Benchmark):  # a name: resolved at the public entry, not here
            raise UserError(
                f"a strategy's sampler takes a Benchmark, not {benchmark!r}; nasbench_shrink.make_sampler "
                "takes a benchmark's name"
            )
        sampler = self.factory(benchmark=benchmark, seed=seed, **self.options_for(benchmark, **options))
        if not isinstance(sampler, BaseSampler):
            raise UserError(f"strategy {self.name!r} returned {type(sampler).__name__}, not an optuna BaseSampler")
        return sampler

    def options_for(self, benchmark: Benchmark | None, **given: Any) -> dict[str, Any]:
        """The options to build this strategy with: its per-benchmark defaults, then the given options it takes
        (``None`` values are not given)."""
        out = dict(self.defaults(benchmark)) if self.defaults is not None and benchmark is not None else {}
        out.update({k: v for k, v in given.items() if v is not None and (self.options is None or k in self.options)})
        return out


_REGISTRY: dict[str, Strategy] = {}


def register_strategy(
    name: str,
    factory: Factory,
    description: str = "",
    source: str = "python",
    *,
    ends_by_itself: bool = False,
    sets_auto_budget: bool = False,
    options: tuple[str, ...] | None = None,
    defaults: Callable[[Benchmark], dict[str, Any]] | None = None,
    paper_row: str | None = None,
    in_default_comparison: bool = False,
    objectives: tuple[str, ...] = ("single",),
    reference_for: tuple[str, ...] = (),
) -> Strategy:
    """Make ``factory`` available as strategy ``name`` (replaces an earlier registration of that name).

    A plug-in declares its traits here exactly as the built-ins do (see ``Strategy``).

    Example:
        >>> from baselines import CompleteDAGSampler
        >>> from nasbench_shrink.strategies.registry import register_strategy, unregister_strategy
        >>> s = register_strategy("my-complete", lambda benchmark, seed=0, nodes=None, **kw:
        ...                       CompleteDAGSampler(benchmark.space, nodes or benchmark.nodes, seed),
        ...                       "the complete DAG once", ends_by_itself=True, options=("nodes",))
        >>> s.ends_by_itself
        True
        >>> unregister_strategy("my-complete")
    """
    strategy = Strategy(
        name,
        factory,
        description or (factory.__doc__ or "").strip().split("\n")[0],
        source,
        ends_by_itself,
        sets_auto_budget,
        options,
        defaults,
        paper_row,
        in_default_comparison,
        tuple(objectives),
        tuple(reference_for),
    )
    _REGISTRY[name] = strategy
    return strategy


def unregister_strategy(name: str) -> None:
    """Forget a strategy registered in Python (tests and notebooks clean up with it)."""
    _REGISTRY.pop(name, None)


def _builtin() -> None:
    from baselines import (
        CompleteDAGSampler,
        RandomDAGSampler,
        RandomWiringSampler,
        RegularizedEvolutionSampler,
        ZeroCostRankSampler,
    )
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler
    from nasbench_shrink.strategies.oracle import proxy_oracle

    def autoshrink(
        benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, **kw: Any
    ) -> BaseSampler:
        return AutoShrinkSampler(benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, **kw)

    def autoshrink_restarts(
        benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, **kw: Any
    ) -> BaseSampler:
        return AutoShrinkSampler(benchmark.space, nodes or benchmark.nodes, k or benchmark.k, seed, restarts=True, **kw)

    def autoshrink_sweep(
        benchmark: Benchmark, seed: int = 0, nodes: int | None = None, k: int | None = None, lams: Any = None, **kw: Any
    ) -> BaseSampler:
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
        return ZeroCostRankSampler(
            benchmark.space, nodes or benchmark.nodes, seed, proxy_oracle(benchmark, proxy), pool, proxy
        )

    def complete(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
        return CompleteDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)

    def random_dag(benchmark: Benchmark, seed: int = 0, nodes: int | None = None, **kw: Any) -> BaseSampler:
        return RandomDAGSampler(benchmark.space, nodes or benchmark.nodes, seed)

    def wiring(kind: str) -> Factory:
        def make(benchmark: Benchmark, seed: int = 0, graph_nodes: int | None = None, **kw: Any) -> BaseSampler:
            params = {k: v for k, v in kw.items() if k in ("k", "p", "m")}
            return RandomWiringSampler(kind, benchmark.space, graph_nodes or benchmark.wiring_nodes, seed, **params)

        return make

    def evolution(
        benchmark: Benchmark, seed: int = 0, nodes: int | None = None, population: int = 10, sample: int = 3, **kw: Any
    ) -> BaseSampler:
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
    for strategy in [
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
            wiring("ws"),
            "Random wiring, Watts-Strogatz graphs (K=4, P=0.75), N=15 on cifar10",
            paper_row="WS",
            **wiring_traits,
        ),
        Strategy(
            "er",
            wiring("er"),
            "Random wiring, Erdos-Renyi graphs (P=0.2), N=15 on cifar10",
            paper_row="ER",
            **wiring_traits,
        ),
        Strategy(
            "ba",
            wiring("ba"),
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
    ]:
        _REGISTRY.setdefault(strategy.name, strategy)


_SCANNED: set[tuple[str, ...]] = set()


def _entry_points() -> None:
    """Register the installed plug-ins, once per import path (scanning the installed distributions costs ~10 ms,
    and a comparison resolves strategies for each of its hundreds of runs; a changed ``sys.path`` scans again)."""
    path = tuple(sys.path)
    if path in _SCANNED:
        return
    _SCANNED.add(path)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY and _REGISTRY[ep.name].source != "entry point":
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plug-in must not break the tool
            _REGISTRY[ep.name] = Strategy(ep.name, _broken(ep.name, exc), f"(failed to load: {exc})", "entry point")
            continue
        if isinstance(obj, Strategy):
            _REGISTRY[ep.name] = replace(obj, name=ep.name, source="entry point")
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


def default_strategies(kind: str = "single") -> list[str]:
    """The strategies ``compare`` runs by default in a ``kind`` (``single`` or ``multi``) objective comparison:
    those that declare ``in_default_comparison`` and support ``kind``, built-ins first, in registration order."""
    strategies()
    return [name for name, s in _REGISTRY.items() if s.in_default_comparison and kind in s.objectives]


def _load_path(path: str) -> Factory:
    """``module.path:factory`` or ``path/to/file.py:factory`` (a plug-in in one file, no package needed)."""
    module, _, attr = path.rpartition(":")
    try:
        if module.endswith(".py"):
            from importlib import util as import_util
            from pathlib import Path

            file = Path(module)
            if not file.is_file():
                raise ImportError(f"no file {file}")
            spec = import_util.spec_from_file_location(f"nbs_plugin_{file.stem}", file)
            obj = import_util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(obj)  # type: ignore[union-attr]
        else:
            obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UserError(
            f"cannot load strategy {path!r} ({exc}); pass an importable module.path:factory or file.py:factory"
        ) from None
    return obj  # type: ignore[return-value]


def _declared_name(factory: Factory) -> str | None:
    """The name a plug-in declares: the factory's ``strategy_name``, else that of the one sampler class its module
    defines with one (``class HillClimbSampler(CellSampler): strategy_name = "hill-climb"``)."""
    import sys

    own = getattr(factory, "strategy_name", None)
    if isinstance(own, str) and own:
        return own
    # a file plug-in's module is not in sys.modules: a function's own globals are its module's namespace
    module = sys.modules.get(getattr(factory, "__module__", "") or "")
    namespace = getattr(factory, "__globals__", None) or (vars(module) if module is not None else {})
    home = getattr(factory, "__module__", None)
    declared = {
        v.__dict__["strategy_name"]
        for v in list(namespace.values())
        if isinstance(v, type)
        and issubclass(v, BaseSampler)
        and v.__module__ == home
        and isinstance(v.__dict__.get("strategy_name"), str)
    }
    return declared.pop() if len(declared) == 1 else None


def resolve(name: str) -> Strategy:
    if ":" in name:  # a bare factory declares nothing: it may run in either kind of study (Optuna decides)
        factory = _load_path(name)
        return Strategy(
            name, factory, "custom factory", "path", objectives=("single", "multi"), label=_declared_name(factory)
        )
    known = strategies()
    if name not in known:
        raise UserError(
            f"unknown strategy {name!r}; choose one of {', '.join(known)} or pass module.path:factory "
            "(see 'nasbench-shrink strategies')"
        )
    return known[name]


def make_sampler(name: str, benchmark: Benchmark, seed: int = 0, **options: Any) -> BaseSampler:
    """Build strategy ``name`` (registered name or ``module.path:factory``) for ``benchmark`` and ``seed``
    (``nasbench_shrink.make_sampler`` also takes a benchmark's name).

    Example:
        >>> from nasbench_shrink.benchmarks import DIGITS
        >>> make_sampler("autoshrink", DIGITS, seed=0, nodes=4, k=2).k
        2
    """
    return resolve(name).sampler(benchmark, seed, **options)


def sampler_nodes(sampler: BaseSampler, benchmark: Benchmark, nodes: int | None = None) -> int:
    """The node count the objective must use with ``sampler``: a cell sampler's own, else ``nodes``, else the
    benchmark's."""
    return int(getattr(sampler, "nodes", None) or nodes or benchmark.nodes)

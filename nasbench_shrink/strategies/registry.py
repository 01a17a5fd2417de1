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
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.strategies.strategy import Factory, Strategy

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
    from nasbench_shrink.strategies.builtins import BUILTINS

    for strategy in BUILTINS:
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
        except Exception as exc:  # a broken plug-in must not break the tool: listed, refused when asked for
            _REGISTRY[ep.name] = Strategy(
                ep.name, _broken(ep.name, exc), f"(failed to load: {exc})", "entry point", load_error=str(exc)
            )
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
    if known[name].load_error is not None:  # the same policy as a path that does not load: refused at once
        raise UserError(
            f"strategy {name!r} failed to load ({known[name].load_error}); reinstall the package that provides it"
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

"""A search strategy by its traits: what ``search`` and ``compare`` ask of it, never its name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError

__all__ = ["Factory", "Strategy"]

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
        pruner: Its own pruner, ``pruner(epochs) -> optuna.pruners.BasePruner``, always on (and ``--pruner`` then
            refused): ``autoshrink-sha`` halves each step's candidates.

    Example:
        >>> from nasbench_shrink.strategies.strategy import Strategy
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
    load_error: str | None = None  # an installed plug-in that failed to import: listed, refused when asked for
    pruner: Callable[[int], Any] | None = None  # its own pruner over a run of that many epochs

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

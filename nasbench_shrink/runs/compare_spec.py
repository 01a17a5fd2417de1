"""A comparison's settings (``CompareSpec``): resolved once at its entry, stored in ``compare.json`` and in its
plan; the search spec of each of its runs."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.objectives import SCORE, parse_objectives
from nasbench_shrink.runs.search import SearchSpec
from nasbench_shrink.strategies.registry import Strategy, default_strategies, resolve

COMPARE_RULES = 2  # 2: paired budgets, free repeats, no overshoot, table seeds by architecture, units of seeds


@dataclass(frozen=True)
class CompareSpec:
    """A comparison: strategies x seeds on a benchmark under one budget (immutable: ``with_changes`` makes another).

    ``benchmark`` may be a name or a ``Benchmark``; the spec is where a comparison's entry (the command, or a plan
    unit on any worker) resolves it and its strategies, once (``self.bench``, ``self.plans``). ``benchmark`` and
    ``strategies`` then hold names, which is what the settings and the plan store (``payload``).
    """

    benchmark: str | Benchmark = "digits"
    strategies: list[str] | None = None  # None: the default comparison of the objectives' kind
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget_kind: str = "flops"
    budget: float | None = None  # None: auto (per seed, what AutoShrink spent at that seed)
    workers: int = 0  # 0: number of cores
    out: str | None = None
    storage: str | None = None
    cache: str | None = None
    data_dir: str | None = None
    final: bool = True
    nodes: int | None = None
    k: int | None = None
    lease_s: float = 60.0  # a unit whose worker stopped renewing for this long is taken over (not a setting)
    workers_sim: int | None = None  # on a table: every run on a simulated clock of this many workers
    sampler_time: bool = False  # ... whose workers also spend the strategies' measured decision time
    objectives: str = SCORE  # score | metric,macs | metric,params
    pruner: str | None = None  # every prunable strategy's runs are pruned by it (the others run unpruned)
    # an instant benchmark's studies written as its runs end (else on request: ``store_studies``; not a setting)
    store_studies: bool = False
    bench: Benchmark = field(init=False, repr=False, compare=False)
    plans: dict[str, Strategy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bench = resolve_benchmark(self.benchmark)
        objectives = parse_objectives(self.objectives)
        strategies = list(self.strategies) if self.strategies is not None else default_strategies(objectives.kind)
        resolved = {
            "bench": bench,
            "benchmark": bench.name,
            "objectives": objectives.name,
            "strategies": strategies,
            "seeds": list(self.seeds),
            "plans": {s: resolve(s) for s in strategies},  # an unknown strategy is the first thing reported
        }
        for name, value in resolved.items():  # frozen: set once, here
            object.__setattr__(self, name, value)
        if self.sampler_time and self.workers_sim is None:
            raise UserError(
                "--sampler-time adds the strategies' time to a simulated clock: pass --workers-sim W with it"
            )

    def with_changes(self, **changes: Any) -> CompareSpec:
        """This spec with ``changes`` (its benchmark object kept, not looked up again by name)."""
        return replace(self, benchmark=self.bench, **changes)

    def payload(self) -> dict[str, Any]:
        """The spec as the plan stores it (names only): ``CompareSpec(**payload)`` on any worker is the same spec."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def settings(self) -> dict[str, Any]:
        """What must match for a rerun to continue the same comparison (``rules``: the cost rules and plan layout
        it was run under; a folder of earlier rules is never continued)."""
        out = {
            "benchmark": self.benchmark,
            "strategies": self.strategies,
            "seeds": self.seeds,
            "budget_kind": self.budget_kind,
            "budget": self.budget,
            "final": self.final,
            "nodes": self.nodes,
            "k": self.k,
            "rules": COMPARE_RULES,
        }
        if self.workers_sim is not None:
            out["workers_sim"] = self.workers_sim
        if self.sampler_time:
            out["sampler_time"] = True
        if self.objectives != SCORE:
            out["objectives"] = self.objectives
        if self.pruner is not None:
            out["pruner"] = self.pruner
        return out

    def pruner_of(self, strategy: str) -> str | None:
        """The pruner of ``strategy``'s runs: the comparison's, unless the strategy is never pruned."""
        return self.pruner if self.plans[strategy].prunable else None


def study_name(benchmark: str, strategy: str, seed: int) -> str:
    return f"{benchmark}/{strategy}/seed{seed}"


def run_spec(spec: CompareSpec, strategy: str, seed: int, budget: float | None) -> SearchSpec:
    """The search of one (strategy, seed): the compare options the strategy declares, the run's budget."""
    plan = spec.plans[strategy]
    takes = plan.options_for(None, nodes=spec.nodes, k=spec.k)
    return SearchSpec(
        strategy=plan,
        benchmark=spec.bench,
        seed=seed,
        storage=spec.storage or "",
        nodes=takes.get("nodes"),
        k=takes.get("k"),
        budget_kind=None if budget is None else spec.budget_kind,
        budget=budget,
        data_dir=spec.data_dir,
        cache=spec.cache,
        workers_sim=spec.workers_sim,
        sampler_time=spec.sampler_time,
        objectives=spec.objectives,
        pruner=spec.pruner_of(strategy),
        store=not studies_compact(spec),
    )


def studies_compact(spec: CompareSpec) -> bool:
    """Whether the comparison's runs leave no Optuna study behind as they end (an instant benchmark's runs, unless
    asked to store them): their rows are in the plan, and ``store_studies`` writes the studies when wanted."""
    return spec.bench.instant and not spec.store_studies

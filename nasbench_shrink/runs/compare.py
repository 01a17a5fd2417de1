"""``nasbench-shrink compare``: every strategy × seed under one budget, final evaluation, CSVs and report.

Each (strategy, seed) is a study ``<benchmark>/<strategy>/seed<k>`` in one storage; all runs share one evaluation
cache. Charging and the within-budget rule are ``nasbench_shrink.budget``'s. With no budget given, the strategies
that declare ``sets_auto_budget`` (AutoShrink) run first and every other strategy at seed s gets what they spent at
seed s (a paired budget: ``budget.paired_budgets``). Options (``--nodes``, ``--k``) reach every strategy that
declares them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import interrupts
from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.analysis.fronts import front_columns, front_summary
from nasbench_shrink.analysis.results import KIND_KEY, RunKind
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import (
    budget_of_seed,
    charged,
    cost_of,
    cumulative_column,
    paired_budgets,
    running_totals,
    within_limit,
)
from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.objectives import SCORE, parse_objectives
from nasbench_shrink.runs.clock import CLOCK_ATTRS
from nasbench_shrink.runs.search import SearchSpec, check_budget, open_storage, run_ended, run_worker, trial_score
from nasbench_shrink.storage.trials import backend, finished_counts, trials_by_name
from nasbench_shrink.strategies.registry import Strategy, default_strategies, resolve
from nasbench_shrink.tables.landscape import regret_column
from nasbench_shrink.work.plan import Abandoned, Context, Unit, open_plan, work
from nasbench_shrink.work.pool import WorkerPool
from search_spaces import Cell

SEEDS_PER_UNIT = 10  # on an instant benchmark: the seeds one plan unit runs
COMPARE_RULES = 2  # 2: paired budgets, free repeats, no overshoot, table seeds by architecture, units of seeds
SETTINGS_FILE = "compare.json"


@dataclass
class CompareSpec:
    """A comparison: strategies x seeds on a benchmark under one budget.

    ``benchmark`` may be a name or a ``Benchmark``; the spec is where a comparison's entry (the command, or a plan
    unit on any worker) resolves it and its strategies, once (``self.bench``, ``self.plans``). ``benchmark`` and
    ``strategies`` then hold names, which is what the settings and the plan store.
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
    objectives: str = SCORE  # score | metric,macs | metric,params
    pruner: str | None = None  # every prunable strategy's runs are pruned by it (the others run unpruned)
    # an instant benchmark's studies written as its runs end (else on request: ``store_studies``; not a setting)
    store_studies: bool = False
    bench: Benchmark = field(init=False, repr=False, compare=False)
    plans: dict[str, Strategy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.bench = resolve_benchmark(self.benchmark)
        self.benchmark = self.bench.name
        self.objectives = parse_objectives(self.objectives).name
        if self.strategies is None:
            self.strategies = default_strategies(parse_objectives(self.objectives).kind)
        self.plans = {s: resolve(s) for s in self.strategies}  # an unknown strategy is the first thing reported

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
        if self.objectives != SCORE:
            out["objectives"] = self.objectives
        if self.pruner is not None:
            out["pruner"] = self.pruner
        return out

    def pruner_of(self, strategy: str) -> str | None:
        """The pruner of ``strategy``'s runs: the comparison's, unless the strategy is never pruned."""
        return self.pruner if self.plans[strategy].prunable else None


def resolve_out(spec: CompareSpec, results: Path = Path("results")) -> Path:
    """``--out``, else the latest ``results/<benchmark>-*`` run with the same settings, else a new timestamped one."""
    if spec.out:
        return Path(spec.out)
    if results.is_dir():
        for d in sorted(results.glob(f"{spec.benchmark}-*"), reverse=True):
            f = d / SETTINGS_FILE
            try:
                if f.is_file() and json.loads(f.read_text()).get("settings") == spec.settings():
                    return d
            except (OSError, json.JSONDecodeError):
                continue
    return results / f"{spec.benchmark}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _run_spec(spec: CompareSpec, strategy: str, seed: int, budget: float | None) -> SearchSpec:
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
        objectives=spec.objectives,
        pruner=spec.pruner_of(strategy),
        store=not studies_compact(spec),
    )


def studies_compact(spec: CompareSpec) -> bool:
    """Whether the comparison's runs leave no Optuna study behind as they end (an instant benchmark's runs, unless
    asked to store them): their rows are in the plan, and ``store_studies`` writes the studies when wanted."""
    return spec.bench.instant and not spec.store_studies


def _final_job(
    bench: Benchmark, cell_json: str, seed: int, cache: str | None, data_dir: str | None, threads: int
) -> dict:
    from nasbench_shrink.evaluation.cache import open_cache
    from nasbench_shrink.evaluation.evaluator import LIVE, evaluate

    cell = Cell.from_json(cell_json)
    seed = (bench.evaluator or LIVE).seed_for(seed, cell.key)  # a table: the row the search saw
    cached = open_cache(cache) if cache else None
    threads = bench.cpu_threads or threads  # a benchmark that fixes its thread count keeps it
    rec = evaluate(cell, bench, seed=seed, cache=cached, data_dir=data_dir, stage="final", threads=threads)
    return rec.summary()


def _write_settings(out: Path, state: dict[str, Any]) -> None:
    """Write compare.json whole or not at all: a temporary file renamed over it, with a Ctrl-C held back until
    the rename is done (a half-written file would make the comparison unreadable to the command that resumes
    it)."""
    tmp = out / f".{SETTINGS_FILE}.{os.getpid()}.tmp"
    with interrupts.deferred():
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, out / SETTINGS_FILE)


def _load_settings(out: Path) -> dict | None:
    f = out / SETTINGS_FILE
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"{f} is not readable JSON; move that folder aside or pass another --out") from None


# ------------------------------------------------------------------------------------------ units of the plan
def _spec_of(payload: dict[str, Any], ctx: Context) -> CompareSpec:
    """The unit's comparison, with the cache and data folder this worker reaches them under (a unit's entry: its
    benchmark and strategies are resolved here, from the plan's payload)."""
    spec = CompareSpec(**payload["compare"])
    spec.cache = ctx.cache or spec.cache
    spec.data_dir = ctx.data_dir or spec.data_dir
    return spec


_AUTO: dict[tuple, dict[int, float]] = {}


def auto_budget(spec: CompareSpec, setters: list[str], run_id: str) -> dict[int, float]:
    """The automatic (paired) budget: per seed, what the budget-setting strategies spent at that seed, from the
    results of their plan units (read once per process: those runs are finished before anything asks)."""
    key = (spec.storage, run_id, tuple(setters), spec.budget_kind)
    if key not in _AUTO:
        spent: dict[str, dict[int, float]] = {s: {} for s in setters}
        for u in open_plan(spec.storage).units(run_id, phase=0):
            for seed, run in (u["result"] or {}).get("runs", {}).items():
                spent[u["payload"]["strategy"]][int(seed)] = run["charged"][spec.budget_kind]
        missing = [(s, seed) for s in setters for seed in spec.seeds if seed not in spent[s]]
        if missing:
            raise UserError(
                f"the budget-setting run {missing[0][0]} seed {missing[0][1]} has no result; run the "
                "command again to finish it"
            )
        _AUTO[key] = paired_budgets(spent)
    return _AUTO[key]


def _budget_of(payload: dict[str, Any], spec: CompareSpec) -> float | dict[int, float] | None:
    """The unit's budget: the fixed one, or the paired budget of every seed."""
    return (
        payload["budget"]
        if payload["budget"] is not None or not payload["setters"]
        else auto_budget(spec, payload["setters"], payload["run_id"])
    )


def search_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: the searches of one strategy at some seeds, each returning the rows ``trials.csv`` keeps of it
    (so nothing reads the trials back) and its charged cost. A unit taken over from a worker that died replays
    its studies, answered by the storage and the evaluation cache, so each run is the one an uninterrupted worker
    makes."""
    spec = _spec_of(payload, ctx)
    bench = spec.bench
    land = _landscape(bench)
    runs = {}
    for seed in payload["seeds"]:
        run = _run_spec(
            spec,
            payload["strategy"],
            seed,
            None if payload["phase"] == 0 else budget_of_seed(_budget_of(payload, spec), seed),
        )
        if payload["attempt"] > 1 and run.store:
            _discard_interrupted(run)
        study = run_worker(run, ctx.threads, watch_parent=ctx.watch_parent)
        trials = study.get_trials(deepcopy=False)
        if not run_ended(study, run.limit):
            raise Abandoned(f"{run.study_name} stopped before its end")
        runs[str(seed)] = {
            "study": run.study_name,
            "charged": charged(trials),
            "rows": run_rows(trials, payload["strategy"], seed, bench.metric, land),
        }
    return {"runs": runs}


def store_studies(
    out: Path, seeds: list[int] | None = None, on_progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Write into the comparison's storage the Optuna studies it did not store as its runs ended (those of
    ``seeds``; default all), so optuna-dashboard shows them: each run is made again, stored whole. A run on an
    instant benchmark is a pure function of its settings; each replay is checked against the rows the comparison
    recorded, and a run that came out otherwise (the code changed since) is named in ``differ``."""
    state = _load_settings(out)
    if state is None or "run_id" not in state:
        raise UserError(f"{out} is not a compare output folder (no compare.json); pass one")
    plan = open_plan(state["storage"])
    storage = open_storage(state["storage"], heartbeat=None)
    present = {s.study_name for s in backend(storage).get_all_studies()}
    wanted = None if seeds is None else set(seeds)
    todo = []
    for unit in plan.units(state["run_id"]):
        if not unit["work"].endswith(":search_unit") or unit["state"] != "done":
            continue
        for seed, run in unit["result"]["runs"].items():
            if run["study"] not in present and (wanted is None or int(seed) in wanted):
                todo.append((unit, int(seed), run))
    differ = []
    ctx = Context(threads=1)
    for i, (unit, seed, recorded) in enumerate(todo):
        payload = {**unit["payload"], "compare": {**unit["payload"]["compare"], "store_studies": True}}
        spec = _spec_of(payload, ctx)
        budget = None if payload["phase"] == 0 else budget_of_seed(_budget_of(payload, spec), seed)
        run = _run_spec(spec, payload["strategy"], seed, budget)
        trials = run_worker(run, 1).get_trials(deepcopy=False)
        again = run_rows(trials, payload["strategy"], seed, spec.bench.metric, None)
        if [(r["arch_key"], r["score"]) for r in again] != [(r["arch_key"], r["score"]) for r in recorded["rows"]]:
            differ.append(run.study_name)
        if on_progress is not None:
            on_progress(i + 1, len(todo))
    return {"stored": len(todo), "already": len(present), "differ": differ}


def _discard_interrupted(run: SearchSpec) -> None:
    """Delete a study left by a dead worker when it holds an unfinished or failed trial (its numbering would
    differ from an uninterrupted run's); its finished evaluations come back from the cache."""
    storage = open_storage(run.storage, heartbeat=None)
    trials = trials_by_name(storage, [run.study_name])[run.study_name]
    if any(t.state in (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL) for t in trials):
        optuna.delete_study(study_name=run.study_name, storage=storage)


def final_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: the final evaluation of one run's best cell within the budget (live benchmarks; a table's
    finals are lookups, made by the starting command)."""
    spec = _spec_of(payload, ctx)
    bench = spec.bench
    name = study_name(spec.benchmark, payload["strategy"], payload["seed"])
    trials = trials_by_name(open_storage(spec.storage, heartbeat=None), [name])[name]
    frame = runs_frame(
        {
            (payload["strategy"], payload["seed"]): run_rows(
                trials, payload["strategy"], payload["seed"], bench.metric, None
            )
        },
        spec,
        _budget_of(payload, spec),
    )
    rows = summarize_runs(frame, spec, bench.metric)
    return _final_job(bench, rows["best_cell"].iloc[0], payload["seed"], spec.cache, spec.data_dir, ctx.threads)


def plan_units(spec: CompareSpec, setters: list[str], budget: float | None, run_id: str, instant: bool) -> list[Unit]:
    """The comparison as plan units: budget setters (phase 0), the others (1), final evaluations (2, live
    benchmarks only). On an instant benchmark a unit runs a strategy at ``SEEDS_PER_UNIT`` seeds (a run takes
    milliseconds there: a unit per run would cost more in claims than in work)."""
    first = setters if budget is None else []
    base = {"compare": spec.payload(), "budget": budget, "setters": first, "run_id": run_id}
    chunk = SEEDS_PER_UNIT if instant else 1
    groups = [spec.seeds[i : i + chunk] for i in range(0, len(spec.seeds), chunk)]
    units = []
    for phase, strategies in ((0, first), (1, [s for s in spec.strategies if s not in first])):
        units += [
            Unit(
                phase,
                "nasbench_shrink.runs.compare:search_unit",
                {**base, "phase": phase, "strategy": s, "seeds": seeds},
                f"{s} seed{'s' if len(seeds) > 1 else ''} {_seed_range(seeds)}",
            )
            for s in strategies
            for seeds in groups
        ]
    if spec.final and not instant:
        units += [
            Unit(
                2,
                "nasbench_shrink.runs.compare:final_unit",
                {**base, "phase": 2, "strategy": s, "seed": seed},
                f"final {s} seed {seed}",
            )
            for s in spec.strategies
            for seed in spec.seeds
        ]
    return units


def _seed_range(seeds: list[int]) -> str:
    return str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"


def run_compare(
    spec: CompareSpec, on_progress: Callable[[dict[str, dict]], None] | None = None, results_dir: Path = Path("results")
) -> Path:
    """Run (or continue) the comparison; writes trials.csv, summary.csv, the figures and report.md to ``out``.

    The work is a plan in the study storage's database: this command's local workers and any
    ``nasbench-shrink worker`` started on other machines share it.
    """
    bench = spec.bench
    if not spec.strategies:
        raise UserError("no strategy to compare; pass --strategies all or a comma-separated list")
    if len(set(spec.seeds)) != len(spec.seeds) or not spec.seeds:
        raise UserError("--seeds must be distinct integers, e.g. 0,1,2")
    for s in spec.strategies:  # every run's settings, refused before any folder is made
        check_budget(
            SearchSpec(
                strategy=spec.plans[s],
                benchmark=bench,
                budget=1.0,
                budget_kind=spec.budget_kind if spec.budget is not None else None,
                workers_sim=spec.workers_sim,
                objectives=spec.objectives,
                pruner=spec.pruner_of(s),
            )
        )
    if spec.pruner is not None and not any(spec.pruner_of(s) for s in spec.strategies):
        raise UserError(f"--pruner {spec.pruner}: none of the strategies can be pruned (AutoShrink's runs never are)")
    setters = [s for s in spec.strategies if spec.plans[s].sets_auto_budget]
    if spec.budget is None and not setters:
        raise UserError(
            "an automatic budget needs a strategy that sets it (autoshrink; autoshrink-sweep with two "
            "objectives) among the strategies; pass --budget-evals, --budget-flops or --budget-seconds"
        )
    out = resolve_out(spec, results_dir)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {out} ({exc.strerror}); pass a writable --out") from None
    planned: list[bool] = []
    try:
        return _run_in(out, spec, bench, setters, on_progress, planned)
    except UserError:
        if created and not planned:
            # refused before any work was planned in a folder this call made: leave nothing behind that a later
            # command would take for this comparison (once work is planned, nothing is ever removed)
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run_in(
    out: Path,
    spec: CompareSpec,
    bench: Benchmark,
    setters: list[str],
    on_progress: Callable[[dict[str, dict]], None] | None,
    planned: list[bool],
) -> Path:
    state, run_id, plan = _open_run(out, spec, bench, setters)
    planned.append(True)
    cores = os.cpu_count() or 1
    workers = spec.workers or cores
    threads = max(1, cores // workers)
    t0 = time.perf_counter()
    before = float(state.get("wall_s_total", state.get("wall_s", 0.0)))  # earlier invocations, interrupted or not
    state["invocations"] = int(state.get("invocations", 1 if "wall_s" in state else 0)) + 1
    try:
        _run_units(spec, bench, run_id, workers, threads, on_progress)
    except BaseException:
        state["wall_s_total"] = round(before + time.perf_counter() - t0, 1)
        _write_settings(out, state)
        raise
    units = plan.check_done(run_id)
    phases = {"searches_and_finals": round(time.perf_counter() - t0, 2)}
    budget = spec.budget if spec.budget is not None else auto_budget(spec, setters, run_id)
    state["resolved_budget"] = budget if not isinstance(budget, dict) else {str(k): v for k, v in budget.items()}
    state["budget_mode"] = "fixed" if spec.budget is not None else "paired"
    mark = time.perf_counter()
    trials, summary = _collect(units, spec, bench, budget)
    phases["collect"] = round(time.perf_counter() - mark, 2)
    if spec.final:
        _add_finals(summary, units, spec, bench, threads)
    trials, summary = _with_display_names(trials, spec), _with_display_names(summary, spec)
    trials.to_csv(out / "trials.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    state["wall_s"] = round(time.perf_counter() - t0, 1)  # this invocation
    state["wall_s_total"] = round(before + state["wall_s"], 1)  # every invocation of this comparison
    state["phases_s"] = phases
    state["budget_kind"] = spec.budget_kind
    state["benchmark_lam"] = bench.lam
    state[KIND_KEY] = run_kind(spec, bench).to_dict()
    # informational (the dashboard stores whatever study it lacks): how the first invocation kept its studies
    state.setdefault("studies", "on request" if studies_compact(spec) else "stored")
    _write_settings(out, state)
    from nasbench_shrink.analysis.report import write_report

    write_report(out, bench)
    return out


def _open_run(out: Path, spec: CompareSpec, bench: Benchmark, setters: list[str]) -> tuple[dict, str, Any]:
    """The comparison's settings file (new, or the stored one if the settings match) and its plan in the
    storage, created with every unit of work unless it is there already."""
    # absolute paths, so the dashboard and reports work from any folder
    spec.storage = spec.storage or f"sqlite:///{(out / 'studies.db').resolve()}"
    spec.cache = spec.cache or f"sqlite:///{(out / 'cache.db').resolve()}"
    stored = _load_settings(out)
    if stored is not None and stored.get("settings") != spec.settings():
        raise UserError(
            f"{out} holds a comparison with other settings ({stored.get('settings')}); pass another "
            "--out or the same settings"
        )
    state = stored or {
        "settings": spec.settings(),
        "storage": spec.storage,
        "cache": spec.cache,
        "resolved_budget": spec.budget,
        "started": datetime.now().isoformat(timespec="seconds"),
        "run_id": f"compare:{out.resolve().name}:{time.time_ns()}",
    }
    spec.storage, spec.cache = state["storage"], state["cache"]
    run_id = state.setdefault("run_id", f"compare:{out.resolve().name}")
    _write_settings(out, state)
    open_storage(spec.storage)  # fail early, with one line, on a bad storage URL
    plan = open_plan(spec.storage)
    units = plan_units(spec, setters, spec.budget, run_id, bench.instant)
    plan.create_run(run_id, "compare", spec.settings(), units, lease_s=spec.lease_s)
    return state, run_id, plan


def _run_units(
    spec: CompareSpec,
    bench: Benchmark,
    run_id: str,
    workers: int,
    threads: int,
    on_progress: Callable[[dict[str, dict]], None] | None,
) -> None:
    """Work the plan's units in ``workers`` local processes, reporting progress as they go."""
    if on_progress is None:
        tick = None
    elif studies_compact(spec):
        units_done = UnitProgress(spec, run_id)
        tick = lambda: on_progress(units_done.snapshot())  # noqa: E731
    else:
        tick = lambda: on_progress(progress_snapshot(spec))  # noqa: E731
    # live evaluation builds networks: torch is imported before any unit is claimed (lookups never import it)
    preload = () if bench.instant else ("nasbench_shrink.evaluation.networks",)
    ctx = Context(threads=threads, data_dir=spec.data_dir, watch_parent=True, preload=preload)
    with WorkerPool(workers) as pool:
        pool.run([(work, ([spec.storage], ctx, run_id))] * workers, on_tick=tick, tick_s=0.5 if bench.instant else 2.0)


def _collect(units: list[dict], spec: CompareSpec, bench: Benchmark, budget: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trials.csv and summary.csv's frames from the finished search units' rows (and, on two objectives, the
    believed front's hypervolume after each evaluation)."""
    rows = {
        (u["payload"]["strategy"], int(seed)): run["rows"]
        for u in units
        if u["work"].endswith(":search_unit")
        for seed, run in u["result"]["runs"].items()
    }
    trials = runs_frame({k: rows[k] for k in ((s, seed) for s in spec.strategies for seed in spec.seeds)}, spec, budget)
    objectives = parse_objectives(spec.objectives)
    if objectives.multi:
        land = _landscape(bench)
        if land is not None:  # a surrogate's landscape in this process has not yet been shown the workers' cells
            land.include(Cell.from_json(c) for c in trials.drop_duplicates("arch_key")["cell"])
        trials = front_columns(trials, bench.metric, objectives.cost, bench.kind.higher_is_better, land)
    return trials, summarize_runs(trials, spec, bench.metric)


def _add_finals(summary: pd.DataFrame, units: list[dict], spec: CompareSpec, bench: Benchmark, threads: int) -> None:
    """The final evaluation of each run's best cell, as summary columns: a lookup's is made here (microseconds),
    a live one was a unit of the plan."""
    if bench.instant:
        finals = {
            (r.strategy, int(r.seed)): _final_job(bench, r.best_cell, int(r.seed), spec.cache, spec.data_dir, threads)
            for r in summary.itertuples()
        }
    else:
        finals = {
            (u["payload"]["strategy"], u["payload"]["seed"]): u["result"]
            for u in units
            if u["work"].endswith(":final_unit")
        }
    keys = list(zip(summary["strategy"], summary["seed"].astype(int)))
    summary[f"final_test_{bench.metric}"] = [finals[k][bench.metric] for k in keys]
    summary["final_macs"] = [finals[k]["macs"] for k in keys]
    summary["final_params"] = [finals[k]["params"] for k in keys]


def run_kind(spec: CompareSpec, bench: Benchmark) -> RunKind:
    """The comparison's kind as its readers need it, from the strategies' traits (in the names its results use):
    the reference is the first that declares itself the reference of this kind of comparison, else (one
    objective) the one reproducing the paper's searched row."""
    objectives = parse_objectives(spec.objectives)
    shown = [(p.display_name, p) for p in spec.plans.values()]
    rows: dict[str, str] = {}
    for name, p in shown:
        if p.paper_row is not None:
            rows.setdefault(p.paper_row, name)
    declared = [name for name, p in shown if objectives.kind in p.reference_for]
    reference = declared[0] if declared else rows.get("Shrink") if not objectives.multi else None
    return RunKind(
        metric=bench.metric,
        higher_is_better=bench.kind.higher_is_better,
        objectives=objectives.kind,
        cost=objectives.cost if objectives.multi else None,
        reference=reference,
        paper_rows=rows,
    )


def record_run_kind(out: Path) -> None:
    """Record the kind of a comparison written before comparisons recorded it (from its stored settings)."""
    state = _load_settings(out)
    if state is None or KIND_KEY in state:
        return
    cfg = state["settings"]
    spec = CompareSpec(
        benchmark=cfg["benchmark"],
        strategies=cfg["strategies"],
        seeds=cfg["seeds"],
        objectives=cfg.get("objectives", SCORE),
    )
    state[KIND_KEY] = run_kind(spec, spec.bench).to_dict()
    _write_settings(out, state)


def study_name(benchmark: str, strategy: str, seed: int) -> str:
    return f"{benchmark}/{strategy}/seed{seed}"


def progress_snapshot(spec: CompareSpec, counts: dict[str, tuple[int, float | None]] | None = None) -> dict[str, dict]:
    """Per strategy: runs started, finished evaluations over its runs and the median over its runs of each run's
    best score so far (one noisy seed's best would overstate what the strategy finds), from ``counts`` (per study
    name: evaluations and best score) or else one grouped query of the storage (cheap enough to poll while
    hundreds of studies grow)."""
    if counts is None:
        counts = finished_counts(open_storage(spec.storage, heartbeat=None))
    snap: dict[str, dict] = {}
    for strategy in spec.strategies:
        found = [counts[n] for n in (study_name(spec.benchmark, strategy, s) for s in spec.seeds) if n in counts]
        bests = [b for _, b in found if b is not None]
        snap[strategy] = {
            "strategy": strategy,
            "runs": len(found),
            "seeds": len(spec.seeds),
            "evals": sum(n for n, _ in found),
            "median_best": float(np.median(bests)) if bests else None,
        }
    return snap


class UnitProgress:
    """What a compact comparison (no studies stored as runs end) has finished, read from its done plan units: per
    study name, evaluations and best score, each unit's result parsed once however often it is polled."""

    def __init__(self, spec: CompareSpec, run_id: str) -> None:
        self.spec, self.run_id = spec, run_id
        self.known: set[int] = set()
        self.counts: dict[str, tuple[int, float | None]] = {}

    def snapshot(self) -> dict[str, dict]:
        for unit in open_plan(self.spec.storage).done_since(self.run_id, self.known):
            self.known.add(unit["unit"])
            strategy = unit["payload"].get("strategy")
            for seed, run in (unit["result"] or {}).get("runs", {}).items():
                scores = [r["score"] for r in run["rows"] if r["score"] is not None]
                self.counts[study_name(self.spec.benchmark, strategy, int(seed))] = (
                    len(run["rows"]),
                    max(scores, default=None),
                )
        return progress_snapshot(self.spec, self.counts)


def _landscape(bench: Benchmark):
    """What the benchmark knows of true scores (a table: exact; a surrogate: against its best known cell), or
    None for live training."""
    return bench.evaluator.landscape(bench) if bench.evaluator is not None else None


def run_rows(trials: list[FrozenTrial], strategy: str, seed: int, metric: str, land) -> list[dict[str, Any]]:
    """The ``trials.csv`` rows of one run: its finished trials in order with their running cost totals (and, on a
    table with landscape ``land``, the exact simple regret and whether the cell is in the top 1 %). Whether a
    row is within the budget is ``runs_frame``'s."""
    totals = running_totals(trials)
    # a pruned trial's score is a partial one: it is charged, but never an incumbent
    observed = [trial_score(r["trial"]) if r["trial"].state == TrialState.COMPLETE else None for r in totals]
    pruned = any(ta.PRUNED_AT_EPOCH in r["trial"].user_attrs for r in totals)
    if land is not None:  # a table knows the optimum: simple regret after every evaluation
        land.include(
            Cell.from_dict(r["trial"].user_attrs[ta.CELL]) for r in totals if r["trial"].user_attrs.get(ta.CELL)
        )
        regrets = regret_column([r["trial"].user_attrs.get(ta.ARCH_KEY) for r in totals], observed, land)
        top = land.top(0.01)
    clocked = bool(totals) and ta.CLOCK_END in totals[0]["trial"].user_attrs
    if clocked and land is not None:  # regret as known at each end time: the trials ended by then
        by_end = sorted(
            range(len(totals)), key=lambda i: (totals[i]["trial"].user_attrs[ta.CLOCK_END], totals[i]["trial"].number)
        )
        at_end = regret_column(
            [totals[i]["trial"].user_attrs.get(ta.ARCH_KEY) for i in by_end],
            [trial_score(totals[i]["trial"]) for i in by_end],
            land,
        )
        regret_by_clock = dict(zip(by_end, at_end))
    rows = []
    for i, r in enumerate(totals):
        t = r["trial"]
        a = t.user_attrs
        clock = {c: a.get(c) for c in CLOCK_ATTRS} if clocked else {}
        if clocked and land is not None:
            clock["regret_by_clock"] = regret_by_clock[i]
        rows.append(
            {
                "strategy": strategy,
                "seed": seed,
                "trial": t.number,
                "eval_index": r["eval_index"],
                # the cost as charged (a strategy's proxy scoring included)
                "cost_s": cost_of(a, "seconds"),
                "train_flops": cost_of(a, "flops"),
                "cum_cost_s": r["cum_cost_s"],
                "cum_train_flops": r["cum_train_flops"],
                "score": observed[i],
                metric: a.get(metric),
                "macs": a.get("macs"),
                "params": a.get("params"),
                "edges": a.get("edges"),
                "cache_hit": a.get("cache_hit"),
                "repeat": r["repeat"],
                "arch_key": a.get("arch_key"),
                "step": a.get("step"),
                "cell": json.dumps(a.get("cell")),
                **({ta.PRUNED_AT_EPOCH: a.get(ta.PRUNED_AT_EPOCH)} if pruned else {}),
                **(
                    {"regret": regrets[i], "top1pct": observed[i] is not None and a.get("arch_key") in top}
                    if land is not None
                    else {}
                ),
                **clock,
            }
        )
    return rows


def _with_display_names(frame: pd.DataFrame, spec: CompareSpec) -> pd.DataFrame:
    """Plug-ins under the names they declare (``hill-climb``, not ``examples/hill_climb.py:factory``), unless two
    strategies would then share a name; the plan and the studies keep the names they were asked by."""
    labels = {name: plan.display_name for name, plan in spec.plans.items() if plan.display_name != name}
    shown = [labels.get(n, n) for n in spec.strategies]
    if not labels or len(set(shown)) < len(shown) or frame.empty:
        return frame
    frame = frame.copy()
    frame["strategy"] = frame["strategy"].replace(labels)
    return frame


def runs_frame(
    rows: dict[tuple[str, int], list[dict[str, Any]]], spec: CompareSpec, budget: float | dict[int, float] | None
) -> pd.DataFrame:
    """All runs' rows as one table, with each run's budget and the within-budget flag (``budget.within_limit``
    on the running total of the budget's kind)."""
    frame = pd.DataFrame([r for run in rows.values() for r in run])
    if frame.empty:
        return frame
    frame["budget"] = [budget_of_seed(budget, int(s)) for s in frame["seed"]]
    frame.insert(
        frame.columns.get_loc("step") + 1,
        "within_budget",
        within_limit(frame[cumulative_column(spec.budget_kind)].to_numpy(float), frame["budget"].to_numpy(float)),
    )
    return frame


def summarize_runs(trials: pd.DataFrame, spec: CompareSpec, metric: str = "accuracy") -> pd.DataFrame:
    """One row per run: its cost, its best cell by score, and its end point (final regret on a table; with two
    objectives, the believed front's hypervolume regret and IGD+, or its hypervolume live)."""
    objectives = parse_objectives(spec.objectives)
    fronts = objectives.multi and ("hv_regret" in trials.columns or "hv" in trials.columns)
    land = _landscape(spec.bench) if fronts else None
    rows = []
    for (strategy, seed), g in trials[trials["within_budget"]].groupby(["strategy", "seed"], sort=False):
        best = g.loc[g["score"].idxmax()] if g["score"].notna().any() else g.iloc[0]  # pruned rows have no score
        extra = {}
        if "regret" in g.columns:  # a table: exact regret, and the charged evaluations until a top-1 % cell
            hits = g.loc[g["top1pct"].astype(bool), "eval_index"]
            extra = {
                "final_regret": g["regret"].iloc[-1],
                "evals_to_top1pct": float(hits.iloc[0]) if len(hits) else float("nan"),
            }
        if "clock_end" in g.columns:  # a simulated clock: the run's makespan, work and time to a top-1 % cell
            hit_times = g.loc[g["top1pct"].astype(bool), "clock_end"] if "top1pct" in g.columns else []
            t0 = g["clock_start"].min()  # 0 on a simulated clock; the first trial's start on a real one
            extra.update(
                {
                    "makespan_s": g["clock_end"].max() - t0,
                    "busy_s": g["cost_s"].sum(),
                    "time_to_top1pct_s": float(min(hit_times)) - t0 if len(hit_times) else float("inf"),
                }
            )
        if ta.PRUNED_AT_EPOCH in g.columns:  # a pruned run: how many of its evaluations the pruner stopped
            extra["pruned"] = int((g[ta.PRUNED_AT_EPOCH].notna() & ~g["repeat"].astype(bool)).sum())
        if fronts:
            extra.update(
                front_summary(g, metric, objectives.cost, spec.bench.kind.higher_is_better, land, reference=trials)
            )
        rows.append(
            {
                "strategy": strategy,
                "seed": int(seed),
                "evaluations": int((~g["repeat"]).sum()),
                "trials": len(g),
                "repeats": int(g["repeat"].sum()),
                "budget": g["budget"].iloc[0],
                "search_cost_s": g["cost_s"].sum(),
                "search_flops": g["train_flops"].sum(),
                "cache_hits": int(g["cache_hit"].sum()),
                "best_score": best["score"],
                f"best_{metric}": best[metric],
                "best_params": best["params"],
                "best_macs": best["macs"],
                "best_edges": best["edges"],
                "best_arch_key": best["arch_key"],
                "best_cell": best["cell"],
                **extra,
            }
        )
    return pd.DataFrame(rows)

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
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_shrink import interrupts
from nasbench_shrink.analysis.fronts import front_columns
from nasbench_shrink.analysis.results import KIND_KEY, ComparisonResults, RunKind
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import (
    budget_of_seed,
)
from nasbench_shrink.errors import UserError
from nasbench_shrink.objectives import SCORE, parse_objectives
from nasbench_shrink.runs.compare_frames import bench_landscape, runs_frame, summarize_runs, with_display_names
from nasbench_shrink.runs.compare_spec import CompareSpec, run_spec, studies_compact, study_name
from nasbench_shrink.runs.compare_units import (
    auto_budget,
    final_job,
    final_unit,
    run_rows,
    search_unit,
    spec_of,
    unit_budget,
)
from nasbench_shrink.runs.search import SearchSpec, check_budget, open_storage, run_worker
from nasbench_shrink.storage.trials import backend, finished_counts
from nasbench_shrink.work.plan import Context, Unit, open_plan, work_in_processes, work_is, work_of
from search_spaces import Cell

SEEDS_PER_UNIT = 10  # on an instant benchmark: the seeds one plan unit runs


SETTINGS_FILE = "compare.json"


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
        if not work_is(unit["work"], search_unit) or unit["state"] != "done":
            continue
        for seed, run in unit["result"]["runs"].items():
            if run["study"] not in present and (wanted is None or int(seed) in wanted):
                todo.append((unit, int(seed), run))
    differ = []
    ctx = Context(threads=1)
    for i, (unit, seed, recorded) in enumerate(todo):
        payload = {**unit["payload"], "compare": {**unit["payload"]["compare"], "store_studies": True}}
        spec = spec_of(payload, ctx)
        budget = None if payload["phase"] == 0 else budget_of_seed(unit_budget(payload, spec), seed)
        run = run_spec(spec, payload["strategy"], seed, budget)
        trials = run_worker(run, 1).get_trials(deepcopy=False)
        again = run_rows(trials, payload["strategy"], seed, spec.bench.metric, None)
        if [(r["arch_key"], r["score"]) for r in again] != [(r["arch_key"], r["score"]) for r in recorded["rows"]]:
            differ.append(run.study_name)
        if on_progress is not None:
            on_progress(i + 1, len(todo))
    return {"stored": len(todo), "already": len(present), "differ": differ}


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
                work_of(search_unit),
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
                work_of(final_unit),
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
) -> ComparisonResults:
    """Run (or continue) the comparison; writes trials.csv, summary.csv, the figures and report.md to its folder
    and returns them as ``ComparisonResults`` (what a caller renders: nothing needs reading back).

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
) -> ComparisonResults:
    spec, state, run_id, plan = _open_run(out, spec, bench, setters)
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
    trials, summary = with_display_names(trials, spec), with_display_names(summary, spec)
    trials.to_csv(out / "trials.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    state["wall_s"] = round(time.perf_counter() - t0, 1)  # this invocation
    state["wall_s_total"] = round(before + state["wall_s"], 1)  # every invocation of this comparison
    state["phases_s"] = phases
    state["budget_kind"] = spec.budget_kind
    state["benchmark_lam"] = bench.lam
    kind = run_kind(spec, bench)
    state[KIND_KEY] = kind.to_dict()
    # informational (the dashboard stores whatever study it lacks): how the first invocation kept its studies
    state.setdefault("studies", "on request" if studies_compact(spec) else "stored")
    _write_settings(out, state)
    from nasbench_shrink.analysis.report import write_report

    write_report(out, bench)
    return ComparisonResults(out=out, trials=trials, summary=summary, kind=kind, budget_kind=spec.budget_kind)


def _open_run(out: Path, spec: CompareSpec, bench: Benchmark, setters: list[str]) -> tuple[CompareSpec, dict, str, Any]:
    """The spec with the storage and cache the comparison keeps, its settings file (new, or the stored one if the
    settings match) and its plan in the storage, created with every unit of work unless it is there already."""
    stored = _load_settings(out)
    if stored is not None and stored.get("settings") != spec.settings():
        raise UserError(
            f"{out} holds a comparison with other settings ({stored.get('settings')}); pass another "
            "--out or the same settings"
        )
    state = stored or {
        "settings": spec.settings(),
        # absolute paths, so the dashboard and reports work from any folder
        "storage": spec.storage or f"sqlite:///{(out / 'studies.db').resolve()}",
        "cache": spec.cache or f"sqlite:///{(out / 'cache.db').resolve()}",
        "resolved_budget": spec.budget,
        "started": datetime.now().isoformat(timespec="seconds"),
        "run_id": f"compare:{out.resolve().name}:{time.time_ns()}",
    }
    spec = spec.with_changes(storage=state["storage"], cache=state["cache"])  # a stored comparison's own
    run_id = state.setdefault("run_id", f"compare:{out.resolve().name}")
    _write_settings(out, state)
    open_storage(spec.storage)  # fail early, with one line, on a bad storage URL
    plan = open_plan(spec.storage)
    units = plan_units(spec, setters, spec.budget, run_id, bench.instant)
    plan.create_run(run_id, "compare", spec.settings(), units, lease_s=spec.lease_s)
    return spec, state, run_id, plan


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
    work_in_processes(workers, [spec.storage], ctx, run_id, on_tick=tick, tick_s=0.5 if bench.instant else 2.0)


def _collect(units: list[dict], spec: CompareSpec, bench: Benchmark, budget: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trials.csv and summary.csv's frames from the finished search units' rows (and, on two objectives, the
    believed front's hypervolume after each evaluation)."""
    rows = {
        (u["payload"]["strategy"], int(seed)): run["rows"]
        for u in units
        if work_is(u["work"], search_unit)
        for seed, run in u["result"]["runs"].items()
    }
    trials = runs_frame({k: rows[k] for k in ((s, seed) for s in spec.strategies for seed in spec.seeds)}, spec, budget)
    objectives = parse_objectives(spec.objectives)
    if objectives.multi:
        land = bench_landscape(bench)
        if land is not None:  # a surrogate's landscape in this process has not yet been shown the workers' cells
            land.include(Cell.from_json(c) for c in trials.drop_duplicates("arch_key")["cell"])
        trials = front_columns(trials, bench.metric, objectives.cost, bench.kind.higher_is_better, land)
    return trials, summarize_runs(trials, spec, bench.metric)


def _add_finals(summary: pd.DataFrame, units: list[dict], spec: CompareSpec, bench: Benchmark, threads: int) -> None:
    """The final evaluation of each run's best cell, as summary columns: a lookup's is made here (microseconds),
    a live one was a unit of the plan."""
    if bench.instant:
        finals = {
            (r.strategy, int(r.seed)): final_job(bench, r.best_cell, int(r.seed), spec.cache, spec.data_dir, threads)
            for r in summary.itertuples()
        }
    else:
        finals = {
            (u["payload"]["strategy"], u["payload"]["seed"]): u["result"]
            for u in units
            if work_is(u["work"], final_unit)
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

"""Running a strategy as an Optuna study: storage, budgets, resume, and local worker processes.

A study records its settings in its user attrs, so a rerun with the same study name resumes it (and a rerun with
different settings is refused instead of mixing runs). Budgets charge every finished trial its recorded cost —
cache hits included, at their original cost — so a strategy is not cheaper because another one trained first.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink.benchmarks import get_benchmark
from nasbench_shrink.errors import UserError, check_sqlite_url
from nasbench_shrink.objective import CellObjective
from nasbench_shrink.registry import make_sampler, sampler_nodes

BUDGET_KINDS = ("evals", "flops", "seconds")
SELF_TERMINATING = ("autoshrink", "complete")
SETTINGS_ATTR = "nbs:settings"


@dataclass
class SearchSpec:
    strategy: str
    benchmark: str = "digits"
    seed: int = 0
    storage: str = "sqlite:///results/studies.db"
    study: str | None = None
    nodes: int | None = None
    k: int | None = None
    lam: float | None = None
    budget_kind: str | None = None  # evals | flops | seconds
    budget: float | None = None
    data_dir: str | None = None
    cache: str | None = "sqlite:///results/cache.db"
    device: str | None = None
    heartbeat: float = 5.0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def study_name(self) -> str:
        return self.study or f"{self.benchmark}/{self.strategy}/seed{self.seed}"

    def settings(self) -> dict[str, Any]:
        """What must match for a rerun to continue the same study."""
        return {"strategy": self.strategy, "benchmark": self.benchmark, "seed": self.seed, "nodes": self.nodes,
                "k": self.k, "lam": self.lam, "options": self.options}


class CandidateFailed(Exception):
    """An evaluation failed for a reason other than bad user input; the trial is marked FAIL and the run goes on."""


def open_storage(url: str, heartbeat: float | None = 5.0) -> optuna.storages.BaseStorage:
    check_sqlite_url(url, "study storage", "--storage URL")
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    if heartbeat:
        kwargs.update(heartbeat_interval=max(1, int(round(heartbeat))), grace_period=max(2, int(3 * heartbeat)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as exc:  # SQLAlchemy / driver errors
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UserError(f"cannot open study storage {url} ({reason}); pass a reachable --storage URL") from None


def charged(trials: list[FrozenTrial]) -> dict[str, float]:
    """Cost charged for the finished trials: every evaluation at its recorded cost, cache hit or not."""
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    return {"evals": float(len(done)),
            "seconds": float(sum(t.user_attrs.get("cost_s", 0.0) for t in done)),
            "flops": float(sum(t.user_attrs.get("train_flops", 0.0) for t in done))}


class BudgetCallback:
    def __init__(self, kind: str | None, limit: float | None) -> None:
        self.kind, self.limit = kind, limit

    def spent(self, study: optuna.Study) -> bool:
        if self.kind is None or self.limit is None:
            return False
        return charged(study.get_trials(deepcopy=False))[self.kind] >= self.limit

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.spent(study):
            study.stop()


class _ParentWatch:
    """Stop a worker process whose parent died (e.g. ``kill -9`` of the search command)."""

    def __init__(self) -> None:
        self.parent = os.getppid()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if os.getppid() != self.parent:
            study.stop()


def prepare(spec: SearchSpec) -> tuple[optuna.Study, CellObjective]:
    """Create or load the study for ``spec`` with its sampler and objective."""
    if spec.budget_kind is not None and spec.budget_kind not in BUDGET_KINDS:
        raise UserError(f"unknown budget kind {spec.budget_kind!r}; use one of {BUDGET_KINDS}")
    bench = get_benchmark(spec.benchmark)
    sampler = make_sampler(spec.strategy, bench, seed=spec.seed, nodes=spec.nodes, k=spec.k, **spec.options)
    nodes = sampler_nodes(sampler, bench, spec.nodes)
    storage = open_storage(spec.storage, spec.heartbeat)
    study = optuna.create_study(storage=storage, study_name=spec.study_name, sampler=sampler,
                                direction="maximize", load_if_exists=True)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise UserError(f"study {spec.study_name} is not a maximisation study; pass another --study name")
    stored = study.user_attrs.get(SETTINGS_ATTR)
    if stored is None:
        study.set_user_attr(SETTINGS_ATTR, spec.settings())
        for k, v in {"strategy": spec.strategy, "benchmark": spec.benchmark, "seed": spec.seed, "nodes": nodes,
                     "lam": spec.lam if spec.lam is not None else bench.lam}.items():
            study.set_user_attr(k, v)
    elif stored != spec.settings():
        diff = {k: (stored.get(k), v) for k, v in spec.settings().items() if stored.get(k) != v}
        raise UserError(f"study {spec.study_name} in {spec.storage} was created with other settings "
                        f"(stored vs asked: {diff}); pass another --study name or the same settings")
    # threads reach the objective through NASBENCH_SHRINK_THREADS only, so a benchmark's fixed cpu_threads wins
    objective = CellObjective(bench, nodes=nodes, seed=spec.seed, cache=spec.cache, data_dir=spec.data_dir,
                              lam=spec.lam, device=spec.device)
    return study, objective


def _guarded(objective: CellObjective) -> Callable[[optuna.Trial], float]:
    def run(trial: optuna.Trial) -> float:
        try:
            return objective(trial)
        except (UserError, optuna.TrialPruned, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one failed candidate must not end the run
            raise CandidateFailed(f"{type(exc).__name__}: {exc}") from exc
    return run


def run_worker(spec: SearchSpec, threads: int | None = None,
               callback: Callable[[optuna.Study, FrozenTrial], None] | None = None, watch_parent: bool = False
               ) -> optuna.Study:
    """One worker: optimise the study until the strategy finishes or the budget is spent; returns the study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if threads:
        os.environ["NASBENCH_SHRINK_THREADS"] = str(threads)
    study, objective = prepare(spec)
    budget = BudgetCallback(spec.budget_kind, spec.budget)
    if budget.spent(study) or _finished(study, spec):
        return study
    callbacks: list = [budget]
    if watch_parent:
        callbacks.append(_ParentWatch())
    if callback is not None:
        callbacks.append(callback)
    study.optimize(_guarded(objective), n_trials=None, callbacks=callbacks, catch=(CandidateFailed,),
                   gc_after_trial=False)
    return study


def _finished(study: optuna.Study, spec: SearchSpec) -> bool:
    sampler = study.sampler
    if hasattr(sampler, "replay"):
        return sampler.trajectory(study).done  # type: ignore[attr-defined]
    if spec.strategy == "complete":
        return any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
    return False


def _worker_entry(spec: SearchSpec, threads: int) -> None:
    try:
        run_worker(spec, threads, watch_parent=True)
    except UserError as exc:
        import sys

        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2)


def check_budget(spec: SearchSpec) -> None:
    from nasbench_shrink.registry import resolve

    resolve(spec.strategy)  # an unknown strategy is the first thing to report
    get_benchmark(spec.benchmark)
    base = spec.strategy
    if spec.budget is None and base not in SELF_TERMINATING:
        raise UserError(f"strategy {spec.strategy!r} does not finish by itself; pass --budget-evals, "
                        "--budget-flops or --budget-seconds")
    if spec.budget is not None and spec.budget <= 0:
        raise UserError("the budget must be positive")


def run_search(spec: SearchSpec, workers: int = 1,
               on_progress: Callable[[optuna.Study], None] | None = None) -> optuna.Study:
    """Run or resume the study of ``spec`` with ``workers`` local processes; returns the study."""
    check_budget(spec)
    cores = os.cpu_count() or 1
    if workers <= 1:
        def cb(study: optuna.Study, trial: FrozenTrial) -> None:
            if on_progress is not None:
                on_progress(study)
        return run_worker(spec, threads=None, callback=cb)
    study, _ = prepare(spec)  # create the study once, before the workers race to
    threads = max(1, cores // workers)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_entry, args=(spec, threads), daemon=False) for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            if on_progress is not None:
                on_progress(study)
            time.sleep(1.0)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    for p in procs:
        p.join()
    if all(p.exitcode != 0 for p in procs):
        raise UserError(f"all {workers} workers failed (exit codes {[p.exitcode for p in procs]}); see the "
                        "messages above")
    return study


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return max(done, key=lambda t: (t.value, -t.number)) if done else None


def study_summary(study: optuna.Study) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    cost = charged(trials)
    out: dict[str, Any] = {
        "study": study.study_name, "trials": len(trials),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "cache_hits": sum(bool(t.user_attrs.get("cache_hit")) for t in trials if t.state == TrialState.COMPLETE),
        "charged_seconds": cost["seconds"], "charged_flops": cost["flops"],
    }
    if best is not None:
        out.update(best_trial=best.number, best_score=best.value,
                   **{k: best.user_attrs.get(k) for k in ("accuracy", "perplexity", "macs", "params", "edges", "arch_key",
                                                   "cell")})
    steps = [t for t in trials if "step" in t.user_attrs and t.state == TrialState.COMPLETE]
    if steps:
        n = int(study.user_attrs.get("nodes", 0))
        out["start_edges"] = n * (n - 1) // 2
        out["steps"] = 1 + max(t.user_attrs["step"] for t in steps)
        out["end_edges"] = min(t.user_attrs["edges"] for t in steps)
    return out

"""Running a strategy as an Optuna study: storage, budgets, resume, and local worker processes.

A study records its settings in its user attrs, so a rerun with the same study name resumes it (and a rerun with
different settings is refused instead of mixing runs). What a trial is charged and when a run is spent is
``nasbench_shrink.budget``'s business; whether a strategy ends by itself is its registry trait.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import interrupts
from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import (
    BUDGET_KINDS,
    MAX_REPEATS_IN_A_ROW,
    WALLCLOCK,
    Budget,
    charged,
    charged_trial,
    cost_of,
)
from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.errors import UserError, check_sqlite_url
from nasbench_shrink.objectives import SCORE, parse_objectives
from nasbench_shrink.runs.clock import counted_clock, simulate
from nasbench_shrink.runs.objective import CellObjective
from nasbench_shrink.samplers.cell_sampler import CellSampler
from nasbench_shrink.storage.locks import schema_lock
from nasbench_shrink.storage.optuna_private import storage_of, study_id_of
from nasbench_shrink.storage.trials import backend, in_memory_twin, write_study, write_trials
from nasbench_shrink.strategies.registry import Strategy, resolve, sampler_nodes
from nasbench_shrink.work.pool import WorkerPool


@dataclass(frozen=True)
class SearchSpec:
    """One run: a strategy on a benchmark at a seed, its storage, budget and options.

    ``strategy`` and ``benchmark`` may be given as names or as objects: the spec is where a run's entry resolves
    them, once (``self.plan``, ``self.bench``); both fields then hold the names, which is what a study stores.
    A spec sent to a worker process travels with its benchmark and is given its strategy again there, by name (a
    strategy registered in Python may hold a lambda, which does not pickle).
    """

    strategy: str | Strategy
    benchmark: str | Benchmark = "digits"
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
    extend: bool = False  # a larger budget than the stored study's continues it (else any change is refused)
    workers_sim: int | None = None  # on a table: W workers on a simulated clock (runs.clock)
    sampler_time: bool = False  # ... whose workers also spend the strategy's measured decision time
    pruner: str | None = None  # a name of PRUNERS: stop trials early on their per-epoch curve (tables)
    objectives: str = SCORE  # score | metric,macs | metric,params (nasbench_shrink.objectives)
    # an instant benchmark's run is made in memory; False: it is not written to ``storage`` (a comparison keeps
    # its trials' rows and stores studies on request: ``runs.compare.store_studies``)
    store: bool = True
    bench: Benchmark = field(init=False, repr=False, compare=False)
    plan: Strategy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plan = self.strategy if isinstance(self.strategy, Strategy) else resolve(self.strategy)
        bench = resolve_benchmark(self.benchmark)
        resolved = {
            "plan": plan,
            "bench": bench,
            "strategy": plan.name,
            "benchmark": bench.name,
            "objectives": parse_objectives(self.objectives).name,
        }
        for name, value in resolved.items():  # frozen: set once, here
            object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("plan", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["plan"] = resolve(self.strategy)  # a worker process's entry

    @property
    def study_name(self) -> str:
        return self.study or f"{self.benchmark}/{self.strategy}/seed{self.seed}"

    @property
    def limit(self) -> Budget:
        return Budget(self.budget_kind if self.budget is not None else None, self.budget)

    def settings(self) -> dict[str, Any]:
        """What must match for a rerun to continue the same study."""
        out = {
            "strategy": self.strategy,
            "benchmark": self.benchmark,
            "seed": self.seed,
            "nodes": self.nodes,
            "k": self.k,
            "lam": self.lam,
            "options": self.options,
        }
        if self.workers_sim is not None:  # W > 1 changes what asynchronous samplers see: part of the run
            out["workers_sim"] = self.workers_sim
        if self.sampler_time:  # (a run without it keeps the settings it had before the option existed)
            out["sampler_time"] = True
        if self.pruner is not None:  # (a run without one keeps the settings it had before pruners existed)
            out["pruner"] = self.pruner
        if self.objectives != SCORE:  # (a score study's settings stay what they were before objectives existed)
            out["objectives"] = self.objectives
        return out


class CandidateFailed(Exception):
    """An evaluation failed for a reason other than bad user input; the trial is marked FAIL and the run goes on."""


_OPENED: dict[tuple[str, float | None], optuna.storages.RDBStorage] = {}


def _still_there(url: str) -> bool:
    """Whether a storage opened earlier in this process can be used again (its SQLite file was not removed)."""
    if url.startswith("sqlite:///") and url not in ("sqlite://", "sqlite:///:memory:"):
        return os.path.exists(url[len("sqlite:///") :])
    return True


def open_storage(url: str, heartbeat: float | None = 5.0) -> optuna.storages.BaseStorage:
    """The study storage at ``url``, opened once per process: opening checks the schema version with alembic
    (about 70 ms), and a comparison's worker opens the same storage for each of its hundreds of runs."""
    known = _OPENED.get((url, heartbeat))
    if known is not None and _still_there(url):
        return known
    check_sqlite_url(url, "study storage", "--storage URL")
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    if heartbeat:
        kwargs.update(heartbeat_interval=max(1, round(heartbeat)), grace_period=max(2, int(3 * heartbeat)))
    try:
        with warnings.catch_warnings(), schema_lock(url):  # processes starting together must not race
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(url, **kwargs)
    except Exception as exc:  # SQLAlchemy / driver errors
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UserError(f"cannot open study storage {url} ({reason}); pass a reachable --storage URL") from None
    _OPENED[(url, heartbeat)] = storage
    return storage


class _StopRule:
    """When a run stops, checked as each evaluation returns (inside the objective, where Optuna allows
    ``study.stop()``; an Optuna callback would deep-copy every trial): its budget is spent, this trial included;
    its strategy proposed only free repeats for ``MAX_REPEATS_IN_A_ROW`` trials; or (``watch_parent``) the
    process that started this worker died, e.g. ``kill -9`` of the search command.

    ``exclusive``: this process is the run's only writer (an in-memory study), so the charged total is kept
    incrementally; otherwise it is read from the storage, where other workers' trials land too."""

    def __init__(self, study: optuna.Study, limit: Budget, exclusive: bool, watch_parent: bool) -> None:
        self.limit, self.exclusive = limit, exclusive
        self.parent = os.getppid() if watch_parent else None
        self.repeats_in_a_row = 0
        self.total = charged(study.get_trials(deepcopy=False))[limit.kind] if exclusive and not limit.unlimited else 0.0

    def after(self, study: optuna.Study, attrs: dict[str, Any]) -> None:
        self.repeats_in_a_row = self.repeats_in_a_row + 1 if attrs.get(ta.REPEAT) else 0
        stop = self.repeats_in_a_row >= MAX_REPEATS_IN_A_ROW or (
            self.parent is not None and os.getppid() != self.parent
        )
        if not self.limit.unlimited:
            own = cost_of(attrs, self.limit.kind)  # type: ignore[arg-type]
            if self.exclusive:
                self.total += own
                total = self.total
            else:
                total = charged(study.get_trials(deepcopy=False))[self.limit.kind] + own  # type: ignore[index]
            stop = stop or self.limit.reached(total)
        if stop:
            study.stop()


def prepare(
    spec: SearchSpec, storage: optuna.storages.BaseStorage | None = None, threads: int | None = None
) -> tuple[optuna.Study, CellObjective]:
    """Create or load the study for ``spec`` (in ``storage``, default: ``spec.storage``) with its sampler and
    objective."""
    if spec.lam is not None and spec.lam < 0:
        raise UserError(f"--lam must be >= 0 (got {spec.lam}); it weighs the resource penalty of the score")
    if spec.budget_kind is not None and spec.budget_kind not in BUDGET_KINDS:
        raise UserError(f"unknown budget kind {spec.budget_kind!r}; use one of {BUDGET_KINDS}")
    bench = spec.bench
    sampler = spec.plan.sampler(bench, seed=spec.seed, nodes=spec.nodes, k=spec.k, **spec.options)
    nodes = sampler_nodes(sampler, bench, spec.nodes)
    storage = storage if storage is not None else open_storage(spec.storage, spec.heartbeat)
    objectives = parse_objectives(spec.objectives)
    directions = objectives.directions(bench.kind.higher_is_better)
    study = optuna.create_study(
        storage=storage,
        study_name=spec.study_name,
        sampler=sampler,
        directions=directions,
        load_if_exists=True,
        pruner=(spec.plan.pruner or partial(make_pruner, spec.pruner))(bench.proxy.recipe.max_epochs),
    )
    if [d.name.lower() for d in study.directions] != directions:
        raise UserError(
            f"study {spec.study_name} optimises {[d.name.lower() for d in study.directions]}, not "
            f"{directions} (--objectives {objectives.name}); pass another --study name"
        )
    stored = study.user_attrs.get(ta.SETTINGS)
    if stored is None:
        _name_objectives(
            study,
            [f"score (λ = {spec.lam if spec.lam is not None else bench.lam:g})"]
            if not objectives.multi
            else [f"validation {bench.kind.metric}", objectives.cost],
        )
        for k, v in {
            ta.SETTINGS: spec.settings(),
            "strategy": spec.strategy,
            "benchmark": spec.benchmark,
            "seed": spec.seed,
            "nodes": nodes,
            "lam": spec.lam if spec.lam is not None else bench.lam,
        }.items():
            study.set_user_attr(k, v)
    elif stored != spec.settings():
        diff = {k: (stored.get(k), v) for k, v in spec.settings().items() if stored.get(k) != v}
        raise UserError(
            f"study {spec.study_name} in {spec.storage} was created with other settings "
            f"(stored vs asked: {diff}); pass another --study name or the same settings"
        )
    _check_budget_of(study, spec)
    objective = CellObjective(
        bench,
        nodes=nodes,
        seed=spec.seed,
        cache=spec.cache,
        data_dir=spec.data_dir,
        lam=spec.lam,
        device=spec.device,
        threads=bench.cpu_threads or threads,  # a benchmark that fixes its thread count keeps it
        objectives=objectives,
        prunes=spec.pruner is not None or spec.plan.pruner is not None,
    )
    return study, objective


def _name_objectives(study: optuna.Study, names: list[str]) -> None:
    """The objectives' names, so optuna-dashboard labels its axes with them instead of "Objective 0"
    (``Study.set_metric_names`` is public but marked experimental)."""
    _experimental(study.set_metric_names, names)


def _budget_text(b: dict[str, Any]) -> str:
    return "no budget" if b["amount"] is None else f"a budget of {b['amount']:g} {b['kind']}"


def _check_budget_of(study: optuna.Study, spec: SearchSpec) -> None:
    """A study keeps the budget it was first run with: a rerun with another one is refused in one line (its
    stored trials answer the first budget, not the new one), except a larger budget of the same kind with
    ``extend``, which continues the run and becomes its budget."""
    asked = {"kind": spec.budget_kind if spec.budget is not None else None, "amount": spec.budget}
    stored = study.user_attrs.get(ta.BUDGET)
    if stored is None:  # a new study (or one stored before budgets were kept)
        study.set_user_attr(ta.BUDGET, asked)
        return
    if stored == asked:
        return
    larger = (
        stored["amount"] is not None
        and asked["amount"] is not None
        and stored["kind"] == asked["kind"]
        and asked["amount"] > stored["amount"]
    )
    if spec.extend and larger:
        study.set_user_attr(ta.BUDGET, asked)
        return
    how = " or --extend to continue it to the larger budget" if larger else ""
    raise UserError(
        f"study {spec.study_name} was run with {_budget_text(stored)}, not {_budget_text(asked)}; "
        f"pass the same budget to see it, another --study for a new run{how}"
    )


def _stored_study_id(storage: optuna.storages.BaseStorage, name: str) -> int | None:
    try:
        return storage.get_study_id_from_name(name)
    except KeyError:
        return None


def _guarded(objective: CellObjective, rule: _StopRule | None = None) -> Callable[[optuna.Trial], float]:
    """The objective with one failed candidate turned into ``CandidateFailed`` (the run goes on), and ``rule``
    told of each finished evaluation (a simulated clock applies the budget itself: no rule)."""

    def run(trial: optuna.Trial) -> float:
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            if rule is not None and ta.PRUNED_AT_EPOCH in objective.last_attrs:  # a pruned evaluation is charged too
                rule.after(trial.study, objective.last_attrs)
            raise
        except (UserError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise CandidateFailed(f"{type(exc).__name__}: {exc}") from exc
        if rule is not None:
            rule.after(trial.study, objective.last_attrs)
        return value

    return run


class _QuietInterrupt(logging.Filter):
    """Drop Optuna's two warnings about a trial that a Ctrl-C stopped (its traceback and "failed with value
    None"): the command reports the interrupt in one line, and the trial is only marked failed in the storage."""

    def __init__(self) -> None:
        super().__init__()
        self._after_interrupt = False

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[0] if record.exc_info else None
        if exc is not None and issubclass(exc, KeyboardInterrupt):
            self._after_interrupt = True
            return False
        if self._after_interrupt and "failed with value" in record.getMessage():
            self._after_interrupt = False
            return False
        return True


_QUIET_INTERRUPT = _QuietInterrupt()


def run_worker(
    spec: SearchSpec,
    threads: int | None = None,
    callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    watch_parent: bool = False,
) -> optuna.Study:
    """One worker: optimise the study until the strategy finishes or the budget is spent, by the executor the run
    calls for; returns the study (on an instant benchmark, its in-memory twin, whose trials equal the stored
    ones)."""
    if optuna.logging.get_verbosity() != optuna.logging.WARNING:  # setting it clears every logger's cache
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna.study._optimize").addFilter(_QUIET_INTERRUPT)  # adding it twice is a no-op
    return executor_for(spec).run(spec, threads, watch_parent, callback)


class Executor(Protocol):
    """How one run's trials are made and kept: the three kinds below, chosen by ``executor_for``."""

    def run(
        self,
        spec: SearchSpec,
        threads: int | None,
        watch_parent: bool,
        callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> optuna.Study: ...


def executor_for(spec: SearchSpec) -> Executor:
    """The executor of a run, from its traits: a simulated clock, an instant benchmark (lookups) or training."""
    if spec.workers_sim is not None:
        return SimulatedClockRun()
    return InMemoryRun() if spec.bench.instant else StoredRun()


class StoredRun:
    """A run that trains: each trial is stored as it ends, so workers on any machine share the study and a
    rerun continues it (``threads``: torch threads per evaluation)."""

    def run(
        self,
        spec: SearchSpec,
        threads: int | None,
        watch_parent: bool,
        callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> optuna.Study:
        study, objective = prepare(spec, threads=threads)
        if not run_ended(study, spec.limit):
            _optimize(study, objective, spec, watch_parent, callback)
        return study


class InMemoryRun:
    """Lookups are microseconds and a storage commit is milliseconds: the run is made in memory and stored at the
    end in one transaction (a new study with its attrs and trials, or a stored one's new trials), or not at all
    when the run is not to be stored (``spec.store``: a comparison keeps its rows)."""

    def run(
        self,
        spec: SearchSpec,
        threads: int | None,
        watch_parent: bool,
        callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> optuna.Study:
        if not spec.store:
            study, objective = prepare(spec, optuna.storages.InMemoryStorage())
            _optimize(study, objective, spec, watch_parent, callback, exclusive=True)
            return study
        storage = open_storage(spec.storage, spec.heartbeat)
        if _stored_study_id(backend(storage), spec.study_name) is None:
            return self._new(spec, storage, watch_parent, callback)
        return self._continued(spec, watch_parent, callback)

    @staticmethod
    def _new(spec: SearchSpec, storage: optuna.storages.BaseStorage, watch_parent: bool, callback: Any) -> optuna.Study:
        study, objective = prepare(spec, optuna.storages.InMemoryStorage())
        try:
            _optimize(study, objective, spec, watch_parent, callback, exclusive=True)
        except BaseException as exc:  # interrupted: what finished is kept, and a rerun continues it
            if isinstance(exc, KeyboardInterrupt):
                interrupts.acknowledge()  # storing must not itself be interrupted
            write_study(storage, study)
            raise
        if write_study(storage, study) is None:  # another worker stored this very run first: it stands
            return prepare(spec)[0]
        return study

    @staticmethod
    def _continued(spec: SearchSpec, watch_parent: bool, callback: Any) -> optuna.Study:
        stored, objective = prepare(spec)
        if run_ended(stored, spec.limit):
            return stored
        study = in_memory_twin(stored)
        known = len(study.get_trials(deepcopy=False))
        try:
            _optimize(study, objective, spec, watch_parent, callback, exclusive=True)
        except KeyboardInterrupt:
            interrupts.acknowledge()  # storing must not itself be interrupted
            raise
        finally:
            write_trials(
                storage_of(stored),
                study_id_of(stored),
                [t for t in study.get_trials(deepcopy=False)[known:] if t.state.is_finished()],
            )
        return study  # an in-memory twin holds what the storage now holds, and reads faster


class SimulatedClockRun:
    """The run on a simulated clock of ``spec.workers_sim`` workers (in memory, stored in one transaction); a
    stored run is returned as it is."""

    def run(
        self,
        spec: SearchSpec,
        threads: int | None,
        watch_parent: bool,
        callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> optuna.Study:
        check_clock(spec)
        storage = open_storage(spec.storage, spec.heartbeat) if spec.store else None
        if storage is not None and _stored_study_id(backend(storage), spec.study_name) is not None:
            return prepare(spec)[0]
        study, objective = prepare(spec, optuna.storages.InMemoryStorage())
        result = simulate(
            study,
            _guarded(objective),
            spec.workers_sim,
            spec.limit,
            ended=lambda s: run_ended(s, spec.limit),
            last_attrs=lambda: objective.last_attrs,
            failures=(CandidateFailed,),
            sampler_time=spec.sampler_time,
        )
        # what summary.csv counts: the trials within the budget (a started trial that did not fit is not the run's)
        study.set_user_attr(ta.CLOCK, counted_clock(study, spec.limit, result.workers))
        # another worker stored this very run first: it stands
        if storage is not None and write_study(storage, study) is None:
            return prepare(spec)[0]
        return study


def _optimize(
    study: optuna.Study,
    objective: CellObjective,
    spec: SearchSpec,
    watch_parent: bool,
    callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    exclusive: bool = False,
) -> None:
    rule = _StopRule(study, spec.limit, exclusive, watch_parent)
    while True:
        try:
            study.optimize(
                _guarded(objective, rule),
                n_trials=None,
                callbacks=None if callback is None else [callback],
                catch=(CandidateFailed,),
                gc_after_trial=False,
            )
            return
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as exc:
            # another worker failed this worker's trial as stale (e.g. it stalled): the trial is settled, go on
            if isinstance(exc, ValueError) and not str(exc).startswith("Cannot tell a"):
                raise
            if run_ended(study, spec.limit):
                return


def run_ended(study: optuna.Study, limit: Budget) -> bool:
    """Whether the run is over: its budget is spent, its strategy ended by itself, or its last
    ``MAX_REPEATS_IN_A_ROW`` finished trials were all free repeats."""
    trials = study.get_trials(deepcopy=False)
    if limit.spent(trials) or is_finished(study):
        return True
    done = [t for t in trials if charged_trial(t)][-MAX_REPEATS_IN_A_ROW:]
    return len(done) == MAX_REPEATS_IN_A_ROW and all(t.user_attrs.get(ta.REPEAT) for t in done)


def is_finished(study: optuna.Study) -> bool:
    """Whether a strategy that ends by itself has already ended (its sampler says so from the storage)."""
    sampler = study.sampler
    return isinstance(sampler, CellSampler) and sampler.is_finished(study)


def search_job(spec: SearchSpec, threads: int | None) -> str:
    """One worker process's job: run ``spec``'s study until it is done; stops if the parent process dies."""
    run_worker(spec, threads, watch_parent=True)
    return spec.study_name


def _pruners(epochs: int) -> dict[str, Callable[[], optuna.pruners.BasePruner]]:
    """Optuna's pruners by name, over a run's epochs (steps 1 .. epochs - 1 are reported)."""
    p = optuna.pruners
    return {
        "median": lambda: p.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        "percentile": lambda: p.PercentilePruner(25.0, n_startup_trials=5, n_warmup_steps=0),
        "sha": lambda: p.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2),
        "hyperband": lambda: p.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=2),
        # a paired test of the trial's per-epoch scores against the best trial's at the same epochs (Optuna marks
        # it experimental: its warning says nothing to a user here)
        "wilcoxon": lambda: _experimental(p.WilcoxonPruner, p_threshold=0.1, n_startup_steps=2),
    }


def _experimental(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an Optuna API that is public but marked experimental: its warning says nothing to a user here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return fn(*args, **kwargs)


PRUNERS: tuple[str, ...] = tuple(_pruners(1))


def make_pruner(name: str | None, epochs: int) -> optuna.pruners.BasePruner | None:
    """The pruner called ``name`` for runs of ``epochs`` epochs (``None``: no pruning)."""
    return None if name is None else _pruners(epochs)[name]()


def check_pruner(spec: SearchSpec) -> None:
    """Pruning needs per-epoch curves (a table's, or live training's, reported as it trains), one objective, no
    simulated clock, and a strategy that tolerates pruned trials."""
    if spec.pruner is not None and spec.plan.pruner is not None:
        raise UserError(f"strategy {spec.strategy!r} prunes its trials itself; drop --pruner for it")
    if spec.pruner is None:
        return
    if spec.pruner not in PRUNERS:
        raise UserError(f"unknown --pruner {spec.pruner!r}; choose one of {', '.join(PRUNERS)} or none")
    if spec.bench.evaluator is not None and not spec.bench.evaluator.curves:
        raise UserError(
            f"--pruner needs per-epoch curves; {spec.bench.name} predicts none (a surrogate): use a table, e.g. "
            "-b digits-table, or a live benchmark"
        )
    if parse_objectives(spec.objectives).multi:
        raise UserError("Optuna's pruners stop single-objective trials only; drop --pruner or pass --objectives score")
    if spec.workers_sim is not None:
        raise UserError("--pruner does not run on a simulated clock yet; drop --workers-sim or --pruner")
    if not spec.plan.prunable:
        raise UserError(
            f"strategy {spec.strategy!r} chooses among every candidate's final value, so its trials are never "
            "pruned; drop --pruner for it"
        )


def check_budget(spec: SearchSpec) -> None:
    if spec.budget is None and not spec.plan.ends_by_itself:
        raise UserError(
            f"strategy {spec.strategy!r} does not finish by itself; pass --budget-evals, "
            "--budget-flops or --budget-seconds"
        )
    if spec.budget is not None and spec.budget <= 0:
        raise UserError("the budget must be positive")
    check_clock(spec)
    check_objectives(spec)
    check_pruner(spec)


def check_objectives(spec: SearchSpec) -> None:
    """A strategy runs only on the kind of study it declares it supports (``Strategy.objectives``)."""
    kind = parse_objectives(spec.objectives).kind
    if kind not in spec.plan.objectives:
        other = "--objectives metric,macs or metric,params" if kind == "single" else "--objectives score"
        raise UserError(
            f"strategy {spec.strategy!r} supports {' and '.join(spec.plan.objectives)}-objective "
            f"studies only, not --objectives {spec.objectives}; drop it or pass {other}"
        )


def check_clock(spec: SearchSpec) -> None:
    """A simulated clock runs on a table only, with W >= 1; a wall-clock budget needs one."""
    if spec.budget_kind == WALLCLOCK and spec.budget is not None and spec.workers_sim is None:
        raise UserError("a wall-clock budget is simulated time: pass --workers-sim W with --budget-wallclock")
    if spec.sampler_time and spec.workers_sim is None:
        raise UserError("--sampler-time adds the strategy's time to a simulated clock: pass --workers-sim W with it")
    if spec.workers_sim is None:
        return
    if not spec.bench.instant:
        raise UserError(
            f"a simulated clock needs a table benchmark, and {spec.benchmark} trains live; pass a table "
            "(e.g. -b cifar10-small-table) or drop --workers-sim (live runs record real clock times)"
        )
    if spec.workers_sim < 1:
        raise UserError(f"--workers-sim must be >= 1 (got {spec.workers_sim})")


def run_search(
    spec: SearchSpec, workers: int = 1, on_progress: Callable[[optuna.Study], None] | None = None
) -> optuna.Study:
    """Run or resume the study of ``spec`` with ``workers`` local processes; returns the study."""
    check_budget(spec)
    if spec.bench.instant:
        workers = 1  # a lookup study takes a second in one process; more workers would only repeat it
    if workers <= 1:

        def cb(study: optuna.Study, trial: FrozenTrial) -> None:
            if on_progress is not None:
                on_progress(study)

        # no callback without a progress display: Optuna deep-copies each trial for every callback
        return run_worker(spec, threads=None, callback=cb if on_progress is not None else None)
    study, _ = prepare(spec)  # create the study once, before the workers race to
    threads = max(1, (os.cpu_count() or 1) // workers)
    with WorkerPool(workers) as pool:
        pool.run(
            [(search_job, (spec, threads))] * workers,
            on_tick=None if on_progress is None else lambda: on_progress(study),
        )
    return study


def trial_score(trial: FrozenTrial) -> float:
    """A finished trial's λ-weighted score: its value in a score study, its ``score`` attr in any study."""
    score = trial.user_attrs.get(ta.SCORE)
    return float(score if score is not None else trial.values[0])


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The trial of highest score (the earliest of equal ones); in a two-objective study, the score at the
    benchmark's λ picks one point of the front."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return max(done, key=lambda t: (trial_score(t), -t.number)) if done else None


def study_summary(study: optuna.Study) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    cost = charged(trials)
    out: dict[str, Any] = {
        "study": study.study_name,
        "trials": len(trials),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "pruned": sum(
            ta.PRUNED_AT_EPOCH in t.user_attrs and not t.user_attrs.get(ta.REPEAT)
            for t in trials
            if t.state == TrialState.PRUNED
        ),
        "cache_hits": sum(bool(t.user_attrs.get(ta.CACHE_HIT)) for t in trials if t.state == TrialState.COMPLETE),
        "free_repeats": sum(bool(t.user_attrs.get(ta.REPEAT)) for t in trials if t.state == TrialState.COMPLETE),
        "charged_evaluations": cost["evals"],
        "charged_seconds": cost["seconds"],
        "charged_flops": cost["flops"],
    }
    if study.user_attrs.get(ta.CLOCK):
        out["clock"] = study.user_attrs[ta.CLOCK]
    if len(study.directions) > 1 and out["complete"]:  # two objectives: the front, cheapest first
        front: dict[str, FrozenTrial] = {}  # one trial per architecture (a free repeat has the same values)
        for t in sorted(study.best_trials, key=lambda t: (t.values[1], t.number)):
            front.setdefault(t.user_attrs.get(ta.ARCH_KEY) or str(t.number), t)
        out["front"] = [{"trial": t.number, "values": list(t.values), "arch_key": k} for k, t in front.items()]
    if best is not None:
        out.update(
            best_trial=best.number,
            best_score=trial_score(best),
            **{
                k: best.user_attrs.get(k)
                for k in ("accuracy", "perplexity", "macs", "params", "edges", "arch_key", "cell")
            },
        )
    steps = [t for t in trials if ta.STEP in t.user_attrs and t.state == TrialState.COMPLETE]
    if steps:
        n = int(study.user_attrs.get(ta.NODES, 0))
        out["start_edges"] = n * (n - 1) // 2
        out["steps"] = 1 + max(t.user_attrs[ta.STEP] for t in steps)
        out["end_edges"] = min(t.user_attrs[ta.EDGES] for t in steps)
    return out

"""AutoShrink (paper Algorithm 1) as an Optuna sampler whose state lives in the study's storage.

One trial is one candidate evaluation. The trajectory is a pure function of the seed and the finished trials:

- g0 is the complete DAG on N nodes with the space's seeded initial op assignment (official balanced shuffle for CNN
  cells, uniform draws for RNN cells);
- the candidates of step t are K distinct one-edge removals of g_t drawn with an RNG seeded by (seed, t, g_t),
  all of them when fewer than K edges remain, so every process derives the same candidate list;
- a step is decided when each candidate has a finished score (a candidate that failed ``max_failures`` times
  counts as worst); g_{t+1} is the best candidate, pruned (ties go to the earlier candidate);
- the run ends when g_t has no edge; the result is the best candidate over the whole run (Eq. 7). With
  ``restarts`` (our extension, for fixed-budget comparisons) it starts again from the complete DAG with the op
  assignment of a fresh seed instead, and never ends by itself: the budget ends it.

Two variants for two-objective studies (metric against cost), both our extensions (``docs/fidelity.md``):

- ``lams`` (a λ sweep, the paper's own way to trade accuracy for cost): one shrinking run per λ, in order, each
  from the same complete DAG, ranking candidates by the score at its λ (from the trial's metric and resource);
  the study's front is that of everything evaluated;
- ``pareto_width`` (Pareto shrinking): a step expands every cell of a set of parents (K one-edge removals each)
  and keeps the candidates no other candidate of the step dominates in the study's objectives, at most
  ``pareto_width`` of them, evenly spread along the cost axis, as the next step's parents; it ends when no
  kept candidate has an edge left.

And one that spends less on training (also ours): ``screen`` (a zero-cost proxy, cell -> (value, seconds, FLOPs))
with ``screen_m`` = M > K draws M one-edge removals per step, scores their cells with the proxy and trains the K
of highest proxy value; the step's scoring cost is split evenly over its K candidates (``proxy_cost_s``,
``proxy_flops``), so the budget charges it.

Each trial claims ``(step, edge)`` through a trial system attr and one atomic INSERT into a small claims table of
the study's database (first writer wins); on an in-memory storage (one process), a check-and-set under a lock.
Other storages (Optuna's journal file, MySQL) are refused with one line: claims there would not be atomic.
Workers with nothing free in the current step wait (polling, and
failing stale trials through Optuna's heartbeat) until the step is decided. A restarted process replays the same
trajectory from the storage, so nothing is lost and, with the evaluation cache, nothing is trained twice.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import optuna
import sqlalchemy as sa
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.samplers.cell_sampler import CellSampler, Proposal, stop_study
from nasbench_shrink.storage.optuna_private import backend, record_heartbeat, storage_of, study_id_of, trial_id_of
from search_spaces import Cell, complete_cell
from search_spaces.cell import Edge

_ACTIVE = (TrialState.RUNNING, TrialState.WAITING)


@dataclass
class Candidate:
    edge: Edge
    cell: Cell
    score: float | None = None  # finished score (the rank of a candidate within its step)
    trial: int | None = None  # number of the trial that gave the score
    running: bool = False
    failures: int = 0
    parent: int = 0  # which of the step's parents it removes an edge from (Pareto shrinking)
    values: tuple[float, ...] | None = None  # the finished trial's values, minimisation form
    partial: float | None = None  # halved out of its step (autoshrink-sha): its last reported score

    @property
    def claim_edge(self) -> Edge:
        """The edge as claimed: (i + parent × N, j), so that the removals of several parents never collide and
        a single parent's claims are the plain edge."""
        return (self.edge[0] + self.parent * self.cell.nodes, self.edge[1])

    def resolved(self, max_failures: int) -> bool:
        return self.score is not None or (not self.running and self.failures >= max_failures)

    @property
    def rank_score(self) -> float:
        return -math.inf if self.score is None else self.score


@dataclass
class Step:
    index: int
    cell: Cell
    candidates: list[Candidate]
    chosen: Candidate | None = None
    restart: int = 0  # which shrinking run (restarting sampler, or the λ of a sweep) this step belongs to
    parents: list[Cell] = field(default_factory=list)  # the cells it shrinks ([cell], or Pareto shrinking's set)
    kept: list[Candidate] = field(default_factory=list)  # Pareto shrinking: the next step's parents


@dataclass
class Trajectory:
    steps: list[Step] = field(default_factory=list)
    done: bool = False

    @property
    def current(self) -> Step | None:
        return None if self.done or not self.steps else self.steps[-1]

    def best(self) -> Candidate | None:
        cands = [c for s in self.steps for c in s.candidates if c.score is not None]
        return max(cands, key=lambda c: (c.score, -(c.trial or 0))) if cands else None


class AutoShrinkSampler(CellSampler):
    """Edge shrinking from the complete DAG: K random one-edge removals per step, keep the best (Algorithm 1)."""

    strategy_name = "autoshrink"

    def __init__(
        self,
        space: str = "cnn",
        nodes: int = 8,
        k: int = 10,
        seed: int = 0,
        max_failures: int = 2,
        poll_interval: float = 0.25,
        restarts: bool = False,
        lams: Sequence[float] | None = None,
        score: Callable[[float | None, float, float], float] | None = None,
        metric: str = "accuracy",
        pareto_width: int | None = None,
        screen: Callable[[Cell], tuple[float, float, float]] | None = None,
        screen_m: int | None = None,
    ) -> None:
        super().__init__(space, nodes, seed)
        if k < 1:
            raise ValueError("k must be >= 1")
        if lams is not None and (not lams or score is None):
            raise ValueError("a λ sweep needs at least one λ and the benchmark's score(perf, resource, lam)")
        if pareto_width is not None and pareto_width < 1:
            raise ValueError("pareto_width must be >= 1")
        if sum(x is not None and x is not False for x in (lams, pareto_width, restarts or None)) > 1:
            raise ValueError("restarts, lams and pareto_width are separate variants; pass one of them")
        self.k = k
        self.restarts = restarts
        self.lams = tuple(lams) if lams is not None else None
        self.score_at, self.metric = score, metric
        self.pareto_width = pareto_width
        self.screen, self.screen_m = screen, screen_m
        if screen is not None and (screen_m is None or screen_m <= k):
            raise ValueError("proxy screening draws M > K removals per step: pass screen_m > k")
        self._screened: dict[tuple[int, str], tuple[list[Edge], float, float]] = {}
        self.supports_multi_objective = self.lams is not None or pareto_width is not None
        self._signs: tuple[float, ...] = (-1.0,)  # the study's directions as signs of a minimisation form
        self.max_failures = max_failures
        self.poll_interval = poll_interval
        self.initial = complete_cell(space, nodes, seed)
        # decided steps never change (every candidate resolved, none can be claimed again): remembered per study,
        # so a trial replays only the current step instead of the whole run. The entry holds its storage, so an
        # id reused by a later storage object is never mistaken for it.
        self._decided: dict[tuple[int, int], tuple[object, list[Step]]] = {}
        # a step's candidate cells, built once per (step, parent): every trial replays the step it is in, and a
        # pruned cell keeps its canonical key once computed (a function of the seed, step and parent only)
        self._candidates: dict[tuple[int, str], list[tuple[Edge, Cell]]] = {}

    # -- the trajectory, derived from the storage ------------------------------------------------------------
    def start(self, restart: int) -> Cell:
        """The pruned complete DAG that shrinking run ``restart`` starts from (0: the run's seed; then fresh
        seeds derived from it)."""
        if restart == 0:
            return self.initial.pruned()
        fresh = int(hashlib.sha1(f"autoshrink:{self.seed}:restart{restart}".encode()).hexdigest()[:8], 16)
        return complete_cell(self.space, self.nodes, fresh).pruned()

    def candidate_edges(self, step: int, cell: Cell) -> list[Edge]:
        edges = list(cell.pruned().edges)
        if self.screen is not None:
            return self._screen(step, cell, edges)[0]
        if len(edges) <= self.k:
            return edges
        return random.Random(f"autoshrink:{self.seed}:{step}:{cell.key}").sample(edges, self.k)

    def step_candidates(self, step: int, cell: Cell) -> list[tuple[Edge, Cell]]:
        """Step ``step``'s candidates from ``cell``: each removed edge with the pruned cell it leaves."""
        known = self._candidates.get((step, cell.key))
        if known is None:
            known = [(e, cell.without_edge(e).pruned()) for e in self.candidate_edges(step, cell)]
            self._candidates[(step, cell.key)] = known
        return known

    def _rank(self, t: FrozenTrial, restart: int) -> float:
        """A finished candidate's rank within its step: the trial's value, or in a λ sweep the score at the run's
        λ from the trial's metric and resource."""
        if self.lams is None:
            return float(t.values[0])
        a = t.user_attrs
        return float(self.score_at(a.get(self.metric), a["resource"], self.lams[restart]))  # type: ignore[misc]

    def _next_parents(self, s: Step) -> list[Cell]:
        """The cells the step after the decided step ``s`` shrinks (none with an edge: the run has ended)."""
        cells = [c.cell for c in s.kept] if self.pareto_width is not None else [s.chosen.cell]  # type: ignore
        return [c for c in cells if c.edges]

    def _decide(self, s: Step) -> None:
        """Choose a decided step's outcome: the best candidate; Pareto shrinking also keeps its front."""
        # max() keeps the first of equal keys; a halved candidate ranks by its partial score below every finished one
        s.chosen = max(s.candidates, key=lambda c: (c.rank_score, -math.inf if c.partial is None else c.partial))
        if self.pareto_width is None:
            return
        done, seen = [], set()
        for c in s.candidates:  # isomorphic candidates of two parents count once
            if c.values is not None and c.cell.key not in seen:
                seen.add(c.cell.key)
                done.append(c)
        front = [
            c
            for c in done
            if not any(all(a <= b for a, b in zip(o.values, c.values)) and o.values != c.values for o in done)
        ]  # type: ignore[arg-type]
        front.sort(key=lambda c: (c.values[-1], c.values[0], c.cell.key))  # type: ignore[index]
        if len(front) > self.pareto_width:  # evenly along the cost axis, both ends kept
            w = self.pareto_width
            picks = sorted({round(i * (len(front) - 1) / max(w - 1, 1)) for i in range(w)})
            front = [front[i] for i in picks]
        s.kept = front

    def _screen(self, step: int, cell: Cell, edges: list[Edge]) -> tuple[list[Edge], float, float]:
        """Proxy screening of a step: (the K removals of highest proxy value among M drawn, the step's scoring
        seconds and FLOPs); the same for every process, computed once per step."""
        known = self._screened.get((step, cell.key))
        if known is None:
            drawn = (
                edges
                if len(edges) <= self.screen_m
                else random.Random(f"autoshrink-screen:{self.seed}:{step}:{cell.key}").sample(edges, self.screen_m)
            )
            scored = [self.screen(cell.without_edge(e).pruned()) for e in drawn]  # type: ignore[misc]
            order = sorted(range(len(drawn)), key=lambda i: -scored[i][0])  # stable: ties in draw order
            known = ([drawn[i] for i in order[: self.k]], sum(s[1] for s in scored), sum(s[2] for s in scored))
            self._screened[(step, cell.key)] = known
        return known

    def replay(self, trials: list[FrozenTrial], decided: list[Step] | None = None) -> Trajectory:
        """The trajectory the finished and running ``trials`` define; ``decided``: its known decided steps."""
        decided = decided or []
        first = len(decided)
        by_claim: dict[tuple[int, int, int], list[FrozenTrial]] = {}
        for t in trials:
            claim = t.system_attrs.get(ta.CLAIM)
            if claim and claim[0] >= first:
                by_claim.setdefault(tuple(claim), []).append(t)
        traj = Trajectory(steps=list(decided))
        parents = self._next_parents(decided[-1]) if decided else [self.start(0)]
        restart = decided[-1].restart if decided else 0
        step = first
        while True:
            if not parents:
                if self.restarts:
                    restart += 1
                    parents = [self.start(restart)]
                elif self.lams is not None and restart + 1 < len(self.lams):
                    restart += 1  # the sweep's next λ, from the same complete DAG
                    parents = [self.start(0)]
                else:
                    break
            cands = []
            for p, cell in enumerate(parents):
                for e, child in self.step_candidates(step, cell):
                    c = Candidate(e, child, parent=p)
                    for t in sorted(by_claim.get((step, *c.claim_edge), []), key=lambda t: t.number):
                        if t.state == TrialState.COMPLETE and c.score is None:
                            c.score, c.trial = self._rank(t, restart), t.number
                            c.values = tuple(s * v for s, v in zip(self._signs, t.values))
                        elif t.state in _ACTIVE:
                            c.running = True
                        elif t.state == TrialState.PRUNED and ta.PRUNED_AT_EPOCH in t.user_attrs and c.score is None:
                            # halved out of its step: resolved, chosen only if no candidate of the step finished
                            # (all were repeats of cells stopped before), then by the score it was stopped at
                            c.score, c.trial = -math.inf, t.number
                            c.partial = t.intermediate_values[max(t.intermediate_values)]
                        elif t.state in (TrialState.FAIL, TrialState.PRUNED):
                            c.failures += 1
                    cands.append(c)
            s = Step(step, parents[0], cands, restart=restart, parents=parents)
            traj.steps.append(s)
            if not all(c.resolved(self.max_failures) for c in cands):
                return traj
            self._decide(s)
            parents = self._next_parents(s)
            step += 1
        traj.done = True
        return traj

    def _known_decided(self, study: Study) -> list[Step] | None:
        entry = self._decided.get((id(storage_of(study)), study_id_of(study)))
        return entry[1] if entry is not None and entry[0] is storage_of(study) else None

    def _directions_of(self, study: Study) -> None:
        self._signs = tuple(-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in study.directions)

    def trajectory(self, study: Study) -> Trajectory:
        self._directions_of(study)
        traj = self.replay(study.get_trials(deepcopy=False), self._known_decided(study))
        self._decided[(id(storage_of(study)), study_id_of(study))] = (
            storage_of(study),
            [s for s in traj.steps if s.chosen is not None],
        )
        return traj

    # -- proposing a candidate ---------------------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        check_claim_storage(study)
        if self.pareto_width is not None and len(study.directions) < 2:
            raise ValueError(
                "Pareto shrinking keeps the non-dominated candidates of two objectives; create the "
                "study with two directions"
            )
        super().before_trial(study, trial)

    def is_finished(self, study: Study) -> bool:
        return self.trajectory(study).done

    def ready(self, study: Study) -> bool:
        """A step's candidates are proposed at once; the next step waits for all of them (the step barrier)."""
        traj = self.trajectory(study)
        if traj.done or traj.current is None:
            return True
        step = traj.current
        busy = {c.cell.key for c in step.candidates if c.running}
        return any(
            c.score is None and not c.running and c.failures < self.max_failures and c.cell.key not in busy
            for c in step.candidates
        )

    def propose(self, study: Study, trial: FrozenTrial) -> Proposal | None:
        storage = storage_of(study)
        while True:
            traj = self.trajectory(study)
            if traj.done:
                stop_study(study)
                return None
            step = traj.current
            assert step is not None
            busy = {c.cell.key for c in step.candidates if c.running}
            free = [c for c in step.candidates if c.score is None and not c.running and c.failures < self.max_failures]
            if busy:  # a candidate isomorphic to one being trained waits for it (then it is a cache hit)
                free = [c for c in free if c.cell.key not in busy]
            if free:
                cand = free[0]
                record_heartbeat(storage, trial_id_of(trial))  # a claimant that dies from here on goes stale, then FAIL
                claim = [step.index, *cand.claim_edge]
                if _engine_of(storage) is None:  # in-memory (one process): check-and-set under a lock
                    with _MEMORY_CLAIMS:
                        won = not self._claimed_elsewhere(study, trial, claim)
                        if won:
                            storage.set_trial_system_attr(trial_id_of(trial), ta.CLAIM, claim)
                else:
                    storage.set_trial_system_attr(trial_id_of(trial), ta.CLAIM, claim)
                    won = bool(atomic_claim(study, trial.number, step.index, cand.claim_edge, cand.failures))
                if won:
                    parent = step.parents[cand.parent] if step.parents else step.cell
                    attrs = {
                        ta.STEP: step.index,
                        ta.REMOVED_EDGE: list(cand.edge),
                        ta.PARENT: parent.to_dict(),
                        ta.PARENT_KEY: parent.key,
                    }
                    if self.restarts:
                        attrs[ta.RESTART] = step.restart
                    if self.lams is not None:
                        attrs.update({ta.RESTART: step.restart, ta.LAM: self.lams[step.restart]})
                    if self.screen is not None:  # the step's proxy scoring, split over its candidates
                        _, cost_s, flops = self._screen(step.index, step.cell, list(step.cell.pruned().edges))
                        n = len(step.candidates)
                        attrs.update({ta.PROXY_COST_S: cost_s / n, ta.PROXY_FLOPS: flops / n})
                    return Proposal(cand.cell, attrs)
                storage.set_trial_system_attr(trial_id_of(trial), ta.CLAIM, None)
                time.sleep(self.poll_interval / 10)  # lost to another worker: let its claim become visible
                continue
            # waiting is not dying: keep this trial's heartbeat fresh so no other worker fails it as stale
            record_heartbeat(storage, trial_id_of(trial))
            time.sleep(self.poll_interval)
            _fail_stale(study)

    def _claimed_elsewhere(self, study: Study, trial: FrozenTrial, claim: list[int]) -> bool:
        """Whether another running or finished-complete trial holds ``claim`` (in-memory storage)."""
        return any(
            t.number != trial.number
            and t.system_attrs.get(ta.CLAIM) == claim
            and t.state in (*_ACTIVE, TrialState.COMPLETE)
            for t in study.get_trials(deepcopy=False)
        )

    def _may_end_run(self, trial: FrozenTrial) -> bool:
        """Whether the trial's step has an edgeless candidate (the only way the next cell has no edge)."""
        claim, parent = trial.system_attrs.get(ta.CLAIM), _claim_parent(trial)
        if not claim or parent is None or self.lams is not None or self.pareto_width is not None:
            return True  # (a sweep or Pareto shrinking: checked every time)
        return any(not child.edges for _, child in self.step_candidates(claim[0], parent))

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values) -> None:
        if self.restarts or (not trial.system_attrs.get(ta.CLAIM) and not trial.system_attrs.get(ta.SKIP)):
            return  # a restarting sampler never ends by itself
        if trial.system_attrs.get(ta.CLAIM) and not self._may_end_run(trial):
            return  # the run can only end at a step with an edgeless candidate: skip the storage read
        # the trial's own final state is not stored yet: replay with it
        trials: list = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        trials.append(
            SimpleNamespace(
                number=trial.number,
                state=state,
                user_attrs=trial.user_attrs,
                values=list(values) if values and state == TrialState.COMPLETE else None,
                system_attrs=trial.system_attrs,
                intermediate_values=trial.intermediate_values,
            )
        )
        self._directions_of(study)
        if self.replay(trials, self._known_decided(study)).done:
            stop_study(study)


_MEMORY_CLAIMS = threading.RLock()
SUPPORTED_STORAGES = (
    "an RDBStorage on SQLite or PostgreSQL (any number of processes) or an InMemoryStorage (one process)"
)


def check_claim_storage(study: Study) -> None:
    """Refuse, with one line, a storage on which AutoShrink's claims would not be atomic."""
    from optuna.storages import InMemoryStorage

    store = backend(storage_of(study))
    if isinstance(store, InMemoryStorage):
        return
    engine = getattr(store, "engine", None)
    if engine is not None and engine.dialect.name in ("sqlite", "postgresql"):
        return
    kind = type(store).__name__ + (f" on {engine.dialect.name}" if engine is not None else "")
    raise ValueError(f"AutoShrinkSampler cannot claim candidates atomically on a {kind}; use {SUPPORTED_STORAGES}")


_claims_meta = sa.MetaData()
claims_table = sa.Table(
    "nbs_autoshrink_claims",
    _claims_meta,
    sa.Column("study_id", sa.Integer, primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("src", sa.Integer, primary_key=True),
    sa.Column("dst", sa.Integer, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),  # the candidate's failure count when it was claimed
    sa.Column("trial_number", sa.Integer, nullable=False),
)
_ready_engines: set[int] = set()


def _engine_of(storage):
    return getattr(backend(storage), "engine", None)  # an RDBStorage's SQLAlchemy engine, else None


def atomic_claim(study: Study, trial_number: int, step: int, edge: Edge, attempt: int) -> bool | None:
    """Claim ``(step, edge, attempt)`` with one INSERT ... ON CONFLICT DO NOTHING in the study's database: exactly
    one trial wins, whatever the interleaving. ``None`` when the storage has no SQL engine."""
    engine = _engine_of(storage_of(study))
    if engine is None or engine.dialect.name not in ("sqlite", "postgresql"):
        return None
    if id(engine) not in _ready_engines:
        try:
            _claims_meta.create_all(engine, checkfirst=True)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            _claims_meta.create_all(engine, checkfirst=True)  # another process created it at the same moment
        _ready_engines.add(id(engine))
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    key = {"study_id": study_id_of(study), "step": step, "src": edge[0], "dst": edge[1], "attempt": attempt}
    where = sa.and_(*(claims_table.c[k] == v for k, v in key.items()))
    for _ in range(2):
        with engine.begin() as conn:
            # RETURNING, not rowcount: psycopg 3 reports -1 rows for INSERT ... ON CONFLICT DO NOTHING
            if (
                conn.execute(
                    insert(claims_table)
                    .values(**key, trial_number=trial_number)
                    .on_conflict_do_nothing()
                    .returning(claims_table.c.trial_number)
                ).first()
                is not None
            ):
                return True
            holder = conn.execute(sa.select(claims_table.c.trial_number).where(where)).scalar()
        # the holder is live if it is another trial of this study carrying the claim; a row naming this very
        # trial, or a trial without the claim, is stale (e.g. left by a deleted study whose id SQLite reused)
        if holder is None or (holder != trial_number and _holds(study, holder, [step, *edge])):
            return False
        with engine.begin() as conn:
            conn.execute(sa.delete(claims_table).where(where, claims_table.c.trial_number == holder))
    return False


def _holds(study: Study, number: int, claim: list[int]) -> bool:
    """Whether trial ``number`` of ``study`` carries ``claim`` (the winner writes its claim before inserting)."""
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t.system_attrs.get(ta.CLAIM) == claim
    return False


def _fail_stale(study: Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _claim_parent(trial) -> Cell | None:
    raw = trial.system_attrs.get(ta.PROPOSAL)
    return None if not raw or "parent" not in raw else Cell.from_dict(raw["parent"])

"""A run's plan in a shared database: units of work that any worker, on any machine, claims under a lease.

A comparison (or a tabulation) writes its plan — one row for the run, one per unit of work — into the database of
its study storage (or its cache), beside Optuna's tables. Every worker, local or started on another machine with
``nasbench-shrink worker``, loops: claim the next unit, run it, record its result. Units carry a phase: a unit can
be claimed once every unit of earlier phases is done (AutoShrink's runs set the budget the others get; final
evaluations need the searches). A claim is one conditional UPDATE, so exactly one worker wins it; the holder
renews its lease while it works, and a unit whose holder stopped renewing (killed, machine lost) is claimed again
by the next worker, which resumes it from the storage. Times are the database server's clock, so the machines'
clocks need not agree. A unit that raises marks the run failed (workers leave, the starting command reports the
error); running the command again retries it.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from nasbench_shrink import interrupts
from nasbench_shrink.errors import UserError
from nasbench_shrink.storage.locks import schema_lock

__all__ = [
    "WAIT",
    "Abandoned",
    "Claim",
    "Context",
    "Plan",
    "Unit",
    "open_plan",
    "work",
    "work_in_processes",
    "work_is",
    "work_of",
    "worker_name",
]

_meta = sa.MetaData()
runs_table = sa.Table(
    "nbs_runs",
    _meta,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("lease_s", sa.Float, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # open | done | failed
)
units_table = sa.Table(
    "nbs_units",
    _meta,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("unit", sa.Integer, primary_key=True),
    sa.Column("phase", sa.Integer, nullable=False),
    sa.Column("work", sa.String(200), nullable=False),  # "module:function" called with (payload, context)
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # todo | running | done | failed
    sa.Column("holder", sa.String(200)),
    sa.Column("lease_until", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
)

WAIT = "wait"  # claim(): the run has work left, but none can be claimed now


class Abandoned(BaseException):
    """Raised by a unit that stopped before its end (its process is going away): the unit is handed back."""


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``work`` ("module:function") is called with ``payload`` (plus ``attempt``, 1 for the
    first claim) and a ``Context``."""

    phase: int
    work: str
    payload: dict[str, Any]
    label: str


@dataclass(frozen=True)
class Claim:
    run_id: str
    unit: int
    work: str
    payload: dict[str, Any]
    label: str
    attempt: int


@dataclass(frozen=True)
class Context:
    """What a unit's function may need from the worker running it."""

    threads: int
    data_dir: str | None = None
    cache: str | None = None  # overrides the plan's cache URL (a machine that reaches it under another name)
    watch_parent: bool = False
    # modules imported before the first claim: a slow import inside a claimed unit (torch: seconds in C) is where a
    # stop request would find the worker unable to hand its unit back before it is killed
    preload: tuple[str, ...] = ()


_ZLIB = "zlib:"  # a compressed result's prefix (plain JSON never starts with it)


def encode_result(result: Any) -> str:
    """A unit's result as the plan stores it: JSON, compressed when large (a table comparison's units return every
    trial's row: ~15× smaller, about 1 % of the unit's time)."""
    text = json.dumps(result)
    if len(text) < 4096:
        return text
    return _ZLIB + base64.b64encode(zlib.compress(text.encode(), 6)).decode("ascii")


def decode_result(text: str) -> Any:
    if text.startswith(_ZLIB):
        return json.loads(zlib.decompress(base64.b64decode(text[len(_ZLIB) :])))
    return json.loads(text)


def worker_name(pid: int | None = None) -> str:
    """How a plan names the worker process ``pid`` (this one by default) of this machine."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def _now(conn: sa.Connection) -> float:
    """The database server's clock, in seconds since the epoch."""
    if conn.dialect.name == "postgresql":
        return float(conn.execute(sa.text("SELECT extract(epoch from clock_timestamp())")).scalar_one())
    if conn.dialect.name == "sqlite":
        return float(conn.execute(sa.text("SELECT (julianday('now') - 2440587.5) * 86400.0")).scalar_one())
    return time.time()


class Plan:
    """The plan tables of one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}
        try:
            self.engine = sa.create_engine(url, **kwargs)
            with schema_lock(url):
                _meta.create_all(self.engine, checkfirst=True)
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UserError(f"cannot open the run plan in {url} ({reason}); pass a reachable storage URL") from None

    # -- the starting command -------------------------------------------------------------------------------
    def create_run(
        self, run_id: str, kind: str, settings: dict[str, Any], units: Sequence[Unit], lease_s: float = 60.0
    ) -> bool:
        """Write the run's plan; an existing run with the same settings is kept (its failed units are retried).
        Returns whether the run was new."""
        text = json.dumps(settings, sort_keys=True)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
            if row is not None:
                if row.settings != text:
                    raise UserError(
                        f"run {run_id} in {self.url} was planned with other settings; pass another "
                        "--out or the same settings"
                    )
                conn.execute(
                    units_table.update()
                    .where(units_table.c.run_id == run_id, units_table.c.state == "failed")
                    .values(state="todo", holder=None, lease_until=None, error=None)
                )
                conn.execute(
                    runs_table.update()
                    .where(runs_table.c.run_id == run_id, runs_table.c.state == "failed")
                    .values(state="open")
                )
                return False
            conn.execute(
                runs_table.insert().values(run_id=run_id, kind=kind, settings=text, lease_s=lease_s, state="open")
            )
            if units:
                conn.execute(
                    units_table.insert(),
                    [
                        {
                            "run_id": run_id,
                            "unit": i,
                            "phase": u.phase,
                            "work": u.work,
                            "payload": json.dumps(u.payload),
                            "label": u.label,
                            "state": "todo",
                            "attempts": 0,
                        }
                        for i, u in enumerate(units)
                    ],
                )
        return True

    # -- workers --------------------------------------------------------------------------------------------
    def claim(self, worker: str, run_id: str | None = None) -> Claim | str | None:
        """The next unit this worker may run, ``WAIT`` when the open runs have none free now, ``None`` when no
        run is open."""
        waiting = False
        with self.engine.begin() as conn:
            q = sa.select(runs_table.c.run_id, runs_table.c.lease_s).where(runs_table.c.state == "open")
            if run_id is not None:
                q = q.where(runs_table.c.run_id == run_id)
            open_runs = conn.execute(q.order_by(runs_table.c.run_id)).all()
        for rid, lease_s in open_runs:
            with self.engine.begin() as conn:
                now = _now(conn)
                undone = conn.execute(
                    sa.select(units_table.c.unit, units_table.c.phase, units_table.c.state, units_table.c.lease_until)
                    .where(units_table.c.run_id == rid, units_table.c.state != "done")
                    .order_by(units_table.c.unit)
                ).all()
                if any(u.state == "failed" for u in undone):
                    conn.execute(runs_table.update().where(runs_table.c.run_id == rid).values(state="failed"))
                    continue
                if not undone:
                    conn.execute(runs_table.update().where(runs_table.c.run_id == rid).values(state="done"))
                    continue
                phase = min(u.phase for u in undone)
                free = [
                    u.unit
                    for u in undone
                    if u.phase == phase and (u.state == "todo" or (u.state == "running" and (u.lease_until or 0) < now))
                ]
                for unit in free:
                    c = units_table.c
                    claimable = sa.or_(c.state == "todo", sa.and_(c.state == "running", c.lease_until < now))
                    won = (
                        conn.execute(
                            units_table.update()
                            .where(c.run_id == rid, c.unit == unit, claimable)
                            .values(state="running", holder=worker, lease_until=now + lease_s, attempts=c.attempts + 1)
                        ).rowcount
                        == 1
                    )
                    if won:
                        row = conn.execute(sa.select(units_table).where(c.run_id == rid, c.unit == unit)).one()
                        return Claim(rid, unit, row.work, json.loads(row.payload), row.label, row.attempts)
                waiting = True
        return WAIT if waiting else None

    def renew(self, claim: Claim, worker: str) -> bool:
        """Extend the lease; False when the unit is no longer this worker's."""
        c = units_table.c
        with self.engine.begin() as conn:
            lease = conn.execute(sa.select(runs_table.c.lease_s).where(runs_table.c.run_id == claim.run_id)).scalar()
            return (
                conn.execute(
                    units_table.update()
                    .where(c.run_id == claim.run_id, c.unit == claim.unit, c.holder == worker, c.state == "running")
                    .values(lease_until=_now(conn) + (lease or 60.0))
                ).rowcount
                == 1
            )

    def finish(self, claim: Claim, worker: str, result: Any) -> None:
        c = units_table.c
        with self.engine.begin() as conn:  # a unit taken over and finished twice keeps the first result
            conn.execute(
                units_table.update()
                .where(c.run_id == claim.run_id, c.unit == claim.unit, c.state != "done")
                .values(state="done", holder=worker, result=encode_result(result), lease_until=None)
            )

    def release(self, claim: Claim, worker: str) -> None:
        c = units_table.c
        with self.engine.begin() as conn:
            conn.execute(
                units_table.update()
                .where(c.run_id == claim.run_id, c.unit == claim.unit, c.holder == worker, c.state == "running")
                .values(state="todo", holder=None, lease_until=None)
            )

    def release_holders(self, holders: Collection[str]) -> int:
        """Hand back every running unit of ``holders`` (workers known to be gone); returns how many."""
        if not holders:
            return 0
        c = units_table.c
        with self.engine.begin() as conn:
            return conn.execute(
                units_table.update()
                .where(c.state == "running", c.holder.in_(list(holders)))
                .values(state="todo", holder=None, lease_until=None)
            ).rowcount

    def fail(self, claim: Claim, worker: str, error: str) -> None:
        c = units_table.c
        with self.engine.begin() as conn:
            conn.execute(
                units_table.update()
                .where(c.run_id == claim.run_id, c.unit == claim.unit, c.state != "done")
                .values(state="failed", holder=worker, error=error[:2000], lease_until=None)
            )
            conn.execute(runs_table.update().where(runs_table.c.run_id == claim.run_id).values(state="failed"))

    # -- reading --------------------------------------------------------------------------------------------
    def units(self, run_id: str, phase: int | None = None) -> list[dict[str, Any]]:
        """The run's units (those of one ``phase`` when given) with their payloads and results."""
        q = sa.select(units_table).where(units_table.c.run_id == run_id)
        if phase is not None:
            q = q.where(units_table.c.phase == phase)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(units_table.c.unit)).all()
        return [
            {
                **r._asdict(),
                "payload": json.loads(r.payload),
                "result": None if r.result is None else decode_result(r.result),
            }
            for r in rows
        ]

    def done_since(self, run_id: str, known: Collection[int]) -> list[dict[str, Any]]:
        """The run's done units other than those numbered in ``known``, with payloads and results (a progress
        view polls this: each unit's result is read once)."""
        c = units_table.c
        q = sa.select(c.unit, c.payload, c.result).where(c.run_id == run_id, c.state == "done")
        if known:
            q = q.where(c.unit.notin_(list(known)))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(c.unit)).all()
        return [{"unit": r.unit, "payload": json.loads(r.payload), "result": decode_result(r.result)} for r in rows]

    def run_state(self, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(runs_table.c.state).where(runs_table.c.run_id == run_id)).scalar()

    def open_runs(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(runs_table.c.run_id).where(runs_table.c.state == "open")).scalars())

    def check_done(self, run_id: str) -> list[dict[str, Any]]:
        """The run's units when every one is done; a failed unit is one ``UserError`` line."""
        units = self.units(run_id)
        failed = [u for u in units if u["state"] == "failed"]
        if failed:
            u = failed[0]
            raise UserError(
                f"{u['label']} failed on {u['holder']}: {u['error']}; fix the cause and run the "
                "command again (finished work is kept)"
            )
        left = [u["label"] for u in units if u["state"] != "done"]
        if left:
            raise UserError(
                f"{len(left)} units of run {run_id} are not done (e.g. {left[0]}); run the command "
                "again or start a worker"
            )
        return units


_PLANS: dict[str, Plan] = {}


def open_plan(url: str) -> Plan:
    """The plan tables at ``url`` (opened once per process)."""
    if url not in _PLANS:
        _PLANS[url] = Plan(url)
    return _PLANS[url]


def work_of(fn: Callable[[dict[str, Any], Context], Any]) -> str:
    """How a plan stores a unit's function (``module:function``): a unit is made from the function object, so the
    code that creates units names the function it runs."""
    return f"{fn.__module__}:{fn.__qualname__}"


def work_is(work: str, fn: Callable[[dict[str, Any], Context], Any]) -> bool:
    """Whether a stored unit's ``work`` runs ``fn``: by the function's name, so that a plan stored before the
    function moved to another module is still read (its old ``module:function`` still imports it)."""
    return work.rpartition(":")[2] == fn.__qualname__


def _call(work: str) -> Callable[[dict[str, Any], Context], Any]:
    module, _, name = work.partition(":")
    return getattr(importlib.import_module(module), name)


class _Lease:
    """Renew a claim's lease from a background thread while its unit runs."""

    def __init__(self, plan: Plan, claim: Claim, worker: str, every: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(plan, claim, worker, every), daemon=True)

    def _loop(self, plan: Plan, claim: Claim, worker: str, every: float) -> None:
        while not self._stop.wait(every):
            try:
                plan.renew(claim, worker)
            except sa.exc.SQLAlchemyError:  # a busy database: the next renewal comes soon
                pass

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def work(
    urls: Sequence[str],
    context: Context,
    run_id: str | None = None,
    poll_s: float = 1.0,
    on_unit: Callable[[Claim], None] | None = None,
    wait_s: float = 0.0,
) -> int:
    """Run units of the open runs in the plans at ``urls`` until none is left; returns how many this worker ran.
    ``wait_s``: how long to wait for a run to appear when none is open.

    A unit that raises marks its run failed and the exception propagates (the run's starting command reports it).
    """
    me = worker_name()
    for module in context.preload:
        importlib.import_module(module)
    plans = [open_plan(u) for u in dict.fromkeys(urls)]
    # the plan's bookkeeping (claim, hand-back, result) is never cut by a stop or a Ctrl-C: one that lands there
    # waits for the unit's call (undeferred), so a claimed unit is always either run, handed back or failed
    with interrupts.deferred():
        return _work_loop(plans, me, context, run_id, poll_s, on_unit, wait_s)


def _work_loop(
    plans: Sequence[Plan],
    me: str,
    context: Context,
    run_id: str | None,
    poll_s: float,
    on_unit: Callable[[Claim], None] | None,
    wait_s: float,
) -> int:
    done = 0
    deadline = time.monotonic() + wait_s
    waiting_since: float | None = None
    while True:
        waiting = False
        for plan in plans:
            if interrupts.stopping():  # a stopped worker takes on nothing new
                return done
            got = plan.claim(me, run_id)
            if got is None:
                continue
            if got == WAIT:
                waiting = True
                continue
            assert isinstance(got, Claim)
            try:
                with _Lease(plan, got, me, every=max(0.5, _lease_of(plan, got.run_id) / 4)):
                    try:
                        with interrupts.undeferred():
                            if interrupts.stopping():  # asked to stop while claiming: run nothing
                                raise Abandoned(got.label)
                            if on_unit is not None:
                                on_unit(got)
                            result = _call(got.work)({**got.payload, "attempt": got.attempt}, context)
                    except Exception as exc:
                        plan.fail(got, me, f"{type(exc).__name__}: {exc}".strip().splitlines()[0])
                        raise
            except BaseException:  # interrupted or abandoned: hand the unit back at once (a failed one stays so)
                plan.release(got, me)
                raise
            plan.finish(got, me, result)
            done += 1
            break
        else:
            if not waiting and (done or time.monotonic() >= deadline):
                return done
            if waiting and waiting_since is None:
                waiting_since = time.monotonic()
            elif waiting and time.monotonic() - waiting_since > 5.0:
                _say_waiting(plans, run_id)
                waiting_since = time.monotonic() + 25.0  # say it again in about half a minute
            with interrupts.undeferred():
                time.sleep(poll_s)


def work_in_processes(
    workers: int,
    urls: Sequence[str],
    context: Context,
    run_id: str | None = None,
    on_tick: Callable[[], None] | None = None,
    tick_s: float = 1.0,
    wait_s: float = 0.0,
) -> int:
    """``work()`` in ``workers`` local processes; returns how many units they ran.

    When the processes must be stopped (Ctrl-C, a failed unit), each hands its unit back as it unwinds, and what
    one could not hand back is handed back here once it has ended: a worker killed after the grace period, or
    one whose hand-back waited on a database lock held by the work it was cut off in. A rerun claims it at once.
    """
    from nasbench_shrink.work.pool import WorkerPool

    pool = WorkerPool(workers)
    try:
        with pool:
            jobs = [(work, (list(urls), context, run_id, 1.0, None, wait_s))] * pool.workers
            return sum(pool.run(jobs, on_tick=on_tick, tick_s=tick_s))
    finally:
        if pool.stopped:
            with interrupts.deferred():
                gone = [worker_name(pid) for pid in pool.stopped]
                for url in dict.fromkeys(urls):
                    open_plan(url).release_holders(gone)


def _say_waiting(plans: Sequence[Plan], run_id: str | None) -> None:
    """One line on stderr: what this worker waits for (units another worker holds, and when their leases end)."""
    import sys

    held = []
    for plan in plans:
        for rid in [run_id] if run_id else plan.open_runs():
            held += [u for u in plan.units(rid) if u["state"] == "running"]
    if held:
        until = max((u.get("lease_until") or 0.0) for u in held) - time.time()
        sys.stderr.write(
            f"waiting: {len(held)} unit(s) held by other workers "
            f"({', '.join(sorted({str(u.get('holder')) for u in held})[:3])}); a holder that stopped "
            f"is replaced when its lease ends (in at most {max(until, 0):.0f} s)\n"
        )
        sys.stderr.flush()


def _lease_of(plan: Plan, run_id: str) -> float:
    with plan.engine.connect() as conn:
        return float(
            conn.execute(sa.select(runs_table.c.lease_s).where(runs_table.c.run_id == run_id)).scalar() or 60.0
        )

"""Local worker processes: the one orchestrator behind ``search --workers`` and ``compare``.

Workers are spawned (a fresh interpreter each: no inherited torch threads or open database handles) and run
jobs from a process pool; the parent polls for progress while they run and re-raises the first worker error.
A worker whose parent dies stops at its next trial (see ``search.run_worker(watch_parent=True)``).

Ctrl-C reaches the whole foreground process group. Workers are spawned with SIGINT blocked (and ignore it once
started), so only the parent sees it, even while a worker is still starting: it terminates the workers at once
(what they finished is already stored) and joins them, so the interrupt ends the command in about a second and
leaks no process or semaphore. A worker's SIGTERM becomes ``SystemExit`` at the next safe point (never inside an
import, nor in a plan's claim or hand-back: ``work.plan.work``), so the unit it holds is handed back as it
unwinds; ``work.plan.work_in_processes`` hands back, once they have ended, the units of workers that could not
(killed after the grace period). A stopped worker then ends: the pool's worker loop would otherwise catch the
``SystemExit`` and start the next queued job.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

from nasbench_shrink import interrupts

__all__ = ["WorkerPool"]

Job = tuple[Callable[..., Any], tuple]


class WorkerPool:
    """A pool of ``workers`` spawned processes that runs batches of jobs.

    Example:
        >>> from nasbench_shrink.work.pool import WorkerPool
        >>> with WorkerPool(1) as pool:
        ...     pool.run([(abs, (-2,)), (abs, (3,))])
        [2, 3]
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self.stopped: list[int] = []  # process ids of the workers an exception made this pool stop

    def __enter__(self) -> WorkerPool:
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=get_context("spawn"), initializer=_ignore_sigint
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._pool is not None
        if exc[0] is not None:
            if issubclass(exc[0], KeyboardInterrupt):
                interrupts.acknowledge()  # stopping the workers must not itself be interrupted
            self._stop_workers()
        self._pool.shutdown(wait=True, cancel_futures=exc[0] is not None)
        self._pool = None

    def _stop_workers(self, grace_s: float = 2.0) -> None:
        """Terminate the worker processes (SIGTERM, then SIGKILL after ``grace_s``) and reap them."""
        # private: ProcessPoolExecutor has no public handle on its processes, and they are what must be stopped
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        self.stopped = [p.pid for p in procs if p.pid is not None]
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(grace_s)
            if p.is_alive():
                p.kill()
                p.join(grace_s)

    def run(self, jobs: Sequence[Job], on_tick: Callable[[], None] | None = None, tick_s: float = 1.0) -> list:
        """Run ``jobs`` (``(function, args)`` pairs, picklable) and return their results in order; ``on_tick`` is
        called every ``tick_s`` seconds and once at the end. The first failing job's exception is raised here."""
        assert self._pool is not None, "use WorkerPool as a context manager"
        # workers are spawned here: whole (an interrupt waits for the block's end), and with SIGINT blocked, which
        # they inherit, so a Ctrl-C to the process group never reaches them
        with interrupts.deferred(), _sigint_blocked():
            futures: list[Future] = [self._pool.submit(_run_job, fn, args) for fn, args in jobs]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=tick_s, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()
                if on_tick is not None:
                    on_tick()
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        return [f.result() for f in futures]


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Hold SIGINT back in this thread (a Ctrl-C meanwhile is delivered on exit); processes started here inherit
    the blocked signal."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_STOP_CODE = 128 + signal.SIGTERM


def _run_job(fn: Callable[..., Any], args: tuple) -> Any:
    """Run one job in a worker; a worker that was stopped ends here, once the job has unwound (its clean-up, e.g.
    handing back a unit, has run), instead of returning to the pool's loop for the next job."""
    try:
        return fn(*args)
    finally:
        if interrupts.stopping():
            _end_stopped_worker()


def _end_stopped_worker() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(_STOP_CODE)


def _ignore_sigint() -> None:
    """Worker initializer: leave Ctrl-C to the parent, which stops the workers itself; the parent's SIGTERM
    becomes an exception, so a worker hands back the unit it holds (``work.plan.work``) before it ends, and a
    rerun started at once claims it instead of waiting for the lease to lapse."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _stop_worker)  # the stop's retry, while it waits for a safe point


_RETRY_S = 0.02


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGTERM: raise ``SystemExit`` where it lands, so the job unwinds and hands back what it holds; but never
    inside an import (the exception would be printed as "Exception ignored" by an import-lock callback and lost,
    or cut a module in half) nor in a ``deferred()`` block (a plan's claim or hand-back, which a stop must not cut
    between its commit and its return): there, try again every 20 ms."""
    if signum != signal.SIGTERM and not interrupts.stopping():
        return  # a timer without a stop
    interrupts.ask_stop()
    if hasattr(signal, "setitimer"):
        if interrupts.deferring() or interrupts.in_import(frame):
            signal.setitimer(signal.ITIMER_REAL, _RETRY_S)
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM now ends the process plainly
    raise SystemExit(_STOP_CODE)

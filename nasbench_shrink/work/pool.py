"""Local worker processes: the one orchestrator behind ``search --workers`` and ``compare``.

Workers are spawned (a fresh interpreter each: no inherited torch threads or open database handles) and run
jobs from a process pool; the parent polls for progress while they run and re-raises the first worker error.
A worker whose parent dies stops at its next trial (see ``search.run_worker(watch_parent=True)``).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, Callable, Sequence

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

    def __enter__(self) -> "WorkerPool":
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"))
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)
        self._pool = None

    def run(self, jobs: Sequence[Job], on_tick: Callable[[], None] | None = None, tick_s: float = 1.0) -> list:
        """Run ``jobs`` (``(function, args)`` pairs, picklable) and return their results in order; ``on_tick`` is
        called every ``tick_s`` seconds and once at the end. The first failing job's exception is raised here."""
        assert self._pool is not None, "use WorkerPool as a context manager"
        futures: list[Future] = [self._pool.submit(fn, *args) for fn, args in jobs]
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

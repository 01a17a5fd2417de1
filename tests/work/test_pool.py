"""A stopped worker ends: the job it was running hands back what it holds, and no queued job starts after it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nasbench_shrink.work.pool import WorkerPool

pytestmark = pytest.mark.skipif(os.name != "posix", reason="workers are stopped with SIGTERM")


def _hold(marker: str, cleaned: str) -> None:
    """Say it started, then wait to be stopped; its clean-up runs as the stop unwinds it."""
    Path(marker).write_text("started")
    try:
        time.sleep(60)
    finally:
        Path(cleaned).write_text("cleaned up")


def _mark(path: str) -> None:
    Path(path).write_text("ran")


def test_a_stopped_worker_runs_no_queued_job(tmp_path):
    started, cleaned, queued = (str(tmp_path / n) for n in ("started", "cleaned", "queued"))

    def stop_once_started() -> None:
        if Path(started).exists():
            raise KeyboardInterrupt  # what a Ctrl-C in the parent does

    with pytest.raises(KeyboardInterrupt):
        with WorkerPool(1) as pool:
            pool.run([(_hold, (started, cleaned)), (_mark, (queued,))], on_tick=stop_once_started, tick_s=0.1)
    assert Path(cleaned).exists(), "the running job did not unwind (it holds a unit to hand back)"
    assert not Path(queued).exists(), "a job queued behind the stopped one started in the stopping worker"

"""A stopped worker ends: the job it was running hands back what it holds, and no queued job starts after it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nasbench_shrink.work.plan import Plan, Unit
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


def _import_slowly(folder: str, cleaned: str, finished: str) -> None:
    """Import a module whose top level says it started and takes a second (a stop lands inside the import), then
    go on for a long time; its clean-up runs as the stop unwinds it."""
    import sys

    sys.path.insert(0, folder)
    try:
        import slow_to_import  # noqa: F401

        time.sleep(30)
        Path(finished).write_text("finished")
    finally:
        Path(cleaned).write_text("cleaned up")


def test_a_stop_that_lands_inside_an_import_waits_for_it_then_unwinds_the_job(tmp_path, capfd):
    """Raised inside an import, the stop would cut the module in half, or be printed as "Exception ignored" by an
    import-lock callback and lost (the job, and the unit it holds, would run on until the kill); it is raised once
    the import is over."""
    started, imported, cleaned, finished = (tmp_path / n for n in ("started", "imported", "cleaned", "finished"))
    (tmp_path / "slow_to_import.py").write_text(
        f"import pathlib, time\npathlib.Path({str(started)!r}).write_text('started')\ntime.sleep(1)\n"
        f"pathlib.Path({str(imported)!r}).write_text('imported')\n"
    )

    def stop_once_started() -> None:
        if started.exists():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with WorkerPool(1) as pool:
            job = (_import_slowly, (str(tmp_path), str(cleaned), str(finished)))
            pool.run([job], on_tick=stop_once_started, tick_s=0.1)
    assert imported.exists(), "the stop cut the import in half"
    assert cleaned.exists(), "the stop was lost or the worker killed: the job did not unwind"
    assert not finished.exists(), "the job ran on after the stop"
    err = capfd.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err, err


def sleepy_unit(payload, ctx):
    time.sleep(30)


def _claim_slowly_then_work(url: str, claimed: str) -> int:
    """``work()`` whose claims take a second after their commit: a stop lands between a claim and its unit."""
    from nasbench_shrink.work import plan as plan_module

    original = plan_module.Plan.claim

    def claim(self, worker, run_id=None):
        got = original(self, worker, run_id)
        if isinstance(got, plan_module.Claim):
            Path(claimed).write_text("claimed")
            time.sleep(1.0)
        return got

    plan_module.Plan.claim = claim
    return plan_module.work([url], plan_module.Context(threads=1))


def test_a_stop_between_a_claim_and_its_unit_hands_the_unit_back(tmp_path):
    """Raised there, the stop would leave the unit claimed by a worker that is gone (a rerun would wait its lease
    out); the claim is bookkeeping a stop waits for, and the unit is handed back unrun."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    plan = Plan(url)
    plan.create_run("r", "test", {}, [Unit(0, "tests.work.test_pool:sleepy_unit", {}, "u0")], lease_s=600)
    claimed = tmp_path / "claimed"

    def stop_once_claimed() -> None:
        if claimed.exists():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with WorkerPool(1) as pool:
            pool.run([(_claim_slowly_then_work, (url, str(claimed)))], on_tick=stop_once_claimed, tick_s=0.1)
    [unit] = plan.units("r")
    assert unit["state"] == "todo", unit


def stubborn_unit(payload, ctx):
    """A unit that cannot hand itself back: it ignores the stop and is killed after the grace period."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(payload["started"]).write_text("started")
    time.sleep(30)


def test_units_of_workers_that_could_not_hand_them_back_are_handed_back_by_the_parent(tmp_path):
    from nasbench_shrink.work.plan import Context, work_in_processes

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    plan = Plan(url)
    started = tmp_path / "started"
    plan.create_run("r", "test", {}, [Unit(0, "tests.work.test_pool:stubborn_unit", {"started": str(started)}, "u0")])

    def stop_once_started() -> None:
        if started.exists():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work_in_processes(1, [url], Context(threads=1), "r", on_tick=stop_once_started, tick_s=0.1)
    [unit] = plan.units("r")
    assert unit["state"] == "todo", unit

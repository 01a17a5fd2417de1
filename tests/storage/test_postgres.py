"""Many processes, one PostgreSQL database, as on many machines: plain URLs, starting together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


def test_four_processes_start_together_on_a_fresh_database(fresh_db):
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nasbench_shrink.cli",
                "search",
                "-s",
                "random",
                "--nodes",
                "3",
                "--budget-evals",
                "2",
                "--seed",
                str(i),
                "--storage",
                fresh_db,
                "--cache",
                fresh_db,
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    for i in range(4):
        study = optuna.load_study(study_name=f"digits/random/seed{i}", storage=fresh_db)
        assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 2


def test_negative_lambda_and_multi_objective_are_refused(tmp_path):
    from nasbench_shrink.errors import UserError
    from nasbench_shrink.runs.search import SearchSpec, prepare
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    with pytest.raises(UserError, match="--lam must be >= 0"):
        prepare(SearchSpec(strategy="complete", lam=-0.1, storage=f"sqlite:///{tmp_path / 's.db'}"))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=AutoShrinkSampler("cnn", 3, 2))
    with pytest.raises(ValueError, match="single-objective"):
        study.ask()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "nasbench_shrink.cli", *args]


def _kill_when(find, procs, timeout: float = 180.0):
    """SIGKILL the process among ``procs`` whose pid ``find()`` names, as soon as it names one."""
    deadline = time.time() + timeout
    by_pid = {p.pid: p for p in procs}
    while time.time() < deadline:
        for pid in find():
            if pid in by_pid and by_pid[pid].poll() is None:
                os.kill(pid, signal.SIGKILL)
                by_pid[pid].wait()
                return by_pid[pid]
        time.sleep(0.1)
    raise AssertionError("no process held work before the deadline")


def _trajectory(url: str):
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    study = optuna.load_study(study_name="digits/autoshrink/seed0", storage=url)
    traj = AutoShrinkSampler("cnn", 4, k=2, seed=0).trajectory(study)
    return traj.done, [(s.index, s.chosen.edge, s.chosen.score) for s in traj.steps if s.chosen is not None]


def test_autoshrink_four_processes_one_killed_mid_trial_then_rerun(fresh_db, tmp_path):
    """Four independent processes on one study, plain postgresql:// URL; one is SIGKILLed while it trains a
    candidate. The others fail its trial once it goes stale and retry the candidate; the command run again finds
    the run complete. The trajectory equals a one-process run's, and no architecture is trained twice."""
    args = [
        "search",
        "-s",
        "autoshrink",
        "-b",
        "digits",
        "--nodes",
        "4",
        "--k",
        "2",
        "--seed",
        "0",
        "--heartbeat",
        "2",
        "--json",
    ]
    procs = [
        subprocess.Popen(
            _cli(*args, "--storage", fresh_db, "--cache", fresh_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]

    def training_pids():
        try:
            study = optuna.load_study(study_name="digits/autoshrink/seed0", storage=fresh_db)
        except KeyError:
            return []
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        return [
            int(t.system_attrs["nbs:proposal"]["worker"].rsplit(":", 1)[1])
            for t in running
            if "nbs:proposal" in t.system_attrs
        ]

    victim = _kill_when(training_pids, procs)
    outs = {p.pid: p.communicate(timeout=600) for p in procs if p is not victim}
    assert all(p.returncode == 0 for p in procs if p is not victim), [e for _, e in outs.values()]
    again = subprocess.run(
        _cli(*args, "--storage", fresh_db, "--cache", fresh_db), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    ref_db = f"sqlite:///{tmp_path / 'ref.db'}"
    ref = subprocess.run(
        _cli(*args, "--storage", ref_db, "--cache", ref_db), capture_output=True, text=True, timeout=600
    )
    assert ref.returncode == 0, ref.stderr
    done, steps = _trajectory(fresh_db)
    assert done and steps == _trajectory(ref_db)[1]
    trials = optuna.load_study(study_name="digits/autoshrink/seed0", storage=fresh_db).trials
    assert any(t.state == optuna.trial.TrialState.FAIL for t in trials)  # the killed one
    trained = [
        t.user_attrs["arch_key"]
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE
        and not t.user_attrs["cache_hit"]
        and not t.user_attrs.get("repeat")
    ]
    assert len(trained) == len(set(trained))


def test_distributed_compare_with_a_worker_killed_equals_one_machine(fresh_db, tmp_path):
    """A compare started on one machine with one local worker, two 'nasbench-shrink worker' processes joining it
    through the plain URL; one worker is SIGKILLed while it holds a run. Its run is taken over when the lease
    ends and replayed from the cache. The summary equals a one-machine compare's (measured seconds and cache-hit
    counts aside: they depend on timing and on what the cache already held)."""
    common = [
        "compare",
        "-b",
        "digits",
        "--strategies",
        "autoshrink,random",
        "--seeds",
        "0,1",
        "--nodes",
        "3",
        "--k",
        "2",
        "--no-final",
        "--json",
    ]
    coord = subprocess.Popen(
        _cli(
            *common,
            "--storage",
            fresh_db,
            "--cache",
            fresh_db,
            "--out",
            str(tmp_path / "dist"),
            "--workers",
            "1",
            "--lease",
            "3",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            _cli("worker", "--storage", fresh_db, "--wait", "60"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    engine = sa.create_engine(fresh_db, poolclass=sa.pool.NullPool)

    def holders():
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT holder FROM nbs_units WHERE state = 'running'")).scalars()
                return [int(h.rsplit(":", 1)[1]) for h in rows if h]
        except sa.exc.ProgrammingError:  # the plan is not there yet
            return []

    victim = _kill_when(holders, workers)
    _out, err = coord.communicate(timeout=900)
    assert coord.returncode == 0, err
    for w in workers:
        if w is not victim:
            w.communicate(timeout=300)
            assert w.returncode == 0
    engine.dispose()
    ref = subprocess.run(
        _cli(*common, "--out", str(tmp_path / "ref"), "--workers", "1"), capture_output=True, text=True, timeout=900
    )
    assert ref.returncode == 0, ref.stderr
    import pandas as pd

    cols = ["strategy", "seed", "evaluations", "search_flops", "best_score", "best_accuracy", "best_arch_key"]
    dist = pd.read_csv(tmp_path / "dist" / "summary.csv")[cols]
    assert dist.equals(pd.read_csv(tmp_path / "ref" / "summary.csv")[cols])

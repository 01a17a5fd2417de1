"""Ctrl-C ends a command at once, in one line, with nothing left running and nothing finished lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")

CLI = [sys.executable, "-m", "nasbench_shrink.cli"]


def _interrupt(args: list[str], started: Path, cwd: Path, after_s: float = 1.0) -> tuple[int, str, float]:
    """Start the command in its own process group, send SIGINT to the whole group (what a terminal's Ctrl-C does)
    ``after_s`` seconds after ``started`` exists, and return (exit code, stderr, seconds from SIGINT to exit)."""
    p = subprocess.Popen(
        CLI + args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    deadline = time.time() + 60
    while not started.exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
    time.sleep(after_s)
    t = time.time()
    os.killpg(p.pid, signal.SIGINT)
    try:
        _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"{' '.join(args)} still running 15 s after SIGINT")
    elapsed = time.time() - t
    time.sleep(0.5)
    assert _alive_in_group(p.pid) == [], "a worker process outlived the command"
    return p.returncode, err, elapsed


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of the group that are still running (a zombie waiting for init to reap it has ended)."""
    alive = []
    for d in Path("/proc").iterdir():
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(d.name))
    return alive


def _one_line_interrupt(err: str) -> None:
    assert "Traceback" not in err and "leaked" not in err and "KeyboardInterrupt" not in err, err
    assert "error: interrupted" in err


def test_live_compare_with_two_workers_stops_on_each_of_ten_sigints(tmp_path):
    out = tmp_path / "run"
    args = ["compare", "-b", "digits", "--seeds", "0-1", "-w", "2", "--no-final", "--out", str(out)]
    for i in range(10):
        # the first SIGINTs land while the workers start or train; later ones after some runs are stored
        code, err, _elapsed = _interrupt(args, out / "studies.db", tmp_path, after_s=0.5 + 0.4 * i)
        assert code == 130, err
        _one_line_interrupt(err)
    assert (out / "compare.json").is_file()  # the comparison stays, to be continued


def test_search_stops_without_optuna_traceback(tmp_path):
    db = tmp_path / "s.db"
    args = [
        "search",
        "-s",
        "random",
        "-b",
        "digits",
        "--budget-evals",
        "30",
        "--storage",
        f"sqlite:///{db}",
        "--cache",
        f"sqlite:///{tmp_path / 'c.db'}",
    ]
    code, err, _elapsed = _interrupt(args, db, tmp_path, after_s=2.0)
    assert code == 130
    _one_line_interrupt(err)
    assert "failed with" not in err


def test_table_compare_stops(tmp_path):
    out = tmp_path / "run"
    args = ["compare", "--seeds", "0-99", "-w", "2", "--out", str(out)]
    code, err, _elapsed = _interrupt(args, out / "studies.db", tmp_path, after_s=1.0)
    assert code in (0, 130), err  # a fast machine may finish first
    if code == 130:
        _one_line_interrupt(err)


def test_interrupted_workers_release_their_units_so_a_rerun_claims_them_at_once(tmp_path):
    """A SIGINT while two workers train hands their units back (no unit is left 'running' under a dead worker's
    lease), so a rerun started right away claims them instead of waiting a lease out."""
    from nasbench_shrink.work.plan import open_plan

    out = tmp_path / "run"
    args = ["compare", "-b", "digits", "--seeds", "0-1", "-w", "2", "--no-final", "--lease", "600", "--out", str(out)]
    code, err, _ = _interrupt(args, out / "studies.db", tmp_path, after_s=4.0)
    assert code == 130, err
    plan = open_plan(f"sqlite:///{out / 'studies.db'}")
    units = [u for rid in plan.open_runs() for u in plan.units(rid)]
    assert units, "the interrupted comparison has no open plan"
    assert [u for u in units if u["state"] == "running"] == []
    before = {u["unit"]: (u["state"], u["holder"]) for u in units}
    # a rerun claims a released unit at once: with a 600 s lease, a claim within the bound below cannot be a
    # lease that ran out (the bound only makes the test end on a broken build; it times nothing)
    p = subprocess.Popen(
        CLI + args,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    try:
        claimed, deadline = False, time.time() + 120
        while not claimed and time.time() < deadline and p.poll() is None:
            time.sleep(0.5)
            now = [u for rid in plan.open_runs() for u in plan.units(rid)]
            claimed = any(
                u["state"] == "running" or (u["state"] == "done" and before.get(u["unit"], ("",))[0] != "done")
                for u in now
            )
        assert claimed or p.returncode == 0, "the rerun did not claim a released unit"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
            p.communicate(timeout=30)


def test_an_interrupt_a_library_turned_into_an_exit_code_still_ends_in_one_line():
    """typer turns a Ctrl-C during option parsing into a quiet ``return 130``; the interrupt stays pending and, left
    alone, its 50 ms repetition outlived the handler at shutdown and killed the process with SIGALRM (-14)."""
    script = (
        "import os, signal, time\n"
        "from nasbench_shrink import cli\n"
        "def app(standalone_mode=False):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    except KeyboardInterrupt:\n"
        "        return 130\n"
        "cli.app = app\n"
        "cli.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    _one_line_interrupt(proc.stderr)

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from helpers import dashboard_api, get_json
from typer.testing import CliRunner

from nasbench_shrink.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow  # every test here shares a two-worker compare run
TINY = [
    "-b",
    "digits",
    "--strategies",
    "autoshrink,complete,random",
    "--seeds",
    "0,1",
    "--nodes",
    "3",
    "--k",
    "2",
    "--workers",
    "2",
]
KEYS = [
    "strategy",
    "seed",
    "evaluations",
    "search_flops",
    "best_score",
    "best_arch_key",
    "final_test_accuracy",
    "final_macs",
    "final_params",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    res = runner.invoke(app, ["compare", *TINY, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out


def test_outputs_are_written(reference):
    for name in ("trials.csv", "summary.csv", "report.md", "anytime.png", "pareto.png", "shrink.png", "cells.png"):
        assert (reference / name).stat().st_size > 0, name
    for png in ("anytime.png", "pareto.png", "shrink.png", "cells.png"):
        assert (reference / png).stat().st_size > 10_000  # a drawn figure, not an empty canvas
    trials = pd.read_csv(reference / "trials.csv")
    for col in (
        "strategy",
        "seed",
        "trial",
        "cost_s",
        "train_flops",
        "cum_cost_s",
        "cum_train_flops",
        "score",
        "accuracy",
        "macs",
        "params",
        "edges",
        "cache_hit",
        "arch_key",
    ):
        assert col in trials.columns
    summary = pd.read_csv(reference / "summary.csv")
    assert len(summary) == 6 and summary["final_test_accuracy"].between(0, 1).all()
    # a live run records the real clock in the attrs a simulated one writes: makespan and work per run
    assert {"clock_start", "clock_end", "clock_worker"} <= set(trials.columns)
    assert (summary["makespan_s"] > 0).all() and (summary["busy_s"] > 0).all()
    study = optuna.load_study(study_name="digits/autoshrink/seed1", storage=f"sqlite:///{reference / 'studies.db'}")
    assert study.best_value is not None


def test_budget_is_paired_and_auto_lets_autoshrink_finish(reference):
    settings = json.loads((reference / "compare.json").read_text())
    budget = {int(k): v for k, v in settings["resolved_budget"].items()}  # paired: one budget per seed
    assert settings["budget_mode"] == "paired"
    summary = pd.read_csv(reference / "summary.csv")
    auto = summary[summary.strategy == "autoshrink"]
    for _, r in auto.iterrows():
        assert r["search_flops"] == pytest.approx(budget[int(r["seed"])])  # AutoShrink spends exactly its budget
    trials = pd.read_csv(reference / "trials.csv")
    for (_strategy, seed), g in trials[trials.within_budget].groupby(["strategy", "seed"]):
        assert g["cum_train_flops"].iloc[-1] <= budget[int(seed)] * (1 + 1e-9)  # no counted trial overshoots


def test_cache_hits_are_charged_like_training(reference, tmp_path):
    """A second comparison served entirely from the first one's cache is charged exactly the same."""
    settings = json.loads((reference / "compare.json").read_text())
    out = tmp_path / "again"
    res = runner.invoke(app, ["compare", *TINY, "--out", str(out), "--cache", settings["cache"], "--json"])
    assert res.exit_code == 0, res.output
    trials = pd.read_csv(out / "trials.csv")
    assert (trials["cache_hit"] | trials["repeat"]).all()  # every trial a hit (or a run's own free repeat)
    assert trials["cache_hit"].any()
    a = pd.read_csv(reference / "summary.csv")[KEYS + ["search_cost_s"]]
    b = pd.read_csv(out / "summary.csv")[KEYS + ["search_cost_s"]]
    pd.testing.assert_frame_equal(a, b)


def test_report_table_is_computed_from_summary(reference):
    from nasbench_shrink.analysis import stats

    summary = pd.read_csv(reference / "summary.csv")
    report = (reference / "report.md").read_text()
    for strategy, g in summary.groupby("strategy"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {strategy} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        lo, hi = stats.bootstrap_ci(g["best_score"].to_numpy())
        assert cells[1] == f"{stats.iqm(g['best_score']):.4g} [{lo:.4g}, {hi:.4g}]"
        assert cells[2].startswith(f"{100 * stats.iqm(g['final_test_accuracy']):.4g} [")
    assert "Table 4" in report and "91.56" in report
    assert "Not significantly different from autoshrink" in report or "than autoshrink" in report


def test_report_command_regenerates(reference):
    (reference / "report.md").unlink()
    (reference / "anytime.png").unlink()
    res = runner.invoke(app, ["report", str(reference)])
    assert res.exit_code == 0 and (reference / "report.md").is_file() and (reference / "anytime.png").is_file()
    bad = runner.invoke(app, ["report", str(reference / "nope")])
    assert bad.exit_code != 0 and "not a folder" in bad.stderr


def test_a_folder_written_before_the_kind_was_recorded_is_reported_the_same(reference, tmp_path):
    """The report reads a comparison's recorded kind; a folder without one gets it from its settings (through
    the strategies' traits) when 'report' runs, and the report says what it said before."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(reference, old)
    settings = json.loads((old / "compare.json").read_text())
    kind = settings.pop("kind")
    assert kind["reference"] == "autoshrink" and kind["paper_rows"]["Complete-DAG"] == "complete"
    (old / "compare.json").write_text(json.dumps(settings))

    def text(folder):  # the storage line names the folder it was written in
        return [ln for ln in (folder / "report.md").read_text().splitlines() if "storage" not in ln]

    before = text(reference)
    res = runner.invoke(app, ["report", str(old)])
    assert res.exit_code == 0, res.output
    assert json.loads((old / "compare.json").read_text())["kind"] == kind
    assert text(old) == before


def test_interrupted_compare_resumes_to_the_same_summary(reference, tmp_path):
    out = tmp_path / "killed"
    # a short lease: the killed workers' units are taken over after 5 s instead of the default minute
    cmd = [sys.executable, "-m", "nasbench_shrink.cli", "compare", *TINY, "--lease", "5", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(0.5)
        db = out / "studies.db"
        if db.is_file():
            try:
                st = optuna.load_study(study_name="digits/autoshrink/seed0", storage=f"sqlite:///{db}")
                if len(st.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 2:
                    break
            except Exception:
                pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.csv").exists()
    # what the rerun would train again is in the reference's cache (charged as trained): the resume is what is tested
    import sqlite3

    with sqlite3.connect(reference / "cache.db") as src, sqlite3.connect(out / "cache.db") as dst:
        src.backup(dst)
    res = runner.invoke(app, ["compare", *TINY, "--lease", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    a = pd.read_csv(reference / "summary.csv")[KEYS]
    b = pd.read_csv(out / "summary.csv")[KEYS]
    pd.testing.assert_frame_equal(a, b)
    # a rerun with other settings is refused and keeps what is stored
    res = runner.invoke(
        app, ["compare", "--strategies", "random", "--seeds", "0", "--budget-evals", "1", "--out", str(out)]
    )
    assert res.exit_code != 0 and "other settings" in res.stderr
    assert (out / "summary.csv").is_file()


def test_bad_compare_inputs(tmp_path):
    for args, needle in [
        (["--strategies", "nope"], "unknown strategy"),
        (["--seeds", "a,b"], "comma-separated"),
        (["--strategies", "random"], "automatic budget"),
        (["-b", "imagenet"], "unknown benchmark"),
    ]:
        res = runner.invoke(app, ["compare", *args, "--out", str(tmp_path / "x")])
        assert res.exit_code != 0
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0], res.stderr


def test_refused_inputs_exit_2_without_a_traceback_and_leave_no_folder(tmp_path):
    out = tmp_path / "refused"
    for args, needle in [
        (["--seeds", "-1"], "between 0 and"),
        (["--seeds", "0-1,99999999999"], "between 0 and"),
        (["--seeds", "0", "--storage", "sqlite:////proc/nope/x.db"], "not writable"),
    ]:
        res = runner.invoke(app, ["compare", "-b", "digits-table", *args, "--out", str(out)])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0], res.stderr
        assert not out.exists()  # nothing a later identical command would take for this comparison
    res = runner.invoke(
        app,
        [
            "search",
            "-s",
            "random",
            "-b",
            "digits-table",
            "--seed",
            "-1",
            "--budget-evals",
            "3",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
    )
    assert res.exit_code == 2 and "Traceback" not in res.output and "--seed" in res.output


def test_dashboard_serves_the_studies(reference):
    proc, base = dashboard_api(reference)
    try:
        data = get_json(f"{base}/api/studies")
        names = {s["study_name"] for s in data["study_summaries"]}
        assert {"digits/autoshrink/seed0", "digits/complete/seed1", "digits/random/seed0"} <= names
        sid = next(s["study_id"] for s in data["study_summaries"] if s["study_name"] == "digits/autoshrink/seed0")
        detail = get_json(f"{base}/api/studies/{sid}")
        attrs = {a["key"] for t in detail["trials"] for a in t["user_attrs"]}
        assert {"score", "accuracy", "macs", "cache_hit", "arch_key", "step"} <= attrs
    finally:
        proc.terminate()
        proc.wait(10)


def test_power_chooses_the_seeds_and_bad_power_is_one_line(tmp_path):
    from nasbench_shrink.analysis.stats import seeds_for_power

    runner = CliRunner()
    out = tmp_path / "powered"
    args = ["compare", "-b", "digits-table", "--strategies", "autoshrink,random", "--no-final"]
    res = runner.invoke(app, [*args, "--power", "0.8", "--out", str(out)])
    assert res.exit_code == 0, res.output
    n = seeds_for_power(0.8, alpha=0.05)  # two strategies: one comparison, Holm's strictest step is 0.05
    assert json.loads((out / "compare.json").read_text())["settings"]["seeds"] == list(range(n))
    assert f"{n} seeds: the paired test detects A12 ≥ 0.8" in res.stderr
    for bad, says in (
        (["--power", "0.4"], "between 0.5 and 1"),
        (["--power", "0.7", "--seeds", "0-3"], "pass one of them"),
    ):
        res = runner.invoke(app, [*args, *bad, "--out", str(tmp_path / "bad")])
        assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output
        assert not (tmp_path / "bad").exists()

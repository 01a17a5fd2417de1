"""The simulated clock: event order, idle time and end times on hand-made durations, and W = 1 = sequential."""

from __future__ import annotations

import heapq

import optuna
import pytest

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.budget import Budget, charged
from nasbench_shrink.runs.clock import simulate
from nasbench_shrink.runs.compare import store_studies
from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.samplers import AutoShrinkSampler
from nasbench_shrink.samplers.cell_sampler import trial_system_attrs
from nasbench_shrink.samplers.params import suggest_cell
from search_spaces import Cell

optuna.logging.set_verbosity(optuna.logging.WARNING)


def duration(cell: Cell) -> float:
    """Hand-set seconds of an architecture: 10 per active edge, plus 3 per sep3x3 node, plus 1."""
    return 10.0 * len(cell.active_edges) + 3.0 * cell.ops.count("sep3x3") + 1.0


class TimedObjective:
    """Scores a cell by a fixed rule and charges ``duration(cell)`` seconds, as a table's record would; an
    architecture the run has already finished is a free repeat (0 s), as in the project's objective."""

    def __init__(self, nodes: int) -> None:
        self.nodes, self.last_attrs = nodes, {}

    def __call__(self, trial: optuna.Trial) -> float:
        if trial_system_attrs(trial).get(ta.SKIP):
            raise optuna.TrialPruned()
        cell = suggest_cell(trial, "cnn", self.nodes)
        seen = {t.user_attrs.get("key") for t in trial.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}
        cost = 0.0 if cell.key in seen else duration(cell)
        self.last_attrs = {"cost_s": cost, "train_flops": 1.0}
        trial.set_user_attr("cost_s", cost)
        trial.set_user_attr("key", cell.key)
        return -len(cell.active_edges) + 0.1 * cell.ops.count("conv1x1")


def _run(sampler, workers: int, limit: Budget = Budget(), nodes: int = 4):
    study = optuna.create_study(direction="maximize", sampler=sampler)
    objective = TimedObjective(nodes)
    result = simulate(study, objective, workers, limit, last_attrs=lambda: objective.last_attrs)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return study, result, done


def test_autoshrink_waits_at_each_step_barrier_with_three_workers():
    """K = 2 candidates per step on 3 workers: both start together when the step opens, the third worker is idle,
    and the next step opens when the slower candidate ends (a candidate isomorphic to the other waits for it and
    is then a free repeat). Makespan = Σ_steps (the step's last end − its opening); idle = 3 × makespan −
    Σ durations."""
    _study, result, done = _run(AutoShrinkSampler(nodes=4, k=2, seed=1), workers=3)
    steps: dict[int, list] = {}
    for t in done:
        steps.setdefault(t.system_attrs["nbs:proposal"]["step"], []).append(t)
    opened, twins = 0.0, 0
    for s in sorted(steps):
        cands = sorted(steps[s], key=lambda t: t.number)
        first = cands[0]
        assert first.user_attrs["clock_start"] == opened  # the step opens with its first candidate
        assert first.user_attrs["clock_end"] == opened + first.user_attrs["cost_s"]
        if len(cands) == 1:  # one edge left: one candidate
            opened = first.user_attrs["clock_end"]
            continue
        second = cands[1]
        if second.user_attrs["key"] == first.user_attrs["key"]:  # waits for its twin, then costs nothing
            twins += 1
            assert second.user_attrs["clock_start"] == first.user_attrs["clock_end"]
            assert second.user_attrs["cost_s"] == 0.0
        else:  # starts beside it on the next worker
            assert second.user_attrs["clock_start"] == opened
            assert {first.user_attrs["clock_worker"], second.user_attrs["clock_worker"]} == {0, 1}
        assert second.user_attrs["clock_end"] == second.user_attrs["clock_start"] + second.user_attrs["cost_s"]
        assert all(t.user_attrs["clock_worker"] != 2 for t in (first, second))  # worker 2 never works
        opened = max(t.user_attrs["clock_end"] for t in (first, second))
    assert twins >= 1  # the case is exercised (seed 1 has one)
    total = sum(t.user_attrs["cost_s"] for t in done)
    assert result.makespan == opened and result.busy == total
    assert result.idle == pytest.approx(3 * opened - total)
    # events in order of end time (ties: lower worker first)
    ends = sorted(done, key=lambda t: (t.user_attrs["clock_end"], t.user_attrs["clock_worker"]))
    assert list(result.order) == [t.number for t in ends]


def test_random_keeps_every_worker_busy():
    """Random search on 3 workers is list scheduling: each trial, in ask order, starts when the earliest worker
    is free; worked out here with a heap of worker free times."""
    _study, result, done = _run(optuna.samplers.RandomSampler(seed=3), workers=3, limit=Budget("evals", 10))
    assert len(done) == 10
    free = [(0.0, w) for w in range(3)]
    for t in sorted(done, key=lambda t: t.number):
        at, w = heapq.heappop(free)
        assert (t.user_attrs["clock_start"], t.user_attrs["clock_worker"]) == (at, w)
        heapq.heappush(free, (at + t.user_attrs["cost_s"], w))
    assert result.makespan == max(at for at, _ in free)
    assert result.idle == pytest.approx(3 * result.makespan - sum(t.user_attrs["cost_s"] for t in done))


@pytest.mark.parametrize(
    "strategy, budget", [("autoshrink", None), ("random", 2e11), ("tpe", 2e11), ("evolution", 2e11)]
)
def test_one_simulated_worker_replays_the_sequential_run(strategy, budget, tmp_path):
    kw = dict(
        strategy=strategy,
        benchmark="digits-table",
        seed=4,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        budget_kind=None if budget is None else "flops",
        budget=budget,
    )
    seq = run_worker(SearchSpec(study="seq", **kw))
    sim = run_worker(SearchSpec(study="sim", workers_sim=1, **kw))
    keys = [[t.user_attrs["arch_key"] for t in s.trials if t.state.name == "COMPLETE"] for s in (seq, sim)]
    assert keys[0] == keys[1]
    # the clock attr counts what summary.csv counts: the trials within the budget (not a started one past it)
    from nasbench_shrink.budget import running_totals, within_limit

    rows = running_totals(seq.trials)
    counted = within_limit([r["cum_train_flops"] for r in rows], budget) if budget else [True] * len(rows)
    seconds = sum(r["trial"].user_attrs.get("cost_s", 0.0) * (not r["repeat"]) for r, k in zip(rows, counted) if k)
    assert sim.user_attrs["clock"]["makespan_s"] == pytest.approx(seconds)
    assert seconds <= charged(seq.trials)["seconds"]
    ends = [t.user_attrs["clock_end"] for t in sim.trials if t.state.name == "COMPLETE"]
    assert ends == sorted(ends)


def test_a_live_benchmark_is_refused_in_one_line(tmp_path):
    from nasbench_shrink.errors import UserError

    with pytest.raises(UserError, match="table benchmark"):
        run_worker(
            SearchSpec(
                strategy="random",
                benchmark="digits",
                budget_kind="evals",
                budget=2,
                storage=f"sqlite:///{tmp_path / 's.db'}",
                workers_sim=2,
            )
        )


def test_compare_on_several_simulated_worker_counts_writes_the_clock_report(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "clk"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "autoshrink,random,complete",
            "--seeds",
            "0-3",
            "--workers-sim",
            "1,3",
            "--out",
            str(out),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {(r["workers"], r["strategy"]) for r in rows} == {
        (w, s) for w in (1, 3) for s in ("autoshrink", "random", "complete")
    }
    md = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "autoshrink,random,complete",
            "--seeds",
            "0-3",
            "--workers-sim",
            "1,3",
            "--out",
            str(out),
            "--format",
            "md",
        ],
    )
    assert md.exit_code == 0 and md.stdout.startswith("# Search time on a simulated clock"), md.output
    for f in ("clock.md", "clock.csv", "clock.png", "w1/summary.csv", "w3/report.md"):
        assert (out / f).stat().st_size > 0, f
    table = pd.read_csv(out / "clock.csv")
    one = table[table.workers == 1]
    assert (one["utilisation"] == 1.0).all()  # one worker never waits
    complete3 = table[(table.workers == 3) & (table.strategy == "complete")].iloc[0]
    assert complete3["utilisation"] == pytest.approx(1 / 3)  # one evaluation, the other two workers idle
    s1, s3 = (pd.read_csv(out / f"w{w}" / "summary.csv") for w in (1, 3))
    a1, a3 = (s[s.strategy == "autoshrink"].set_index("seed") for s in (s1, s3))
    assert (a1["best_arch_key"] == a3["best_arch_key"]).all()  # synchronous: the same search, only faster
    assert (a3["makespan_s"] < a1["makespan_s"]).all()
    assert a1["makespan_s"].to_numpy() == pytest.approx(a1["busy_s"].to_numpy())
    bad = CliRunner().invoke(app, ["compare", "-b", "digits", "--workers-sim", "4", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "table benchmark" in bad.stderr and not (tmp_path / "x").exists()


def test_wallclock_budget_starts_nothing_after_it_and_counts_what_ends_within(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "wc"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "autoshrink,random",
            "--seeds",
            "0-2",
            "--workers-sim",
            "4",
            "--budget-wallclock",
            "3",
            "--out",
            str(out),
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "trials.csv")
    assert (t["clock_start"] < 3).all()  # no trial starts at or after the limit
    assert (t.loc[t["within_budget"], "clock_end"] <= 3 * (1 + 1e-9)).all()
    assert not t.loc[~t["within_budget"], "clock_end"].le(3).any()  # those that end later do not count
    refused = CliRunner().invoke(
        app,
        [
            "search",
            "-s",
            "random",
            "-b",
            "digits-table",
            "--budget-wallclock",
            "3",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
    )
    assert refused.exit_code == 2 and "--workers-sim" in refused.stderr
    no_clock = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "random",
            "--seeds",
            "0",
            "--budget-wallclock",
            "3",
            "--out",
            str(tmp_path / "none"),
        ],
    )
    assert no_clock.exit_code == 2 and "--workers-sim" in no_clock.stderr and not (tmp_path / "none").exists()


def test_the_studys_clock_attr_agrees_with_the_summary(tmp_path):
    """The clock attr (what optuna-dashboard shows) counts the trials summary.csv counts: not the started trial
    that did not fit the budget."""
    import optuna
    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "random,evolution",
            "--seeds",
            "0-3",
            "--workers-sim",
            "3",
            "--budget-seconds",
            "30",
            "--no-final",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert not optuna.get_all_study_names(f"sqlite:///{out / 'studies.db'}")  # a table's studies: on request
    assert store_studies(out) == {"stored": 8, "already": 0, "differ": []}  # each replay equals its recorded rows
    summary = pd.read_csv(out / "summary.csv")
    storage = f"sqlite:///{out / 'studies.db'}"
    checked = 0
    for s in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        clock = study.user_attrs.get("clock")
        if not clock:
            continue
        row = summary[(summary.strategy == study.user_attrs["strategy"]) & (summary.seed == study.user_attrs["seed"])]
        assert clock["makespan_s"] == pytest.approx(float(row["makespan_s"].iloc[0]))
        assert clock["busy_s"] == pytest.approx(float(row["busy_s"].iloc[0]))
        checked += 1
    assert checked == 8


def test_one_median_convention_for_times_to_the_top():
    import numpy as np

    from nasbench_shrink.analysis.clock_report import _median_ci

    assert _median_ci(np.array([1.0, 2.0, 3.0, 4.0]))[0] == np.median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert _median_ci(np.array([1.0, 2.0, np.inf, np.inf]))[0] == np.inf  # half never reached: not reached


class _SleepySampler(optuna.samplers.RandomSampler):
    """Random search that thinks for 0.1 s before each trial (a stand-in for a slow model-based sampler)."""

    def sample_relative(self, study, trial, search_space):
        import time

        time.sleep(0.1)
        return super().sample_relative(study, trial, search_space)


def test_sampler_time_shifts_every_start_by_the_samplers_own_seconds(tmp_path):
    """With --sampler-time a worker spends its strategy's measured decision time before each trial: on one
    simulated worker, trial k starts at least 0.1 s x (k + 1) later than without, and records what it spent."""
    from nasbench_shrink.strategies.registry import register_strategy, unregister_strategy

    register_strategy("sleepy", lambda benchmark, seed=0, **kw: _SleepySampler(seed=seed), "thinks 0.1 s per ask")
    try:
        starts = {}
        for on in (False, True):
            spec = SearchSpec(
                strategy="sleepy",
                benchmark="digits-table",
                seed=0,
                budget_kind="evals",
                budget=4,
                workers_sim=1,
                sampler_time=on,
                storage=f"sqlite:///{tmp_path / f's{on}.db'}",
                cache=None,
            )
            trials = run_worker(spec).get_trials(deepcopy=False)
            starts[on] = [t.user_attrs[ta.CLOCK_START] for t in trials]
            thought = [t.user_attrs.get(ta.SAMPLER_S) for t in trials]
            assert all(s >= 0.1 for s in thought) if on else thought == [None] * len(trials)
        assert len(starts[True]) == len(starts[False]) >= 4
        for k, (a, b) in enumerate(zip(starts[False], starts[True])):
            assert b - a >= 0.1 * (k + 1), (k, a, b)
    finally:
        unregister_strategy("sleepy")

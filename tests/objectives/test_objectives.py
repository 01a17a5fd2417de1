"""Two objectives (metric against cost): the tables' stored fronts, the strategies that support them, the
hypervolume-regret measures of a comparison, and the refusals."""

from __future__ import annotations

import json
import random

import numpy as np
import optuna
import pandas as pd
import pytest
from helpers import dashboard_api, get_json
from optuna._hypervolume import compute_hypervolume
from typer.testing import CliRunner

from baselines.evolution import dominated_by
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.cli import app
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.evaluator import EvalRecord
from nasbench_shrink.objectives import parse_objectives
from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.tables.table import TableError, load_table, write_table
from search_spaces import complete_cell

runner = CliRunner()
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _hand_table(path):
    """12 architectures x 2 seeds with hand-set accuracies and costs; architecture 11 diverged on both seeds and
    architecture 10 on one."""
    bench = get_benchmark("digits")
    rng = random.Random(0)
    truth = {}  # key -> (mean accuracy, macs, params) over the non-diverged rows
    records = []
    for a in range(12):
        macs, params = 1000 * (a % 5 + 1) + 10 * a, 500 * ((a * 7) % 6 + 1) + a
        accs = [round(rng.uniform(0.5, 0.95), 4) for _ in range(2)]
        kept = []
        for seed, acc in enumerate(accs):
            diverged = a == 11 or (a == 10 and seed == 1)
            if not diverged:
                kept.append(acc)
            records.append(
                EvalRecord(
                    key=f"arch{a:02d}",
                    benchmark="digits",
                    fidelity=bench.fidelity_key("proxy"),
                    stage="proxy",
                    seed=seed,
                    accuracy=None if diverged else acc,
                    score=0.0,
                    macs=macs,
                    params=params,
                    resource=macs,
                    cost_s=1.0,
                    train_flops=1e6,
                    epochs=1,
                    train_images=10,
                    trained_examples=10,
                    diverged=diverged,
                    stop_reason="diverged" if diverged else "budget",
                    device="cpu",
                    cell=complete_cell("cnn", 3, a).to_dict(),
                    test_perf=None if diverged else acc,
                )
            )
        if kept:
            truth[f"arch{a:02d}"] = (float(np.mean(kept)), float(macs), float(params))
    write_table(path, records, bench, nodes=3, seeds=[0, 1], architectures=12)
    return truth


def test_the_stored_front_of_a_hand_built_table(tmp_path):
    truth = _hand_table(tmp_path / "t.parquet")
    meta = load_table(tmp_path / "t.parquet").meta
    assert meta["format"] >= 3
    for axis, cost in (("macs", 1), ("params", 2)):
        # worked out here: an architecture is on the front unless another has accuracy >= and cost <=, one strictly
        front = sorted(
            (
                k
                for k, v in truth.items()
                if not any(
                    w[0] >= v[0] and w[cost] <= v[cost] and (w[0] > v[0] or w[cost] < v[cost])
                    for j, w in truth.items()
                    if j != k
                )
            ),
            key=lambda k: truth[k][cost],
        )
        stored = meta["pareto"][axis]
        assert stored["keys"] == front and "arch11" not in stored["keys"]
        assert stored["points"] == [[truth[k][0], truth[k][cost]] for k in front]
        accs, costs = [v[0] for v in truth.values()], [v[cost] for v in truth.values()]
        assert stored["best"] == [max(accs), min(costs)] and stored["worst"] == [min(accs), max(costs)]
        # the hypervolume in normalised axes (best 0, worst 1, reference 1.1), by Optuna's own computation
        norm = np.array(
            [
                [
                    (max(accs) - truth[k][0]) / (max(accs) - min(accs)),
                    (truth[k][cost] - min(costs)) / (max(costs) - min(costs)),
                ]
                for k in front
            ]
        )
        assert stored["hypervolume"] == pytest.approx(compute_hypervolume(norm, np.array([1.1, 1.1])), rel=1e-12)
    # the sha256 covers the fronts: a changed front in the metadata is refused
    import pyarrow.parquet as pq

    from nasbench_shrink.tables.table import META_KEY

    raw = pq.read_table(tmp_path / "t.parquet")
    meta["pareto"]["macs"]["keys"] = meta["pareto"]["macs"]["keys"][1:]
    pq.write_table(raw.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), tmp_path / "bad.parquet")
    with pytest.raises(TableError, match="sha256"):
        load_table(tmp_path / "bad.parquet")


def test_shipped_tables_carry_their_fronts():
    for name in ("digits-table", "cifar10-small-table"):
        meta = get_benchmark(name).evaluator.table.meta
        for cost in ("macs", "params"):
            f = meta["pareto"][cost]
            assert len(f["keys"]) >= 5 and f["reference"] == [1.1, 1.1] and 0 < f["hypervolume"] < 1.21


def test_objectives_are_parsed_with_one_line():
    assert parse_objectives("metric, params").cost == "params"
    with pytest.raises(UserError, match=r"unknown objectives 'accuracy' \(--objectives\); choose one of score"):
        parse_objectives("accuracy")


def test_evolution_picks_by_domination_count():
    from optuna.trial import create_trial

    pop = [create_trial(values=v) for v in ([0.9, 10.0], [0.8, 5.0], [0.7, 8.0], [0.6, 12.0])]
    signs = [-1.0, 1.0]  # maximise accuracy, minimise cost
    assert [dominated_by(t, pop, signs) for t in pop] == [0, 0, 1, 3]


def _trials(study):
    return [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]


def test_autoshrink_sweep_runs_one_shrinking_run_per_lambda(tmp_path):
    bench = get_benchmark("digits-table")
    spec = SearchSpec(
        strategy="autoshrink-sweep",
        benchmark=bench,
        seed=3,
        storage=f"sqlite:///{tmp_path}/s.db",
        cache=None,
        objectives="metric,macs",
    )
    study = run_worker(spec)
    trials = _trials(study)
    sampler = study.sampler
    lams = [t.user_attrs["lam"] for t in trials]
    assert sorted(set(lams)) == sorted(sampler.lams) and lams == sorted(lams)  # λ runs in order, each once
    traj = sampler.trajectory(study)
    assert traj.done and [s.restart for s in traj.steps] == sorted(s.restart for s in traj.steps)
    for s in traj.steps:  # each step keeps the candidate of best score at its run's λ
        lam = sampler.lams[s.restart]
        scores = []
        for c in s.candidates:
            a = study.trials[c.trial].user_attrs
            scores.append(bench.score(a["accuracy"], a["resource"], lam=lam))
        assert s.chosen is s.candidates[int(np.argmax(scores))]
    starts = [s.cell.key for s in traj.steps if s.index == 0 or s.restart != traj.steps[s.index - 1].restart]
    assert len(starts) == len(sampler.lams) and len(set(starts)) == 1  # every λ from the same complete DAG


def test_pareto_shrinking_keeps_the_non_dominated_candidates(tmp_path):
    spec = SearchSpec(
        strategy="autoshrink-pareto",
        benchmark="cifar10-small-table",
        seed=1,
        storage=f"sqlite:///{tmp_path}/s.db",
        cache=None,
        objectives="metric,params",
    )
    study = run_worker(spec)
    traj = study.sampler.trajectory(study)
    assert traj.done and any(len(s.parents) > 1 for s in traj.steps)
    for s in traj.steps:
        assert 1 <= len(s.kept) <= study.sampler.pareto_width
        vals = {
            c.cell.key: (-study.trials[c.trial].values[0], study.trials[c.trial].values[1])
            for c in s.candidates
            if c.trial is not None
        }
        for c in s.kept:  # no candidate of the step dominates a kept one
            v = vals[c.cell.key]
            assert not any(w[0] <= v[0] and w[1] <= v[1] and w != v for w in vals.values())
    for prev, nxt in zip(traj.steps, traj.steps[1:]):  # the kept cells with an edge are the next parents
        assert [p.key for p in nxt.parents] == [c.cell.key for c in prev.kept if c.cell.edges]


@pytest.fixture(scope="module")
def table_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("mo") / "run"
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--objectives",
            "metric,macs",
            "--strategies",
            "autoshrink-sweep,random,nsga2,evolution",
            "--seeds",
            "0-3",
            "--out",
            str(out),
            "--workers",
            "1",
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    return out


def test_a_two_objective_compare_on_a_table(table_compare):
    out = table_compare
    trials, summary = pd.read_csv(out / "trials.csv"), pd.read_csv(out / "summary.csv")
    for col in ("final_hv_regret", "final_igd_plus", "front_size", "front_keys"):
        assert summary[col].notna().all(), col
    assert (summary["final_hv_regret"] >= -1e-12).all()
    report = (out / "report.md").read_text()
    assert "final HV regret" in report and "vs autoshrink-sweep" in report and "true front" in report
    for png in ("anytime.png", "pareto.png", "rank.png"):
        assert (out / png).stat().st_size > 20_000
    # every row's HV regret, recomputed here: the believed front (non-dominated in the observed values) at its
    # architectures' seed-mean values, against the stored true front, with Optuna's hypervolume
    bench = get_benchmark("digits-table")
    table = bench.evaluator.table
    front = table.meta["pareto"]["macs"]
    means = {}
    for k, p, d, m in zip(
        table.columns["key"], table.columns["perf"], table.columns["diverged"], table.columns["macs"]
    ):
        if not d:
            means.setdefault(k, [[], m])[0].append(p)
    (b_acc, b_c), (w_acc, w_c) = front["best"], front["worst"]

    def norm(acc, c):
        return [(b_acc - acc) / (b_acc - w_acc), (c - b_c) / (w_c - b_c)]

    ref = np.array([1.1, 1.1])
    true_hv = compute_hypervolume(np.array([norm(a, c) for a, c in front["points"]]), ref)
    for (_s, _seed), g in list(trials.groupby(["strategy", "seed"]))[::3]:
        seen = []
        for _, r in g.iterrows():
            seen.append((r["arch_key"], r["accuracy"], r["macs"]))
            believed = {
                k for k, a, c in seen if not any(a2 >= a and c2 <= c and (a2 > a or c2 < c) for _, a2, c2 in seen)
            }
            pts = np.array([norm(float(np.mean(means[k][0])), means[k][1]) for k in believed])
            assert r["hv_regret"] == pytest.approx(true_hv - compute_hypervolume(pts, ref), abs=1e-9)
    # the final table tests on final HV regret against the sweep; every strategy ran at the sweep's cost
    csv = pd.read_csv(out / "summary.csv")
    assert set(csv["strategy"]) == {"autoshrink-sweep", "random", "nsga2", "evolution"}
    spent = csv.pivot(index="seed", columns="strategy", values="search_flops")
    assert (spent.drop(columns="autoshrink-sweep").le(spent["autoshrink-sweep"] * (1 + 1e-9), axis=0)).all().all()


def test_a_single_objective_strategy_is_refused_with_one_line(tmp_path):
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--objectives",
            "metric,macs",
            "--strategies",
            "random,autoshrink",
            "--seeds",
            "0",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1, res.output
    assert "'autoshrink' supports single-objective studies only" in res.output
    assert not (tmp_path / "x").exists()  # refused before anything was made
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "nsga2",
            "--seeds",
            "0",
            "--budget-evals",
            "5",
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert res.exit_code != 0 and "multi-objective studies only" in res.output, res.output
    res = runner.invoke(
        app,
        [
            "search",
            "-s",
            "evolution",
            "-b",
            "digits-table",
            "--objectives",
            "metric,sizes",
            "--budget-evals",
            "3",
            "--storage",
            f"sqlite:///{tmp_path}/s.db",
        ],
    )
    assert res.exit_code != 0 and "unknown objectives" in res.output and len(res.output.strip().splitlines()) == 1


def test_a_study_keeps_its_directions(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    run_worker(
        SearchSpec(
            strategy="random",
            benchmark="digits-table",
            storage=url,
            cache=None,
            budget_kind="evals",
            budget=3,
            study="x",
            objectives="metric,params",
        )
    )
    with pytest.raises(UserError, match="optimises \\['maximize', 'minimize'\\], not \\['maximize'\\]"):
        run_worker(
            SearchSpec(
                strategy="random",
                benchmark="digits-table",
                storage=url,
                cache=None,
                budget_kind="evals",
                budget=3,
                study="x",
            )
        )


@pytest.mark.slow
def test_a_live_two_objective_compare_opens_in_the_dashboard(tmp_path):
    """The README's live two-objective compare (digits, N = 3, K = 2), then optuna-dashboard's HTTP API lists its
    studies with both directions."""
    out = tmp_path / "live"
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "digits",
            "--objectives",
            "metric,macs",
            "--strategies",
            "autoshrink-sweep,random,nsga2",
            "--seeds",
            "0",
            "--nodes",
            "3",
            "--k",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv")
    assert summary["final_hv"].between(0, 1.21).all() and "final_test_accuracy" in summary
    assert "final HV" in (out / "report.md").read_text()
    proc, base = dashboard_api(out)
    try:
        studies = {s["study_name"]: s for s in get_json(f"{base}/api/studies")["study_summaries"]}
        for name in ("digits/autoshrink-sweep/seed0", "digits/random/seed0"):
            assert studies[name]["directions"] == ["maximize", "minimize"]
        detail = get_json(f"{base}/api/studies/{studies['digits/random/seed0']['study_id']}")
        assert detail["directions"] == ["maximize", "minimize"]
        assert all(len(t["values"]) == 2 for t in detail["trials"] if t["state"] == "Complete")
        assert detail["best_trials"]  # the Pareto-front view's trials
    finally:
        proc.terminate()
        proc.wait(10)

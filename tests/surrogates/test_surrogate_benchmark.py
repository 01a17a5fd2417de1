"""The N = 8 surrogate as a benchmark: one answer per canonical cell, one seed's draw fixed within a run,
predictions pinned by checksum, and the commands that run on any benchmark run on it."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
from helpers import topological_relabel

from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.surrogates.features import cell_features
from search_spaces import Cell, all_edges, random_ops
from search_spaces.cnn_cost import cnn_resources

NAME = "cifar10-small-n8"

# sha256 of the shipped data set -> sha256 of its surrogate's predictions on CHECK_CELLS fixed cells (rounded to
# 1e-9), for the model of surrogates/validation.py as it is. A new export of the data set, or a new model, replaces
# the line; a changed fit of the same data and model (another machine, another scikit-learn) fails here.
PREDICTIONS = {
    "823233053fe7f19d2c91f48d20bceadd96da509b55bc663bc365ab53339fcadf": (
        "3520319c7e1442e47e2cd927040473273c1f574b72fc8faba5d1509b288d2732"
    ),
}
CHECK_CELLS = 1000


@pytest.fixture(scope="module")
def bench():
    return get_benchmark(NAME)


def _cell(rng: random.Random) -> Cell:
    keep = rng.uniform(0.2, 1.0)
    return Cell("cnn", 8, [e for e in all_edges(8) if rng.random() < keep], random_ops("cnn", 8, rng))


def test_isomorphic_cells_get_one_answer(bench):
    rng = random.Random(5)
    ev = bench.evaluator
    for _ in range(20):
        c = _cell(rng)
        twin = topological_relabel(c, rng)
        a = ev.run(c, bench, "proxy", ev.seed_for(3, c.key))
        b = ev.run(twin, bench, "proxy", ev.seed_for(3, twin.key))
        assert (a.accuracy, a.macs, a.params, a.cost_s) == (b.accuracy, b.macs, b.params, b.cost_s)


def test_a_repeat_in_a_run_draws_the_same_seed_and_runs_differ(bench):
    ev = bench.evaluator
    c = _cell(random.Random(1))
    first = ev.run(c, bench, "proxy", ev.seed_for(0, c.key))
    again = ev.run(c, bench, "proxy", ev.seed_for(0, c.key))
    assert first.accuracy == again.accuracy
    draws = {ev.run(c, bench, "proxy", ev.seed_for(s, c.key)).accuracy for s in range(20)}
    assert len(draws) == 20  # other runs see other seeds
    spread = np.std(sorted(draws))
    assert 0.3 * ev.surrogate.noise_sd < spread < 3 * ev.surrogate.noise_sd


def test_final_is_the_noise_free_test_prediction_and_costs_nothing(bench):
    ev = bench.evaluator
    c = _cell(random.Random(2))
    finals = {ev.run(c, bench, "final", ev.seed_for(s, c.key)).accuracy for s in range(5)}
    assert len(finals) == 1
    rec = ev.run(c, bench, "final", 0)
    assert rec.cost_s == 0 and rec.train_flops == 0


def test_costs_are_counted_exactly(bench):
    c = _cell(random.Random(4))
    rec = bench.evaluator.run(c, bench, "proxy", 0)
    exact = cnn_resources(c, bench.proxy.network)
    assert (rec.macs, rec.params) == (exact.macs, exact.params)
    assert rec.train_flops == 3 * exact.macs * bench.evaluator.surrogate.train_examples


def test_fast_tree_walk_equals_scikit_learn(bench):
    """Queries walk the forests' arrays with numpy; the answer is scikit-learn's own."""
    from nasbench_shrink.surrogates.validation import fit_model

    s = bench.evaluator.surrogate
    rng = random.Random(6)
    cells = [_cell(rng) for _ in range(40)]
    x = np.vstack([cell_features(c, *_size(c, bench)) for c in cells])
    y = np.linspace(0.3, 0.5, len(cells))
    rf = fit_model("rf", x, y).model
    from nasbench_shrink.surrogates.model import ForestArrays

    walked = ForestArrays([rf])
    assert np.allclose([walked.predict_one(r)[0] for r in x], rf.predict(x), rtol=0, atol=1e-12)
    assert s.forests.forests == [100, 100]


def _size(c: Cell, bench) -> tuple[int, int]:
    r = cnn_resources(c, bench.proxy.network)
    return r.macs, r.params


def test_prediction_checksum_on_fixed_cells(bench):
    s = bench.evaluator.surrogate
    rng = random.Random(2026)
    preds = [s.predict(cell_features(c, *_size(c, bench))) for c in (_cell(rng) for _ in range(CHECK_CELLS))]
    digest = hashlib.sha256(np.round(np.asarray(preds), 9).tobytes()).hexdigest()
    expected = PREDICTIONS.get(s.sha256)
    assert expected is not None, f"data set {s.sha256} has no pinned checksum: add {digest!r} to PREDICTIONS"
    assert digest == expected


# ------------------------------------------------------------------------------------------ like any benchmark
def test_compare_on_the_surrogate_with_regret_and_a_simulated_clock(tmp_path):
    """compare: paired budgets, regret against the best known cell, top-1 % flags and the simulated clock."""
    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "run"
    args = ["compare", "-b", NAME, "--strategies", "autoshrink,random", "--seeds", "1", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "-w", "1", "--workers-sim", "1,2"])
    assert res.exit_code == 0, res.output
    trials = pd.read_csv(next(out.glob("**/trials.csv")))
    land = get_benchmark(NAME).evaluator.landscape(get_benchmark(NAME))
    assert {"regret", "top1pct", "regret_by_clock"} <= set(trials.columns)
    # recomputed here: the regret of the incumbent (best observed score so far) against the best known cell
    from search_spaces import Cell as _Cell

    run = trials[(trials["strategy"] == "random") & (trials["seed"] == 1)].sort_values("eval_index")
    best_obs, expected = -np.inf, []
    for cell_json, score in zip(run["cell"], run["score"]):
        cell = _Cell.from_json(cell_json)
        land.include([cell])
        if score > best_obs:
            best_obs, incumbent = score, cell.key
        expected.append(land.best_score - land.true_score[incumbent])
    assert np.allclose(run["regret"], expected)
    assert run["top1pct"].tolist() == [land.true_score[_Cell.from_json(c).key] >= land.threshold for c in run["cell"]]
    assert "best known cell" in " ".join(next(out.glob("**/report.md")).read_text().split())


def test_search_prints_the_true_score_against_the_best_known_cell(tmp_path):
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    args = ["search", "-b", NAME, "-s", "random", "--budget-evals", "20", "--storage", f"sqlite:///{tmp_path}/s.db"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "on the surrogate: true (seed-mean) score" in " ".join(res.output.split())
    assert "best known cell" in " ".join(res.output.split())


def test_hub_problem_on_the_surrogate():
    pytest.importorskip("optunahub", reason="optunahub is in the dev extra: pip install -e '.[dev]'")
    import optuna

    from nasbench_shrink.hub.problem import TableProblem

    problem = TableProblem(NAME, seed=0)
    assert problem.nodes == 8
    study = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(problem, n_trials=15)
    assert problem.regret(study.best_params) >= problem.known_optimum - 1.0  # a number, computed
    assert problem.regret(study.best_params) == pytest.approx(
        problem.known_optimum - problem.landscape.true_score[problem.arch_key(study.best_params)]
    )


def test_landscape_says_what_a_surrogate_knows_and_refuses_what_it_cannot():
    import json

    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    res = CliRunner().invoke(app, ["landscape", "-b", NAME, "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    land = get_benchmark(NAME).evaluator.landscape(get_benchmark(NAME))
    assert info["best_known"]["score"] == land.best_score and info["top1pct_threshold"] == land.threshold
    assert info["best_known"]["score"] > info["top1pct_threshold"]
    res = CliRunner().invoke(app, ["landscape", "-b", NAME, "--lam", "0.2"])
    assert res.exit_code == 2 and "surrogate" in res.stderr


def test_two_objective_compare_on_the_surrogate_measures_against_the_best_known_front(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "mo"
    args = ["compare", "-b", NAME, "--objectives", "metric,macs", "--strategies", "autoshrink-sweep,random"]
    res = CliRunner().invoke(app, [*args, "--seeds", "0", "-w", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv")
    assert summary["final_hv_regret"].notna().all() and summary["final_igd_plus"].notna().all()
    assert "best known front" in " ".join((out / "report.md").read_text().split())
    front = get_benchmark(NAME).evaluator.landscape(get_benchmark(NAME)).fronts["macs"]
    assert len(front["keys"]) == len(front["points"]) == len(front["front_cells"]) > 1


def test_verify_live_trains_the_returned_cells_and_is_refused_off_a_surrogate(tmp_path, shared_data):
    import json

    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "v"
    args = ["compare", "-b", NAME, "--strategies", "autoshrink,random", "--seeds", "0", "-w", "1", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--verify-live", "1", "--data-dir", str(shared_data)])
    assert res.exit_code == 0, res.output
    v = json.loads((out / "verify-live.json").read_text())
    assert v["cells"] == 2 and {r["strategy"] for r in v["rows"]} == {"autoshrink", "random"}
    assert all(0.1 < r["measured"] < 0.7 and not r["cache_hit"] for r in v["rows"])  # trained live, not looked up
    land = get_benchmark(NAME).evaluator.landscape(get_benchmark(NAME))
    assert [r["predicted"] for r in v["rows"]] == [land.mean_perf[r["key"]] for r in v["rows"]]
    res = CliRunner().invoke(app, ["compare", "-b", "digits-table", "--verify-live", "1", "--out", str(tmp_path / "t")])
    assert res.exit_code == 2 and "not a surrogate" in res.stderr and not (tmp_path / "t").exists()

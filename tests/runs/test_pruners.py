"""Optuna's pruners on a table's per-epoch curves: the decisions a median pruner must take, worked out here from
the curves; the epochs a pruned evaluation is charged; a repeat of a pruned architecture; what is refused."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.budget import charged
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.cli import app
from nasbench_shrink.runs.search import SearchSpec, best_trial, run_search
from search_spaces import Cell

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_median_pruner_decides_and_charges_as_worked_out_from_the_curves(tmp_path):
    bench = get_benchmark("digits-table")  # up to 8 epochs per row
    spec = SearchSpec(
        "random",
        bench,
        seed=3,
        storage=f"sqlite:///{tmp_path}/s.db",
        cache=None,
        budget_kind="evals",
        budget=40,
        pruner="median",
    )
    trials = sorted(run_search(spec).get_trials(deepcopy=False), key=lambda t: t.number)
    seen: list = []
    pruned = repeats_of_pruned = 0
    for t in trials:
        a = t.user_attrs
        if a.get("repeat"):
            first = trials[a["repeat_of"]]
            assert t.state == first.state  # what the run saw before
            assert a["train_flops"] == 0 and a["cost_s"] == 0
            repeats_of_pruned += t.state == TrialState.PRUNED
            seen.append(t)
            continue
        rec = bench.evaluator.run(Cell.from_dict(a["cell"]), bench, "proxy", a["eval_seed"])
        scores = [bench.score(p["val_acc"], rec.resource) for p in rec.curve]
        epochs = len(scores)
        completed = [s for s in seen if s.state == TrialState.COMPLETE]
        expected = None  # Optuna's median rule: best value so far below the completed trials' median at that step
        if len(completed) >= 5:
            best = -math.inf
            for e in range(1, epochs):
                best = max(best, scores[e - 1])
                at_e = [s.intermediate_values[e] for s in completed if e in s.intermediate_values]
                if at_e and best < np.percentile(at_e, 50):
                    expected = e
                    break
        if expected is None:
            assert t.state == TrialState.COMPLETE and a["train_flops"] == rec.train_flops
        else:
            pruned += 1
            assert t.state == TrialState.PRUNED and a[ta.PRUNED_AT_EPOCH] == expected
            assert a["train_flops"] == pytest.approx(rec.train_flops * expected / epochs, rel=1e-12)
            assert a["cost_s"] == pytest.approx(rec.cost_s * expected / epochs, rel=1e-12)
            assert a["score"] == pytest.approx(scores[expected - 1], rel=1e-12)
        seen.append(t)
    assert pruned > 5  # the rule did prune: the test checked real decisions
    assert charged(trials)["evals"] == 40  # a pruned evaluation is one evaluation of the budget
    assert best_trial(run_search(spec)).state == TrialState.COMPLETE


def test_compare_with_a_pruner_pairs_budgets_and_never_takes_a_pruned_incumbent(tmp_path):
    out = tmp_path / "c"
    args = ["compare", "-b", "digits-table", "--strategies", "autoshrink,random", "--seeds", "0,1", "-w", "1"]
    res = CliRunner().invoke(app, [*args, "--pruner", "median", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv").set_index(["strategy", "seed"])
    trials = pd.read_csv(out / "trials.csv")
    assert (summary.loc["autoshrink", "pruned"] == 0).all() and (summary.loc["random", "pruned"] > 0).all()
    for seed in (0, 1):
        spent = summary.loc[("autoshrink", seed), "search_flops"]
        assert summary.loc[("random", seed), "search_flops"] <= spent * (1 + 1e-9)
        run = trials[(trials.strategy == "random") & (trials.seed == seed) & trials.within_budget]
        assert run.loc[run[ta.PRUNED_AT_EPOCH].notna(), "score"].isna().all()  # a partial score is no incumbent's
        assert summary.loc[("random", seed), "best_score"] == run["score"].max()
    assert "- pruner: median" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["search", "-b", "cifar10-small-n8", "-s", "random", "--budget-evals", "5"], "per-epoch curves"),
        (["search", "-b", "digits-table", "-s", "autoshrink"], "never pruned"),
        (
            ["search", "-b", "digits-table", "-s", "random", "--budget-evals", "5", "--objectives", "metric,macs"],
            "single-objective",
        ),
        (
            ["search", "-b", "digits-table", "-s", "random", "--budget-evals", "5", "--workers-sim", "2"],
            "simulated clock",
        ),
        (["compare", "-b", "digits-table", "--strategies", "autoshrink"], "none of the strategies"),
    ],
)
def test_pruner_refusals_are_one_line(args, needle, tmp_path):
    res = CliRunner().invoke(app, [*args, "--pruner", "median", "--storage", f"sqlite:///{tmp_path}/x.db"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in " ".join(res.stderr.split()), res.stderr


def test_unknown_pruner_is_named():
    res = CliRunner().invoke(
        app, ["search", "-b", "digits-table", "-s", "random", "--budget-evals", "5", "--pruner", "x"]
    )
    assert res.exit_code == 2 and "median, percentile, sha, hyperband" in res.stderr


def test_a_live_pruned_trial_stops_training_and_is_charged_what_it_trained(tmp_path):
    """On a live benchmark the training loop tells the pruner each epoch's score as it trains: a pruned trial
    stops there, keeps the metric it had then (the same bits as the first epochs of a full evaluation at that
    seed), is charged the seconds and FLOPs it trained, and is never cached as the cell's record."""
    from nasbench_shrink.evaluation.cache import cache_key, open_cache
    from nasbench_shrink.evaluation.evaluator import evaluate

    bench = get_benchmark("digits")
    cache = f"sqlite:///{tmp_path / 'c.db'}"
    spec = SearchSpec(
        strategy="random",
        benchmark=bench,
        nodes=3,
        budget_kind="evals",
        budget=10,
        pruner="percentile",
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=cache,
    )
    study = run_search(spec)
    pruned = [
        t
        for t in study.get_trials(states=(TrialState.PRUNED,))
        if ta.PRUNED_AT_EPOCH in t.user_attrs and not t.user_attrs.get(ta.REPEAT)
    ]
    assert pruned, "the percentile pruner stopped no live trial"
    stored = open_cache(cache)
    for t in pruned[:2]:
        a = t.user_attrs
        e = a[ta.PRUNED_AT_EPOCH]
        assert a[ta.EPOCHS] == e < bench.proxy.recipe.max_epochs and len(t.intermediate_values) == e
        full = evaluate(Cell.from_dict(a[ta.CELL]), bench, seed=a[ta.EVAL_SEED])  # trained to its end
        assert a["accuracy"] == full.curve[e - 1]["val_acc"]
        assert a[ta.SCORE] == t.intermediate_values[e] == bench.score(full.curve[e - 1]["val_acc"], full.resource)
        assert 0 < a[ta.TRAIN_FLOPS] < full.train_flops and a[ta.TRAIN_FLOPS] % (3 * a[ta.MACS]) == 0
        assert stored.get(cache_key(a[ta.ARCH_KEY], bench.fidelity_key("proxy"), a[ta.EVAL_SEED])) is None
    assert charged(study.get_trials())["flops"] == sum(
        t.user_attrs.get(ta.TRAIN_FLOPS, 0.0)
        for t in study.get_trials()
        if t.state == TrialState.COMPLETE or ta.PRUNED_AT_EPOCH in t.user_attrs
    )


def test_autoshrink_sha_halves_each_steps_candidates_and_chooses_among_the_finished(tmp_path):
    """autoshrink-sha: at epochs 1, 2, 4 a candidate goes on only among the best half of the scores its own step
    reached there so far (worked out here from the trials, in order); every step chooses a finished candidate;
    the run costs less than AutoShrink's at the same seed."""
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    runs = {}
    for name in ("autoshrink", "autoshrink-sha"):
        spec = SearchSpec(
            strategy=name, benchmark="digits-table", seed=3, storage=f"sqlite:///{tmp_path / 's.db'}", cache=None
        )
        runs[name] = run_search(spec)
    study = runs["autoshrink-sha"]
    trials = study.get_trials(deepcopy=False)
    stopped = [t for t in trials if t.state == TrialState.PRUNED and ta.PRUNED_AT_EPOCH in t.user_attrs]
    assert stopped
    for t in stopped:
        e = t.user_attrs[ta.PRUNED_AT_EPOCH]
        assert e in (1, 2, 4) and t.last_step == e
        rivals = [
            u.intermediate_values[e]
            for u in trials
            if u.number <= t.number
            and u.user_attrs.get(ta.STEP) == t.user_attrs[ta.STEP]
            and e in u.intermediate_values
        ]
        best_half = sorted(rivals, reverse=True)[: max(1, len(rivals) // 2)]
        assert t.intermediate_values[e] < best_half[-1]
    sampler = study.sampler
    assert isinstance(sampler, AutoShrinkSampler)
    by_number = {t.number: t for t in trials}
    for step in sampler.trajectory(study).steps:
        assert by_number[step.chosen.trial].state == TrialState.COMPLETE
    assert charged(trials)["flops"] < charged(runs["autoshrink"].get_trials())["flops"]
    res = CliRunner().invoke(
        app, ["search", "-b", "digits-table", "-s", "autoshrink-sha", "--pruner", "median", "--storage", "sqlite://"]
    )
    assert res.exit_code == 2 and "prunes its trials itself" in res.stderr


def test_the_wilcoxon_pruner_runs_on_a_tables_curves(tmp_path):
    """Optuna's Wilcoxon pruner (a paired test of a trial's per-epoch scores against the best trial's) stops some
    of random search's evaluations on digits-table, each charged the epochs it trained."""
    spec = SearchSpec(
        strategy="random",
        benchmark="digits-table",
        seed=0,
        budget_kind="evals",
        budget=40,
        pruner="wilcoxon",
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=None,
    )
    trials = run_search(spec).get_trials(deepcopy=False)
    stopped = [t for t in trials if ta.PRUNED_AT_EPOCH in t.user_attrs and not t.user_attrs.get(ta.REPEAT)]
    assert stopped and all(t.state == TrialState.PRUNED for t in stopped)
    assert all(t.user_attrs[ta.PRUNED_AT_EPOCH] == t.last_step for t in stopped)

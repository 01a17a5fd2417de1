"""Fair by construction: one cost rule on tables and live, paired budgets, no test signal inside a study."""

from __future__ import annotations

import json
import math
import typing

import numpy as np
import optuna
import pandas as pd
import pytest

from baselines import RandomDAGSampler
from nasbench_shrink.analysis.results import RunKind
from nasbench_shrink.benchmarks.recipe import TrainRecipe
from nasbench_shrink.budget import MAX_REPEATS_IN_A_ROW, Budget, paired_budgets, within_limit
from nasbench_shrink.catalogue import get_benchmark, register_benchmark
from nasbench_shrink.runs.compare import CompareSpec, run_compare
from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.samplers.cell_sampler import CellSampler, Proposal
from nasbench_shrink.strategies.registry import register_strategy, unregister_strategy
from nasbench_shrink.tables.table import table_seed
from search_spaces import Cell

TWO = [
    Cell("cnn", 5, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3", "conv1x1", "conv1x1"]),
    Cell("cnn", 5, [(0, 1), (0, 2), (1, 3)], ["input", "sep3x3", "conv1x1", "conv1x1", "sep3x3"]),
]


class Cycle(CellSampler):
    """Proposes a fixed list of cells in turn (so later trials repeat earlier ones)."""

    strategy_name = "cycle"

    def __init__(self, cells, seed=0):
        super().__init__(cells[0].space, cells[0].nodes, seed)
        self.cells = cells

    def propose(self, study, trial):
        return Proposal(self.cells[trial.number % len(self.cells)])


@pytest.fixture
def cycle_strategy():
    def factory(benchmark, seed=0, cells=None, **kw):
        chosen = cells or TWO
        if chosen[0].nodes != benchmark.nodes:  # the live quick benchmark searches 3-node cells
            chosen = [
                Cell("cnn", 3, [(0, 1)], ["input", "conv1x1", "sep3x3"]),
                Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "sep3x3", "conv1x1"]),
            ]
        return Cycle(chosen, seed)

    register_strategy("test-cycle", factory, "cycles through fixed cells", options=("cells",))
    yield "test-cycle"
    unregister_strategy("test-cycle")


def _quick_live(name):
    """digits with one epoch on 3-node cells: a live benchmark that trains in a second."""
    bench = (
        get_benchmark("digits")
        .with_options(name=name, nodes=3)
        .with_stage("proxy", recipe=TrainRecipe(batch_size=32, max_epochs=1, overfit_ratio=None))
    )
    register_benchmark(bench)
    return bench


def _done(study):
    return [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]


# ------------------------------------------------------------------------------------------ the cost rule
def test_budget_counts_a_trial_only_if_its_own_cost_fits():
    b = Budget("flops", 10.0)
    assert b.admits(4.0, 6.0) and not b.admits(4.0, 6.5) and not b.admits(10.0, 0.5) and b.admits(10.0, 0.0)
    cum = np.array([3.0, 7.0, 10.0, 12.0, 12.0])  # the 4th overshoots; so does a free trial after it
    assert within_limit(cum, 10.0).tolist() == [True, True, True, False, False]
    assert within_limit(cum, None).all()
    assert paired_budgets({"a": {0: 5.0, 1: 7.0}}) == {0: 5.0, 1: 7.0}
    assert paired_budgets({"a": {0: 5.0}, "b": {0: 6.0}}) == {0: 6.0}


@pytest.mark.parametrize("where", ["digits-table", "quick-live"])
def test_a_repeat_costs_nothing_and_returns_the_same_record(where, cycle_strategy, tmp_path):
    benchmark = where
    if where == "quick-live":
        benchmark = _quick_live("digits-1ep-fair").name
    spec = SearchSpec(
        strategy=cycle_strategy,
        benchmark=benchmark,
        seed=3,
        storage=f"sqlite:///{tmp_path}/s.db",
        cache=None,
        budget_kind="evals",
        budget=3,
    )
    study = run_worker(spec)
    done = _done(study)
    # two distinct cells charged (the third evaluation the budget allows never comes), then free repeats until
    # the run has nothing new to buy
    assert len(done) == 2 + MAX_REPEATS_IN_A_ROW
    first, again = done[0], done[2]
    assert again.user_attrs["repeat"] and again.user_attrs["repeat_of"] == 0
    assert again.value == first.value and again.user_attrs["eval_seed"] == first.user_attrs["eval_seed"]
    assert again.user_attrs["arch_key"] == first.user_attrs["arch_key"]
    assert again.user_attrs["cost_s"] == 0 and again.user_attrs["train_flops"] == 0
    assert not first.user_attrs.get("repeat") and first.user_attrs["cost_s"] > 0


def test_a_cache_hit_from_another_run_is_charged(cycle_strategy, tmp_path):
    bench = _quick_live("digits-1ep-hit")
    cache = f"sqlite:///{tmp_path}/cache.db"
    runs = []
    for study in ("a", "b"):
        spec = SearchSpec(
            strategy=cycle_strategy,
            benchmark=bench.name,
            seed=0,
            study=study,
            cache=cache,
            storage=f"sqlite:///{tmp_path}/s.db",
            budget_kind="evals",
            budget=1,
        )
        runs.append(_done(run_worker(spec))[0])
    a, b = runs
    assert not a.user_attrs["cache_hit"] and b.user_attrs["cache_hit"] and not b.user_attrs.get("repeat")
    assert b.user_attrs["cost_s"] == a.user_attrs["cost_s"] > 0
    assert b.user_attrs["train_flops"] == a.user_attrs["train_flops"] > 0


def test_the_table_seed_of_an_architecture_is_fixed_by_run_seed_and_key():
    key = TWO[0].key
    seeds = (0, 1, 2)
    assert len({table_seed(seeds, 5, key) for _ in range(3)}) == 1
    assert len({table_seed(seeds, s, key) for s in range(40)}) == 3  # yet it varies across runs
    bench = get_benchmark("digits-table")
    assert bench.evaluator.seed_for(5, key) == table_seed(bench.evaluator.table.seeds, 5, key)


def test_table_seed_does_not_depend_on_the_trial_number(cycle_strategy, tmp_path):
    """The same cell met at trial 0 in one run and at trial 1 in another run of the same seed: same row."""
    seen = {}
    for order in (TWO, TWO[::-1]):
        unregister_strategy(cycle_strategy)
        register_strategy(cycle_strategy, lambda benchmark, seed=0, o=order, **kw: Cycle(o, seed))
        spec = SearchSpec(
            strategy=cycle_strategy,
            benchmark="digits-table",
            seed=11,
            cache=None,
            study=f"order{len(seen)}",
            storage=f"sqlite:///{tmp_path}/s.db",
            budget_kind="evals",
            budget=2,
        )
        for t in _done(run_worker(spec))[:2]:
            seen.setdefault(t.user_attrs["arch_key"], set()).add((t.user_attrs["eval_seed"], t.value))
    assert len(seen) == 2 and all(len(v) == 1 for v in seen.values())


# ------------------------------------------------------------------------------------------ no test signal
class Snoop(RandomDAGSampler):
    """A plug-in that reads everything a sampler can read of the study, every trial."""

    keys: typing.ClassVar[set[str]] = set()

    def before_trial(self, study, trial):
        for t in study.get_trials(deepcopy=False):
            Snoop.keys |= set(t.user_attrs) | set(t.system_attrs)
        Snoop.keys |= set(study.user_attrs) | set(study._storage.get_study_system_attrs(study._study_id))
        super().before_trial(study, trial)


def test_no_study_holds_a_test_figure(tmp_path):
    register_strategy("test-snoop", lambda benchmark, seed=0, **kw: Snoop("cnn", benchmark.nodes, seed))
    try:
        Snoop.keys = set()
        study = run_worker(
            SearchSpec(
                strategy="test-snoop",
                benchmark="digits-table",
                seed=0,
                cache=None,
                storage=f"sqlite:///{tmp_path}/s.db",
                budget_kind="evals",
                budget=8,
            )
        )
        assert Snoop.keys and "accuracy" in Snoop.keys  # it did read the trials
        assert not [k for k in Snoop.keys if "test" in k.lower()]
        stored = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{tmp_path}/s.db")
        for t in stored.trials:
            assert not [k for k in (*t.user_attrs, *t.system_attrs) if "test" in k.lower()]
    finally:
        unregister_strategy("test-snoop")


# ------------------------------------------------------------------------------------------ paired budgets
@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    out = tmp_path_factory.mktemp("paired") / "run"
    spec = CompareSpec(
        benchmark="digits-table",
        strategies=["autoshrink", "random", "evolution", "tpe"],
        seeds=list(range(6)),
        workers=1,
        out=str(out),
        budget_kind="flops",
    )
    results = run_compare(spec)
    return results, pd.read_csv(out / "trials.csv"), pd.read_csv(out / "summary.csv")


@pytest.fixture
def paired_frames(paired):
    return paired[1:]


def test_the_comparison_returns_what_it_wrote(paired):
    """The command renders what ``run_compare`` returns: the same frames and kind as the folder holds."""
    results, trials, summary = paired
    settings = json.loads((results.out / "compare.json").read_text())
    assert results.kind == RunKind.from_settings(settings) and results.kind.reference == "autoshrink"
    assert results.budget_kind == settings["settings"]["budget_kind"] == "flops"
    cols = ["strategy", "seed", "search_flops", "best_score", "final_regret"]
    pd.testing.assert_frame_equal(results.summary[cols].reset_index(drop=True), summary[cols], check_dtype=False)
    assert len(results.trials) == len(trials)


def test_paired_budget_gives_each_seed_what_autoshrink_spent_there(paired_frames):
    trials, summary = paired_frames
    ref = summary[summary.strategy == "autoshrink"].set_index("seed")
    assert (ref["search_flops"] == ref["budget"]).all()  # the setter spends exactly its own budget
    assert ref["budget"].nunique() > 1  # budgets differ by seed: paired, not one maximum for all
    for strategy in ("random", "evolution", "tpe"):
        mine = summary[summary.strategy == strategy].set_index("seed")
        assert (mine["budget"] == ref.loc[mine.index, "budget"]).all()
        for seed, row in mine.iterrows():
            run = trials[(trials.strategy == strategy) & (trials.seed == seed)].sort_values("trial")
            assert row["search_flops"] <= row["budget"] * (1 + 1e-9)  # no overshoot
            left_out = run[~run.within_budget & ~run.repeat]
            if len(left_out):  # the run stopped at the first trial that did not fit: within one trial's cost
                assert row["budget"] - row["search_flops"] < left_out.iloc[0]["train_flops"]


def test_no_trial_counts_past_the_limit(paired_frames):
    trials, _ = paired_frames
    inside = trials[trials.within_budget]
    assert (inside["cum_train_flops"] <= inside["budget"] * (1 + 1e-9)).all()
    # the flag is a prefix of each run: nothing after the first trial that did not fit counts
    for _, run in trials.groupby(["strategy", "seed"]):
        flags = run.sort_values("trial")["within_budget"].tolist()
        assert flags == sorted(flags, reverse=True)


def test_fixed_budget_autoshrink_restarts_until_the_budget_is_spent(tmp_path):
    budget = 40.0
    study = run_worker(
        SearchSpec(
            strategy="autoshrink-restarts",
            benchmark="digits-table",
            seed=0,
            cache=None,
            storage=f"sqlite:///{tmp_path}/s.db",
            budget_kind="evals",
            budget=budget,
            k=2,
        )
    )
    done = _done(study)
    charged = sum(not t.user_attrs.get("repeat") for t in done)
    assert charged == budget
    restarts = {t.user_attrs["restart"] for t in done}
    assert len(restarts) >= 2 and min(restarts) == 0
    plain = run_worker(
        SearchSpec(
            strategy="autoshrink",
            benchmark="digits-table",
            seed=0,
            cache=None,
            k=2,
            storage=f"sqlite:///{tmp_path}/p.db",
        )
    )
    first_run = [t for t in done if t.user_attrs["restart"] == 0]
    assert [t.user_attrs["arch_key"] for t in first_run] == [t.user_attrs["arch_key"] for t in _done(plain)]


def test_a_strategy_with_nothing_new_to_buy_stops(tmp_path, cycle_strategy):
    study = run_worker(
        SearchSpec(
            strategy=cycle_strategy,
            benchmark="digits-table",
            seed=0,
            cache=None,
            storage=f"sqlite:///{tmp_path}/s.db",
            budget_kind="evals",
            budget=100,
        )
    )
    done = _done(study)
    assert sum(not t.user_attrs.get("repeat") for t in done) == 2
    assert all(t.user_attrs.get("repeat") for t in done[-MAX_REPEATS_IN_A_ROW:])


def test_power_simulation_matches_normal_theory():
    from scipy import stats as st

    from nasbench_shrink.analysis.stats import detectable_a12, wilcoxon_pvalues

    rng = np.random.default_rng(3)
    d = np.round(rng.normal(0.3, 1, (40, 30)), 1)
    d[:, :4] = 0
    ours = wilcoxon_pvalues(d)
    ref = [st.wilcoxon(r, zero_method="wilcox", method="approx", correction=False).pvalue for r in d]
    assert np.allclose(ours, ref)
    # continuous values: A12 = Φ(δ/√2) and the paired test needs about 128 seeds for A12 = 0.60 (α = 0.05)
    values = rng.normal(size=5000)
    assert abs(detectable_a12(values, 128) - 0.60) < 0.015
    assert detectable_a12(values, 25) > detectable_a12(values, 100) > 0.55
    assert math.isnan(detectable_a12([1.0, 1.0, 1.0], 25))

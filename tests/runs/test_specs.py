"""The run specs: resolved once at their entry, immutable, and travelling to a worker as names only."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.runs.compare_spec import CompareSpec
from nasbench_shrink.runs.search import (
    InMemoryRun,
    SearchSpec,
    SimulatedClockRun,
    StoredRun,
    executor_for,
)


def test_a_compare_spec_is_immutable_and_changes_make_another():
    bench = resolve_benchmark("digits-table").with_options(k=3)
    spec = CompareSpec(benchmark=bench, strategies=["autoshrink", "random"], seeds=[0, 1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.cache = "sqlite:///elsewhere.db"  # type: ignore[misc]
    moved = spec.with_changes(cache="sqlite:///elsewhere.db")
    assert spec.cache is None and moved.cache == "sqlite:///elsewhere.db"
    assert moved.bench is bench and moved.bench.k == 3  # the object is kept, not looked up again by name
    assert moved.plans.keys() == spec.plans.keys()
    payload = spec.payload()  # names only: what a worker process gets
    assert payload["benchmark"] == "digits-table" and payload["strategies"] == ["autoshrink", "random"]
    assert CompareSpec(**payload) == spec  # the same comparison, resolved again there


def test_a_search_spec_is_immutable_and_pickles_for_a_worker():
    spec = SearchSpec(strategy="random", benchmark="digits-table", seed=3, storage="")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 4  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(spec))
    assert back == spec and back.plan.name == "random" and back.bench.name == "digits-table"


def test_the_executor_follows_the_runs_traits():
    assert isinstance(executor_for(SearchSpec(strategy="random", benchmark="digits-table")), InMemoryRun)
    assert isinstance(
        executor_for(SearchSpec(strategy="random", benchmark="digits-table", workers_sim=4)), SimulatedClockRun
    )
    assert isinstance(executor_for(SearchSpec(strategy="random", benchmark="digits")), StoredRun)

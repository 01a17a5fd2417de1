"""Batch writes and reads of trials equal Optuna's own per-trial path; table searches run in memory and store
exactly what a stored run would."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.storage.trials import finished_counts, read_trials, trials_by_name, write_trials
from nasbench_shrink.tables.table import TableLookup


def _source_trials() -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(t: optuna.Trial) -> float:
        x = t.suggest_float("x", -1, 1)
        t.suggest_categorical("c", ["a", "b", None])
        t.suggest_int("i", 1, 9, log=True)
        t.set_user_attr("cell", {"edges": [[0, 1]], "ops": ["input", "conv1x1"]})
        t.set_user_attr("none", None)
        t.report(0.5, 0)
        t.report(float("inf"), 1)
        if t.number == 3:
            raise optuna.TrialPruned()
        return float("-inf") if t.number == 4 else x

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=10)
    return study.trials


def _plain(t: optuna.trial.FrozenTrial) -> dict:
    d = dict(vars(t))
    d.pop("_trial_id")
    return d


def test_batch_write_and_read_equal_optunas_per_trial_path(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    storage = optuna.storages.RDBStorage(url)
    a = optuna.create_study(storage=storage, study_name="a", direction="maximize")
    b = optuna.create_study(storage=storage, study_name="b", direction="maximize")
    src = _source_trials()
    for t in src:
        storage.create_new_trial(a._study_id, template_trial=t)
    write_trials(storage, b._study_id, src[:4])
    write_trials(storage, b._study_id, src[4:])  # appending continues the numbering
    slow = [_plain(t) for t in storage.get_all_trials(a._study_id)]
    assert [_plain(t) for t in storage.get_all_trials(b._study_id)] == slow
    fast = read_trials(storage, [a._study_id, b._study_id])
    assert [_plain(t) for t in fast[a._study_id]] == slow and [_plain(t) for t in fast[b._study_id]] == slow
    done = trials_by_name(storage, ["b", "missing"], states=(TrialState.COMPLETE,))
    assert [t.number for t in done["b"]] == [t.number for t in src if t.state == TrialState.COMPLETE]
    assert done["missing"] == []


def test_table_search_in_memory_stores_what_a_stored_run_would(tmp_path, monkeypatch):
    def run(name: str):
        spec = SearchSpec(
            strategy="autoshrink",
            benchmark="digits-table",
            seed=3,
            study=name,
            cache=None,
            storage=f"sqlite:///{tmp_path / 'studies.db'}",
        )
        run_worker(spec)
        st = optuna.load_study(study_name=name, storage=spec.storage)
        return [(t.number, t.state, t.value, t.params, t.user_attrs) for t in st.trials]

    fast = run("fast")
    monkeypatch.setattr(TableLookup, "instant", False)
    slow = run("slow")
    assert len(fast) > 5 and fast == slow


def test_a_table_run_rerun_keeps_its_stored_trials(tmp_path):
    spec = SearchSpec(
        strategy="random",
        benchmark="digits-table",
        seed=1,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=None,
        budget_kind="evals",
        budget=5,
    )
    first = [(t.number, t.params) for t in run_worker(spec).trials]
    assert len(first) == 5
    assert [(t.number, t.params) for t in run_worker(spec).trials] == first  # spent: nothing added, nothing lost


def test_finished_counts_equal_what_the_public_api_reads(tmp_path):
    source = _source_trials()  # 10 trials: one pruned, one at -inf
    for storage in (f"sqlite:///{tmp_path / 'c.db'}", optuna.storages.InMemoryStorage()):
        a = optuna.create_study(storage=storage, study_name="a", direction="maximize")
        write_trials(a._storage, a._study_id, source)
        optuna.create_study(storage=storage, study_name="empty", direction="maximize")
        counts = finished_counts(a._storage)
        done = [t for t in a.get_trials() if t.state == TrialState.COMPLETE]
        assert counts == {"a": (len(done), max(t.value for t in done))}  # a study with no finished trial: absent
        assert counts["a"][0] == 9

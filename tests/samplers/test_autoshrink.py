"""AutoShrink as an Optuna sampler: its trajectory, candidate claims, crash recovery and many workers."""

import signal
import subprocess
import sys
import time

import optuna
import pytest
from helpers import check_trajectory, fake_objective, trajectory_from_storage
from optuna.trial import TrialState

from nasbench_shrink.runs.search import SearchSpec, run_search
from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _fake_run(seed=0, nodes=6, k=4, storage=None):
    sampler = AutoShrinkSampler("cnn", nodes=nodes, k=k, seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
    study.optimize(fake_objective("cnn", nodes), n_trials=500)
    return study


def _signature(study):
    """The trajectory: per step, its parent and its candidates' (edge, value), sorted by edge (not in the trials'
    order: a candidate whose trial was killed is tried again after the step's other candidates)."""
    return [
        (s["parent"].key, sorted((c["edge"], round(c["value"], 9)) for c in s["candidates"]))
        for s in trajectory_from_storage(study)
    ]


def test_algorithm_rules_on_a_synthetic_objective():
    study = _fake_run(nodes=7, k=5)
    steps = check_trajectory(study, k=5)
    assert len(steps) >= 3
    assert study.trials[-1].state in (TrialState.COMPLETE, TrialState.PRUNED)  # the study stopped itself


def test_same_seed_same_trajectory_and_other_seed_differs():
    assert _signature(_fake_run(seed=3)) == _signature(_fake_run(seed=3))
    assert _signature(_fake_run(seed=3)) != _signature(_fake_run(seed=4))


def test_resume_from_storage_in_a_new_sampler(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    ref = _signature(_fake_run(seed=1))
    sampler = AutoShrinkSampler("cnn", nodes=6, k=4, seed=1)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=url, study_name="s")
    study.optimize(fake_objective("cnn", 6), n_trials=5)  # interrupted after 5 trials
    again = optuna.load_study(study_name="s", storage=url, sampler=AutoShrinkSampler("cnn", nodes=6, k=4, seed=1))
    again.optimize(fake_objective("cnn", 6), n_trials=500)
    assert _signature(again) == ref


def test_failed_candidates_count_as_worst_and_never_hang():
    calls = {"n": 0}
    base = fake_objective("cnn", 5)

    def flaky(trial):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("boom")
        return base(trial)

    study = optuna.create_study(direction="maximize", sampler=AutoShrinkSampler("cnn", nodes=5, k=3, seed=0))
    study.optimize(flaky, n_trials=300, catch=(RuntimeError,))
    assert any(t.state == TrialState.FAIL for t in study.trials)
    assert AutoShrinkSampler("cnn", nodes=5, k=3, seed=0).trajectory(study).done


def test_params_outside_the_space_use_a_seeded_fallback():
    def objective(trial):
        base = fake_objective("cnn", 4)(trial)
        return base + 0 * trial.suggest_float("lr", 1e-4, 1e-1, log=True)

    def lrs(seed):
        s = optuna.create_study(direction="maximize", sampler=AutoShrinkSampler("cnn", nodes=4, k=2, seed=seed))
        s.optimize(objective, n_trials=50)
        return [t.params["lr"] for t in s.trials if "lr" in t.params]

    assert lrs(0) == lrs(0) and len(lrs(0)) > 2 and lrs(0) != lrs(1)


def test_autoshrink_on_digits_to_completion(tmp_path):
    spec = SearchSpec(
        strategy="autoshrink",
        benchmark="digits",
        seed=0,
        nodes=4,
        k=3,
        storage=f"sqlite:///{tmp_path / 'studies.db'}",
        cache=f"sqlite:///{tmp_path / 'cache.db'}",
    )
    study = run_search(spec)
    check_trajectory(study, k=3)
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        for key in (
            "score",
            "accuracy",
            "macs",
            "params",
            "cost_s",
            "train_flops",
            "cache_hit",
            "arch_key",
            "edges",
            "cell",
            "step",
            "removed_edge",
            "parent_key",
        ):
            assert key in t.user_attrs, key


def _cli(args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "nasbench_shrink.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.mark.slow
def test_kill_9_mid_step_then_rerun_gives_the_same_trajectory(tmp_path):
    common = ["search", "-s", "autoshrink", "-b", "digits", "--nodes", "4", "--k", "3", "--heartbeat", "1", "--json"]
    ref = _cli(
        common + ["--storage", f"sqlite:///{tmp_path / 'ref.db'}", "--cache", f"sqlite:///{tmp_path / 'ref-cache.db'}"]
    )
    assert ref.wait(300) == 0, ref.stderr.read()
    ref_study = optuna.load_study(study_name="digits/autoshrink/seed0", storage=f"sqlite:///{tmp_path / 'ref.db'}")

    url = f"sqlite:///{tmp_path / 'run.db'}"
    cache = f"sqlite:///{tmp_path / 'cache.db'}"
    proc = _cli(common + ["--storage", url, "--cache", cache])
    deadline = time.time() + 240
    before = []
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            st = optuna.load_study(study_name="digits/autoshrink/seed0", storage=url)
            before = [(t.number, t.value) for t in st.get_trials(states=(TrialState.COMPLETE,))]
        except Exception:
            continue
        if len(before) >= 2:
            break
    assert len(before) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = _cli(common + ["--storage", url, "--cache", cache])
    assert again.wait(300) == 0, again.stderr.read()
    study = optuna.load_study(study_name="digits/autoshrink/seed0", storage=url)
    check_trajectory(study, k=3)
    assert _signature(study) == _signature(ref_study)
    after = {t.number: t.value for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert all(after.get(n) == v for n, v in before)  # no finished trial lost
    misses = [
        t.user_attrs["arch_key"]
        for t in study.get_trials(states=(TrialState.COMPLETE,))
        if not t.user_attrs["cache_hit"] and not t.user_attrs.get("repeat")
    ]
    assert len(misses) == len(set(misses))  # no architecture trained twice


@pytest.mark.slow
def test_four_workers_on_postgresql(fresh_db):
    spec = SearchSpec(
        strategy="autoshrink",
        benchmark="digits",
        seed=0,
        nodes=4,
        k=3,
        storage=fresh_db,
        study="pg",
        cache=fresh_db,
        heartbeat=2,
    )
    study = run_search(spec, workers=4)
    check_trajectory(study, k=3)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    misses = [
        t.user_attrs["arch_key"] for t in done if not t.user_attrs["cache_hit"] and not t.user_attrs.get("repeat")
    ]
    assert len(misses) == len(set(misses))  # no architecture trained twice across the four workers


@pytest.mark.slow
def test_one_and_two_workers_give_the_same_trajectory(tmp_path):
    """digits trains with a fixed thread count, so the worker count cannot change a score's low-order bits."""
    sigs = []
    for workers in (1, 2):
        spec = SearchSpec(
            strategy="autoshrink",
            benchmark="digits",
            seed=2,
            nodes=4,
            k=3,
            storage=f"sqlite:///{tmp_path / f'w{workers}.db'}",
            cache=f"sqlite:///{tmp_path / f'c{workers}.db'}",
            heartbeat=2,
        )
        study = run_search(spec, workers=workers)
        check_trajectory(study, k=3)
        sigs.append(_signature(study))
    assert sigs[0] == sigs[1]


def test_stale_claims_of_a_deleted_study_do_not_block_a_new_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'reuse.db'}"
    first = optuna.create_study(
        direction="maximize", storage=url, study_name="a", sampler=AutoShrinkSampler("cnn", nodes=4, k=2, seed=0)
    )
    first.optimize(fake_objective("cnn", 4), n_trials=3)
    optuna.delete_study(study_name="a", storage=url)
    again = optuna.create_study(
        direction="maximize", storage=url, study_name="b", sampler=AutoShrinkSampler("cnn", nodes=4, k=2, seed=0)
    )
    assert again._study_id == first._study_id  # SQLite reuses the id: the old claim rows are still there
    again.optimize(fake_objective("cnn", 4), n_trials=100)
    check_trajectory(again, k=2)


def test_in_memory_threads_claim_each_candidate_once_and_journal_storage_is_refused(tmp_path):
    import optuna
    from helpers import fake_objective

    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run(n_jobs: int):
        sampler = AutoShrinkSampler("cnn", 5, k=3, seed=1, poll_interval=0.01)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(fake_objective("cnn", 5), n_jobs=n_jobs, n_trials=60)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        claims = [tuple(t.system_attrs["autoshrink:claim"]) for t in done]
        steps = [(s.index, s.chosen.edge) for s in sampler.trajectory(study).steps if s.chosen is not None]
        return claims, steps

    claims, steps = run(3)
    assert len(claims) == len(set(claims))  # no candidate evaluated twice by concurrent threads
    assert steps == run(1)[1]
    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log")))
    study = optuna.create_study(storage=journal, direction="maximize", sampler=AutoShrinkSampler("cnn", 3, k=2, seed=0))
    with pytest.raises(ValueError, match="cannot claim candidates atomically on a JournalStorage"):
        study.ask()


def test_one_sampler_reused_across_studies_replays_each_from_its_own_trials():
    """The sampler remembers decided steps per study; a new study (even at a recycled address) starts afresh."""
    import gc

    import optuna
    from helpers import fake_objective

    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = AutoShrinkSampler("cnn", 4, k=2, seed=0)
    runs = []
    for _ in range(3):
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(fake_objective("cnn", 4), n_trials=40)
        runs.append([t.params for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
        del study
        gc.collect()
    assert runs[0] and runs[1] == runs[0] and runs[2] == runs[0]

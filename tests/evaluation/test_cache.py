import multiprocessing as mp
import time

import pytest
import sqlalchemy as sa

from nasbench_shrink import evaluate
from nasbench_shrink.errors import CacheError
from nasbench_shrink.evaluation.cache import SCHEMA_VERSION, EvaluationCache, cache_key, meta_table
from search_spaces import Cell

CELL = Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"])
RELABELLED = Cell("cnn", 4, [(0, 2), (2, 3)], ["input", "sep3x3", "conv1x1", "sep3x3"])


def test_hit_returns_the_original_record_and_cost(tmp_path):
    cache = EvaluationCache(f"sqlite:///{tmp_path / 'c.db'}")
    first = evaluate(CELL, "digits", seed=0, cache=cache)
    assert not first.cache_hit and len(cache) == 1
    hit = evaluate(RELABELLED, "digits", seed=0, cache=cache)  # isomorphic after pruning: same architecture
    assert hit.cache_hit and hit.cost_s == first.cost_s and hit.train_flops == first.train_flops
    assert hit.accuracy == first.accuracy and hit.cell == RELABELLED.to_dict()
    assert evaluate(CELL, "digits", seed=1, cache=cache).cache_hit is False  # the seed is part of the key
    assert len(cache) == 2
    # lambda is not part of the fidelity: a re-scored hit
    rescored = evaluate(CELL, "digits", seed=0, cache=cache, lam=0.0)
    assert rescored.cache_hit and rescored.score == pytest.approx(rescored.accuracy)


def _insert_many(url, start, n_keys, out):
    cache = EvaluationCache(url)
    start.wait()
    won = 0
    for k in range(n_keys):
        won += cache.put(cache_key(f"arch{k}", "fid", 0), f"arch{k}", "fid", 0, {"who": mp.current_process().name})
    out.put(won)


def _race(url, procs=2, n_keys=50):
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    ps = [ctx.Process(target=_insert_many, args=(url, start, n_keys, out)) for _ in range(procs)]
    for p in ps:
        p.start()
    time.sleep(1.5)
    start.set()
    for p in ps:
        p.join(120)
    assert all(p.exitcode == 0 for p in ps)
    return sum(out.get(timeout=5) for _ in ps)


def test_two_processes_inserting_the_same_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    assert _race(url) == 50  # each key won exactly once, no error in either process
    assert len(EvaluationCache(url)) == 50


def test_incompatible_cache_is_detected(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cache = EvaluationCache(url)
    with cache.engine.begin() as conn:
        conn.execute(sa.update(meta_table).values(value="0"))
    with pytest.raises(CacheError, match=f"incompatible version.*{SCHEMA_VERSION}"):
        EvaluationCache(url)


def test_unwritable_cache_path_is_a_cache_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    target = "/proc/no/such/dir/cache.db"
    with pytest.raises(CacheError, match="not writable"):
        EvaluationCache(f"sqlite:///{target}")
    with pytest.raises(CacheError, match="cannot open"):
        EvaluationCache("postgresql+psycopg2://nobody@127.0.0.1:1/none")


def test_postgresql_cache(pg_url):
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS nbs_evaluations, nbs_meta"))
    cache = EvaluationCache(pg_url)
    rec = evaluate(CELL, "digits", seed=0, cache=cache)
    again = evaluate(RELABELLED, "digits", seed=0, cache=cache)
    assert again.cache_hit and again.cost_s == rec.cost_s
    assert _race(pg_url, procs=2, n_keys=30) == 30
    assert len(cache) == 31


def test_opening_a_cache_never_opens_the_database_file(tmp_path, monkeypatch):
    """Closing any descriptor of an SQLite file drops the process's locks on it; the path check must not open it."""
    import builtins

    db = tmp_path / "c.db"
    url = f"sqlite:///{db}"
    EvaluationCache(url)  # creates the file
    real_open = builtins.open

    def guarded(file, *a, **k):
        assert str(file) != str(db), "the database file was opened outside SQLite"
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", guarded)
    EvaluationCache(url)._check_sqlite_path(url)

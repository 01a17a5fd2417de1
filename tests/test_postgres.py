"""Many processes, one PostgreSQL database, as on many machines: plain URLs, starting together."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_db(pg_url):
    """A new empty database per test, reached through a plain postgresql:// URL (SQLAlchemy's default driver)."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"nbs_{os.getpid()}_{time.time_ns()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = sa.engine.make_url(pg_url)
    yield f"postgresql://{base.username}@{base.host}:{base.port}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_four_processes_start_together_on_a_fresh_database(fresh_db):
    procs = [subprocess.Popen([sys.executable, "-m", "nasbench_shrink.cli", "search", "-s", "random", "--nodes", "3",
                               "--budget-evals", "2", "--seed", str(i), "--storage", fresh_db, "--cache", fresh_db,
                               "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    for i in range(4):
        study = optuna.load_study(study_name=f"digits/random/seed{i}", storage=fresh_db)
        assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 2


def test_negative_lambda_and_multi_objective_are_refused(tmp_path):
    from nasbench_shrink.autoshrink import AutoShrinkSampler
    from nasbench_shrink.errors import UserError
    from nasbench_shrink.search import SearchSpec, prepare

    with pytest.raises(UserError, match="--lam must be >= 0"):
        prepare(SearchSpec(strategy="complete", lam=-0.1, storage=f"sqlite:///{tmp_path / 's.db'}"))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=AutoShrinkSampler("cnn", 3, 2))
    with pytest.raises(ValueError, match="single-objective"):
        study.ask()

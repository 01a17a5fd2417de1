"""Shared fixtures. Tests that need ../shared/data or PostgreSQL skip with a reason when they are absent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("NASBENCH_SHRINK_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_user_cache(tmp_path_factory, monkeypatch):
    # decoded-image cache shared by the whole session, never the user's real one
    monkeypatch.setenv("NASBENCH_SHRINK_CACHE", str(tmp_path_factory.getbasetemp() / "user-cache"))
    monkeypatch.setenv("NASBENCH_SHRINK_THREADS", "1")


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "cifar10-jpeg.tar.gz").is_file():
        pytest.skip(f"needs the shared data folder at {SHARED_DATA} (cifar10-jpeg.tar.gz)")
    return SHARED_DATA


def pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> str:
    if not pg_available():
        pytest.skip(f"needs PostgreSQL at {PG_URL} (set NASBENCH_SHRINK_TEST_PG)")
    return PG_URL


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

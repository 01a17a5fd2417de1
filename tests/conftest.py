"""Shared fixtures. Tests that need ../shared/data or PostgreSQL skip with a reason when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
        import sqlalchemy as sa

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

"""Creating database tables when several processes start at once.

Processes that start together on a fresh PostgreSQL database race to create Optuna's (and the cache's) tables,
and PostgreSQL reports the loser's ``CREATE TABLE`` as a duplicate type. Table creation therefore runs under a
session-level advisory lock: the first process creates, the others wait and then find the tables there.
Other databases need no lock (SQLite serialises writers itself).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

__all__ = ["schema_lock"]

_LOCK_ID = 0x6E6273  # "nbs": one lock for all of this project's table creation


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the body creates tables (a no-op on other databases)."""
    if not url.startswith("postgres"):
        yield
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
    finally:
        engine.dispose()

"""The evaluation cache: one SQLAlchemy table at any database URL (SQLite by default, PostgreSQL for many workers).

Key = canonical architecture key + fidelity key + seed. A hit returns the stored record, original cost included.
Concurrent inserts of one key are safe: ``INSERT ... ON CONFLICT DO NOTHING`` lets one row win without an error.
A schema-version row guards against mixing records written by an incompatible version.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from nasbench_shrink.errors import CacheError, check_sqlite_url
from nasbench_shrink.storage.locks import schema_lock

# bump when keys or records change meaning (3: networkx >= 3.5 WL hashes; 4: the official search network and
# estimator, EvalRecord v2 — records of the earlier network must never answer for the new one)
SCHEMA_VERSION = "4"

_metadata = sa.MetaData()
meta_table = sa.Table(
    "nbs_meta",
    _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)
eval_table = sa.Table(
    "nbs_evaluations",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("arch_key", sa.String(64), nullable=False, index=True),
    sa.Column("fidelity", sa.String(128), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)


def cache_key(arch_key: str, fidelity: str, seed: int) -> str:
    return hashlib.sha1(f"{arch_key}|{fidelity}|{seed}".encode()).hexdigest()


def _insert_ignore(engine: sa.Engine, table: sa.Table, row: dict) -> bool:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # generic fallback: plain insert, conflicts ignored below
        insert = None
    with engine.begin() as conn:
        if insert is None:
            try:
                conn.execute(table.insert().values(**row))
                return True
            except IntegrityError:
                return False
        # RETURNING, not rowcount: psycopg 3 reports -1 rows for INSERT ... ON CONFLICT DO NOTHING
        res = conn.execute(insert(table).values(**row).on_conflict_do_nothing().returning(*table.primary_key.columns))
        return res.first() is not None


class EvaluationCache:
    """Stored proxy/final evaluation records, shared by every process that opens the same URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._check_sqlite_path(url)
        try:
            kwargs: dict[str, Any] = {}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 60}
            self.engine = sa.create_engine(url, **kwargs)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self._init_schema()
        except CacheError:
            raise
        except (SQLAlchemyError, OSError, ValueError) as exc:
            raise CacheError(
                f"cannot open evaluation cache {url} ({_short(exc)}); pass a reachable, writable "
                "--cache URL or --no-cache"
            ) from None

    @staticmethod
    def _check_sqlite_path(url: str) -> None:
        check_sqlite_url(url, "cache file", "--cache URL or --no-cache", CacheError)

    def _init_schema(self) -> None:
        for attempt in range(5):  # several processes may create the tables at once
            try:
                with schema_lock(self.url):
                    _metadata.create_all(self.engine, checkfirst=True)
                break
            except (OperationalError, IntegrityError, sa.exc.ProgrammingError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        _insert_ignore(self.engine, meta_table, {"name": "schema", "value": SCHEMA_VERSION})
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.name == "schema")).scalar()
        if found != SCHEMA_VERSION:
            raise CacheError(
                f"evaluation cache {self.url} was written by an incompatible version (schema {found}, "
                f"this version uses {SCHEMA_VERSION}); pass a new --cache URL or delete that cache"
            )

    def get(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(eval_table.c.record).where(eval_table.c.key == key)).scalar()
        return None if row is None else json.loads(row)

    def put(self, key: str, arch_key: str, fidelity: str, seed: int, record: dict) -> bool:
        """Store ``record`` under ``key``; returns False when another writer stored that key first."""
        try:
            return _insert_ignore(
                self.engine,
                eval_table,
                {
                    "key": key,
                    "arch_key": arch_key,
                    "fidelity": fidelity,
                    "seed": seed,
                    "record": json.dumps(record),
                    "created": time.time(),
                },
            )
        except SQLAlchemyError as exc:
            raise CacheError(f"cannot write to evaluation cache {self.url} ({_short(exc)})") from None

    def keys(self, fidelity: str) -> set[str]:
        """The keys stored under one fidelity (what a resumed tabulation skips)."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(eval_table.c.key).where(eval_table.c.fidelity == fidelity)).scalars())

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(eval_table)).scalar())

    def close(self) -> None:
        self.engine.dispose()


_OPEN: dict[str, EvaluationCache] = {}


def open_cache(url: str) -> EvaluationCache:
    """One ``EvaluationCache`` per URL per process (one engine and connection pool, reused across runs)."""
    cache = _OPEN.get(url)
    if cache is None:
        cache = _OPEN[url] = EvaluationCache(url)
    return cache


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__

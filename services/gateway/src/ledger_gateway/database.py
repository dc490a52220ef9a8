"""The gateway's database: an engine per URL and its alembic migrations.

Same LEDGER_DATABASE_URL as the other services (SQLite by default, PostgreSQL in
production), opened by ledger_readmodel like theirs (an unwritable SQLite path is named
up front); the gateway keeps its own alembic version table so migrations of different
services never step on each other.

Unlike the projector and the notifier, the gateway leaves SQLite's journal mode and
transactions to sqlite3 (``immediate=False``), enforces foreign keys, and sizes a larger
PostgreSQL pool for concurrent HTTP requests; engines are cached per URL because request
handlers look them up by the settings' URL.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from ledger_readmodel import migrations
from ledger_readmodel.engine import DatabaseUnwritable, make_engine, sync_url
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

__all__ = ["DatabaseUnwritable", "MIGRATIONS", "VERSION_TABLE", "alembic_config", "engine_for", "migrate",
           "normalise_url", "writing"]

VERSION_TABLE = "alembic_version_gateway"
MIGRATIONS = Path(__file__).with_name("migrations")
normalise_url = sync_url  # the gateway's older name: psycopg 3 for postgresql://, sqlite3 for SQLite
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()
LOCK_WAIT_SECONDS = 30.0  # as long as sqlite3's busy timeout on these connections, then "database is locked"


def engine_for(url: str) -> Engine:
    url = sync_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url, immediate=False, foreign_keys=True, pool_size=10, max_overflow=20)
            _engines[url] = engine
        return engine


def alembic_config(url: str) -> Config:
    return migrations.alembic_config(MIGRATIONS, VERSION_TABLE, sync_url(url))


def migrate(url: str) -> Engine:
    """Bring the gateway's tables to the newest revision (idempotent; cheap after the first call)."""
    engine = engine_for(url)
    key = sync_url(url)
    if key in _migrated:
        return engine
    with engine.begin() as conn:  # the migrations run inside this transaction
        migrations.upgrade(conn, MIGRATIONS, VERSION_TABLE)
    _migrated.add(key)
    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that, on SQLite, takes the write lock first and waits for it in short steps.

    The file is shared with the projector and the notifier, whose transactions hold the lock a few
    milliseconds at a time. sqlite3's own busy wait sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries,
    so a request that met the lock slept well past its release: the tail of every keyed POST /v1/facts
    (two such transactions) was these sleeps. Here ``BEGIN IMMEDIATE`` is tried without the busy wait
    and retried after 0.5–2 ms, up to the same 30 s; nothing has been done when it fails, and the
    request then answers 503. PostgreSQL: a plain transaction.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
                    time.sleep(random.uniform(0.0005, 0.002))
        finally:
            raw.execute("PRAGMA busy_timeout=30000")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            if raw.in_transaction:
                raw.rollback()
            raise
        conn.commit()
        if raw.in_transaction:  # nothing was executed through SQLAlchemy: end our BEGIN ourselves
            raw.commit()

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

import threading
from pathlib import Path

from alembic.config import Config
from ledger_readmodel import migrations
from ledger_readmodel.engine import DatabaseUnwritable, make_engine, sync_url, writing
from sqlalchemy import Engine

__all__ = ["DatabaseUnwritable", "MIGRATIONS", "VERSION_TABLE", "alembic_config", "engine_for", "migrate",
           "normalise_url", "writing"]

VERSION_TABLE = "alembic_version_gateway"
MIGRATIONS = Path(__file__).with_name("migrations")
normalise_url = sync_url  # the gateway's older name: psycopg 3 for postgresql://, sqlite3 for SQLite
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


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


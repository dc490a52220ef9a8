"""The read-model database: one synchronous engine per process, migrated by alembic.

The projector does its database work in a worker thread (``asyncio.to_thread``) with a
plain DB-API driver (sqlite3, psycopg): bulk ``executemany`` is fastest there, and the
event loop stays free for NATS. How the engine is opened (SQLite in WAL mode with
``BEGIN IMMEDIATE``, a fail-fast error naming an unwritable path) is ledger_readmodel's,
shared with the notifier and the gateway; this module names the projector's migrations.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from ledger_readmodel import migrations
from ledger_readmodel.engine import DatabaseUnwritable, check_sqlite_path, make_engine, sqlite_path, sync_url
from sqlalchemy.engine import Engine

__all__ = ["DatabaseUnwritable", "MIGRATIONS", "VERSION_TABLE", "alembic_config", "check_sqlite_path",
           "make_engine", "migrate", "sqlite_path", "sync_url"]

VERSION_TABLE = "alembic_version_projector"
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    return migrations.alembic_config(MIGRATIONS, VERSION_TABLE, engine)


def migrate(engine: Engine) -> None:
    """Bring the projector's tables to the newest revision (its own alembic version table).

    On PostgreSQL under an advisory lock: W partitioned workers start together, and two upgrades at once
    would both try to create the same tables (on SQLite ``BEGIN IMMEDIATE`` already serialises them)."""
    if engine.dialect.name != "postgresql":
        migrations.upgrade(engine, MIGRATIONS, VERSION_TABLE)
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(hashtext(%(name)s))", {"name": VERSION_TABLE})
        try:
            migrations.upgrade(conn, MIGRATIONS, VERSION_TABLE)
            conn.commit()
        finally:
            conn.rollback()
            conn.exec_driver_sql("SELECT pg_advisory_unlock(hashtext(%(name)s))", {"name": VERSION_TABLE})
            conn.commit()

"""The notifier's database: one synchronous engine per process, migrated by alembic.

Database work runs in a worker thread (``asyncio.to_thread``) with a plain DB-API
driver, as in the projector, so the event loop stays free for NATS and HTTP. The engine
is ledger_readmodel's (SQLite in WAL mode with ``BEGIN IMMEDIATE``, so the projector,
the gateway and the notifier can share one file; an unwritable path is named up front).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from ledger_readmodel import migrations
from ledger_readmodel.engine import DatabaseUnwritable, make_engine, sync_url
from sqlalchemy.engine import Engine

__all__ = ["DatabaseUnwritable", "MIGRATIONS", "VERSION_TABLE", "alembic_config", "make_engine", "migrate", "sync_url"]

VERSION_TABLE = "alembic_version_notifier"
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    return migrations.alembic_config(MIGRATIONS, VERSION_TABLE, engine)


def migrate(engine: Engine) -> None:
    """Bring the notifier's tables to the newest revision (its own alembic version table)."""
    migrations.upgrade(engine, MIGRATIONS, VERSION_TABLE)

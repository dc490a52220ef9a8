"""Alembic environment for the notifier's tables only (version table alembic_version_notifier)."""

from ledger_notifier import tables
from ledger_notifier.database import VERSION_TABLE
from ledger_readmodel.migrations import run_environment
from sqlmodel import SQLModel

run_environment(VERSION_TABLE, SQLModel.metadata, table_prefix=tables.PREFIX)

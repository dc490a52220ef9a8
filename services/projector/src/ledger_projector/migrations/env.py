"""Alembic environment for the projector's tables only (version table alembic_version_projector)."""

from ledger_projector import tables
from ledger_projector.database import VERSION_TABLE
from ledger_readmodel.migrations import run_environment
from sqlmodel import SQLModel

run_environment(VERSION_TABLE, SQLModel.metadata, table_prefix=tables.PREFIX)

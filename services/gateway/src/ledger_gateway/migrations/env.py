"""Alembic environment of the gateway (version table ``alembic_version_gateway``; hand-written revisions)."""

from ledger_gateway.database import VERSION_TABLE
from ledger_readmodel.migrations import run_environment

run_environment(VERSION_TABLE)

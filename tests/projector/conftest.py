"""Projector fixtures: a mounted projector on the session's nats-server with SQLite or PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from ledger_kernel.runtime import Mounted
from ledger_kernel.store import LedgerStore
from ledger_projector.service import ProjectorService

from projector.ledger_facts import DirectRecorder


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url(postgres_url: str) -> Any:
    """A PostgreSQL schema of the test's own (dropped afterwards)."""
    from ledger_projector.database import sync_url

    schema = "projector_" + secrets.token_hex(4)
    engine = sa.create_engine(sync_url(postgres_url))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield schema_url(postgres_url, schema)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


class ReadModels:
    """Fresh, empty read-model databases of one kind for one test: SQLite files in its directory, or
    PostgreSQL schemas of its own (each dropped afterwards), so a clean rebuild never shares tables
    with the model it is compared with."""

    def __init__(self, kind: str, tmp_path: Path, postgres_url: str | None = None) -> None:
        self.kind, self.tmp_path, self.postgres_url = kind, tmp_path, postgres_url
        self.schemas: list[str] = []
        self._admin: sa.Engine | None = None

    def fresh(self, name: str) -> str:
        """The URL of a new, empty database called ``name`` (unique within the test)."""
        if self.kind == "sqlite":
            path = self.tmp_path / f"{name}.db"
            assert not path.exists(), path
            return f"sqlite:///{path}"
        from ledger_projector.database import sync_url

        assert self.postgres_url is not None
        if self._admin is None:
            self._admin = sa.create_engine(sync_url(self.postgres_url))
        schema = f"projector_{name}_{secrets.token_hex(4)}"
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        return schema_url(self.postgres_url, schema)

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.begin() as conn:
            # a SIGKILLed projector's backend may hold locks for a moment; wait for it, not forever
            conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            for schema in self.schemas:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self._admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def read_models(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModels]:
    """The test once on SQLite and once on PostgreSQL (skipped, saying why, when none is reachable)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    models = ReadModels(request.param, tmp_path, url)
    try:
        yield models
    finally:
        models.close()


@pytest.fixture
async def own_ledger(fresh_nats: Any) -> Any:
    """A provisioned nats-server of the test's own.

    A projector follows the whole of LEDGER. On the session's shared server that is every earlier
    test's facts: catching up on them made these tests slow in a full run, and batch boundaries then
    fell between a test's own facts, so alerts were decided on intermediate states the test did not
    intend (two credit alerts instead of one). Modules whose assertions depend on batching override
    ``provisioned`` with this.
    """
    from ledger_kernel.connection import connect
    from ledger_kernel.streams import provision

    nc = await connect(fresh_nats.url, "test-provision")
    await provision(nc)
    await nc.close()
    return fresh_nats


@asynccontextmanager
async def projector_stack(settings: Any, clock: Any, *extra: Any, **kw: Any) -> AsyncIterator[ProjectorService]:
    """A projector that ticks by hand and, unless ``alert_settle`` says otherwise, decides alerts in each
    batch (test_alert_settle.py covers the settle window the product runs with)."""
    kw.setdefault("alert_settle", 0)
    svc = ProjectorService(tick_interval=0, poll_interval=0.02, **kw)
    async with Mounted([*extra, svc], settings, clock=clock):
        yield svc


@pytest.fixture
def recorder(nc: Any, clock: Any) -> DirectRecorder:
    return DirectRecorder(LedgerStore(nc), clock)

"""Notifier fixtures: a real webhook receiver, a running notifier on the session's nats-server with
its own SQLite file, and fresh PostgreSQL databases (helpers in notifier_support.py)."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from ledger_notifier.database import make_engine
from notifier_support import receiver, running_notifier  # noqa: F401  (receiver: a fixture)


@pytest.fixture
async def notifier(provisioned, settings_for, clock, tenant):  # noqa: ANN001
    """A running notifier (in this process) on the session server, with loopback targets admitted."""
    async with running_notifier(settings_for(provisioned), clock, tenant) as service:
        yield service


@pytest.fixture
def pg_database(postgres_url):  # noqa: ANN001
    """The URL of a PostgreSQL database of the test's own, dropped after (skipped, saying why, without one)."""
    name = "notifier_" + secrets.token_hex(4)
    admin = sa.create_engine(make_engine(postgres_url).url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL reachable but cannot create a database: {exc}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_engine(pg_database):  # noqa: ANN001
    engine = make_engine(pg_database)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):  # noqa: ANN001
    """The notifier's database on each engine it runs on in production and development."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'notifier.db'}"
    return request.getfixturevalue("pg_database")

"""The gateway's write transactions on a SQLite file shared with other writers (projector, notifier).

A writer holding the lock makes the gateway wait, never fail early and never write under it; past
the wait limit the gateway gives up having written nothing (the HTTP layer answers 503, see
tests/faults/test_database_outage.py for the PostgreSQL side). Real files, real sqlite3 locks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ledger_gateway import database, idempotency
from ledger_gateway.tables import IdempotencyRecord
from ledger_projector.database import make_engine as projector_engine
from ledger_readmodel import engine as readmodel_engine
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TTL = timedelta(hours=24)


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    """A file in WAL mode as the projector leaves it, with the gateway's tables migrated into it."""
    path = tmp_path / "ledger.db"
    other = projector_engine(f"sqlite:///{path}")
    other.connect().close()
    other.dispose()
    engine = database.migrate(f"sqlite:///{path}")
    yield path, engine
    engine.dispose()


def held_lock(path: Path, seconds: float, taken: threading.Event,
              released: list[float] | None = None) -> threading.Thread:
    """Another process's writer: BEGIN IMMEDIATE, hold it ``seconds``, roll back (noting when it let go)."""

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        if released is not None:
            released.append(time.monotonic())
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(IdempotencyRecord.__table__)).scalar_one()


def test_a_held_write_lock_makes_the_gateway_wait_then_write(shared):
    path, engine = shared
    taken, released = threading.Event(), []
    holder = held_lock(path, 0.4, taken, released)
    assert taken.wait(5)
    held = idempotency.reserve(engine, "t1", {"k1": "h1"}, now=NOW, ttl=TTL)
    done = time.monotonic()
    holder.join()
    assert released and done >= released[0]  # it did not write while the other writer held the lock
    assert held["k1"].answer is None and count(engine) == 1
    idempotency.save(engine, "t1", [idempotency.Answer("k1", held["k1"].command_id, "h1", 201, {"e": 1})], now=NOW)
    assert idempotency.lookup(engine, "t1", ["k1"], now=NOW, ttl=TTL)["k1"].response == {"e": 1}


def test_past_the_wait_limit_nothing_is_written_and_the_error_says_locked(shared, monkeypatch):
    path, engine = shared
    monkeypatch.setattr(readmodel_engine, "LOCK_WAIT_SECONDS", 0.2)
    taken = threading.Event()
    holder = held_lock(path, 3.0, taken)  # far longer than the 0.2 s limit, even on a loaded host
    assert taken.wait(5)
    try:
        with pytest.raises(OperationalError, match="locked"):
            idempotency.reserve(engine, "t1", {"k2": "h2"}, now=NOW, ttl=TTL)
    finally:
        holder.join()
    assert count(engine) == 0
    # the connection went back to the pool usable, with its busy timeout restored
    assert idempotency.reserve(engine, "t1", {"k2": "h2"}, now=NOW, ttl=TTL)["k2"].answer is None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000


def test_a_failure_inside_rolls_the_transaction_back(shared):
    _, engine = shared
    with pytest.raises(RuntimeError), database.writing(engine) as conn:
        conn.execute(IdempotencyRecord.__table__.insert().values(
            tenant_id="t1", key="k3", command_id="c3", body_sha256="h3", status=None, response=None,
            created_at=NOW))
        raise RuntimeError("the request failed half-way")
    assert count(engine) == 0
    with database.writing(engine) as conn:  # and the next transaction starts clean
        conn.execute(IdempotencyRecord.__table__.insert().values(
            tenant_id="t1", key="k4", command_id="c4", body_sha256="h4", status=None, response=None,
            created_at=NOW))
    assert count(engine) == 1

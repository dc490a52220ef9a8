"""ledger_readmodel's engine as each service opens it: the unwritable path named up front, WAL and
``BEGIN IMMEDIATE`` for the projector and the notifier, the gateway's own transaction style kept."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from ledger_gateway.database import engine_for, normalise_url
from ledger_notifier.database import make_engine as notifier_engine
from ledger_projector.database import make_engine as projector_engine
from ledger_readmodel.engine import DatabaseUnwritable, make_engine, sqlite_path, sync_url


def assert_names_the_path(message: str, db: Path) -> None:
    assert str(db) in message and str(db.parent) in message, message
    assert "LEDGER_DATABASE_URL" in message, message  # what to do
    assert "无法打开读模型数据库" in message, message  # in Chinese as well as English
    assert "unable to open database file" not in message, message  # not sqlite3's riddle


def test_every_service_names_a_read_only_directory(service_engine, read_only_dir: Path) -> None:
    db = read_only_dir / "ledger.db"
    with pytest.raises(DatabaseUnwritable) as raised:
        service_engine(f"sqlite:///{db}")
    message = str(raised.value)
    assert_names_the_path(message, db)
    if os.geteuid() == 0:  # the read-only mount is named as such
        assert "read-only file system" in message and "只读文件系统" in message, message
    else:
        assert "not writable" in message and "无权写入" in message, message
    assert os.listdir(read_only_dir) == []  # failed before writing anything


def test_every_service_names_a_directory_it_cannot_create(service_engine, read_only_dir: Path) -> None:
    db = read_only_dir / "home" / "ledger.db"
    with pytest.raises(DatabaseUnwritable) as raised:
        service_engine(f"sqlite+aiosqlite:///{db}")
    message = str(raised.value)
    assert_names_the_path(message, db)
    assert "cannot be created" in message and "无法创建其目录" in message, message
    assert os.listdir(read_only_dir) == []


def test_the_check_creates_a_missing_writable_directory(service_engine, tmp_path: Path) -> None:
    db = tmp_path / "new" / "deeper" / "ledger.db"
    engine = service_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert db.is_file()
    engine.dispose()


@pytest.mark.parametrize("open_engine", [projector_engine, notifier_engine], ids=["projector", "notifier"])
def test_writers_run_sqlite_in_wal_and_take_the_write_lock_at_begin(open_engine, tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        with engine.begin():  # no statement yet: BEGIN IMMEDIATE already holds the write lock
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_the_gateway_keeps_sqlite3_transactions_and_foreign_keys(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    engine = engine_for(f"sqlite:///{db}")
    assert engine_for(f"sqlite:///{db}") is engine  # cached per URL
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"  # not switched to WAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        with engine.begin():  # deferred: nothing is locked until the gateway writes
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_postgres_pool_options_reach_the_engine() -> None:
    engine = make_engine("postgresql://u@h/db", pool_size=10, max_overflow=20)  # nothing connects yet
    assert engine.url.drivername == "postgresql+psycopg"
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 20)
    assert engine.pool._pre_ping is True


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql+asyncpg://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
    ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite+aiosqlite:////var/lib/ledger/ledger.db", "sqlite:////var/lib/ledger/ledger.db"),
    ("sqlite:///rel/ledger.db", "sqlite:///rel/ledger.db"),
])
def test_urls_use_the_synchronous_drivers(given: str, used: str) -> None:
    assert sync_url(given) == used
    assert normalise_url(given) == used  # the gateway's name for the same rewrite


def test_only_file_databases_are_checked(tmp_path: Path) -> None:
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite:///file:shared?mode=memory&uri=true") is None
    assert sqlite_path(f"sqlite:///{tmp_path / 'a.db'}") == tmp_path / "a.db"
    assert sqlite_path("sqlite:///rel/a.db") == Path.cwd() / "rel" / "a.db"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_every_service_creates_its_database_private(service_engine, tmp_path: Path) -> None:
    """Key hashes, sealed secrets, tenants' data: the file, its WAL siblings and a new directory are the owner's."""
    db = tmp_path / "home" / "ledger.db"
    engine = service_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        siblings = [db.with_name(db.name + s) for s in ("-wal", "-shm") if db.with_name(db.name + s).exists()]
        assert siblings, "WAL mode made no -wal/-shm files to check"
        assert {p.name: mode(p) for p in [db, *siblings]} == {p.name: 0o600 for p in [db, *siblings]}
    assert mode(db.parent) == 0o700
    engine.dispose()


def test_an_older_world_readable_database_is_made_private(service_engine, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    db = home / "ledger.db"
    sqlite3.connect(db).close()
    wal = db.with_name("ledger.db-wal")
    wal.write_bytes(b"")
    for path in (db, wal):
        path.chmod(0o644)
    engine = service_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert (mode(db), mode(wal)) == (0o600, 0o600)
    assert mode(home) == 0o755  # a directory we did not create keeps its mode (it may be shared)
    engine.dispose()

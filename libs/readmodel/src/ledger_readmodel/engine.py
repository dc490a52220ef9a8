"""One synchronous engine per database URL, opened the same way by every service that shares it.

The services do their database work in worker threads with a plain DB-API driver (sqlite3,
psycopg), so the URL is rewritten to the synchronous driver whatever async driver the settings
name. Writers of a shared SQLite file run it in WAL mode with ``BEGIN IMMEDIATE`` so that several
processes can write it without lock upgrades failing.

A SQLite file in a place the process cannot write fails fast with an error that names the path
and what to do; sqlite3 alone only says "unable to open database file".
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

BUSY_TIMEOUT_SECONDS = 30  # how long a writer of a shared SQLite file waits for the lock, then "database is locked"
LOCK_WAIT_SECONDS = float(BUSY_TIMEOUT_SECONDS)  # the same limit for :func:`writing`


def sync_url(url: str) -> str:
    """The settings' database URL with the synchronous driver we use (psycopg 3, sqlite3)."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url[len("sqlite+aiosqlite://"):]
    return url


class DatabaseUnwritable(OSError):
    """The read model's SQLite file cannot be created or written where the settings put it."""


def _unwritable(path: Path, why_en: str, why_zh: str) -> DatabaseUnwritable:
    return DatabaseUnwritable(
        f"cannot open the read-model database {path}: {why_en}. Fix the directory's permissions, or set "
        f"LEDGER_DATABASE_URL to a database in a writable place (another sqlite:/// path or a "
        f"postgresql:// URL). / 无法打开读模型数据库 {path}：{why_zh}。请修正该目录的权限，或设置 "
        f"LEDGER_DATABASE_URL 指向可写位置的数据库（其他 sqlite:/// 路径或 postgresql:// 地址）。")


def _why(directory: Path) -> tuple[str, str]:
    try:
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        return (f"the directory {directory} is on a read-only file system",
                f"目录 {directory} 位于只读文件系统上")
    return f"the directory {directory} is not writable by this process", f"本进程无权写入目录 {directory}"


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names (absolute), or None for an in-memory or URI database."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


PRIVATE_FILE = 0o600  # a database holds key hashes, sealed webhook secrets, tenants' data: its owner's alone
PRIVATE_DIRECTORY = 0o700
SIBLINGS = ("-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Create the database file 0600 before sqlite3 does, or take group and world access from one we own.

    SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files it creates the mode of the database file,
    so they follow; siblings left by an older version are tightened here too. A file owned by another
    user is left alone (its owner decided).
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
        return
    except FileExistsError:
        pass
    for each in (path, *(path.with_name(path.name + s) for s in SIBLINGS)):
        try:
            info = each.stat()
            if info.st_uid == os.geteuid() and info.st_mode & 0o077:
                each.chmod(info.st_mode & 0o700)
        except FileNotFoundError:
            continue


def check_sqlite_path(path: Path) -> None:
    """Create the file's directory (0700 when we create it), then make sure the file and its journal siblings
    can be written there; the file itself is made private (:func:`make_private`)."""
    directory = path.parent
    try:
        directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(path, f"its directory {directory} cannot be created ({exc.strerror})",
                          f"无法创建其目录 {directory}（{exc.strerror}）") from None
    # WAL mode creates <file>-wal and <file>-shm next to the file (a rollback journal <file>-journal),
    # so the directory must take writes even when the file already exists.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise _unwritable(path, *_why(directory))
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise _unwritable(path, "the file is not readable and writable by this process",
                          "本进程无法读写该文件")
    make_private(path)


def make_engine(url: str, *, immediate: bool = True, foreign_keys: bool = False, **pool: int) -> Engine:
    """An engine for ``url``; on SQLite the path is checked first and every connection is set up alike.

    ``immediate`` (the projector and the notifier, which write the shared file in bulk): WAL journal,
    ``synchronous=NORMAL`` and ``BEGIN IMMEDIATE`` issued by us, so a writer takes its lock up front
    instead of failing to upgrade a read lock. ``immediate=False`` (the gateway) leaves the journal mode
    and transactions to sqlite3, as the gateway always has. ``foreign_keys`` turns SQLite's enforcement
    on. ``pool`` (e.g. ``pool_size``, ``max_overflow``) sizes the PostgreSQL connection pool.
    """
    url = sync_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, **pool)
    path = sqlite_path(url)
    if path is not None:
        check_sqlite_path(path)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "do_connect")
    def _sqlite_open(dialect: Dialect, _record: ConnectionPoolEntry, cargs: tuple[Any, ...],
                     cparams: dict[str, Any]) -> DBAPIConnection:
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except sqlite3.OperationalError as exc:  # e.g. permissions changed after the check above
            if path is None or "unable to open" not in str(exc):
                raise
            raise _unwritable(path, f"sqlite3 says {exc}", f"sqlite3 报告：{exc}") from exc

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cur = dbapi_conn.cursor()
        if immediate:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")  # several processes share one file
        if foreign_keys:
            cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    if immediate:
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # a reader's transaction (see ``reading``) is deferred: a WAL snapshot that takes no write lock
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READING) else "BEGIN IMMEDIATE")

    return engine


READING = "ledger_reading"  # execution option of a read-only transaction


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent snapshot, and on SQLite no write lock (``BEGIN`` rather
    than the ``BEGIN IMMEDIATE`` of every other transaction of an ``immediate`` engine), so a writer
    can prepare its work while others write. Rolled back at the end: it must not write."""
    with engine.connect() as conn:
        conn.execution_options(**{READING: True})
        try:
            yield conn
        finally:
            conn.rollback()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that, on SQLite, takes the write lock first and waits for it in short steps.

    For writers sharing the file with busy ones (the gateway's Idempotency-Key transactions beside
    the projector and the notifier, whose transactions hold the lock a few milliseconds at a time).
    sqlite3's own busy wait sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries, so a writer that met
    the lock slept well past its release, and one writer committing back to back could starve it.
    Here ``BEGIN IMMEDIATE`` is tried without the busy wait and retried after 0.5–2 ms, up to
    ``LOCK_WAIT_SECONDS``; nothing has been done when it gives up. PostgreSQL: a plain transaction.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if not isinstance(raw, sqlite3.Connection):  # make_engine's SQLite engines open sqlite3's own
            raise TypeError(f"writing() expects a sqlite3 connection, got {type(raw).__name__}")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
                    time.sleep(random.uniform(0.0005, 0.002))
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            if raw.in_transaction:
                raw.rollback()
            raise
        conn.commit()
        if raw.in_transaction:  # nothing was executed through SQLAlchemy: end our BEGIN ourselves
            raw.commit()

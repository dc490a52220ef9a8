"""The benchmark's own world: a nats-server from the wheel, databases, and services in child processes.

Nothing here touches the developer's stack: the server listens on a free port with its
store in a temporary directory, SQLite files live there too, and PostgreSQL work happens
in a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.services import ServiceKind, discover, of_kind
from ledger_kernel.streams import provision
from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig

if TYPE_CHECKING:
    import psycopg

DOMAIN = tuple(s.name for s in of_kind(ServiceKind.domain))
RAW_STREAM = "RAW"
POSTGRES = ("127.0.0.1", 5432, "test")


def service_available(name: str) -> str | None:
    """None when the service is installed (a ``ledger.services`` entry point), else why not (a row's note)."""
    if any(spec.name == name for spec in discover()):
        return None
    return f"no installed service {name} (no ledger.services entry point of that name)"


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432, else why not."""
    url = os.environ.get("LEDGER_BENCH_POSTGRES_URL")
    if url:
        return None
    try:
        with socket.create_connection(POSTGRES[:2], timeout=0.5):
            return None
    except OSError as exc:
        return f"no PostgreSQL on {POSTGRES[0]}:{POSTGRES[1]} ({exc.strerror or exc})"


def postgres_base_url() -> str:
    return os.environ.get("LEDGER_BENCH_POSTGRES_URL") or f"postgresql://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{POSTGRES[2]}"


@dataclass
class PgSchema:
    """A fresh schema in the test database; URLs that put it first on the search path."""

    base: str
    name: str = field(default_factory=lambda: "bench_" + secrets.token_hex(4))

    def create(self) -> PgSchema:
        import psycopg

        with psycopg.connect(self.base.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.name}"')
        return self

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.base.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{self.name}"

    def dbapi(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        conn = psycopg.connect(self.base.replace("+psycopg", ""), options=f"-csearch_path={self.name}")
        return conn


@dataclass
class Child:
    """Services mounted on one broker in a child process (``ledger_bench.child serve``)."""

    names: tuple[str, ...]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Child:
        out = open(self.log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger_bench.child", "serve", *self.names],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class BenchEnv:
    """One nats-server, a temporary home, and the children started from it."""

    def __init__(self, keep: bool = False) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
        self.keep = keep
        self.nats = EmbeddedNats(self.home, free_port(), server_name="ledger-bench")
        self.children: list[Child] = []
        self._nc: Client | None = None
        atexit.register(self._last_resort)

    def _last_resort(self) -> None:
        """Whatever way this process ends, no child and no nats-server of ours outlives it."""
        for child in self.children:
            child.stop(timeout=5)
        self.nats.stop(timeout=5)

    @property
    def nc(self) -> Client:
        """The bench's own NATS connection, once :meth:`start` made it."""
        if self._nc is None:
            raise RuntimeError("the bench environment is not started")
        return self._nc

    async def start(self) -> BenchEnv:
        self.nats.start()
        self._nc = nc = await connect(self.nats.url, "ledger-bench", max_reconnect_attempts=5)
        await provision(nc)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=RAW_STREAM, subjects=["raw.>"], storage=StorageType.FILE,
                                         max_msg_size=1024 * 1024, duplicate_window=120.0, allow_direct=True))
        return self

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "LEDGER_NATS_URL": self.nats.url, "LEDGER_HOME": str(self.home / "stack"),
               "LEDGER_ENV": "test", "LEDGER_LOG_LEVEL": "WARNING", **extra}
        return env

    def spawn(self, names: tuple[str, ...], tag: str, **extra: str) -> Child:
        child = Child(names, self.env(**extra), self.home / f"{tag}.log").start()
        self.children.append(child)
        return child

    async def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
        self.nats.stop()
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)


async def wait_for_reply(nc: Client, subject: str, body: dict[str, Any], child: Child | None,
                         within: float = 60.0) -> dict[str, Any]:
    """Ask until someone answers (a child still starting answers nobody)."""
    deadline = time.monotonic() + within
    last: Exception | None = None
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"{' '.join(child.names)} exited: {child.tail()}")
        try:
            msg = await nc.request(subject, json.dumps(body).encode(), timeout=2)
            return json.loads(msg.data)
        except Exception as exc:  # no responders yet, or a timeout while it starts
            last = exc
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nobody answered on {subject} within {within}s ({last!r})")


async def projector_status(nc: Client) -> dict[str, Any]:
    msg = await nc.request("query.projector", json.dumps({"op": "status", "tenant": None}).encode(), timeout=10)
    reply = json.loads(msg.data)
    if not reply.get("ok"):
        raise RuntimeError(f"query.projector status refused: {reply}")
    return reply.get("result") or {}


def applied_of(reply: dict[str, Any]) -> int:
    result = reply.get("result") or {}
    return int(result.get("applied_sequence", reply.get("applied_sequence", 0)) or 0)


async def wait_applied(nc: Client, target: int, child: Child | None, within: float = 600.0) -> float:
    """Poll the projector until it has applied ``target``; the monotonic instant it did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"projector exited: {child.tail()}")
        try:
            status = await projector_status(nc)
        except Exception:
            status = {}
        if int(status.get("applied_sequence", 0) or 0) >= target:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the projector did not reach sequence {target} within {within}s")

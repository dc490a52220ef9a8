"""Shared fixtures: real nats-server processes from the wheel, real databases, a fake clock.

Every test gets fresh tenants (unique subject prefixes); tests that need a whole
stream to themselves use ``fresh_nats``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings
from ledger_kernel.clock import FixedClock
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.settings import Settings
from ledger_kernel.streams import provision

# No per-example deadline: on a loaded CI host one slow example (a GC pause, a starved core) would
# make hypothesis report a flaky test. Properties are about values; speed is measured in `make bench`.
settings.register_profile("ledger", deadline=None)
settings.load_profile("ledger")


def start_nats(tmp: Path) -> EmbeddedNats:
    server = EmbeddedNats(home=tmp, port=free_port(), server_name=f"test-{secrets.token_hex(3)}")
    server.start()
    return server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """One nats-server for the session (JetStream, fresh store, free port)."""
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def fresh_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of the test's own, for tests that need the whole stream."""
    server = start_nats(tmp_path / "nats-home")
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def provisioned(nats_server: EmbeddedNats) -> EmbeddedNats:
    nc = await connect(nats_server.url, "test-provision")
    await provision(nc)
    await nc.close()
    return nats_server


@pytest.fixture
async def nc(provisioned: EmbeddedNats) -> AsyncIterator:
    client = await connect(provisioned.url, "test")
    yield client
    await client.close()


@pytest.fixture
def tenant() -> str:
    """A tenant of the test's own, so tests sharing a server never see each other's facts."""
    return "t" + secrets.token_hex(5)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


@pytest.fixture
def settings_for(tmp_path: Path):
    """Settings for a stack rooted in the test's own directory, pointed at a given server."""

    def make(server: EmbeddedNats | None = None, **extra: str) -> Settings:
        env = {"LEDGER_HOME": str(tmp_path / "home"), "LEDGER_ENV": "test",
               "LEDGER_HTTP_PORT": str(free_port()), **extra}
        if server is not None:
            env["LEDGER_NATS_URL"] = server.url
        return Settings.from_env(env)

    return make


def _postgres_url() -> tuple[str | None, str]:
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL")
    if url:
        return url, "LEDGER_TEST_POSTGRES_URL"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return "postgresql://postgres@127.0.0.1:5432/test", "127.0.0.1:5432"
    except OSError:
        return None, "no PostgreSQL: set LEDGER_TEST_POSTGRES_URL or run one on 127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test session's own on a reachable PostgreSQL, or the test is skipped saying why.

    Fresh per session and dropped at its end, so what an earlier run (or another checkout's run on the
    same server) left in the configured database can never decide a test.
    """
    url, why = _postgres_url()
    if url is None:
        pytest.skip(why)
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://")
    name = "ledger_t_" + secrets.token_hex(5)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def docker_available() -> tuple[bool, str]:
    try:
        import docker  # testcontainers depends on it

        docker.from_env().ping()
        return True, ""
    except Exception as exc:  # no engine: the client cannot even connect
        return False, f"no Docker engine reachable ({type(exc).__name__}); testcontainers tests need one"


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may write: a read-only tmpfs for root (permissions do not stop root), mode 0555 else."""
    path = tmp_path / "read-only-home"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True,
                           text=True)
    if mount.returncode != 0:
        pytest.skip(f"running as root and cannot mount a read-only tmpfs ({mount.stderr.strip()}); "
                    "permission bits do not stop root, so there is no read-only directory to test with")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)

"""Storage that cannot be written: a read-only LEDGER_HOME, and a JetStream store that is full.

Either way the answer is a clear error that names what is wrong, and nothing is half-written:
the stream keeps every acknowledged event, ``ledger verify`` passes, and the refused fact is
nowhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_bench import facts as F
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.runtime import Mounted
from ledger_projector.service import ProjectorService

from .conftest import DOMAIN, assert_intact, build, provisioned_client, record, tenant_events


def ledger_up(home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_NATS_PORT": str(free_port()),
           "LEDGER_HTTP_PORT": str(free_port()), "LEDGER_ENV": "test", "COLUMNS": "200"}
    for key in ("LEDGER_NATS_URL", "LEDGER_DATABASE_URL"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "ledger_cli.main", "up", "--single-process"], env=env,
                          capture_output=True, text=True, timeout=90)


@pytest.mark.slow
def test_embedded_nats_in_a_read_only_home_names_the_path(read_only_dir: Path) -> None:
    server = EmbeddedNats(read_only_dir, free_port())
    with pytest.raises(OSError) as raised:
        server.start()
    assert str(read_only_dir) in str(raised.value)
    assert server.process is None and list(read_only_dir.iterdir()) == []  # nothing started, nothing written


@pytest.mark.slow
def test_ledger_up_in_a_read_only_home_stops_and_names_the_path(read_only_dir: Path) -> None:
    run = ledger_up(read_only_dir)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert str(read_only_dir) in output, output
    assert list(read_only_dir.iterdir()) == []


@pytest.mark.slow
def test_ledger_up_in_a_read_only_home_says_so_without_a_traceback(read_only_dir: Path) -> None:
    run = ledger_up(read_only_dir)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "Traceback" not in output and "───" not in output, output
    assert str(read_only_dir) in output and ("read-only" in output.lower() or "只读" in output), output


@pytest.mark.slow
async def test_projector_on_a_read_only_sqlite_directory_names_the_path(fresh_nats, settings_for, clock,
                                                                        read_only_dir: Path) -> None:
    from ledger_projector.database import DatabaseUnwritable

    nc = await provisioned_client(fresh_nats)
    await nc.close()
    db = read_only_dir / "ledger.db"
    settings = settings_for(fresh_nats, LEDGER_DATABASE_URL=f"sqlite:///{db}")
    with pytest.raises(DatabaseUnwritable) as raised:
        async with Mounted([ProjectorService(tick_interval=0, alert_settle=0)], settings, clock=clock, name="fault-ro"):
            pass
    message = str(raised.value)
    assert str(db) in message and str(read_only_dir) in message, message
    assert "LEDGER_DATABASE_URL" in message, message  # what to do
    assert "read-only" in message or "not writable" in message, message  # English
    assert "只读" in message or "无权写入" in message, message  # and Chinese
    assert "unable to open database file" not in message, message  # not sqlite3's riddle
    assert os.listdir(read_only_dir) == []  # failed before writing anything


class SmallStore(EmbeddedNats):
    """The embedded server with a JetStream store of ``limit`` (a full disk, deterministically)."""

    limit: str = "192KB"

    def config_text(self) -> str:
        return super().config_text().replace("max_file_store: 64GB", f"max_file_store: {self.limit}")


@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[SmallStore]:
    server = SmallStore(tmp_path / "small", free_port(), server_name="fault-small")
    server.start()
    yield server
    server.stop()


async def fill_until_refused(nc, tenant: str) -> tuple[list[dict], dict, dict]:
    """Record facts until the store refuses one: (acknowledged replies, the refusal, the refused fact)."""
    acked = []
    for i in range(2000):
        fact = F.company_facts(i, 1)[0]
        reply = await record(nc, tenant, fact, wait=30)
        if not reply["ok"]:
            return acked, reply, fact
        acked.append(reply)
    raise AssertionError("the store never filled up")


@pytest.mark.slow
async def test_a_full_store_refuses_the_append_and_keeps_the_stream_intact(small_store, settings_for, clock, tenant):
    nc = await provisioned_client(small_store)
    try:
        async with Mounted(build(*DOMAIN), settings_for(small_store), clock=clock, name="fault-full"):
            acked, refusal, refused_fact = await fill_until_refused(nc, tenant)
            assert len(acked) > 10
            assert refusal["status"] == 503 and refusal["code"] == "unavailable" and refusal["detail"], refusal
            # the services still answer: another new fact is refused the same way, a malformed one as malformed
            again = await record(nc, tenant, F.one_fact("premises", 5000), wait=30)
            assert again["ok"] is False and again["status"] == 503, again
            msg = await nc.request("cmd.licences", b"not json", timeout=10)
            assert json.loads(msg.data)["code"] == "malformed_request"
        events = await tenant_events(nc, tenant)
        assert [e["id"] for _, e in events] == [r["event_id"] for r in acked]  # every acknowledged one, only those
        assert refused_fact["company"] not in {e["company"] for _, e in events}
        assert await assert_intact(nc) == len(acked)  # ledger verify: every chain whole
    finally:
        await nc.close()
    # after a restart on the same (still full) store, nothing acknowledged is missing
    small_store.stop()
    small_store.start()
    nc = await connect(small_store.url, "fault-full-after")
    try:
        assert await assert_intact(nc) == len(acked)
    finally:
        await nc.close()


@pytest.mark.slow
async def test_a_full_store_says_the_storage_is_full(small_store, settings_for, clock, tenant):
    nc = await provisioned_client(small_store)
    try:
        async with Mounted(build(*DOMAIN), settings_for(small_store), clock=clock, name="fault-full-why"):
            _, refusal, _ = await fill_until_refused(nc, tenant)
        detail = refusal["detail"].lower()
        assert "insufficient" in detail or "full" in detail or "storage" in detail, refusal
    finally:
        await nc.close()

"""The read-model database goes away for a while: the projector stalls, then resumes where it was,
with no event lost or applied twice — the read model equals a clean rebuild of the same ledger.

PostgreSQL: the database is closed to connections (``ALLOW_CONNECTIONS false``) and every backend
terminated, while a batch is being applied and while more events arrive. SQLite: another process
holds an exclusive lock on the file.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_bench import facts as F
from ledger_kernel.runtime import Mounted
from ledger_projector.rebuild import read_model_digest, rebuild
from ledger_projector.service import ProjectorService
from ledger_projector.tables import LIVE

from .conftest import provisioned_client


async def publish(js, tenant: str, sealer: F.Sealer, companies: range, per: int) -> int:
    """Sealed events for ``companies`` appended to LEDGER; the last stream sequence."""
    last = 0
    for i in companies:
        for fact in F.company_facts(i, per):
            subject, event_id, payload = sealer.seal(fact)
            last = (await js.publish(subject, payload, headers={"Nats-Msg-Id": event_id}, stream="LEDGER")).seq
    return last


def read_model(url: str) -> tuple[int, int, int]:
    """(facts, distinct ledger sequences, checkpoint) as the database holds them."""
    from ledger_projector.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            facts = conn.execute(sa.select(sa.func.count()).select_from(LIVE.facts)).scalar()
            distinct = conn.execute(sa.select(sa.func.count(sa.distinct(LIVE.facts.c.ledger_sequence)))).scalar()
            checkpoint = conn.execute(sa.select(LIVE.checkpoint.c.applied_sequence)).scalar()
        return facts, distinct, checkpoint
    finally:
        engine.dispose()


async def stalls(projector: ProjectorService, seconds: float) -> int:
    """The applied sequence, checked not to move for ``seconds``."""
    at = projector.applied
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        assert projector.applied == at, "the projector advanced while its database was gone"
    return at


async def query_status(nc) -> dict[str, Any]:
    import json

    msg = await nc.request("query.projector", json.dumps({"op": "status"}).encode(), timeout=15)
    return json.loads(msg.data)


@pytest.fixture
def postgres_database(postgres_url: str):
    """A database of the test's own (it gets closed to connections), dropped afterwards."""
    import psycopg

    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    name = "fault_" + secrets.token_hex(4)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]

    def admin(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    yield f"{base}/{name}", name, admin
    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.postgres
async def test_postgres_closed_mid_batch_then_back(fresh_nats, settings_for, clock, tenant, postgres_database):
    url, name, admin = postgres_database
    nc = await provisioned_client(fresh_nats)
    js = nc.jetstream()
    sealer = F.Sealer(tenant)
    settings = settings_for(fresh_nats, LEDGER_DATABASE_URL=url)
    projector = ProjectorService(tick_interval=0, alert_settle=0, poll_interval=0.02, batch_size=50)
    try:
        async with Mounted([projector], settings, clock=clock, name="fault-pg"):
            first = await publish(js, tenant, sealer, range(0, 6), 20)
            assert await projector.catch_up(within=60) == first

            more = asyncio.create_task(publish(js, tenant, sealer, range(6, 12), 20))
            # close the database while the next batches are being applied
            assert await projector.wait_for(first + 1, within=30)
            await asyncio.to_thread(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await asyncio.to_thread(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            second = await more
            third = await publish(js, tenant, sealer, range(12, 16), 20)  # and events keep arriving meanwhile
            stalled_at = await stalls(projector, 3.0)
            assert stalled_at < third
            reply = await query_status(nc)  # still answers, with a reason, not with silence
            assert reply["ok"] is False and reply["status"] >= 500 and reply["detail"], reply

            await asyncio.to_thread(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert await projector.catch_up(within=90) == third
            assert second < third
            status = await query_status(nc)
            assert status["ok"] is True and status["result"]["lag"] == 0, status
    finally:
        await nc.close()

    facts, distinct, checkpoint = await asyncio.to_thread(read_model, url)
    assert (facts, distinct, checkpoint) == (third, third, third)  # every event once: none lost, none doubled
    live = await read_model_digest(settings)
    clean = await rebuild(settings)
    assert clean.events == third and clean.parked == 0
    assert live == clean.digest


@pytest.mark.slow
async def test_sqlite_locked_by_another_process_then_released(fresh_nats, settings_for, clock, tenant, tmp_path):
    path = tmp_path / "read.db"
    url = f"sqlite:///{path}"
    nc = await provisioned_client(fresh_nats)
    js = nc.jetstream()
    sealer = F.Sealer(tenant)
    settings = settings_for(fresh_nats, LEDGER_DATABASE_URL=url)
    projector = ProjectorService(tick_interval=0, alert_settle=0, poll_interval=0.02, batch_size=50)
    try:
        async with Mounted([projector], settings, clock=clock, name="fault-sqlite"):
            first = await publish(js, tenant, sealer, range(0, 4), 20)
            assert await projector.catch_up(within=60) == first
            locker = sqlite3.connect(path, timeout=1, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")  # what a backup tool or a stuck writer does
            try:
                last = await publish(js, tenant, sealer, range(4, 8), 20)
                assert await stalls(projector, 2.0) == first
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            assert await projector.catch_up(within=60) == last
    finally:
        await nc.close()
    facts, distinct, checkpoint = await asyncio.to_thread(read_model, url)
    assert (facts, distinct, checkpoint) == (last, last, last)
    live = await read_model_digest(settings)
    assert live == (await rebuild(settings)).digest


@pytest.mark.slow
@pytest.mark.postgres
async def test_the_gateway_answers_503_while_its_database_is_closed_and_a_retry_makes_one_event(
        fresh_nats, settings_for, clock, postgres_database):
    """HTTP clients get a retryable problem, never a 500 or a hang; the retry with the key records the fact once."""
    import httpx
    from ledger_gateway.service import GatewayService
    from ledger_gateway.tenancy import create_tenant

    from .conftest import DOMAIN, build, tenant_events

    url, name, admin = postgres_database
    nc = await provisioned_client(fresh_nats)
    settings = settings_for(fresh_nats, LEDGER_DATABASE_URL=url)
    gateway = GatewayService()
    first_fact, second_fact = F.company_facts(3, 2)
    try:
        async with Mounted([*build(*DOMAIN), gateway], settings, clock=clock, name="fault-gateway-pg"):
            assert gateway.state is not None
            tenant, issued = await asyncio.to_thread(create_tenant, gateway.state.engine, "outage")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=60,
                                         headers={"Authorization": f"Bearer {issued.key}"}) as http:
                before = await http.post("/v1/facts", json=first_fact, headers={"Idempotency-Key": "k-1"})
                assert before.status_code == 201, before.text

                await asyncio.to_thread(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await asyncio.to_thread(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                               f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
                for _ in range(3):  # the pool's dead connections, then refused new ones: each a 503
                    during = await http.post("/v1/facts", json=second_fact, headers={"Idempotency-Key": "k-2"})
                    assert during.status_code == 503, during.text
                    assert during.headers["content-type"].startswith("application/problem+json")
                    assert during.headers["retry-after"] == "2"
                    problem = during.json()
                    assert problem["code"] == "unavailable" and problem["status"] == 503
                    assert "数据库" in problem["detail"] and "database" in problem["detail"]
                    assert "Traceback" not in during.text and "psycopg" not in during.text
                    assert name not in during.text  # no internal names leave the gateway
                ready = await http.get("/readyz")
                assert ready.status_code == 503, ready.text

                await asyncio.to_thread(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                after = None
                for _ in range(50):  # the pool reconnects (pre-ping)
                    after = await http.post("/v1/facts", json=second_fact, headers={"Idempotency-Key": "k-2"})
                    if after.status_code != 503:
                        break
                    await asyncio.sleep(0.1)
                assert after is not None and after.status_code == 201, after.text
                again = await http.post("/v1/facts", json=second_fact, headers={"Idempotency-Key": "k-2"})
                assert again.status_code in (200, 201) and again.json()["event_id"] == after.json()["event_id"]
        events = await tenant_events(nc, tenant.id)
        assert sorted(e["type"] for _, e in events) == sorted([first_fact["type"], second_fact["type"]])
        assert len({e["id"] for _, e in events}) == 2  # the refused attempts left nothing behind
    finally:
        await nc.close()

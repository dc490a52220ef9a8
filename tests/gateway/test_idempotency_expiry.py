"""Idempotency-Key records expire (docs/http-api.md): a key is remembered for a window measured on the
gateway's clock, forgotten after it (a request with it is new, even with another body), and expired
records are swept away in bounded batches — on SQLite and on PostgreSQL. Only the clock is faked.

The PostgreSQL runs use a database of this module's own: a sweep deletes expired records of every
tenant, so no other test (or another engineer's run) may share the table.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from ledger_contracts.examples import example_fact
from ledger_gateway import idempotency, retention
from ledger_gateway.config import GatewayConfig
from ledger_gateway.database import alembic_config, engine_for, migrate
from ledger_gateway.idempotency import Answer, Reservation, Stored
from ledger_gateway.service import GatewayService
from ledger_gateway.tables import IdempotencyRecord
from ledger_gateway.tenancy import create_tenant
from ledger_kernel.clock import SHANGHAI, FixedClock
from ledger_kernel.embedded import free_port
from ledger_kernel.runtime import Mounted
from ledger_kernel.settings import Settings, SettingsError
from sqlalchemy import DateTime, Engine, bindparam, inspect, make_url, select, text
from test_facts import REGISTERED, assert_problem, events_of

TTL = timedelta(hours=24)
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
COMPANY = REGISTERED["company"]
# the company aggregate takes any number of these: only a fresh command id tells a new request from a replay
DECLARED = {k: v for k, v in example_fact("company.capabilities_declared").items() if k != "idempotency_key"} | {
    "company": COMPANY, "effective_date": "2021-06-01"}
REDECLARED = DECLARED | {"effective_date": "2021-07-01", "data": {**DECLARED["data"], "ai_outbound": False}}


# --- databases -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_postgres(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database of this module's own, dropped afterwards."""
    name = f"gw_expiry_{secrets.token_hex(4)}"
    admin = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.skip(f"cannot create a private PostgreSQL database for the expiry tests: {exc}")
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('gw-expiry') / 'gateway.db'}"
    return request.getfixturevalue("private_postgres")


@pytest.fixture
def engine(database_url: str) -> Engine:
    """The gateway's tables at the newest revision, with no idempotency record in them."""
    engine = migrate(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM gateway_idempotency"))
    return engine


def records(engine: Engine) -> dict[tuple[str, str], datetime]:
    """(tenant, key) → first use, in UTC."""
    table = IdempotencyRecord.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.tenant_id, table.c.key, table.c.created_at)).all()
    return {(t, k): (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC) for t, k, at in rows}


def reserve(engine: Engine, tenant: str, key: str, digest: str, now: datetime) -> Reservation:
    return idempotency.reserve(engine, tenant, {key: digest}, now=now, ttl=TTL)[key]


# --- the window ----------------------------------------------------------------------------------------

def test_the_window_is_24_hours_unless_configured():
    assert GatewayConfig().idempotency_ttl == GatewayConfig.from_env({}).idempotency_ttl == timedelta(hours=24)
    assert GatewayConfig.from_env({"LEDGER_IDEMPOTENCY_TTL_HOURS": " 36 "}).idempotency_ttl == timedelta(hours=36)
    for bad in ("0", "-1", "1.5", "24h", "８", "8761", "lots"):
        with pytest.raises(SettingsError, match="LEDGER_IDEMPOTENCY_TTL_HOURS"):
            GatewayConfig.from_env({"LEDGER_IDEMPOTENCY_TTL_HOURS": bad})


def test_a_key_is_held_for_its_window_and_forgotten_after_it(engine):
    first = reserve(engine, "ta", "k", "h1", T0)
    assert first.answer is None
    # a racing request, or a retry before any answer: the same command id, whatever its body
    assert reserve(engine, "ta", "k", "h2", T0 + timedelta(minutes=1)) == first
    idempotency.save(engine, "ta", [Answer("k", first.command_id, "h1", 201, {"event_id": "e1"})],
                     now=T0 + timedelta(seconds=2))
    answered = Reservation(first.command_id, Stored("h1", 201, {"event_id": "e1"}))
    last_moment = T0 + TTL - timedelta(microseconds=1)
    assert reserve(engine, "ta", "k", "h1", last_moment) == answered
    assert idempotency.lookup(engine, "ta", ["k"], now=last_moment, ttl=TTL) == {"k": answered.answer}
    # a clock with another offset names the same instants
    assert reserve(engine, "ta", "k", "h1", last_moment.astimezone(SHANGHAI)) == answered

    assert idempotency.lookup(engine, "ta", ["k"], now=T0 + TTL, ttl=TTL) == {}
    renewed = reserve(engine, "ta", "k", "h2", T0 + TTL)  # exactly 24 hours after the first use
    assert renewed.answer is None and renewed.command_id != first.command_id
    assert records(engine) == {("ta", "k"): T0 + TTL}  # the new window runs from the new first use
    assert reserve(engine, "ta", "k", "h2", T0 + 2 * TTL - timedelta(microseconds=1)) == renewed
    # keys are per tenant
    other = reserve(engine, "tb", "k", "h1", T0 + TTL)
    assert other.command_id not in {first.command_id, renewed.command_id}


def test_an_answer_lands_only_on_the_reservation_it_was_sent_under(engine):
    old = reserve(engine, "ta", "k", "h-old", T0)
    new = reserve(engine, "ta", "k", "h-new", T0 + TTL)
    late = T0 + TTL + timedelta(seconds=1)
    # the forgotten request answers late: its answer must not become the new request's
    idempotency.save(engine, "ta", [Answer("k", old.command_id, "h-old", 201, {"event_id": "late"})], now=late)
    assert idempotency.lookup(engine, "ta", ["k"], now=late, ttl=TTL) == {}
    idempotency.save(engine, "ta", [Answer("k", new.command_id, "h-new", 201, {"event_id": "first"})], now=late)
    idempotency.save(engine, "ta", [Answer("k", new.command_id, "h-x", 201, {"event_id": "second"})], now=late)
    assert idempotency.lookup(engine, "ta", ["k"], now=late, ttl=TTL) == {
        "k": Stored("h-new", 201, {"event_id": "first"})}


# --- the sweep -----------------------------------------------------------------------------------------

async def test_the_sweep_deletes_only_expired_records_oldest_first_in_bounded_batches(engine):
    now = T0 + timedelta(days=10)
    edge = now - TTL
    expired = {("ta", "five-days"): now - timedelta(days=5), ("tb", "three-days"): now - timedelta(days=3),
               ("ta", "a-day-and-an-hour"): edge - timedelta(hours=1), ("tb", "exactly-a-day"): edge}
    live = {("ta", "just-inside"): edge + timedelta(microseconds=1), ("tb", "an-hour"): now - timedelta(hours=1),
            ("ta", "now"): now}
    for (tenant, key), at in {**expired, **live}.items():
        held = reserve(engine, tenant, key, "h", at)
        if key in ("five-days", "an-hour"):  # answered records go as reservations do
            idempotency.save(engine, tenant, [Answer(key, held.command_id, "h", 201, {"event_id": key})], now=at)
    assert records(engine) == {**expired, **live}

    assert idempotency.purge_expired(engine, now=now, ttl=TTL, limit=2) == 2  # the two oldest
    assert set(records(engine)) == {("ta", "a-day-and-an-hour"), ("tb", "exactly-a-day"), *live}
    clock = FixedClock(now)
    assert await retention.sweep(engine, clock, TTL, batch=1, max_batches=1, pause=0) == 1  # bounded
    assert await retention.sweep(engine, clock, TTL, batch=1, pause=0) == 1  # batch by batch to the end
    assert records(engine) == live
    assert await retention.sweep(engine, clock, TTL, pause=0) == 0
    assert idempotency.lookup(engine, "tb", ["an-hour"], now=now, ttl=TTL) == {
        "an-hour": Stored("h", 201, {"event_id": "an-hour"})}


def test_the_sweep_walks_the_created_at_index(engine, database_url):
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("gateway_idempotency")}
    assert indexes["ix_gateway_idempotency_created"] == ["created_at"]
    compiled = idempotency.purge_statement(T0, TTL).compile(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            params = [str(compiled.params[name]) for name in compiled.positiontup]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(params)).all()
        else:  # an empty table would be read whole anyway: ask whether the index can serve the sweep
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
    assert "ix_gateway_idempotency_created" in " ".join(str(step) for step in plan), plan


def test_the_migration_keeps_the_records_of_before_as_they_were_sent(engine, database_url):
    """Records from before g0003 sent the key itself as the command id: a retry keeps doing so."""
    cfg = alembic_config(database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "g0002")
    assert "command_id" not in {c["name"] for c in inspect(engine).get_columns("gateway_idempotency")}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO gateway_idempotency (tenant_id, key, body_sha256, status, response, "
                          "created_at) VALUES ('ta', 'before', 'h', 201, :response, :at)")
                     .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                     {"response": '{"event_id": "e0"}', "at": T0})
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    columns = {c["name"]: c["nullable"] for c in inspect(engine).get_columns("gateway_idempotency")}
    assert columns["command_id"] is False and columns["status"] is True and columns["response"] is True
    assert reserve(engine, "ta", "before", "h", T0 + timedelta(hours=1)) == Reservation(
        "before", Stored("h", 201, {"event_id": "e0"}))
    assert reserve(engine, "ta", "before", "h", T0 + TTL).command_id != "before"


# --- through HTTP: a gateway of the test's own (its clock, its database) before the session's services -----

@asynccontextmanager
async def own_gateway(stack, database_url: str, clock: FixedClock, home: Path,
                      config: GatewayConfig | None = None) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env({"LEDGER_HOME": str(home), "LEDGER_ENV": "test", "LEDGER_NATS_URL": stack.nats_url,
                                  "LEDGER_HTTP_PORT": str(free_port()), "LEDGER_DATABASE_URL": database_url})
    gateway = GatewayService(config=config or GatewayConfig())
    async with Mounted([gateway], settings, clock=clock, name="gateway-expiry-tests"):
        tenant, issued = create_tenant(gateway.state.engine, "幂等过期")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=60,
                                     headers={"Authorization": f"Bearer {issued.key}"}) as client:
            client.tenant = tenant.id  # type: ignore[attr-defined]
            client.engine = gateway.state.engine  # type: ignore[attr-defined]
            yield client


async def test_within_the_window_a_key_answers_the_same_and_after_it_a_new_body_is_a_new_fact(
        stack, database_url, engine, tmp_path):
    clock = FixedClock(T0)
    async with own_gateway(stack, database_url, clock, tmp_path) as api:
        assert (await api.post("/v1/facts", json=REGISTERED)).status_code == 201
        key = {"Idempotency-Key": "declare-1"}
        first = await api.post("/v1/facts", json=DECLARED, headers=key)
        assert first.status_code == 201 and "idempotent-replayed" not in first.headers, first.text
        clock.advance(TTL - timedelta(seconds=1))  # the last second of the window: nothing has changed
        again = await api.post("/v1/facts", json=DECLARED, headers=key)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert_problem(await api.post("/v1/facts", json=REDECLARED, headers=key), 422, "idempotency-key-reused")

        clock.advance(timedelta(seconds=1))  # 24 hours after the first use: the key is forgotten
        new = await api.post("/v1/facts", json=REDECLARED, headers=key)
        assert new.status_code == 201 and "idempotent-replayed" not in new.headers, new.text
        assert new.json()["event_id"] != first.json()["event_id"]
        assert new.json()["sequence"] == first.json()["sequence"] + 1  # the same aggregate, a new event
        replay = await api.post("/v1/facts", json=REDECLARED, headers=key)  # the new window's answer
        assert replay.json() == new.json() and replay.headers["idempotent-replayed"] == "true"
        assert_problem(await api.post("/v1/facts", json=DECLARED, headers=key), 422, "idempotency-key-reused")

        events = await events_of(api, COMPANY, new.json()["ledger_sequence"])
        assert [(e["type"], e["data"].get("ai_outbound")) for e in events] == [
            ("company.registered", None), ("company.capabilities_declared", True),
            ("company.capabilities_declared", False)]
        assert [e["id"] for e in events[1:]] == [first.json()["event_id"], new.json()["event_id"]]


async def test_after_the_window_racing_requests_with_the_key_still_make_one_event(stack, database_url, engine,
                                                                                 tmp_path):
    clock = FixedClock(T0)
    async with own_gateway(stack, database_url, clock, tmp_path) as api:
        assert (await api.post("/v1/facts", json=REGISTERED)).status_code == 201
        key = {"Idempotency-Key": "race-after-expiry"}
        first = await api.post("/v1/facts", json=DECLARED, headers=key)
        assert first.status_code == 201, first.text
        clock.advance(TTL + timedelta(hours=1))
        answers = await asyncio.gather(*(api.post("/v1/facts", json=DECLARED, headers=key) for _ in range(8)))
        assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
        assert len({a.json()["event_id"] for a in answers}) == 1
        assert answers[0].json()["event_id"] != first.json()["event_id"]
        events = await events_of(api, COMPANY, max(a.json()["ledger_sequence"] for a in answers))
        assert [e["type"] for e in events] == ["company.registered", *["company.capabilities_declared"] * 2]


async def test_a_batch_item_key_expires_as_the_header_does(stack, database_url, engine, tmp_path):
    clock = FixedClock(T0)
    async with own_gateway(stack, database_url, clock, tmp_path) as api:
        assert (await api.post("/v1/facts", json=REGISTERED)).status_code == 201
        first = (await api.post("/v1/facts:batch", json=[{**DECLARED, "idempotency_key": "row-1"}])).json()
        assert first["results"][0]["status"] == 201 and first["results"][0]["replayed"] is False
        clock.advance(TTL - timedelta(minutes=1))
        inside = (await api.post("/v1/facts:batch", json=[{**DECLARED, "idempotency_key": "row-1"},
                                                          {**REDECLARED, "idempotency_key": "row-1"}])).json()
        assert [r["status"] for r in inside["results"]] == [201, 422]
        assert inside["results"][0]["replayed"] is True
        assert inside["results"][0]["event"] == first["results"][0]["event"]
        clock.advance(timedelta(minutes=1))
        after = (await api.post("/v1/facts:batch", json=[{**REDECLARED, "idempotency_key": "row-1"}])).json()
        assert after["results"][0]["status"] == 201 and after["results"][0]["replayed"] is False, after
        assert after["results"][0]["event"]["sequence"] == first["results"][0]["event"]["sequence"] + 1
        # the header and the item share one record per key: the single POST sees the batch's new answer
        single = await api.post("/v1/facts", json=REDECLARED, headers={"Idempotency-Key": "row-1"})
        assert single.json() == after["results"][0]["event"] and single.headers["idempotent-replayed"] == "true"


async def test_the_running_gateway_sweeps_expired_records(stack, database_url, engine, tmp_path):
    clock = FixedClock(T0)
    config = GatewayConfig(purge_interval=0.05)
    async with own_gateway(stack, database_url, clock, tmp_path, config) as api:
        assert (await api.post("/v1/facts", json=REGISTERED, headers={"Idempotency-Key": "old"})).status_code == 201
        clock.advance(TTL)
        assert (await api.post("/v1/facts", json=DECLARED, headers={"Idempotency-Key": "new"})).status_code == 201
        for _ in range(400):  # a sweep every 50 ms: it goes at the next one (20 s at most on a loaded machine)
            if "old" not in {key for _, key in records(engine)}:
                break
            await asyncio.sleep(0.05)
        assert records(engine) == {(api.tenant, "new"): T0 + TTL}
        metrics = (await api.get("/metrics")).text
        purged = [line for line in metrics.splitlines() if line.startswith("ledger_gateway_idempotency_purged_total")]
        assert purged and int(purged[0].split()[-1]) >= 1


async def test_the_openapi_document_publishes_the_window(stack, tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    config = GatewayConfig.from_env({"LEDGER_IDEMPOTENCY_TTL_HOURS": "36"})
    async with own_gateway(stack, url, FixedClock(T0), tmp_path / "home", config) as api:
        doc = (await api.get("/openapi.json")).json()
    header = next(p for p in doc["paths"]["/v1/facts"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    for text_ in (header["description"], doc["components"]["schemas"]["BatchItem"]["description"]):
        assert "remembered for 36 hours from its first use" in text_ and "保留 36 小时" in text_, text_
        assert "422" in text_ and "new request" in text_

"""The partitioned projector: W workers sharing P partitions of LEDGER_P by company.

Two and three workers build the same read model as one projector (digest); a worker SIGKILLed in the
middle of a catch-up loses nothing and no alert goes out twice, and its partitions move to the
survivor within seconds; a worker whose partition was taken over cannot commit (fencing). Real
nats-server, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_kernel import checkpoints as cp
from ledger_kernel import partitions as kp
from ledger_kernel.checkpoints import Checkpoint
from ledger_kernel.connection import connect
from ledger_kernel.runtime import Mounted
from ledger_kernel.store import LedgerStore, StoredMessage
from ledger_kernel.streams import ALERTS, provision
from ledger_projector.database import make_engine, migrate
from ledger_projector.digest import digest
from ledger_projector.partitioned import Fenced, PartitionProjection, acquire, merged, original
from ledger_projector.rebuild import rebuild
from ledger_projector.rulebook import Rulebook
from ledger_projector.scheduler import FOLDED
from ledger_projector.service import ProjectorService
from ledger_projector.system_facts import set_rule_overrides
from ledger_projector.tables import LIVE, PARTITIONS

from projector.ledger_facts import DirectRecorder
from projector.synthetic import fill

P = 4


def applied(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(LIVE.checkpoint.c.applied_sequence)).scalar() or 0
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # not migrated yet
        return 0


def owners(engine: sa.Engine) -> dict[int, str | None]:
    try:
        with engine.connect() as conn:
            return {r.partition: r.owner for r in conn.execute(sa.select(PARTITIONS).where(PARTITIONS.c.partitions == P))}
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return {}


async def a_ledger(url: str, clock: Any, tenant: str, companies: int) -> tuple[Any, LedgerStore, int]:
    """A ledger of ``companies`` synthetic companies, a few poison messages, and a tenant's rule overrides
    in the middle (a system fact every partition applies)."""
    nc = await connect(url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    return nc, store, await fill(store, DirectRecorder(store, clock), tenant, companies, poison_every=97)


def table_rows(engine: sa.Engine) -> dict[str, int]:
    """Row counts of the derived tables: what a failed comparison names first."""
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0 for t in LIVE.derived()}


def table_digests(engine: sa.Engine) -> dict[str, str]:
    """Each derived table's rows, hashed on their own: which table differs, when the digests do."""
    import hashlib

    out = {}
    with engine.connect() as conn:
        for t in LIVE.derived():
            cols = [c for c in t.columns if c.name != "generation"]
            rows = conn.execute(sa.select(*cols).order_by(*t.primary_key.columns)).all()
            out[t.name] = hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()[:12]
    return out


async def project(settings: Any, clock: Any, url: str, workers: int, last: int, *,
                  shared: bool = True) -> tuple[str, dict[str, str]]:
    """Run ``workers`` projectors (0: the single-process mode) into a fresh database until they hold the
    whole ledger; the read model's digest."""
    settings = settings.model_copy(update={"database_url": url})
    async with AsyncExitStack() as stack:
        services = [ProjectorService(tick_interval=0, poll_interval=0.02, partitions=P if workers else 0,
                                     lease_ttl=3.0) for _ in range(max(1, workers))]
        for svc in services:
            await stack.enter_async_context(Mounted([svc], settings, clock=clock))
        await services[0].wait_for(last, 90.0)
        assert services[0].applied >= last, f"stuck at {services[0].applied} of {last}"
        if workers > 1 and shared:  # the work was shared: every worker held partitions at some point
            engine = make_engine(url)
            seen = set(owners(engine).values())
            engine.dispose()
            assert len(seen) >= 2, seen
    engine = make_engine(url)
    try:
        return digest(engine, LIVE), table_digests(engine)
    finally:
        engine.dispose()


async def test_server_and_local_partitions_agree(fresh_nats, clock, tenant):
    nc, store, last = await a_ledger(fresh_nats.url, clock, tenant, 12)
    try:
        name = await kp.ensure_partition_stream(nc, P)
        pstore = LedgerStore(nc, name)
        deadline = time.monotonic() + 10
        while await pstore.last_sequence() < last and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        msgs = await pstore.read_batch(0, 5000)
        assert len(msgs) == last
        for m in msgs:
            _, part, t, company, *_ = m.subject.split(".")
            assert int(part) == kp.partition_of(t, company, P), m.subject
            o = original(m)
            assert o.subject == "ledger." + m.subject.split(".", 2)[2]
            assert (await store.message_at(o.stream_seq)).subject == o.subject  # the LEDGER sequence it came from
        assert {m.subject.split(".")[1] for m in msgs} == {str(p) for p in range(P)}  # 12 companies spread
    finally:
        await nc.close()


def test_merge_cuts_where_a_full_read_stopped():
    def m(seq: int, part: str) -> StoredMessage:
        return StoredMessage(seq, f"p.{part}.t.c.x.y", b"", None, None)

    own = [m(1, "0"), m(4, "0"), m(9, "0")]
    system = [m(2, "1"), m(5, "1")]
    assert [x.stream_seq for x in merged(own, system, 3, 100)] == [1, 2, 4, 5, 9]  # own was full: cut at 9
    assert [x.stream_seq for x in merged(own, system, 2, 100)] == [1, 2, 4, 5]  # both full: at the lower, 5
    assert [x.stream_seq for x in merged(own, [m(4, "0")], 5, 100)] == [1, 4, 9]  # its own system facts: once
    # a system fact appended after the head was read (and after the partition's own read): not yet, or
    # the partition's messages appended in between would be skipped
    assert [x.stream_seq for x in merged(own, [*system, m(12, "1")], 5, 10)] == [1, 2, 4, 5, 9]


@pytest.mark.parametrize("workers", [2, 3])
async def test_workers_build_the_same_read_model_as_one(own_ledger, settings_for, clock, tenant, read_models,
                                                        workers):
    nc, store, _ = await a_ledger(own_ledger.url, clock, tenant, 60)
    settings = settings_for(own_ledger)
    try:
        await set_rule_overrides(settings, tenant, {"rules": {"change-filing": {"reminders": [20, 0]}}})
        last = await fill(store, DirectRecorder(store, clock), f"{tenant}b", 20, seed=3)
        one = await project(settings, clock, read_models.fresh("one"), 0, last)
        many = await project(settings, clock, read_models.fresh(f"w{workers}"), workers, last)
        assert many[0] == one[0], f"{workers} workers built a different read model: " + ", ".join(
            t for t in one[1] if one[1][t] != many[1][t])
    finally:
        await nc.close()


async def test_a_worker_that_lost_its_partition_cannot_commit(fresh_nats, clock, tenant, tmp_path):
    nc, _, last = await a_ledger(fresh_nats.url, clock, tenant, 6)
    engine = make_engine(f"sqlite:///{tmp_path / 'fence.db'}")
    try:
        migrate(engine)
        pstore = LedgerStore(nc, await kp.ensure_partition_stream(nc, P))
        deadline = time.monotonic() + 10
        while await pstore.last_sequence() < last and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        partition = 0
        while not (batch := await pstore.read_batch(0, 1000, kp.partition_filter(partition))):
            partition += 1

        def projection(epoch: int) -> PartitionProjection:
            proj = PartitionProjection(engine, LIVE, Rulebook(), scheduler=None, partitions=P, partition=partition,
                                       history_facts=1000)
            proj.epoch, proj.batch_end, proj.covers = epoch, batch[-1].stream_seq, 0
            return proj

        old_epoch, position = acquire(engine, P, partition, "old")
        assert position == 0
        stale = projection(old_epoch)
        new_epoch, _ = acquire(engine, P, partition, "new")  # taken over (the old lease expired)
        assert new_epoch == old_epoch + 1
        with pytest.raises(Fenced):
            stale.apply([original(m) for m in batch], 0)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(LIVE.facts)).scalar() == 0
        current = projection(new_epoch)
        result = current.apply([original(m) for m in batch], 0)
        assert result.events == len(batch)
        with engine.connect() as conn:
            row = conn.execute(sa.select(PARTITIONS).where(PARTITIONS.c.partition == partition)).one()
            assert (row.stream_sequence, row.epoch, row.owner) == (batch[-1].stream_seq, new_epoch, "new")
            assert conn.execute(sa.select(sa.func.count()).select_from(LIVE.facts)).scalar() > 0
    finally:
        engine.dispose()
        await nc.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ledger_projector"], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def waiting(conn: Any) -> int:
    """Companies whose alerts wait for their facts to settle."""
    return conn.execute(sa.select(sa.func.count()).select_from(LIVE.company_watch)
                        .where(LIVE.company_watch.c.alerts_pending.is_(True))).scalar() or 0


async def test_killing_a_worker_mid_catch_up_loses_nothing_and_repeats_no_alert(
        fresh_nats, settings_for, clock, tenant, tmp_path, read_models):
    nc, store, last = await a_ledger(fresh_nats.url, clock, tenant, 120)
    settings = settings_for(fresh_nats).model_copy(update={"database_url": read_models.fresh("killed")})
    env = {**os.environ, "LEDGER_NATS_URL": fresh_nats.url, "LEDGER_DATABASE_URL": settings.database_url,
           "LEDGER_HOME": str(settings.home), "LEDGER_ENV": "test", "LEDGER_CLOCK": clock.now().isoformat(),
           "LEDGER_PROJECTOR_BATCH": "40", "LEDGER_PROJECTOR_BATCH_MAX": "40", "LEDGER_SCHEDULER_INTERVAL": "0",
           "LEDGER_PROJECTOR_PARTITIONS": str(P), "LEDGER_PROJECTOR_LEASE_TTL": "3"}
    engine = make_engine(settings.database_url)
    log = tmp_path / "workers.log"
    victim = start_worker(env, log)
    survivor = start_worker(env, log)
    try:
        deadline = time.monotonic() + 60  # both work partitions, and the backlog is still there
        while time.monotonic() < deadline:
            held = owners(engine)
            if len(held) == P and len(set(held.values())) == 2:
                break
            assert victim.poll() is None and survivor.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the two workers never shared the partitions: {owners(engine)}")
        with engine.connect() as conn:
            before = conn.execute(sa.select(sa.func.max(PARTITIONS.c.covered_sequence))).scalar() or 0
        assert applied(engine) < last, "caught up before the kill: nothing left to take over"
        held = owners(engine)
        victim_name = next(o for o in held.values() if str(victim.pid) in (o or ""))
        orphaned = {p for p, o in held.items() if o == victim_name}
        assert orphaned
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        while any(owners(engine)[p] == victim_name for p in orphaned):
            assert time.monotonic() - killed_at < 15, f"partitions {orphaned} never moved: {owners(engine)}"
            await asyncio.sleep(0.05)
        took_over = time.monotonic() - killed_at
        while applied(engine) < last:
            assert time.monotonic() - killed_at < 120, f"stuck at {applied(engine)} of {last}"
            assert survivor.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the outbox drains, and no company waits to settle (what the
            with engine.connect() as conn:  # victim deferred is decided by the partitions' new owner)
                if not conn.execute(sa.select(sa.func.count()).select_from(LIVE.alerts)
                                    .where(LIVE.alerts.c.published.is_(False))).scalar() and not waiting(conn):
                    break
            await asyncio.sleep(0.05)
        with engine.connect() as conn:
            assert waiting(conn) == 0, "alerts deferred by the killed worker were never decided"
    finally:
        for proc in (victim, survivor):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    print(f"killed with {before} of {last} covered; partitions {sorted(orphaned)} taken over in {took_over:.1f} s")
    assert took_over < 10
    incremental = digest(engine, LIVE)
    clean = await rebuild(settings.model_copy(update={"database_url": read_models.fresh("clean")}))
    assert clean.applied_sequence == last
    assert clean.digest == incremental, "the kill changed the read model"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(LIVE.alerts.c.alert_id, LIVE.alerts.c.subject, LIVE.alerts.c.published)).all()
    engine.dispose()
    assert rows and all(r.published for r in rows)
    sent = [r.alert_id for r in rows if r.subject != FOLDED]
    info = await nc.jetstream().stream_info(ALERTS)
    ids = []
    js = nc.jetstream()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(ALERTS, seq=seq)
        ids.append((msg.headers or {}).get("Nats-Msg-Id"))
    assert len(ids) == len(set(ids)), "an alert went out twice"
    assert sorted(ids) == sorted(sent)  # every decided alert, once
    await nc.close()


async def test_workers_carry_on_from_a_single_projectors_read_model_and_back(own_ledger, settings_for, clock, tenant,
                                                                           tmp_path):
    nc, store, first = await a_ledger(own_ledger.url, clock, tenant, 30)
    url = f"sqlite:///{tmp_path / 'switch.db'}"
    settings = settings_for(own_ledger)
    recorder = DirectRecorder(store, clock)
    try:
        await project(settings, clock, url, 0, first)  # one projector
        second = await fill(store, recorder, f"{tenant}b", 15, seed=5)
        await project(settings, clock, url, 2, second, shared=False)  # two workers start where it stopped (no fact twice)
        engine = make_engine(url)
        with engine.connect() as conn:
            starts = conn.execute(sa.select(sa.func.min(LIVE.facts.c.ledger_sequence))
                                  .where(LIVE.facts.c.tenant == f"{tenant}b")).scalar()
        engine.dispose()
        assert starts > first
        # the worker holding partition 0 signed the settled head (the heads are LEDGER's at that sequence)
        signed = Checkpoint.model_validate_json((await nc.jetstream().get_last_msg(cp.STREAM, cp.SUBJECT)).data)
        assert signed.sequence == second
        with make_engine(url).connect() as conn:
            assert signed.aggregates == conn.execute(sa.select(sa.func.count()).select_from(LIVE.chain_tips)).scalar()
        third = await fill(store, recorder, f"{tenant}c", 10, seed=6)
        switched, _ = await project(settings, clock, url, 0, third)  # and one projector again
        clean = await rebuild(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'clean.db'}"}))
        assert clean.applied_sequence == third
        assert clean.digest == switched
    finally:
        await nc.close()


def test_bus_rights_name_the_partitioned_streams():
    from ledger_kernel import bus_access
    from ledger_projector.leases import BUCKET

    assert bus_access.PARTITIONED == kp.STREAM and bus_access.LEASES == BUCKET
    rights = bus_access.PROJECTOR.publish
    assert f"$JS.API.DIRECT.GET.{kp.STREAM}" in rights and f"$KV.{BUCKET}.>" in rights

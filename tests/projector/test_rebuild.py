"""Rebuild: replaying LEDGER from 1 into fresh tables gives exactly the incrementally built model,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from ledger_kernel.connection import connect
from ledger_kernel.partitions import fnv1a32, partition_of
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_projector.database import make_engine
from ledger_projector.digest import digest
from ledger_projector.projection import read_checkpoint
from ledger_projector.rebuild import (
    MAX_WORKERS,
    SUFFIX,
    RebuildFailed,
    RebuildProgress,
    check_workers,
    read_model_digest,
    rebuild,
)
from ledger_projector.rebuild_loader import by_facts
from ledger_projector.rebuild_workers import EVALUATING, REPLAYING, SWAPPING, owner
from ledger_projector.system_facts import load_calendar, set_rule_overrides
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.ledger_facts import DirectRecorder, result
from projector.synthetic import fill, publish_bad_version, uscc
from projector.test_calendar import SCHEDULE_2027


async def test_rebuild_equals_incremental_and_poison_is_parked(fresh_nats, settings_for, clock, tenant, read_models):
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    settings = settings_for(fresh_nats).model_copy(update={"database_url": read_models.fresh("live")})
    try:
        async with projector_stack(settings, clock, batch_size=50) as svc:
            assert svc.engine.dialect.name == read_models.kind
            filled = await fill(store, recorder, tenant, 40, poison_every=53)
            await publish_bad_version(store, tenant, uscc(999))
            last = await store.last_sequence()
            assert last == filled + 1
            await svc.catch_up()
            status = await result(nc, "status")
            assert status["applied_sequence"] == last and status["lag"] == 0
            facts = next(f for f in range(filled + 1) if f + f // 53 == filled)
            poison = facts // 53  # one junk message after every 53rd fact, plus the bad version
            assert poison >= 2 and status["parked"] == poison + 1, status
            reasons = sorted(p["reason"].split(":")[0] for p in status["parked_recent"])
            assert reasons == sorted(["undecodable"] * poison + ["cannot upcast"]), reasons
            incremental = digest(svc.engine, LIVE)

            # while the projector runs; a small fact budget, so the evaluation pass takes many runs of companies
            report = await rebuild(settings, facts_per_chunk=25)
            assert report.applied_sequence == last
            assert report.digest == incremental
            assert report.parked == status["parked"]
            print(f"rebuild: {report.events} events in {report.seconds:.2f}s "
                  f"({report.events_per_second:,.0f} events/s), {poison} poison")

            # the running projector carries on after the swap
            await recorder.record(tenant, {"type": "company.registered", "company": uscc(12345),
                                           "effective_date": "2026-01-05",
                                           "data": {"name": "后来的公司", "registered_capital": 1000000,
                                                    "province": "31", "industry": "other",
                                                    "business_scope": ["呼叫中心业务"]}})
            await svc.catch_up()
            after_more = digest(svc.engine, LIVE)
            company = await result(nc, "company", tenant, company=uscc(12345))
            assert company["name"] == "后来的公司"

        # a clean rebuild into another database (of the same kind) gives the same model
        other = settings.model_copy(update={"database_url": read_models.fresh("clean")})
        clean = await rebuild(other)
        assert clean.digest == after_more
        assert clean.applied_sequence == await store.last_sequence()
        assert await read_model_digest(other) == after_more
        assert await read_model_digest(settings) == after_more  # and the live one is as the projector left it
    finally:
        await nc.close()


@given(st.dictionaries(st.text("abc0123", min_size=1, max_size=6), st.integers(1, 120), max_size=60),
       st.integers(1, 10), st.integers(1, 200))
def test_the_evaluation_pass_holds_a_bounded_number_of_facts(sizes, most, budget):
    """Runs keep sorted order and every company once; each is within both bounds, or one oversized company."""
    runs = by_facts(sizes, most, budget)
    assert [k for run in runs for k in run] == sorted(sizes)
    for run in runs:
        held = sum(sizes[k] for k in run)
        assert len(run) <= most
        assert held <= budget or len(run) == 1, (run, held)
    for a, b in zip(runs, runs[1:], strict=False):  # a run ends only when the next company would not fit
        assert len(a) == most or sum(sizes[k] for k in a) + sizes[b[0]] > budget


# --- in parallel ------------------------------------------------------------------------------------


def test_the_partition_function_is_32_bit_fnv1a_over_tenant_and_company_joined():
    assert fnv1a32(b"") == 0x811C9DC5  # the published test vectors
    assert fnv1a32(b"a") == 0xE40C292C
    assert fnv1a32(b"foobar") == 0xBF9CF968
    assert partition_of("foo", "bar", 1_000_003) == 0xBF9CF968 % 1_000_003  # no separator between them
    assert partition_of("fo", "obar", 7) == partition_of("foo", "bar", 7)
    assert owner("ledger.foo.bar.company.bar", 7) == 0xBF9CF968 % 7
    # system facts and subjects naming no company go to share 0, whatever the count
    assert owner("ledger._system._calendar.calendar.y2027", 5) == 0
    assert owner("ledger.nonsense", 5) == 0


@pytest.mark.parametrize("workers", [0, -1, 1000, MAX_WORKERS + 1, True, 2.0])
def test_a_worker_count_out_of_range_is_refused(workers):
    with pytest.raises(ValueError, match="--workers must be a whole number from 1 to"):
        check_workers(workers)


async def _varied_ledger(nats, settings, clock, tenant, tmp_path) -> int:
    """Two tenants' companies with junk and a bad version between them, a holiday schedule and a tenant's
    overrides in the middle, and a message whose subject names no company; the last sequence."""
    nc = await connect(nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    try:
        await fill(store, recorder, tenant, 24, poison_every=37)
        schedule = tmp_path / "2027.json"
        schedule.write_text(json.dumps(SCHEDULE_2027), encoding="utf-8")
        await load_calendar(settings, schedule)
        await set_rule_overrides(settings, tenant, {"rules": {"change-filing": {"reminders": [20, 0]}}})
        await publish_bad_version(store, tenant, uscc(999))
        await store.js.publish("ledger.nonsense", b"no company here", headers={"Nats-Msg-Id": f"{tenant}-n"})
        await fill(store, recorder, tenant + "b", 12, seed=11)
        return await store.last_sequence()
    finally:
        await nc.close()


async def test_two_and_three_workers_rebuild_what_one_does(fresh_nats, settings_for, clock, tenant, read_models,
                                                           tmp_path):
    settings = settings_for(fresh_nats).model_copy(update={"database_url": read_models.fresh("live")})
    last = await _varied_ledger(fresh_nats, settings, clock, tenant, tmp_path)
    async with projector_stack(settings, clock, batch_size=40) as svc:
        await svc.catch_up()
        incremental = digest(svc.engine, LIVE)
        with svc.engine.connect() as conn:
            keys = {(r.tenant, r.company) for r in conn.execute(sa.select(LIVE.companies))}
    for workers in (2, 3):  # every share has companies, so each worker has work to get wrong
        assert {partition_of(t, c, workers) for t, c in keys} == set(range(workers))
    reports = {}
    for workers in (1, 2, 3):
        heard: list[RebuildProgress] = []
        url = read_models.fresh(f"w{workers}")
        report = await rebuild(settings.model_copy(update={"database_url": url}), workers=workers,
                               progress=heard.append, facts_per_chunk=30)
        reports[workers] = report
        assert (report.workers, report.applied_sequence, report.events) == (workers, last, last)
        assert report.digest == incremental, workers
        assert await read_model_digest(settings.model_copy(update={"database_url": url})) == incremental
        # progress: events of the whole ledger, then every fact evaluated, then the swap; never backwards
        replaying = [(p.done, p.total) for p in heard if p.phase == REPLAYING]
        evaluating = [(p.done, p.total) for p in heard if p.phase == EVALUATING]
        assert replaying[0] == (0, last) and replaying[-1] == (last, last)
        facts = evaluating[0][1]
        assert evaluating[0] == (0, facts) and evaluating[-1] == (facts, facts) and facts > 100
        assert [p.done for p in heard if p.phase == REPLAYING] == sorted(p.done for p in heard if p.phase == REPLAYING)
        assert [(p.done, p.total) for p in heard if p.phase == SWAPPING] == [(0, 1), (1, 1)]
        assert [p.phase for p in heard].index(EVALUATING) > max(i for i, p in enumerate(heard) if p.phase == REPLAYING)
    assert reports[1].parked == reports[3].parked >= 3  # junk, the bad version, the subject naming no company
    assert reports[1].companies == reports[3].companies == len(keys)

    # into the live read model, with the projector running: it carries on after the swap
    async with projector_stack(settings, clock, batch_size=40) as svc:
        swapped = await rebuild(settings, workers=3)
        assert swapped.digest == incremental
        await svc.catch_up()
        assert digest(svc.engine, LIVE) == incremental


async def test_a_worker_that_dies_fails_the_rebuild_and_swaps_nothing(fresh_nats, settings_for, clock, tenant,
                                                                     read_models, tmp_path):
    settings = settings_for(fresh_nats).model_copy(update={"database_url": read_models.fresh("live")})
    await _varied_ledger(fresh_nats, settings, clock, tenant, tmp_path)
    first = await rebuild(settings)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            before = read_checkpoint(conn, LIVE)
        killed: list[int] = []

        def kill_one(at: RebuildProgress) -> None:
            """Once every share is stored (each worker waits to evaluate), SIGKILL worker 1."""
            if at.phase == EVALUATING and not killed:
                victim = next(p for p in multiprocessing.active_children() if p.name == "ledger-rebuild-1")
                os.kill(victim.pid, signal.SIGKILL)
                killed.append(victim.pid)

        with pytest.raises(RebuildFailed, match="rebuild worker 1 was killed by SIGKILL"):
            await rebuild(settings, workers=2, progress=kill_one)
        assert killed
        assert not [p for p in multiprocessing.active_children() if p.name.startswith("ledger-rebuild-")]
        with engine.connect() as conn:
            assert read_checkpoint(conn, LIVE) == before  # no swap: same checkpoint, same generation
        assert await read_model_digest(settings) == first.digest
        assert not [t for t in sa.inspect(engine).get_table_names() if t.endswith(SUFFIX)]  # the fresh ones dropped
    finally:
        engine.dispose()
    again = await rebuild(settings, workers=2)  # and the next rebuild is not hindered by the failed one
    assert again.digest == first.digest

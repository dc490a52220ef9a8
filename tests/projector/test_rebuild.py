"""Rebuild: replaying LEDGER from 1 into fresh tables gives exactly the incrementally built model,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_projector.digest import digest
from ledger_projector.rebuild import by_facts, read_model_digest, rebuild
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.ledger_facts import DirectRecorder, result
from projector.synthetic import fill, publish_bad_version, uscc


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

"""The kernel against a real nats-server: appends, reloads, concurrency, idempotency, refusals."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from ledger_kernel import envelope
from ledger_kernel.aggregate import Aggregate, Command, Refused
from ledger_kernel.repository import Conflict, IdempotencyMismatch, Repository
from ledger_kernel.store import LedgerStore, WrongLastSequence
from ledger_kernel.subjects import AggregateAddress

USCC = "91310115MA1K4B8N68"


class Licence(Aggregate):
    aggregate_type = "licence"
    issued: bool = False
    renewals: int = 0

    def check_licence_issued(self, data, command):
        if self.issued:
            raise Refused("licence_exists", "data.licence_no", "licence already issued", "许可证已存在")

    def on_licence_issued(self, data, event):
        self.issued = True

    def on_licence_renewed(self, data, event):
        self.renewals += 1


def cmd(tenant: str, command_id: str, type_: str = "licence.issued", **data) -> Command:
    return Command(tenant, USCC, type_, date(2022, 3, 15), data or {"licence_no": "B2-20220315"}, command_id)


def addr(tenant: str, agg: str = "B2-20220315") -> AggregateAddress:
    return AggregateAddress(tenant, USCC, "licence", agg)


async def test_append_and_reload(nc, tenant):
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    first = await repo.execute(cmd(tenant, "c1"), addr(tenant), Licence, 1)
    second = await repo.execute(cmd(tenant, "c2", "licence.renewed", new_expires_on="2032-03-14"),
                                addr(tenant), Licence, 1)
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.ledger_sequence > first.ledger_sequence
    fresh = Repository(LedgerStore(nc), "urn:ledger:licences", cache_size=0)
    agg = await fresh.load(addr(tenant), Licence)
    assert agg.issued and agg.renewals == 1 and agg.version == 2
    stored = await LedgerStore(nc).read_all(addr(tenant).subject)
    events = [m.event() for m in stored]
    assert [e["type"] for e in events] == ["licence.issued", "licence.renewed"]
    assert events[0]["prevhash"] == envelope.GENESIS and events[1]["prevhash"] == events[0]["hash"]
    assert all(envelope.seal_ok(e) for e in events)
    assert events[0]["tenant"] == tenant and events[0]["company"] == USCC and events[0]["effectivedate"] == "2022-03-15"


async def test_invariant_refusal_appends_nothing(nc, tenant):
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    await repo.execute(cmd(tenant, "c1"), addr(tenant), Licence, 1)
    with pytest.raises(Refused) as info:
        await repo.execute(cmd(tenant, "c2"), addr(tenant), Licence, 1)
    assert info.value.code == "licence_exists" and info.value.field == "data.licence_no"
    assert len(await LedgerStore(nc).read_all(addr(tenant).subject)) == 1


async def test_fifty_concurrent_writers_on_one_aggregate(nc, tenant):
    """Every acknowledged append is in the stream exactly once, and sequences have no gaps."""
    repos = [Repository(LedgerStore(nc), "urn:ledger:licences") for _ in range(10)]
    results = await asyncio.gather(*[
        repos[i % 10].execute(cmd(tenant, f"w{i}", "licence.renewed", n=i), addr(tenant, "contended"), Licence, 1)
        for i in range(50)])
    stored = [m.event() for m in await LedgerStore(nc).read_all(addr(tenant, "contended").subject)]
    assert sorted(r.sequence for r in results) == list(range(1, 51))
    assert [e["sequence"] for e in stored] == list(range(1, 51))
    assert sorted(e["id"] for e in stored) == sorted(r.event_id for r in results)
    assert len({e["data"]["n"] for e in stored}) == 50
    assert sum(r.conflicts for r in repos) > 0, "the test must actually exercise concurrency conflicts"


async def test_retry_with_same_command_id_yields_one_event(nc, tenant):
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    a = await repo.execute(cmd(tenant, "same"), addr(tenant), Licence, 1)
    b = await Repository(LedgerStore(nc), "urn:ledger:licences").execute(cmd(tenant, "same"), addr(tenant), Licence, 1)
    assert (a.event_id, a.ledger_sequence, a.duplicate) == (b.event_id, b.ledger_sequence, False) or b.duplicate
    assert b.duplicate and b.ledger_sequence == a.ledger_sequence
    assert len(await LedgerStore(nc).read_all(addr(tenant).subject)) == 1


async def test_same_command_id_for_a_different_fact_is_refused(nc, tenant):
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    await repo.execute(cmd(tenant, "k"), addr(tenant), Licence, 1)
    with pytest.raises(IdempotencyMismatch):
        await repo.execute(cmd(tenant, "k", "licence.renewed", new_expires_on="2040-01-01"), addr(tenant), Licence, 1)


async def test_lost_ack_then_retry_is_one_event(nc, tenant):
    """The first publish landed but its ack was lost: the retry sees 10071 and must still succeed once."""
    store = LedgerStore(nc)
    subject = addr(tenant).subject
    event_id = envelope.event_id_for(tenant, "lost")
    # What the repository would have published; we publish it ourselves and "lose" the ack.
    repo = Repository(store, "urn:ledger:licences")
    agg = await repo.load(addr(tenant), Licence)
    event = envelope.build_event(
        event_id=event_id, source="urn:ledger:licences", event_type="licence.issued", version=1,
        aggregate_id="B2-20220315", tenant=tenant, company=USCC, sequence=1, effective_date=date(2022, 3, 15),
        data={"licence_no": "B2-20220315"}, prevhash=agg.last_hash, recorded_at=repo.clock.now())
    await nc.jetstream().publish(subject, envelope.encode(event), headers={"Nats-Msg-Id": event_id})
    # Store level: the guarded retry with the stale expectation is recognised as ours.
    again = await store.append(subject, envelope.encode(event), msg_id=event_id, expected_last_subject_seq=0)
    assert again.duplicate
    # Repository level (stale cache says the aggregate is empty): one event, reported as a duplicate.
    result = await repo.execute(cmd(tenant, "lost"), addr(tenant), Licence, 1)
    assert result.duplicate and result.event_id == event_id and result.sequence == 1
    assert len(await store.read_all(subject)) == 1


async def test_a_true_conflict_is_reported_not_hidden(nc, tenant):
    store = LedgerStore(nc)
    repo = Repository(store, "urn:ledger:licences")
    await repo.execute(cmd(tenant, "c1"), addr(tenant), Licence, 1)
    with pytest.raises(WrongLastSequence):
        await store.append(addr(tenant).subject, b"{}", msg_id="other", expected_last_subject_seq=0)
    stale = Command(tenant, USCC, "licence.renewed", date(2023, 1, 1), {"n": 1}, "c2", expected_sequence=0)
    with pytest.raises(Conflict) as info:
        await repo.execute(stale, addr(tenant), Licence, 1)
    assert (info.value.expected, info.value.actual) == (0, 1)


async def test_streams_are_append_only(nc):
    js = nc.jetstream()
    info = await js.stream_info("LEDGER")
    assert info.config.deny_delete and info.config.deny_purge and info.config.allow_direct
    assert info.config.subjects == ["ledger.>"] and str(getattr(info.config.storage, "value", info.config.storage)) == "file"
    with pytest.raises(Exception) as err:
        await js.purge_stream("LEDGER")
    assert "purge" in str(err.value).lower() or getattr(err.value, "err_code", None) is not None
    alerts = await js.stream_info("ALERTS")
    assert alerts.config.subjects == ["alerts.>"] and alerts.config.deny_delete


async def test_direct_get_reads_across_a_wildcard(nc, tenant):
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    for i in range(3):
        await repo.execute(cmd(tenant, f"x{i}", licence_no=f"B2-2022031{i}"), addr(tenant, f"B2-2022031{i}"),
                           Licence, 1)
    msgs = await LedgerStore(nc).read_all(f"ledger.{tenant}.>")
    assert [json.loads(m.data)["data"]["licence_no"] for m in msgs] == [f"B2-2022031{i}" for i in range(3)]

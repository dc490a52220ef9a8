"""Many clients record facts for one aggregate at once: every acknowledged fact is in the ledger exactly once.

Two instances of the numbers service share the queue group, as two processes
would, so appends race through JetStream's expected-last-subject-sequence check
and not only through one process's lock.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import pytest
from ledger_contracts.examples import EXAMPLE_COMPANY, example_fact
from ledger_kernel.clock import FixedClock
from ledger_kernel.connection import connect
from ledger_kernel.envelope import GENESIS, compute_hash
from ledger_kernel.runtime import Mounted
from ledger_kernel.store import LedgerStore
from services_support import build, request

CLIENTS = 8
FACTS_PER_CLIENT = 25


@pytest.fixture
async def second_numbers(services_stack, provisioned, tmp_path) -> AsyncIterator[Mounted]:
    """Another numbers service in the same queue group, with its own connection and repository."""
    from services_support import STACK_INSTANT, stack_settings

    async with Mounted([build("numbers")], stack_settings(provisioned, tmp_path), clock=FixedClock(STACK_INSTANT),
                       name="numbers-2") as mounted:
        yield mounted


def traffic(month: str) -> dict:
    fact = example_fact("traffic.period_reported")
    del fact["idempotency_key"]
    fact["data"]["month"] = month
    return fact


async def test_concurrent_clients_on_one_aggregate_append_each_fact_exactly_once(
        services_stack, second_numbers, provisioned, tenant):
    instances = [next(s for s in services_stack.services if s.name == "numbers"), second_numbers.services[0]]
    appended_before = [s.stats["appended"] for s in instances]
    clients = [await connect(provisioned.url, f"client-{i}") for i in range(CLIENTS)]
    commands = [(f"c{i}-{j}", traffic(f"20{10 + j % 16}-{1 + i % 12:02d}")) for i in range(CLIENTS)
                for j in range(FACTS_PER_CLIENT)]

    async def client(nc, mine: list[tuple[str, dict]]) -> list[dict]:
        sends = mine + random.sample(mine, 5)  # some commands are retried while others are in flight
        random.shuffle(sends)
        replies = await asyncio.gather(*(nc.request("cmd.numbers", request(tenant, fact, cid), timeout=60)
                                         for cid, fact in sends))
        return [json.loads(r.data) for r in replies]

    try:
        results = await asyncio.gather(*(client(nc, commands[i::CLIENTS]) for i, nc in enumerate(clients)))
    finally:
        for nc in clients:
            await nc.close()

    replies = [r for batch in results for r in batch]
    assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3]
    acknowledged = {r["event_id"] for r in replies}
    assert len(acknowledged) == len(commands)
    subject = f"ledger.{tenant}.{EXAMPLE_COMPANY}.traffic.{EXAMPLE_COMPANY}"
    assert {r["aggregate"] for r in replies} == {subject}

    nc = await connect(provisioned.url, "reader")
    try:
        events = [m.event() for m in await LedgerStore(nc).read_all(subject)]
    finally:
        await nc.close()
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == len(commands)
    assert set(ids) == acknowledged
    assert [e["sequence"] for e in events] == list(range(1, len(commands) + 1))
    previous = GENESIS
    for event in events:
        assert event["prevhash"] == previous and event["hash"] == compute_hash(event)
        previous = event["hash"]
    # both instances appended to the one aggregate (the queue group spreads requests at random)
    appended = [s.stats["appended"] - b for s, b in zip(instances, appended_before, strict=True)]
    assert sum(appended) == len(commands) and min(appended) > 0, appended
    print(f"appended per instance {appended}, conflicts re-decided {[s.conflicts for s in instances]}")
    # each reply names the position its event really has
    by_id = {e["id"]: e["sequence"] for e in events}
    assert all(by_id[r["event_id"]] == r["sequence"] for r in replies)


async def test_racing_writers_with_one_expected_sequence_only_one_wins(services_stack, second_numbers, provisioned,
                                                                       tenant):
    nc = await connect(provisioned.url, "racer")
    try:
        first = json.loads((await nc.request("cmd.numbers", request(tenant, traffic("2026-01"), "seed"),
                                             timeout=20)).data)
        assert first["sequence"] == 1
        racers = [nc.request("cmd.numbers", request(tenant, traffic("2026-02"), f"race-{i}", expected_sequence=1),
                             timeout=60) for i in range(20)]
        replies = [json.loads(r.data) for r in await asyncio.gather(*racers)]
    finally:
        await nc.close()
    winners = [r for r in replies if r["ok"]]
    assert len(winners) == 1 and winners[0]["sequence"] == 2
    losers = [r for r in replies if not r["ok"]]
    assert {(r["status"], r["code"], r["expected"], r["actual"]) for r in losers} == {(412, "sequence_mismatch", 1, 2)}


async def test_concurrent_allocations_of_one_number_only_one_is_recorded(services_stack, second_numbers,
                                                                          provisioned, tenant):
    nc = await connect(provisioned.url, "allocators")
    try:
        fact = example_fact("number.allocated")
        del fact["idempotency_key"]
        replies = [json.loads(r.data) for r in await asyncio.gather(
            *(nc.request("cmd.numbers", request(tenant, fact, f"alloc-{i}"), timeout=60) for i in range(20)))]
        events = await LedgerStore(nc).read_all(f"ledger.{tenant}.>")
    finally:
        await nc.close()
    assert sum(r["ok"] for r in replies) == 1
    assert {r["errors"][0]["code"] for r in replies if not r["ok"]} == {"already_allocated"}
    assert len(events) == 1


class PausingStore(LedgerStore):
    """The real store, holding each append until released: lets another writer go first, deterministically."""

    def __init__(self, nc) -> None:
        super().__init__(nc)
        self.reached, self.gate = asyncio.Event(), asyncio.Event()

    async def append(self, subject, payload, **kwargs):
        self.reached.set()
        await self.gate.wait()
        return await super().append(subject, payload, **kwargs)


async def test_a_command_another_instance_recorded_meanwhile_is_answered_with_its_stored_position(
        services_stack, provisioned, nc, tenant):
    from ledger_kernel.repository import Repository
    from services_support import STACK_INSTANT

    first = next(s for s in services_stack.services if s.name == "numbers")
    second = build("numbers")  # another instance whose appends we can hold back
    store = PausingStore(nc)
    second._clock = FixedClock(STACK_INSTANT)
    second._repository = Repository(store, second.source, clock=second._clock)

    assert (await first.handle(request(tenant, traffic("2026-01"), "c1")))["sequence"] == 1
    racing = asyncio.create_task(second.handle(request(tenant, traffic("2026-03"), "c3")))
    await store.reached.wait()  # the second instance decided on sequence 2 and is about to append
    assert (await first.handle(request(tenant, traffic("2026-02"), "c2")))["sequence"] == 2
    recorded = await first.handle(request(tenant, traffic("2026-03"), "c3"))
    assert recorded["sequence"] == 3
    store.gate.set()
    reply = await racing

    assert reply["ok"] and reply["duplicate"] is True
    assert (reply["event_id"], reply["sequence"], reply["ledger_sequence"]) == (
        recorded["event_id"], 3, recorded["ledger_sequence"])
    assert len(await LedgerStore(nc).read_all(f"ledger.{tenant}.>")) == 3

"""A 503 means nothing was recorded: a request nats-py buffered while the bus was down, and delivered when it
came back after the gateway had answered, is refused by its deadline; the client's retry with the same
Idempotency-Key records the fact exactly once.

The stack is the test's own (it kills its nats-server). The gateway and the services share one connection
(gateway_harness), which replays its subscriptions before it flushes what it buffered: without deadlines the
late request would reach the licences service every time and be recorded.
"""

from __future__ import annotations

import asyncio

import pytest
from gateway_harness import LiveStack, run_stack
from ledger_contracts.examples import example_fact
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore
from test_facts import ISSUED, REGISTERED, assert_problem

DECLARED = example_fact("company.capabilities_declared") | {"company": REGISTERED["company"]}


async def ledger_types(nats_url: str, tenant: str) -> list[str]:
    """The types of the tenant's events in LEDGER, read from the stream itself (not the read model)."""
    nc = await connect(nats_url, "deadline-test-reader")
    try:
        return [m.event()["type"] for m in await LedgerStore(nc).read_all(f"ledger.{tenant}.>")]
    finally:
        await nc.close()


async def until(condition, seconds: float = 60.0, every: float = 0.1) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(every)


@pytest.mark.slow
async def test_a_503_during_a_bus_outage_records_nothing_and_the_retry_records_once(tmp_path):
    async for live in run_stack(tmp_path):
        await outage(live)


async def outage(live: LiveStack) -> None:
    assert live.nats is not None
    bus = live.gateway.state.bus
    tenant, key = live.new_tenant("outage")
    async with live.client(key) as api:
        assert (await api.post("/v1/facts", json=REGISTERED)).status_code == 201  # the stack works

        live.nats.kill()  # SIGKILL: no goodbye

        async def disconnected() -> bool:
            return not bus.nc.is_connected

        await until(disconnected)  # the client noticed: what it publishes now is buffered
        key_header = {"Idempotency-Key": "outage-1"}
        waits, bus.command_timeout = bus.command_timeout, 4.0  # the outage outlasts this wait (15 s normally)
        try:
            refused = await api.post("/v1/facts", json=ISSUED, headers=key_header)
        finally:
            bus.command_timeout = waits  # a loaded host's later writes get the usual wait
        assert_problem(refused, 503, "unavailable")
        assert int(refused.headers["Retry-After"]) > 0

        live.nats.start()  # the buffered request is flushed once the connection is back

        async def a_later_write_is_recorded() -> bool:
            later = await api.post("/v1/facts", json=DECLARED, headers={"Idempotency-Key": "later-1"})
            return later.status_code == 201

        await until(a_later_write_is_recorded)  # so the buffer was flushed before it, on one connection
        await asyncio.sleep(5)  # time for the licences service to have recorded the late request, if it would
        assert await ledger_types(live.nats_url, tenant) == ["company.registered",
                                                             "company.capabilities_declared"]

        retried = await api.post("/v1/facts", json=ISSUED, headers=key_header)
        assert retried.status_code == 201, retried.text
        again = await api.post("/v1/facts", json=ISSUED, headers=key_header)
        assert again.json() == retried.json() and again.headers["Idempotent-Replayed"] == "true"
        assert (await ledger_types(live.nats_url, tenant)).count("licence.issued") == 1

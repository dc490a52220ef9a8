"""Every fact type of the catalogue: a valid example is appended and read back as the right CloudEvent.

The example story of ledger_contracts is recorded once over NATS (each fact to
the service that owns it); each type's first example is then read back from
LEDGER and checked attribute by attribute, hash chain included.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from ledger_contracts.catalogue import CATALOGUE, FACT_TYPES
from ledger_contracts.examples import EXAMPLE_COMPANY, example_sequence
from ledger_contracts.fact import validate_fact
from ledger_kernel.connection import connect
from ledger_kernel.envelope import GENESIS, compute_hash, dataschema_for, event_id_for
from ledger_kernel.store import LedgerStore
from services_support import SERVICES, send


def _traceparent(index: int) -> tuple[str, str]:
    trace_id = f"{index:032x}"
    return trace_id, f"00-{trace_id}-{index + 1:016x}-01"


@pytest.fixture(scope="module")
async def story(services_stack, provisioned) -> AsyncIterator[dict[str, Any]]:
    """The whole example story recorded in a fresh tenant: replies by type, and the tenant's events."""
    tenant = "tex" + secrets.token_hex(4)
    nc = await connect(provisioned.url, "services-examples")
    recorded: dict[str, tuple[dict, dict, str]] = {}
    try:
        for index, fact in enumerate(example_sequence()):
            command_id = fact["idempotency_key"]
            trace_id, traceparent = _traceparent(index + 1)
            reply = await send(nc, tenant, fact, command_id, headers={"traceparent": traceparent})
            assert reply["ok"] is True, (fact["type"], reply)
            recorded.setdefault(fact["type"], (fact, reply, trace_id))
        store = LedgerStore(nc)
        events = {m.stream_seq: (m.subject, m.event()) for m in await store.read_all(f"ledger.{tenant}.>")}
        yield {"tenant": tenant, "recorded": recorded, "events": events}
    finally:
        await nc.close()


def test_the_story_covers_every_type_and_every_service():
    types = {fact["type"] for fact in example_sequence()}
    assert types == set(FACT_TYPES)
    assert {spec.owner.value for spec in CATALOGUE.values()} <= set(SERVICES)  # every owner is installed


@pytest.mark.parametrize("fact_type", FACT_TYPES)
async def test_example_is_appended_and_read_back_as_a_cloudevent(story, fact_type):
    tenant = story["tenant"]
    fact, reply, trace_id = story["recorded"][fact_type]
    spec = CATALOGUE[fact_type]
    valid = validate_fact(fact, today=date(2026, 11, 23))

    # the reply names the event, the aggregate and both sequences
    assert reply["type"] == fact_type and reply["duplicate"] is False
    assert reply["event_id"] == event_id_for(tenant, fact["idempotency_key"])
    assert reply["aggregate_id"] == valid.aggregate_id
    assert reply["aggregate"] == f"ledger.{tenant}.{EXAMPLE_COMPANY}.{spec.aggregate_type}.{valid.aggregate_id}"

    subject, event = story["events"][reply["ledger_sequence"]]
    assert subject == reply["aggregate"]
    assert event["specversion"] == "1.0" and event["id"] == reply["event_id"]
    assert event["type"] == fact_type
    assert event["source"] == f"urn:ledger:{spec.owner.value}"
    assert event["subject"] == valid.aggregate_id
    assert event["tenant"] == tenant and event["company"] == EXAMPLE_COMPANY
    assert event["effectivedate"] == fact["effective_date"]
    assert event["dataschema"] == dataschema_for(fact_type, spec.version) == spec.schema_id
    assert event["data"] == valid.data_json()
    assert event["time"] == "2026-11-23T01:00:00.000000Z"  # the recording instant, from the injected clock
    assert event["sequence"] == reply["sequence"]
    assert event["traceparent"].split("-")[1] == trace_id  # the caller's trace continues into the event

    # the hash chain: sealed, and linked to the previous event of the same aggregate
    assert event["hash"] == compute_hash(event)
    same_aggregate = [e for s, (subj, e) in sorted(story["events"].items()) if subj == subject]
    position = [e["id"] for e in same_aggregate].index(event["id"])
    assert event["sequence"] == position + 1
    previous = same_aggregate[position - 1]["hash"] if position else GENESIS
    assert event["prevhash"] == previous


async def test_the_tenant_holds_exactly_the_story(story):
    events = [e for _, e in story["events"].values()]
    assert len(events) == len(example_sequence())
    assert len({e["id"] for e in events}) == len(events)

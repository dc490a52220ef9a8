"""Bad batches on the bus change nothing: every refused item says why, and LEDGER holds no event for it.

Real nats-server, the five services mounted as in production; each test reads the tenant's whole
ledger back afterwards.
"""

from __future__ import annotations

import json

import pytest
from ledger_contracts.examples import example_fact
from ledger_domain.schema import MAX_ITEMS
from services_support import assert_problem, tenant_events


def fact(fact_type: str, **data) -> dict:
    out = example_fact(fact_type)
    out.pop("idempotency_key", None)
    out["data"].update(data)
    return out


async def send(nc, service: str, body: dict) -> dict:
    raw = json.dumps(body, ensure_ascii=False).encode()
    return json.loads((await nc.request(f"cmd.{service}", raw, timeout=30)).data)


async def test_a_batch_of_only_invalid_members_appends_nothing_and_names_each_problem(services_stack, nc, tenant):
    dated_later = fact("number.allocated")
    dated_later["effective_date"] = "2099-01-01"
    items = [
        {"fact": fact("number.allocated", kind="not-a-kind")},  # the payload's shape
        {"fact": dated_later},  # after the service's today
        {"fact": fact("licence.issued")},  # another service's fact
        {"fact": fact("number.filed", number="400-999-0000")},  # a number never allocated
        {"fact": fact("number.allocated"), "command_id": "bell\u0007"},  # a control character in an id
        {"fact": fact("number.allocated"), "expected_sequence": -1},
        {"fact": fact("number.allocated"), "expected_sequence": 3},  # the aggregate is new: sequence 0
        {"fact": "not an object"},
        {"fact": fact("number.allocated"), "extra": True},
        7,
    ]
    reply = await send(nc, "numbers", {"tenant": tenant, "items": items})
    results = reply["results"]
    assert len(results) == len(items)
    expected = [(422, "invalid_fact", "data.kind"), (422, "invalid_fact", "effective_date"),
                (421, "wrong_service", "type"), (409, "invariant_violated", "data.number"),
                (400, "malformed_request", "items.4.command_id"), (400, "malformed_request", "items.5.expected_sequence"),
                (412, "sequence_mismatch", "expected_sequence"), (400, "malformed_request", "items.7.fact"),
                (400, "malformed_request", "items.8.extra"), (400, "malformed_request", "items.9")]
    for result, (status, code, field) in zip(results, expected, strict=True):
        assert_problem(result, status, code)
        assert result["errors"][0]["field"] == field, result
    assert await tenant_events(nc, tenant) == []


@pytest.mark.parametrize("count", [MAX_ITEMS + 1, 5 * MAX_ITEMS])
async def test_an_oversized_batch_is_refused_whole_and_appends_nothing(services_stack, nc, tenant, count):
    items = [{"fact": fact("number.allocated", number=f"400{i:07d}"), "command_id": f"big-{i}"} for i in range(count)]
    reply = await send(nc, "numbers", {"tenant": tenant, "items": items})
    assert_problem(reply, 400, "malformed_request")
    assert [(e["field"], e["code"]) for e in reply["errors"]] == [("items", "invalid_items")]
    assert f"1-{MAX_ITEMS}" in reply["errors"][0]["reason_en"] and reply["errors"][0]["reason_zh"]
    assert await tenant_events(nc, tenant) == []


async def test_a_batch_at_the_bound_is_taken(services_stack, nc, tenant):
    items = [{"fact": fact("number.allocated", number=f"400{i:07d}"), "command_id": f"n-{i}"} for i in range(MAX_ITEMS)]
    reply = await send(nc, "numbers", {"tenant": tenant, "items": items})
    assert [r["ok"] for r in reply["results"]] == [True] * MAX_ITEMS, [r for r in reply["results"] if not r["ok"]][:2]
    assert len(await tenant_events(nc, tenant)) == MAX_ITEMS


async def test_a_command_id_used_twice_in_a_batch_records_one_fact(services_stack, nc, tenant):
    first, other = fact("number.allocated", number="400-111-0001"), fact("number.allocated", number="400-111-0002")
    items = [
        {"fact": first, "command_id": "same"},
        {"fact": first, "command_id": "same"},  # a retry inside the batch: the same event
        {"fact": other, "command_id": "same"},  # the id again for another number (another aggregate)
        {"fact": fact("number.filed", number="400-111-0001"), "command_id": "same"},  # …and for another fact
    ]
    results = (await send(nc, "numbers", {"tenant": tenant, "items": items}))["results"]
    assert results[0]["ok"] and not results[0]["duplicate"]
    assert results[1]["ok"] and results[1]["duplicate"] and results[1]["event_id"] == results[0]["event_id"]
    for refused in results[2:]:
        assert_problem(refused, 422, "idempotency_key_reused")
        assert refused["errors"][0]["field"] == "command_id"
    events = await tenant_events(nc, tenant)
    assert [(e["type"], e["data"]["number"]) for e in events] == [("number.allocated", "4001110001")]  # normalised


@pytest.mark.parametrize(("body", "field"), [
    ({"items": [{"fact": {}}], "tenant": "t\n"}, "tenant"),
    ({"items": [{"fact": {}}], "actor": "a\u0085"}, "actor"),
    ({"items": [{"fact": {}}], "correlation_id": ""}, "correlation_id"),
    ({"items": [], "causation_id": None}, "items"),
])
async def test_a_bad_batch_envelope_appends_nothing(services_stack, nc, tenant, body, field):
    body = {"tenant": tenant, **body}
    body["items"] = [{"fact": fact("number.allocated")}] if body["items"] else []
    reply = await send(nc, "numbers", body)
    assert_problem(reply, 400, "malformed_request")
    assert [e["field"] for e in reply["errors"]] == [field]
    assert await tenant_events(nc, tenant) == []

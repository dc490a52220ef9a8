"""Batch requests on cmd.<service>: each item judged on its own, one aggregate's items applied in order."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_contracts.examples import example_fact, example_sequence
from ledger_kernel.store import LedgerStore
from services_support import SERVICES, assert_problem, owner, tenant_events


def item(fact: dict, command_id: str | None = None, **extra) -> dict:
    fact = dict(fact)
    fact.pop("idempotency_key", None)
    return {"fact": fact, "command_id": command_id, **extra}


async def batch(nc, service: str, tenant: str, items: list, **extra) -> dict:
    body = json.dumps({"tenant": tenant, "items": items, **extra}, ensure_ascii=False).encode()
    return json.loads((await nc.request(f"cmd.{service}", body, timeout=30)).data)


async def test_a_licence_story_in_one_batch_is_applied_in_order(services_stack, nc, tenant):
    story = [f for f in example_sequence() if owner(f["type"]) == "licences"]
    reply = await batch(nc, "licences", tenant, [item(f, f["idempotency_key"]) for f in story])
    assert reply["ok"] is True
    assert [r["ok"] for r in reply["results"]] == [True] * len(story), [r for r in reply["results"] if not r["ok"]]
    assert [r["type"] for r in reply["results"]] == [f["type"] for f in story]
    events = await tenant_events(nc, tenant)
    assert len(events) == len(story)
    by_aggregate: dict[str, list[int]] = {}
    for result in reply["results"]:
        by_aggregate.setdefault(result["aggregate"], []).append(result["sequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_aggregate.values())
    # the same batch again appends nothing and answers with the same events
    again = await batch(nc, "licences", tenant, [item(f, f["idempotency_key"]) for f in story])
    assert all(r["duplicate"] for r in again["results"])
    assert [r["event_id"] for r in again["results"]] == [r["event_id"] for r in reply["results"]]
    assert len(await tenant_events(nc, tenant)) == len(story)


async def test_each_item_gets_its_own_answer(services_stack, nc, tenant):
    issued = example_fact("licence.issued")
    bad = example_fact("licence.issued")
    bad["data"]["expires_on"] = "2020-01-01"
    items = [
        item(issued, "a"),
        item(issued, "b"),  # the same licence again: refused by its aggregate
        item(bad, "c"),  # invalid shape
        item(example_fact("number.allocated"), "d"),  # another service's fact
        "not an object",
        {"fact": issued, "oops": 1},
        item(example_fact("licence.renewed"), "e", actor="key:other"),
        item(issued, "a"),  # a retry of the first item
    ]
    reply = await batch(nc, "licences", tenant, items, actor="key:batch", correlation_id="import-7")
    results = reply["results"]
    assert len(results) == len(items)
    assert results[0]["ok"] and results[0]["sequence"] == 1
    assert_problem(results[1], 409, "invariant_violated")
    assert_problem(results[2], 422, "invalid_fact")
    assert_problem(results[3], 421, "wrong_service")
    assert_problem(results[4], 400, "malformed_request")
    assert results[4]["errors"][0]["field"] == "items.4"
    assert_problem(results[5], 400, "malformed_request")
    assert results[5]["errors"][0]["field"] == "items.5.oops"
    assert results[6]["ok"] and results[6]["sequence"] == 2
    assert results[7]["ok"] and results[7]["duplicate"] and results[7]["event_id"] == results[0]["event_id"]
    events = await tenant_events(nc, tenant)
    assert [e["type"] for e in events] == ["licence.issued", "licence.renewed"]
    assert [(e["actor"], e["correlationid"]) for e in events] == [("key:batch", "import-7"), ("key:other", "import-7")]


@pytest.mark.parametrize(("body", "fields"), [
    ({"items": []}, ["items"]),
    ({"items": {"fact": {}}}, ["items"]),
    ({"items": [{}] * 1001}, ["items"]),
    ({"items": [{}], "command_id": "x"}, ["command_id"]),
    ({"items": [{}], "tenant": "a.b"}, ["tenant"]),
])
async def test_a_malformed_batch_envelope_gets_a_400(services_stack, nc, body, fields):
    reply = json.loads((await nc.request("cmd.numbers", json.dumps({"tenant": "t1", **body}).encode(),
                                         timeout=10)).data)
    assert_problem(reply, 400, "malformed_request")
    assert [e["field"] for e in reply["errors"]] == fields


async def test_many_facts_on_many_aggregates_in_one_batch(services_stack, nc, tenant):
    base = example_fact("number.allocated")
    items = []
    for i in range(300):
        fact = json.loads(json.dumps(base))
        fact["data"]["number"] = f"021{i:08d}"
        fact["data"]["kind"] = "fixed"
        items.append(item(fact, f"n{i}"))
        items.append(item({"type": "number.filed", "company": fact["company"], "effective_date": "2026-01-01",
                           "data": {"number": fact["data"]["number"]}}, f"f{i}"))
    reply = await batch(nc, "numbers", tenant, items)
    assert all(r["ok"] for r in reply["results"]), [r for r in reply["results"] if not r["ok"]][:2]
    assert [r["sequence"] for r in reply["results"]] == [1, 2] * 300
    assert len(await tenant_events(nc, tenant)) == 600


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(SERVICES), items=st.lists(
    json_values | st.fixed_dictionaries({"fact": json_values}) | st.fixed_dictionaries({"fact": st.dictionaries(
        st.sampled_from(["type", "company", "effective_date", "data"]), json_values)}), min_size=1, max_size=8))
async def test_random_batches_get_an_answer_per_item_and_append_nothing(services_stack, service_of, nc, tenant,
                                                                       service, items):
    before = await LedgerStore(nc).last_sequence()
    reply = await service_of(service).handle(json.dumps({"tenant": tenant, "items": items}).encode(), {})
    assert reply["ok"] is True and len(reply["results"]) == len(items)
    for result in reply["results"]:
        assert_problem(result, result["status"], result["code"])
        assert result["status"] in (400, 422)
    assert await LedgerStore(nc).last_sequence() == before

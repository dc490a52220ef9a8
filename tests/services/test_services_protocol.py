"""docs/internal-protocol.md as the services answer it: every outcome has its reply, none is silence."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from ledger_contracts.examples import EXAMPLE_COMPANY, example_fact
from ledger_kernel import deadline as deadlines
from ledger_kernel.envelope import event_id_for
from services_support import SERVICES, assert_problem, build, request, send, tenant_events


async def raw(nc, subject: str, body: bytes) -> dict:
    return json.loads((await nc.request(subject, body, timeout=20)).data)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("body", "fields"), [
    (b"", [""]),
    (b"\xff\xfe not utf-8", [""]),
    (b"{not json", [""]),
    (b"[1, 2]", [""]),
    (b"null", [""]),
    (b'{"tenant": "t1", "tenant": "t2", "fact": {}}', [""]),
    (b'{"tenant": 5, "fact": []}', ["tenant", "fact"]),
    (b'{"tenant": "no.dots", "fact": {}}', ["tenant"]),
    (b'{"tenant": "t1", "fact": {}, "expected_sequence": -1}', ["expected_sequence"]),
    (b'{"tenant": "t1", "fact": {}, "expected_sequence": true}', ["expected_sequence"]),
    (b'{"tenant": "t1", "fact": {}, "command_id": ""}', ["command_id"]),
    (b'{"tenant": "t1", "fact": {}, "expected_seq": 3}', ["expected_seq"]),
    (b'{"tenant": "t1", "fact": {}, "actor": ["key"]}', ["actor"]),
    (b'{"tenant": "t1", "fact": {}, "x": NaN}', [""]),
])
async def test_malformed_request_gets_a_400_naming_the_fields(services_stack, nc, service, body, fields):
    reply = await raw(nc, f"cmd.{service}", body)
    assert_problem(reply, 400, "malformed_request")
    assert [e["field"] for e in reply["errors"]] == fields


async def test_invalid_fact_gets_a_422_listing_every_field(services_stack, nc, tenant):
    fact = example_fact("licence.issued")
    fact["company"] = "91310115MA1EXAMP01"  # wrong check digit
    fact["data"].update(provinces=["99"], issued_on="2022-02-30", category="Z9")
    reply = await send(nc, tenant, fact)
    assert_problem(reply, 422, "invalid_fact")
    fields = {e["field"] for e in reply["errors"]}
    assert {"company", "data.provinces.0", "data.issued_on", "data.category"} <= fields
    assert await tenant_events(nc, tenant) == []


async def test_future_effective_date_is_refused(services_stack, nc, tenant):
    fact = example_fact("company.registered")
    fact["effective_date"] = "2026-11-24"  # the stack's clock says 2026-11-23 in Shanghai
    reply = await send(nc, tenant, fact)
    assert_problem(reply, 422, "invalid_fact")
    assert [(e["field"], e["code"]) for e in reply["errors"]] == [("effective_date", "date_in_future")]
    fact["effective_date"] = "2026-11-23"
    assert (await send(nc, tenant, fact))["ok"] is True


async def test_effective_date_defaults_to_today_in_shanghai(services_stack, nc, tenant):
    fact = example_fact("workforce.key_person_appointed")
    del fact["effective_date"]
    reply = await send(nc, tenant, fact)
    assert reply["ok"] is True
    [event] = await tenant_events(nc, tenant)
    assert event["effectivedate"] == "2026-11-23"


async def test_a_fact_sent_to_the_wrong_service_gets_421_with_its_owner(services_stack, nc, tenant):
    reply = await send(nc, tenant, example_fact("number.allocated"), service="licences")
    assert_problem(reply, 421, "wrong_service")
    assert reply["service"] == "numbers"
    assert await tenant_events(nc, tenant) == []


async def test_the_same_command_twice_appends_once(services_stack, nc, tenant):
    fact = example_fact("site.leased")
    first = await send(nc, tenant, fact, "cmd-1")
    again = await send(nc, tenant, fact, "cmd-1")
    assert first["ok"] and again["ok"]
    assert first["duplicate"] is False and again["duplicate"] is True
    assert {k: v for k, v in again.items() if k != "duplicate"} == {k: v for k, v in first.items() if k != "duplicate"}
    assert first["event_id"] == event_id_for(tenant, "cmd-1")
    assert len(await tenant_events(nc, tenant)) == 1


async def test_the_idempotency_key_inside_the_fact_is_used_without_a_command_id(services_stack, nc, tenant):
    fact = example_fact("site.leased")
    body = json.dumps({"tenant": tenant, "fact": fact}).encode()  # the example carries idempotency_key
    first, again = await raw(nc, "cmd.premises", body), await raw(nc, "cmd.premises", body)
    assert again["duplicate"] is True and again["event_id"] == first["event_id"]
    assert first["event_id"] == event_id_for(tenant, fact["idempotency_key"])


async def test_a_command_id_reused_for_another_fact_is_refused(services_stack, nc, tenant):
    leased = example_fact("site.leased")
    assert (await send(nc, tenant, leased, "cmd-1"))["ok"]
    other = example_fact("site.lease_renewed")  # same site, same aggregate
    assert_problem(await send(nc, tenant, other, "cmd-1"), 422, "idempotency_key_reused")
    elsewhere = example_fact("site.leased")
    elsewhere["data"]["site_ref"] = "SH-OTHER-02"  # another aggregate, inside the de-duplication window
    assert_problem(await send(nc, tenant, elsewhere, "cmd-1"), 422, "idempotency_key_reused")
    assert len(await tenant_events(nc, tenant)) == 1


async def test_expected_sequence_that_holds_appends_and_a_stale_one_gets_412(services_stack, nc, tenant):
    fact = example_fact("traffic.period_reported")
    assert (await send(nc, tenant, fact, "a", expected_sequence=0))["sequence"] == 1
    assert (await send(nc, tenant, fact, "b", expected_sequence=1))["sequence"] == 2
    reply = await send(nc, tenant, fact, "c", expected_sequence=1)
    assert_problem(reply, 412, "sequence_mismatch")
    assert (reply["expected"], reply["actual"]) == (1, 2)
    reply = await send(nc, tenant, fact, "d", expected_sequence=0)
    assert (reply["status"], reply["expected"], reply["actual"]) == (412, 0, 2)
    assert len(await tenant_events(nc, tenant)) == 2
    # a retry of an acknowledged command is answered as before, whatever it expected
    again = await send(nc, tenant, fact, "b", expected_sequence=1)
    assert again["ok"] and again["duplicate"] and again["sequence"] == 2


async def test_requests_carry_actor_correlation_and_causation_into_the_event(services_stack, nc, tenant):
    reply = await send(nc, tenant, example_fact("listing.listed"), "x1", actor="key:9f3a",
                       correlation_id="corr-1", causation_id="cause-1")
    [event] = await tenant_events(nc, tenant)
    assert event["id"] == reply["event_id"]
    assert (event["actor"], event["correlationid"], event["causationid"]) == ("key:9f3a", "corr-1", "cause-1")


async def test_without_a_traceparent_the_event_has_none_or_a_fresh_one(services_stack, nc, tenant):
    await send(nc, tenant, example_fact("listing.listed"))
    [event] = await tenant_events(nc, tenant)
    assert "traceparent" not in event or event["traceparent"].startswith("00-")


async def test_an_unstarted_service_answers_503(tenant):
    service = build("penalties")
    reply = await service.handle(request(tenant, example_fact("penalty.imposed")))
    assert_problem(reply, 503, "unavailable")


async def test_counters_count_appends_duplicates_and_refusals(services_stack, service_of, nc, tenant):
    penalties = service_of("penalties")
    before = dict(penalties.stats)
    fact = example_fact("penalty.imposed")
    await send(nc, tenant, fact, "p1")
    await send(nc, tenant, fact, "p1")
    await send(nc, tenant, fact, "p2")  # the same decision again: refused
    await raw(nc, "cmd.penalties", b"garbage")
    delta = {k: penalties.stats[k] - before.get(k, 0) for k in penalties.stats}
    assert {k: v for k, v in delta.items() if v} == {"appended": 1, "duplicates": 1, "invariant_violated": 1,
                                                     "malformed_request": 1}


async def test_the_request_handler_answers_concurrent_garbage_and_facts_alike(services_stack, nc, tenant):
    fact = example_fact("workforce.seats_declared")
    del fact["idempotency_key"]  # no command id anywhere: each request is a new command
    bodies = [b"garbage", request(tenant, fact), b"{}"] * 20
    replies = await asyncio.gather(*(raw(nc, "cmd.personnel", b) for b in bodies))
    assert [r["ok"] for r in replies] == [False, True, False] * 20
    assert len(await tenant_events(nc, tenant)) == 20
    assert all(e["company"] == EXAMPLE_COMPANY for e in await tenant_events(nc, tenant))


# --- deadlines (Ledger-Deadline): a request that arrives after its requester gave up is never recorded ---

async def test_a_request_past_its_deadline_is_refused_and_nothing_is_appended(services_stack, nc, tenant):
    fact = example_fact("company.registered")
    past = {deadlines.HEADER: deadlines.stamp(0.0, now=time.time() - 60)}
    reply = await send(nc, tenant, fact, "late-1", headers=past)
    assert_problem(reply, 503, "deadline_exceeded")
    assert await tenant_events(nc, tenant) == []
    # a batch past its deadline: the whole request is refused, nothing appended
    body = json.dumps({"tenant": tenant, "items": [{"fact": fact, "command_id": "late-2"}]}).encode()
    batch = json.loads((await nc.request("cmd.licences", body, timeout=20, headers=past)).data)
    assert_problem(batch, 503, "deadline_exceeded")
    assert await tenant_events(nc, tenant) == []
    # the same command id within its deadline is recorded, once
    ahead = {deadlines.HEADER: deadlines.stamp(30.0)}
    recorded = await send(nc, tenant, fact, "late-1", headers=ahead)
    assert recorded["ok"] is True and recorded["duplicate"] is False, recorded
    assert [e["id"] for e in await tenant_events(nc, tenant)] == [recorded["event_id"]]


@pytest.mark.parametrize("value", ["soon", "2026-11-23T01:00:00", "9" * 50, ""])
async def test_an_unreadable_deadline_is_a_400_naming_the_header(services_stack, nc, tenant, value):
    reply = await send(nc, tenant, example_fact("company.registered"), headers={deadlines.HEADER: value})
    assert_problem(reply, 400, "malformed_request")
    assert [e["field"] for e in reply["errors"]] == ["header.Ledger-Deadline"]
    assert await tenant_events(nc, tenant) == []

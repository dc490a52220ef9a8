"""Property tests: random input never crashes a handler, never appends, and always gets a structured error."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ledger_contracts.errors import FactRejected
from ledger_contracts.examples import example_fact
from ledger_contracts.fact import validate_fact
from ledger_kernel.store import LedgerStore
from services_support import SERVICES, assert_problem, request

TODAY = date(2026, 11, 23)  # the stack's clock, in Shanghai
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def assert_structured_refusal(reply: dict[str, Any]) -> None:
    assert reply["ok"] is False
    assert reply["status"] in (400, 421, 422), reply
    assert_problem(reply, reply["status"], reply["code"])
    assert reply["errors"], reply


async def last_sequence(nc) -> int:
    return await LedgerStore(nc).last_sequence()


@PROPS
@given(service=st.sampled_from(SERVICES), body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_random_bytes_get_a_structured_400(services_stack, service_of, nc, service, body):
    before = await last_sequence(nc)
    reply = await service_of(service).handle(body, {})
    assert_structured_refusal(reply)
    assert reply["status"] == 400
    assert await last_sequence(nc) == before


@PROPS
@given(service=st.sampled_from(SERVICES),
       body=st.dictionaries(st.sampled_from(["tenant", "fact", "command_id", "expected_sequence", "actor", "extra"]),
                            json_values, max_size=6))
async def test_random_json_requests_never_append(services_stack, service_of, nc, service, body):
    before = await last_sequence(nc)
    reply = await service_of(service).handle(json.dumps(body).encode(), {"traceparent": "garbage"})
    assert_structured_refusal(reply)
    assert await last_sequence(nc) == before


# (fact type, field path) whose values have a real-world format
FORMATTED = [
    ("licence.issued", "company"), ("licence.issued", "effective_date"), ("licence.issued", "type"),
    ("licence.issued", "data.licence_no"), ("licence.issued", "data.issued_on"), ("licence.issued", "data.scope"),
    ("licence.issued", "data.category"), ("licence.issued", "data.expires_on"),
    ("company.registered", "data.province"), ("company.registered", "data.registered_capital"),
    ("company.registered", "data.industry"),
    ("licence.annual_report_submitted", "data.year"),
    ("outsourcing.arranged", "data.vendor_uscc"), ("outsourcing.arranged", "data.mode"),
    ("number.allocated", "data.number"), ("number.allocated", "data.kind"),
    ("number.fee_paid", "data.quarter"),
    ("traffic.period_reported", "data.month"), ("traffic.period_reported", "data.complaints"),
    ("traffic.period_reported", "data.consent_records"),
    ("workforce.social_insurance_reported", "data.min_contribution_base"),
    ("workforce.key_person_appointed", "data.role"),
    ("site.leased", "data.area_m2"), ("site.leased", "data.lease_end"),
    ("facility.mlps_filed", "data.level"),
    ("penalty.imposed", "data.fine"), ("penalty.imposed", "data.decided_on"),
    ("listing.listed", "data.list"),
]


def with_value(fact_type: str, path: str, value: Any) -> dict[str, Any]:
    fact = example_fact(fact_type)
    del fact["idempotency_key"]
    target = fact
    *parents, leaf = path.split(".")
    for name in parents:
        target = target[name]
    target[leaf] = value
    return fact


@PROPS
@given(case=st.sampled_from(FORMATTED), value=st.text(max_size=40))
async def test_a_random_string_in_a_formatted_field_is_refused_naming_it(services_stack, service_of, nc, tenant,
                                                                        case, value):
    fact_type, path = case
    fact = with_value(fact_type, path, value)
    try:
        validate_fact(fact, today=TODAY)
    except FactRejected:
        pass
    else:
        assume(False)  # the random string happens to be a valid value
    before = await last_sequence(nc)
    service = example_fact(fact_type)  # route by the example's type: a broken type still reaches a service
    owner = next(s for s in SERVICES if service_of(s).specs.get(service["type"]))
    reply = await service_of(owner).handle(request(tenant, fact), {})
    assert_structured_refusal(reply)
    assert reply["code"] == "invalid_fact"
    assert path in {e["field"] for e in reply["errors"]} or any(e["field"].startswith(path + ".")
                                                               for e in reply["errors"])
    assert await last_sequence(nc) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(SERVICES), body=st.binary(max_size=200))
async def test_random_bytes_over_nats_are_answered_never_silent(services_stack, nc, service, body):
    before = await LedgerStore(nc).last_sequence()
    msg = await nc.request(f"cmd.{service}", body, timeout=10)
    assert_structured_refusal(json.loads(msg.data))
    assert await LedgerStore(nc).last_sequence() == before

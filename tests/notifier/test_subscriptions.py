"""Subscriptions over cmd.notifier / query.notifier: create, read, list, delete; tenant scope;
the secret shown once; bad input refused with a structured error and nothing stored."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_kernel.settings import SettingsError
from ledger_notifier.alerts import ALERT_TYPES, SEVERITIES
from ledger_notifier.config import NotifierConfig
from ledger_notifier.subscriptions import parse_spec
from notifier_support import COMPANY, OTHER_COMPANY, webhook_sub


async def test_create_get_list_delete(notifier, receiver, tenant):
    reply = await notifier.client.create_subscription(
        tenant, webhook_sub(receiver.url("/a"), companies=[COMPANY], types=["obligation.overdue"],
                            min_severity="high"))
    assert reply["ok"] and reply["status"] == 201, reply
    created = reply["result"]
    assert created["id"].startswith("sub_") and created["state"] == "active"
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[len("whsec_"):])) == 32
    got = await notifier.client.get_subscription(tenant, created["id"])
    assert got["status"] == 200 and "secret" not in got["result"]
    assert got["result"] | {"secret": secret} == created
    assert got["result"]["companies"] == [COMPANY] and got["result"]["types"] == ["obligation.overdue"]
    email = await notifier.client.create_subscription(tenant, {"channel": "email", "target": "ops@example.com"})
    assert email["status"] == 201 and "secret" not in email["result"]
    assert email["result"]["companies"] == ["*"] and email["result"]["types"] is None
    assert email["result"]["min_severity"] == "info"
    listed = await notifier.client.list_subscriptions(tenant)
    assert {s["id"] for s in listed["result"]["items"]} == {created["id"], email["result"]["id"]}
    assert secret not in json.dumps(listed) and secret not in json.dumps(got)
    deleted = await notifier.client.delete_subscription(tenant, created["id"])
    assert deleted == {"ok": True, "status": 200, "result": {"id": created["id"], "deleted": True}}
    for reply in (await notifier.client.get_subscription(tenant, created["id"]),
                  await notifier.client.delete_subscription(tenant, created["id"]),
                  await notifier.client.list_deliveries(tenant, created["id"])):
        assert reply["ok"] is False and reply["status"] == 404 and reply["code"] == "not_found"
    listed = await notifier.client.list_subscriptions(tenant)
    assert [s["id"] for s in listed["result"]["items"]] == [email["result"]["id"]]


async def test_another_tenants_subscription_is_not_found(notifier, receiver, tenant):
    mine = (await notifier.client.create_subscription(tenant, webhook_sub(receiver.url("/mine"))))["result"]
    intruder = "t" + "0" * 10
    for reply in (await notifier.client.get_subscription(intruder, mine["id"]),
                  await notifier.client.delete_subscription(intruder, mine["id"]),
                  await notifier.client.list_deliveries(intruder, mine["id"])):
        assert reply["status"] == 404, reply
    assert (await notifier.client.list_subscriptions(intruder))["result"]["items"] == []
    assert (await notifier.client.get_subscription(tenant, mine["id"]))["result"]["state"] == "active"


async def test_pages(notifier, tenant):
    ids = [(await notifier.client.create_subscription(tenant, {"channel": "nats", "target": f"erp.n{i}"}))
           ["result"]["id"] for i in range(3)]
    first = (await notifier.client.list_subscriptions(tenant, page_size=2))["result"]
    second = (await notifier.client.list_subscriptions(tenant, page_size=2,
                                                       page_token=first["next_page_token"]))["result"]
    paged = [s["id"] for s in first["items"] + second["items"]]
    assert len(first["items"]) == 2 and sorted(paged) == sorted(ids) and second["next_page_token"] is None
    bad = await notifier.client.list_subscriptions(tenant, page_token="not-a-token")
    assert bad["status"] == 400 and bad["code"] == "malformed_request"


async def test_create_is_idempotent_per_command_id(notifier, receiver, tenant):
    body = webhook_sub(receiver.url("/idem"))
    first = await notifier.client.create_subscription(tenant, body, command_id="key-1")
    again = await notifier.client.create_subscription(tenant, body, command_id="key-1")
    assert first["status"] == 201 and again["status"] == 200
    assert again["result"] == first["result"]  # a lost first answer can be fetched again, secret included
    other = await notifier.client.create_subscription(tenant, webhook_sub(receiver.url("/else")), command_id="key-1")
    assert other["status"] == 422 and other["code"] == "idempotency_key_reused"
    assert len((await notifier.client.list_subscriptions(tenant))["result"]["items"]) == 1


async def test_an_idempotency_key_is_forgotten_after_its_window(notifier, receiver, tenant, clock):
    body = webhook_sub(receiver.url("/ttl"))
    first = await notifier.client.create_subscription(tenant, body, command_id="key-ttl")
    assert first["status"] == 201, first
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))  # the default window, as the gateway's
    again = await notifier.client.create_subscription(tenant, body, command_id="key-ttl")
    assert again["status"] == 200 and again["result"] == first["result"]  # same id, the secret again
    other = await notifier.client.create_subscription(tenant, webhook_sub(receiver.url("/else")), command_id="key-ttl")
    assert other["status"] == 422 and other["code"] == "idempotency_key_reused"
    clock.advance(timedelta(seconds=1))  # 24 h after the key's first use: a new request
    fresh = await notifier.client.create_subscription(tenant, body, command_id="key-ttl")
    assert fresh["status"] == 201, fresh
    assert fresh["result"]["id"] != first["result"]["id"]
    assert fresh["result"]["secret"] != first["result"]["secret"] and fresh["result"]["secret"].startswith("whsec_")
    replayed = await notifier.client.create_subscription(tenant, body, command_id="key-ttl")
    assert replayed["status"] == 200 and replayed["result"] == fresh["result"]  # the key now names the new one
    kept = await notifier.client.get_subscription(tenant, first["result"]["id"])
    assert kept["status"] == 200 and kept["result"]["state"] == "active"  # only the key was forgotten
    clock.advance(timedelta(hours=25))
    changed = await notifier.client.create_subscription(tenant, webhook_sub(receiver.url("/else")),
                                                        command_id="key-ttl")
    assert changed["status"] == 201 and changed["result"]["target"].endswith("/else")  # no 422 after the window
    listed = (await notifier.client.list_subscriptions(tenant))["result"]["items"]
    assert sorted(s["id"] for s in listed) == sorted(r["result"]["id"] for r in (first, fresh, changed))


def test_the_window_is_the_gateways_variable():
    assert NotifierConfig.from_env({}).idempotency_ttl == timedelta(hours=24)
    assert NotifierConfig.from_env({"LEDGER_IDEMPOTENCY_TTL_HOURS": " 48 "}).idempotency_ttl == timedelta(hours=48)
    for bad in ("0", "8761", "1.5", "-3", "两"):
        with pytest.raises(SettingsError, match="LEDGER_IDEMPOTENCY_TTL_HOURS"):
            NotifierConfig.from_env({"LEDGER_IDEMPOTENCY_TTL_HOURS": bad})


async def test_garbage_gets_a_structured_answer(notifier, tenant):
    nc = notifier.client.nc
    for subject, payload, code in (
        ("cmd.notifier", b"not json", "malformed_request"),
        ("cmd.notifier", b"[1, 2]", "malformed_request"),
        ("cmd.notifier", json.dumps({"op": "subscription.create"}).encode(), "malformed_request"),
        ("cmd.notifier", json.dumps({"op": "subscription.get", "tenant": tenant}).encode(), "unknown_op"),
        ("query.notifier", json.dumps({"op": "subscription.create", "tenant": tenant}).encode(), "unknown_op"),
        ("query.notifier", json.dumps({"op": "drop tables", "tenant": tenant}).encode(), "unknown_op"),
        ("query.notifier", json.dumps({"op": "subscription.list", "tenant": "a.b"}).encode(), "malformed_request"),
        ("query.notifier", json.dumps({"op": "subscription.list", "tenant": tenant, "page_size": 0}).encode(),
         "malformed_request"),
    ):
        reply = json.loads((await nc.request(subject, payload, timeout=5)).data)
        assert reply["ok"] is False and reply["status"] == 400 and reply["code"] == code, (payload, reply)


INVALID = [
    ({"channel": "sms", "target": "x"}, "channel", "invalid_channel"),
    ({"channel": "email", "target": "not an address"}, "target", "invalid_email"),
    ({"channel": "nats", "target": "erp.*"}, "target", "invalid_subject"),
    ({"channel": "nats", "target": "erp.>"}, "target", "invalid_subject"),
    ({"channel": "webhook", "target": "ftp://example.com/x"}, "target", "scheme_not_allowed"),
    ({"channel": "webhook", "target": "https://user:pw@example.com/x"}, "target", "credentials_in_url"),
    ({"channel": "nats", "target": "erp", "companies": ["91310115MA1K4B8N60"]}, "companies.0", "invalid_uscc"),
    ({"channel": "nats", "target": "erp", "companies": []}, "companies", "invalid_companies"),
    ({"channel": "nats", "target": "erp", "types": ["obligation.forgotten"]}, "types.0", "unknown_type"),
    ({"channel": "nats", "target": "erp", "min_severity": "apocalyptic"}, "min_severity", "invalid_severity"),
    ({"channel": "nats", "target": "erp", "min_severty": "high"}, "min_severty", "unknown_field"),
]


async def test_invalid_subscriptions_are_refused_field_by_field_and_nothing_is_stored(notifier, tenant):
    for body, field, code in INVALID:
        reply = await notifier.client.create_subscription(tenant, body)
        assert reply["ok"] is False and reply["status"] == 422 and reply["code"] == "invalid_subscription", reply
        assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in reply["errors"]]
        assert all(e["reason_en"] and e["reason_zh"] for e in reply["errors"])
    assert (await notifier.client.list_subscriptions(tenant))["result"]["items"] == []


values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30),
                   st.lists(st.text(max_size=20), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                                max_size=2))
bodies = st.one_of(
    values,
    st.fixed_dictionaries({}, optional={
        "channel": st.one_of(st.sampled_from(["webhook", "email", "nats"]), values),
        "target": st.one_of(st.sampled_from(["https://example.com/h", "ops@example.com", "erp.alerts"]), values),
        "companies": st.one_of(st.just("*"), st.lists(st.sampled_from([COMPANY, OTHER_COMPANY, "9131"]),
                                                        max_size=3), values),
        "types": st.one_of(st.none(), st.lists(st.sampled_from(ALERT_TYPES + ("x.y",)), max_size=3), values),
        "min_severity": st.one_of(st.sampled_from(SEVERITIES), values),
    }),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_any_body_yields_a_valid_spec_or_reasons(body):
    spec, errors = parse_spec(body)
    assert (spec is None) == bool(errors)
    for e in errors:
        assert set(e) == {"field", "code", "reason_en", "reason_zh"} and e["code"] and e["reason_zh"]
    if spec is not None:
        assert spec.channel in ("webhook", "email", "nats")
        assert spec.companies == ["*"] or all(len(c) == 18 for c in spec.companies)
        assert spec.types is None or set(spec.types) <= set(ALERT_TYPES)
        assert spec.min_severity in SEVERITIES

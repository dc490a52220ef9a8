"""Subscriptions, deliveries and replay through the gateway to the real notifier; the tokenised calendar feed."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from icalendar import Calendar
from ledger_gateway.config import GatewayConfig, default_public_url
from ledger_kernel.connection import connect
from ledger_kernel.settings import SettingsError
from test_facts import assert_problem
from test_reads import NATIONWIDE, SHANGHAI


async def test_subscriptions_lifecycle_and_isolation(stack, api):
    hook = {"channel": "webhook", "target": "http://127.0.0.1:9/hooks/ledger", "companies": "*"}
    created = await api.post("/v1/subscriptions", json=hook, headers={"Idempotency-Key": "sub-1"})
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and sub["channel"] == "webhook"
    again = await api.post("/v1/subscriptions", json=hook, headers={"Idempotency-Key": "sub-1"})
    assert again.status_code == 200 and again.json()["id"] == sub["id"]
    got = (await api.get(f"/v1/subscriptions/{sub['id']}")).json()
    assert got["id"] == sub["id"] and "secret" not in got
    listed = (await api.get("/v1/subscriptions")).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]] and "secret" not in listed["items"][0]
    log = await api.get(f"/v1/subscriptions/{sub['id']}/deliveries")
    assert log.status_code == 200 and log.json()["items"] == []
    assert_problem(await api.post("/v1/deliveries/nosuch/replay"), 404, "not-found")
    assert_problem(await api.get("/v1/deliveries/nosuch"), 404, "not-found")

    _, other_key = stack.new_tenant("spy")
    async with stack.client(other_key) as other:
        assert_problem(await other.get(f"/v1/subscriptions/{sub['id']}"), 404, "not-found")
        assert_problem(await other.get(f"/v1/subscriptions/{sub['id']}/deliveries"), 404, "not-found")
        assert_problem(await other.delete(f"/v1/subscriptions/{sub['id']}"), 404, "not-found")
        assert (await other.get("/v1/subscriptions")).json()["items"] == []

    deleted = await api.delete(f"/v1/subscriptions/{sub['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_an_invalid_subscription_names_its_fields(api):
    bad = await api.post("/v1/subscriptions", json={"channel": "email", "target": "not-an-address",
                                                    "companies": ["91310115MA1K4B8N60"]})
    body = assert_problem(bad, 422, "invalid-subscription")
    assert {e["field"] for e in body["errors"]} >= {"target", "companies.0"}
    shape = await api.post("/v1/subscriptions", json={"channel": "pigeon"})
    body = assert_problem(shape, 422, "invalid-request")
    assert "body.target" in {e["field"] for e in body["errors"]}


async def test_the_calendar_feed_needs_only_its_token_and_can_be_revoked(stack, api):
    r = await api.post("/v1/facts:batch", json=NATIONWIDE["facts"])
    last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
    obligations = (await api.get(f"/v1/companies/{SHANGHAI}/obligations",
                                 params={"min_sequence": last, "page_size": 500})).json()["items"]
    made = await api.post("/v1/feeds", json={"label": "Outlook"})
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["url"].endswith(f"/v1/feeds/{feed['token']}.ics") and feed["webcal_url"].startswith("webcal://")
    async with stack.client(None) as calendar_app:
        ics = await calendar_app.get(f"/v1/feeds/{feed['token']}.ics")
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        events = [c for c in Calendar.from_ical(ics.content).walk("VEVENT")]
        dated = [o for o in obligations if o.get("due")]
        assert len(events) == len(dated) > 0
        assert {str(e["UID"]) for e in events} == {f"{o['id']}@ledger" for o in dated}
        listed = (await api.get("/v1/feeds")).json()
        assert [f["id"] for f in listed] == [feed["id"]] and "token" not in listed[0]
        _, other_key = stack.new_tenant("x")
        async with stack.client(other_key) as other:
            assert_problem(await other.delete(f"/v1/feeds/{feed['id']}"), 404, "not-found")
        assert (await api.delete(f"/v1/feeds/{feed['id']}")).json()["revoked_at"]
        assert_problem(await calendar_app.get(f"/v1/feeds/{feed['token']}.ics"), 404, "not-found")
        assert_problem(await calendar_app.get("/v1/feeds/fd_000000000000_guess.ics"), 404, "not-found")
    async with stack.client(stack.key(api.tenant, "read")) as reader:
        assert_problem(await reader.post("/v1/feeds", json={}), 403, "forbidden")


def licensed(uscc: str, name: str, expires_on: str, licence_no: str) -> list[dict]:
    """A company with one nationwide licence (its renewal is due about 90 days before ``expires_on``)."""
    return [{"type": "company.registered", "company": uscc, "effective_date": "2020-01-10",
             "data": {"name": name, "registered_capital": 12000000, "province": "31", "industry": "other",
                      "business_scope": ["呼叫中心业务"]}},
            {"type": "licence.issued", "company": uscc, "effective_date": "2020-12-01",
             "data": {"licence_no": licence_no, "category": "B24", "scope": "nationwide", "provinces": [],
                      "issued_on": "2020-12-01", "expires_on": expires_on, "authority": "MIIT"}}]


EAST, NORTH = "91310115MA1K4B8N68", "91110108MA01ABCD2H"


async def record_companies(api) -> int:  # noqa: ANN001
    r = await api.post("/v1/facts:batch", json=licensed(EAST, "东方呼叫中心有限公司", "2026-05-31", "B2-20201201")
                       + licensed(NORTH, "北方客服有限公司", "2027-02-20", "B2-20201202"))
    assert r.status_code == 200 and all(x["ok"] for x in r.json()["results"]), r.text
    return max(x["event"]["ledger_sequence"] for x in r.json()["results"])


async def test_a_feed_limited_to_companies_shows_only_theirs(stack, api):
    last = await record_companies(api)
    east = (await api.get(f"/v1/companies/{EAST}/obligations",
                          params={"min_sequence": last, "page_size": 500})).json()["items"]
    north = (await api.get(f"/v1/companies/{NORTH}/obligations", params={"page_size": 500})).json()["items"]
    assert [o for o in east if o.get("due")] and [o for o in north if o.get("due")]
    made = await api.post("/v1/feeds", json={"label": "east only", "companies": [EAST]})
    assert made.status_code == 201, made.text
    assert made.json()["companies"] == [EAST]
    whole = (await api.post("/v1/feeds", json={})).json()
    async with stack.client(None) as calendar_app:
        limited = Calendar.from_ical((await calendar_app.get(f"/v1/feeds/{made.json()['token']}.ics")).content)
        everything = Calendar.from_ical((await calendar_app.get(f"/v1/feeds/{whole['token']}.ics")).content)
    assert {str(e["UID"]) for e in limited.walk("VEVENT")} == {f"{o['id']}@ledger" for o in east if o.get("due")}
    assert {str(e["UID"]) for e in everything.walk("VEVENT")} == {
        f"{o['id']}@ledger" for o in east + north if o.get("due")}
    listed = {f["id"]: f for f in (await api.get("/v1/feeds")).json()}
    assert listed[made.json()["id"]]["companies"] == [EAST] and listed[whole["id"]]["companies"] is None


async def test_a_feed_for_another_tenants_company_is_refused_without_saying_it_exists(stack, api):
    _, other_key = stack.new_tenant("other")
    async with stack.client(other_key) as other:
        await record_companies(other)
    nobody = "91110000MA0000000H"  # well formed, recorded by no one
    elsewhere = assert_problem(await api.post("/v1/feeds", json={"companies": [EAST]}), 422, "invalid-request")
    unknown = assert_problem(await api.post("/v1/feeds", json={"companies": [nobody]}), 422, "invalid-request")
    [e1], [e2] = elsewhere["errors"], unknown["errors"]
    assert e1["field"] == e2["field"] == "body.companies.0" and e1["code"] == e2["code"] == "unknown_company"
    assert e1["reason_en"].replace(EAST, "X") == e2["reason_en"].replace(nobody, "X")  # the same answer
    malformed = assert_problem(await api.post("/v1/feeds", json={"companies": [EAST, "not-a-uscc"]}), 422,
                               "invalid-request")
    assert [e["field"] for e in malformed["errors"]] == ["body.companies.1"]
    assert (await api.get("/v1/feeds")).json() == []


async def test_the_feed_url_ignores_a_hostile_host_header(stack, api):
    made = await api.post("/v1/feeds", json={"label": "x"},
                          headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert made.status_code == 201, made.text
    feed = made.json()
    assert "evil" not in feed["url"] + feed["webcal_url"]
    assert feed["url"] == f"{stack.url}/v1/feeds/{feed['token']}.ics"  # LEDGER_PUBLIC_URL's default
    assert feed["webcal_url"] == "webcal://" + feed["url"].split("://", 1)[1]


async def todays_work(api) -> list[tuple[str, dict]]:
    """Record the two companies; (uscc, obligation) for what is overdue or due soon now, from each one's list."""
    last = await record_companies(api)
    due = []
    for uscc in (EAST, NORTH):
        items = (await api.get(f"/v1/companies/{uscc}/obligations",
                               params={"min_sequence": last, "page_size": 500})).json()["items"]
        due += [(uscc, o) for o in items if o["status"] in ("overdue", "due_today", "due_soon")]
    return due


async def test_catch_up_delivers_todays_work_once_even_after_a_notifier_restart(stack, api):
    due = await todays_work(api)
    assert {o["status"] for _, o in due} >= {"overdue"}, due
    nc = await connect(stack.nats_url, "catch-up-test")
    inbox = await nc.subscribe(f"notify.{api.tenant}.today")
    try:
        made = await api.post("/v1/subscriptions", json={"channel": "nats", "target": "today", "catch_up": True})
        assert made.status_code == 201, made.text
        sub = made.json()
        assert sub["catch_up"] == "pending"
        digest = json.loads((await inbox.next_msg(timeout=30)).data)
        assert digest["type"] == "subscription.catch_up" and digest["id"] == f"{api.tenant}.catch_up.{sub['id']}"
        data = digest["data"]
        assert data["count"] == len(due) and data["message_zh"] and data["message_en"]
        listed = [(c["uscc"], i["id"], i["status"]) for c in data["companies"] for i in c["items"]]
        assert sorted(listed) == sorted((u, o["id"], o["status"]) for u, o in due)
        names = {c["uscc"]: c["name"] for c in data["companies"]}
        assert names == {EAST: "东方呼叫中心有限公司", NORTH: "北方客服有限公司"}

        def urgency(uscc: str, item: dict) -> tuple:  # overdue first, then the earliest due date
            return (["overdue", "due_today", "due_soon"].index(item["status"]), item["due"], uscc, item["id"])

        for company in data["companies"]:
            keys = [urgency(company["uscc"], i) for i in company["items"]]
            assert keys == sorted(keys)
        leads = [urgency(c["uscc"], c["items"][0]) for c in data["companies"]]
        assert leads == sorted(leads)
        assert (await api.get(f"/v1/subscriptions/{sub['id']}")).json()["catch_up"] == "sent"

        notifier = await stack.restart("notifier")
        assert await notifier.dispatcher.make_digests() == 0  # a whole pass after the restart: nothing again
        await nc.flush()
        log = (await api.get(f"/v1/subscriptions/{sub['id']}/deliveries")).json()["items"]
        assert inbox.pending_msgs == 0 and [d["alert_id"] for d in log] == [digest["id"]]
    finally:
        await nc.close()


async def test_catch_up_with_nothing_due_sends_nothing(stack, api):
    made = (await api.post("/v1/subscriptions", json={"channel": "nats", "target": "t", "catch_up": True})).json()
    state = made["catch_up"]
    deadline = time.monotonic() + 30
    while state == "pending" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        state = (await api.get(f"/v1/subscriptions/{made['id']}")).json()["catch_up"]
    assert state == "nothing_due"
    assert (await api.get(f"/v1/subscriptions/{made['id']}/deliveries")).json()["items"] == []


async def test_the_digest_hour_is_a_tenant_setting(stack, api):
    assert (await api.get("/v1/alert-settings")).json()["digest_hour"] == 9
    changed = await api.put("/v1/alert-settings", json={"digest_hour": 7})
    assert changed.status_code == 200 and changed.json()["digest_hour"] == 7, changed.text
    assert (await api.get("/v1/alert-settings")).json() == changed.json()
    for bad in ({"digest_hour": 24}, {"digest_hour": "9"}, {"digest_hour": 8, "zone": "UTC"}):
        assert_problem(await api.put("/v1/alert-settings", json=bad), 422, "invalid-request")
    async with stack.client(stack.key(api.tenant, "read,write")) as writer:
        assert_problem(await writer.put("/v1/alert-settings", json={"digest_hour": 8}), 403, "forbidden")
    _, other_key = stack.new_tenant("other")
    async with stack.client(other_key) as other:
        assert (await other.get("/v1/alert-settings")).json()["digest_hour"] == 9


def test_the_public_url_is_a_checked_setting():
    assert GatewayConfig.from_env({}).public_url is None
    assert GatewayConfig.from_env({"LEDGER_PUBLIC_URL": "https://ledger.example.com/app/"}).public_url == \
        "https://ledger.example.com/app"
    for bad in ("ledger.example.com", "ftp://x.example", "https://u:p@x.example", "https://x.example/?a=1",
                "https://x.example/#f", "https://x.example/a\x00b", "javascript:alert(1)"):
        with pytest.raises(SettingsError, match="LEDGER_PUBLIC_URL"):
            GatewayConfig.from_env({"LEDGER_PUBLIC_URL": bad})
    assert default_public_url("0.0.0.0", 8000) == "http://localhost:8000"
    assert default_public_url("::1", 8443) == "http://[::1]:8443"
    assert default_public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"


async def test_catch_up_keeps_to_the_subscriptions_min_severity(stack, api):
    """A subscriber who asked for `high` and above gets only those of today's work, graded as their alerts are."""
    from ledger_notifier.digests import item_severity

    due = await todays_work(api)
    severe = sorted((u, o["id"]) for u, o in due if item_severity(o) in ("high", "critical"))
    assert severe and len(severe) < len(due), "the story needs both kinds"
    assert {item_severity(o) for _, o in due if o["confidence"] == "advisory"} <= {"low", "info"}
    nc = await connect(stack.nats_url, "catch-up-severity-test")
    inbox = await nc.subscribe(f"notify.{api.tenant}.severe")
    try:
        made = await api.post("/v1/subscriptions", json={"channel": "nats", "target": "severe", "catch_up": True,
                                                         "min_severity": "high"})
        assert made.status_code == 201, made.text
        data = json.loads((await inbox.next_msg(timeout=30)).data)["data"]
        listed = sorted((c["uscc"], i["id"]) for c in data["companies"] for i in c["items"])
        assert listed == severe and data["count"] == len(severe)
    finally:
        await nc.close()

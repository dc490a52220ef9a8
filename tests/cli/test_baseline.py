"""Onboarding a client with history (issue 12): ``ledger import --tracked-from`` on the live stack — domain
services, projector and its alert outbox, gateway. With the baseline the backlog since 2021 is
``before_tracking`` (no overdue count, no bad-list finding, no alert); without it, it is what it was."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from gateway_harness import NOW
from ledger_kernel.clock import FixedClock, local_today
from ledger_kernel.connection import connect
from ledger_kernel.store import LedgerStore

CO = "91310115MA1K4B8N68"
LICENCE = "B2-20210401"
NUMBER = "4006001234"
TODAY = local_today(FixedClock(NOW)).isoformat()  # the stack's (fixed) today: 2026-11-23

# the five facts a consultancy records on day one (the licence issued in 2021 and renewed this year)
ONBOARDING = [
    {"type": "company.registered", "company": CO, "effective_date": "2021-03-01",
     "data": {"name": "上海某客服外包有限公司", "registered_capital": 12000000, "province": "31", "industry": "other",
              "business_scope": ["呼叫中心业务"]}},
    {"type": "licence.issued", "company": CO, "effective_date": "2021-04-01",
     "data": {"licence_no": LICENCE, "category": "B24", "scope": "nationwide", "provinces": [],
              "issued_on": "2021-04-01", "expires_on": "2026-03-31", "authority": "MIIT"}},
    {"type": "licence.renewed", "company": CO, "effective_date": "2026-02-20",
     "data": {"licence_no": LICENCE, "new_expires_on": "2031-03-31"}},
    {"type": "number.allocated", "company": CO, "effective_date": "2021-05-10",
     "data": {"number": NUMBER, "kind": "400", "province": "31", "provider": "某运营商", "purpose": "客户服务"}},
    {"type": "workforce.seats_declared", "company": CO, "effective_date": "2021-05-10",
     "data": {"declared_seats": 40, "system_registered_seats": 40, "overseas_seats": 0}},
    {"type": "site.leased", "company": CO, "effective_date": "2021-04-01",
     "data": {"site_ref": "SH-01", "province": "31", "address": "上海市徐汇区示例路1号", "area_m2": 300,
              "lease_start": "2021-04-01", "lease_end": "2027-03-31", "purpose_text": "呼叫中心",
              "sublease": False, "owner_consent": False, "workstations": 40}},
]


def ndjson(path: Path, facts: list[dict]) -> Path:
    path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
    return path


async def alerts_of(stack, tenant: str) -> list[dict]:
    nc = await connect(stack.nats_url, "baseline-tests")
    try:
        msgs = await LedgerStore(nc, "ALERTS").read_all(f"alerts.{tenant}.>")
    finally:
        await nc.close()
    return [json.loads(m.data) for m in msgs]


async def wait_for_alerts(stack, tenant: str, at_least: int, within: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + within
    while True:
        alerts = await alerts_of(stack, tenant)
        if len(alerts) >= at_least or time.monotonic() > deadline:
            return alerts
        await asyncio.sleep(0.2)


async def imported(stack, ledger, tenant_key, path: Path, *flags: str) -> tuple[dict, dict, list[dict]]:
    """Import the file; the company's summary and obligations once the projector has it all."""
    _, key = tenant_key
    result = await ledger("import", str(path), "--url", stack.url, "--key", key, "--json", *flags)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    async with stack.client(key) as client:
        company = (await client.get(f"/v1/companies/{CO}",
                                    params={"min_sequence": summary["last_ledger_sequence"]})).json()
        obligations = (await client.get(f"/v1/companies/{CO}/obligations", params={"page_size": 500})).json()["items"]
    return summary, company, obligations


async def test_without_a_baseline_the_backlog_is_overdue_and_alerted(stack, ledger, tmp_path):
    """The control: the same file as below, no --tracked-from (today's behaviour, kept)."""
    tenant, key = stack.new_tenant("nobaseline")
    _, company, obligations = await imported(stack, ledger, (tenant, key), ndjson(tmp_path / "f.ndjson", ONBOARDING))
    assert company["overdue"] >= 30 and company["tracked_from"] is None
    assert not [o for o in obligations if o["status"] == "before_tracking"]
    # the backlog is alerted, folded into company.backlog digests (one per projector pass) rather than
    # one obligation.overdue each
    alerts = await wait_for_alerts(stack, tenant, at_least=1)
    deadline = time.monotonic() + 60
    while sum(a["data"]["backlog"]["count"] for a in alerts if a["type"] == "company.backlog") < 20:
        assert time.monotonic() < deadline, [a["type"] for a in alerts]
        await asyncio.sleep(0.2)
        alerts = await alerts_of(stack, tenant)
    digests = [a for a in alerts if a["type"] == "company.backlog"]
    assert len(digests) < len(ONBOARDING) and all(a["data"]["company"] == CO for a in digests)
    assert len([a for a in alerts if a["type"] == "obligation.overdue"]) < 3


async def test_a_baseline_on_import_leaves_no_overdue_backlog_no_bad_list_and_no_alert(stack, ledger, tmp_path):
    tenant, key = stack.new_tenant("baseline")
    summary, company, obligations = await imported(
        stack, ledger, (tenant, key), ndjson(tmp_path / "f.ndjson", ONBOARDING), "--tracked-from", TODAY)
    assert summary["tracking_started"] == [CO] and summary["accepted"] == len(ONBOARDING)
    assert company["tracked_from"] == TODAY and company["overdue"] == 0
    by_status: dict[str, list[dict]] = {}
    for o in obligations:
        by_status.setdefault(o["status"], []).append(o)
    assert "overdue" not in by_status
    before = by_status["before_tracking"]
    assert len(before) >= 30 and all(o["due"] < TODAY and o["fulfilled_on"] is None for o in before)
    assert {o["year"] for o in before if o["rule"] == "annual-report"} == {2021, 2022, 2023, 2024, 2025}
    # the statutory items due after the baseline are there, judged as usual
    upcoming = {(o["rule"], o["year"]) for o in obligations if o["confidence"] == "statutory" and o["due"] >= TODAY}
    assert ("annual-report", 2026) in upcoming and ("renewal", None) in upcoming
    async with stack.client(key) as client:
        findings = (await client.get(f"/v1/companies/{CO}/findings")).json()["items"]
        credit = (await client.get(f"/v1/companies/{CO}/credit")).json()
    assert not [f for f in findings if f["rule"] == "bad-list"]
    assert {c["name"]: c["inputs"] for c in credit["components"]}["overdue_obligations"]["count"] == 0

    # the alert outbox: nothing about an obligation before the baseline; only what is wrong now is alerted
    alerts = await wait_for_alerts(stack, tenant, at_least=2)
    assert sorted(a["data"]["finding"]["rule"] for a in alerts if a["type"] == "finding.opened") == [
        "lease-shorter-than-licence", "mlps-missing"]
    before_ids = {o["id"] for o in before}
    assert not [a for a in alerts if a["type"].startswith("obligation.")
                and a["data"]["obligation"]["id"] in before_ids]
    assert not [a for a in alerts if a["type"] == "obligation.overdue"]

    # importing again finds the baseline recorded and adds none
    again = await ledger("import", str(tmp_path / "f.ndjson"), "--url", stack.url, "--key", key, "--json",
                         "--tracked-from", TODAY)
    assert again.exit_code == 0 and json.loads(again.stdout)["tracking_started"] == []

    # a fulfilment recorded later still counts: the 2023 report, filed last week, was late
    async with stack.client(key) as client:
        r = await client.post("/v1/facts", json={
            "type": "licence.annual_report_submitted", "company": CO, "effective_date": "2026-11-16",
            "data": {"licence_no": LICENCE, "year": 2023, "submitted_on": "2026-11-16"}})
        assert r.status_code == 201, r.text
        seq = r.json()["ledger_sequence"]
        items = (await client.get(f"/v1/companies/{CO}/obligations",
                                  params={"min_sequence": seq, "rule": "annual-report", "page_size": 500})).json()
    assert {o["year"]: o["status"] for o in items["items"]}[2023] == "fulfilled_late"


async def test_as_of_before_a_numbers_allocation_shows_none_of_its_obligations(stack, ledger, tmp_path):
    tenant, key = stack.new_tenant("asof")
    facts = [*ONBOARDING[:3], {"type": "number.allocated", "company": CO, "effective_date": "2026-08-03",
                               "data": {"number": NUMBER, "kind": "400", "province": "31", "provider": "某运营商",
                                        "purpose": "客户服务"}}]
    await imported(stack, ledger, (tenant, key), ndjson(tmp_path / "n.ndjson", facts))
    july = {"as_of": "2026-07-01T09:00:00+08:00"}
    async with stack.client(key) as client:
        then = (await client.get(f"/v1/companies/{CO}/obligations", params={**july, "page_size": 500})).json()["items"]
        now = (await client.get(f"/v1/companies/{CO}/obligations", params={"page_size": 500})).json()["items"]
        company_then = (await client.get(f"/v1/companies/{CO}", params=july)).json()
        timeline = (await client.get(f"/v1/companies/{CO}/timeline", params={**july, "page_size": 500})).json()
    number_items = {o["id"] for o in now if o["about"] == NUMBER}
    assert {o["rule"] for o in now if o["about"] == NUMBER} >= {"number-filing", "number-fee"}
    assert not [o for o in then if o["about"] == NUMBER]
    assert company_then["next_due_obligation"] not in number_items and company_then["next_due"] != "2026-09-02"
    assert not [i for i in timeline["items"] if i["kind"] == "deadline" and i["obligation_id"] in number_items]


async def test_import_adds_a_baseline_only_where_the_file_and_the_ledger_have_none(stack, ledger, tmp_path):
    tenant, key = stack.new_tenant("some")
    other = "91440300MA5G7C1P90"
    own = {"type": "company.tracking_started", "company": CO, "effective_date": "2025-01-01",
           "data": {"tracked_from": "2025-01-01", "attested_by": "client compliance"}}
    registered = {**ONBOARDING[0], "company": other}
    path = ndjson(tmp_path / "two.ndjson", [own, ONBOARDING[0], registered,
                                            {**ONBOARDING[0], "company": "not-a-uscc"}])
    result = await ledger("import", str(path), "--url", stack.url, "--key", key, "--json", "--tracked-from", TODAY)
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["refused"] == 1  # the row without a USCC, refused as before
    assert summary["tracking_started"] == [other]
    async with stack.client(key) as client:
        mine = (await client.get(f"/v1/companies/{CO}", params={"min_sequence": summary["last_ledger_sequence"]}))
        theirs = (await client.get(f"/v1/companies/{other}")).json()
    assert mine.json()["tracked_from"] == "2025-01-01" and theirs["tracked_from"] == TODAY

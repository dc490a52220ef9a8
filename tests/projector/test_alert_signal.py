"""Signal, not noise: a company recorded with years of history gives one backlog digest, not an alert
per overdue obligation; ``due_today`` only on the due date itself; alert severity from the rule; a
resolved finding named in words; the digest threshold per tenant."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ledger_projector.rebuild import rebuild
from ledger_projector.system_facts import set_rule_overrides
from ledger_rules.alert_severity import SCALE

from projector.conftest import projector_stack
from projector.test_scheduler import about, alerts_of, at

if str(Path(__file__).resolve().parents[1] / "notifier") not in sys.path:  # the notifier tests' receiver
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notifier"))
from notifier_support import deliveries, eventually, receiver, running_notifier, subscribe  # noqa: E402, F401


@pytest.fixture
def provisioned(own_ledger):
    """A ledger of the test's own: which facts share a projector batch matters here."""
    return own_ledger


CO = "91310115MA1K4B8N68"
LICENCE = "沪B2-20210315"


def history_since_2021(co: str = CO) -> list[dict]:
    """Five facts about a company licensed in 2021 — a consultancy onboarding a client, no baseline."""
    return [
        {"type": "company.registered", "company": co, "effective_date": "2021-01-10",
         "data": {"name": "上海某客服外包有限公司", "registered_capital": 3000000, "province": "31",
                  "industry": "other", "business_scope": ["呼叫中心业务"]}},
        {"type": "licence.issued", "company": co, "effective_date": "2021-03-15",
         "data": {"licence_no": LICENCE, "category": "B24", "scope": "provincial", "provinces": ["31"],
                  "issued_on": "2021-03-15", "expires_on": "2026-03-14", "authority": "上海市通信管理局"}},
        {"type": "workforce.seats_declared", "company": co, "effective_date": "2021-04-01",
         "data": {"declared_seats": 40, "system_registered_seats": 40, "overseas_seats": 0}},
        {"type": "number.allocated", "company": co, "effective_date": "2021-05-01",
         "data": {"number": "400-600-1234", "kind": "400", "province": "31", "provider": "中国电信",
                  "purpose": "客户服务"}},
        {"type": "number.activated", "company": co, "effective_date": "2021-05-10",
         "data": {"number": "400-600-1234"}},
    ]


def of_type(alerts: list[dict], kind: str) -> list[dict]:
    return [a for a in alerts if a["type"] == kind]


async def test_a_2021_licence_without_baseline_gives_one_backlog_digest(provisioned, nc, settings_for, clock, tenant,
                                                                        recorder, tmp_path):
    settings = settings_for(provisioned)
    clock.set(at("2026-12-02"))
    for fact in history_since_2021():  # recorded before the projector runs: one import, one batch
        await recorder.record(tenant, fact)
    async with projector_stack(settings, clock) as svc:
        await svc.catch_up()
        alerts = await alerts_of(nc, tenant)
        backlog = of_type(alerts, "company.backlog")
        assert len(backlog) == 1, [a["type"] for a in alerts]
        assert of_type(alerts, "obligation.overdue") == [], "overdue items are in the digest, not one alert each"
        assert len(alerts) < 15, [(a["type"], (a["data"].get("rule") or {}).get("id")) for a in alerts]
        digest = backlog[0]
        assert digest["_subject"] == f"alerts.{tenant}.{CO}.company_backlog" and digest["_msg_id"] == digest["id"]
        body = digest["data"]["backlog"]
        assert body["count"] >= 20 and body["count"] == len(body["items"]) == sum(r["count"] for r in body["by_rule"])
        rules = [r["rule"] for r in body["by_rule"]]
        assert rules[0] == "renewal" and body["by_rule"][0]["severity"] == "critical"  # the licence itself first
        assert {"annual-report", "three-way-check", "number-fee"} <= set(rules)
        three_way = next(r for r in body["by_rule"] if r["rule"] == "three-way-check")
        assert three_way["severity"] == "low" and three_way["count"] >= 15 and three_way["earliest_due"] < "2022-01-01"
        ranks = [SCALE.index(i["severity"]) for i in body["items"]]
        assert ranks == sorted(ranks, reverse=True), "the most urgent first"
        assert all(i["id"] and i["due"] < "2026-12-02" and i["status"] == "overdue" for i in body["items"])
        assert digest["severity"] == digest["data"]["severity"] == "critical"  # the highest of its items
        assert str(body["count"]) in digest["data"]["message"]["zh"] and "逾期" in digest["data"]["message"]["zh"]
        assert "overdue" in digest["data"]["message"]["en"]
        folded = {(i["id"], i["step"]) for i in body["items"]}

        # exactly once: the clock moving on, a second tick and a rebuild never send a folded step alone
        assert await svc.tick() == 0
        for day in ("2026-12-03", "2026-12-09", "2026-12-16"):
            clock.set(at(day))
            await svc.tick()
        report = await rebuild(settings)
        assert report.applied_sequence == svc.applied
        clock.set(at("2026-12-16", 15))
        await svc.tick()
        later = await alerts_of(nc, tenant)
        sent_alone = {(a["data"]["obligation"]["id"], a["data"]["step"]) for a in later if "obligation" in a["data"]}
        assert not folded & sent_alone
        assert len(of_type(later, "company.backlog")) == 1
        assert len({a["id"] for a in later}) == len(later)


async def test_the_digest_threshold_is_a_tenant_setting(provisioned, nc, settings_for, clock, tenant, recorder):
    settings = settings_for(provisioned)
    clock.set(at("2026-12-02"))
    async with projector_stack(settings, clock) as svc:
        await set_rule_overrides(settings, tenant, {"alerts": {"backlog_threshold": 0}})  # 0: never fold
        await svc.catch_up()
        for fact in history_since_2021():
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        alerts = await alerts_of(nc, tenant)
        assert of_type(alerts, "company.backlog") == []
        overdue = of_type(alerts, "obligation.overdue")
        assert len(overdue) >= 20
        assert {a["data"]["severity"] for a in about(overdue, "three-way-check")} == {"low"}
        assert {a["data"]["severity"] for a in about(overdue, "renewal")} == {"critical"}
        assert {a["data"]["severity"] for a in about(overdue, "annual-report")} == {"high"}
        assert {a["data"]["severity"] for a in about(overdue, "number-fee")} == {"medium"}

    other = "t" + tenant[1:][::-1]  # a second tenant on the same ledger keeps the default (3)
    clock.set(at("2026-12-02", 10))
    async with projector_stack(settings, clock) as svc:
        await set_rule_overrides(settings, other, {"alerts": {"backlog_threshold": 50}})
        await set_rule_overrides(settings, tenant, {"alerts": {"backlog_threshold": 2}})
        await svc.catch_up()
        two = history_since_2021()[:2]  # registered and licensed: the annual reports and the renewal
        for fact in two:
            await recorder.record(other, fact)
        seq = await recorder.record(tenant, {**two[0], "company": "91440300MA5G7C1P90"})
        seq = await recorder.record(tenant, {**two[1], "company": "91440300MA5G7C1P90"})
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        theirs = await alerts_of(nc, other)
        assert of_type(theirs, "company.backlog") == [] and len(of_type(theirs, "obligation.overdue")) >= 4
        ours = [a for a in await alerts_of(nc, tenant) if a["company"] == "91440300MA5G7C1P90"]
        assert len(of_type(ours, "company.backlog")) == 1 and of_type(ours, "obligation.overdue") == []


def change_scope(day: str) -> dict:
    return {"type": "company.registration_changed", "company": CO, "effective_date": day,
            "data": {"field": "business_scope", "old": "呼叫中心业务", "new": "呼叫中心业务；信息技术咨询"}}


def recent_company() -> list[dict]:
    facts = history_since_2021()[:2]
    facts[0] = {**facts[0], "effective_date": "2026-01-05"}
    facts[1] = {**facts[1], "effective_date": "2026-01-10",
                "data": {**facts[1]["data"], "issued_on": "2026-01-10", "expires_on": "2031-01-09"}}
    return facts


@pytest.mark.parametrize(("recorded_on", "expected", "three_days_later"), [
    ("2026-10-26", ("obligation.due_soon", "d-1"), [("obligation.overdue", "d0")]),  # the day passed unticked
    ("2026-10-27", ("obligation.due_today", "d0"), []),
    ("2026-10-28", ("obligation.overdue", "d0"), []),
])
async def test_due_today_only_on_the_due_date(provisioned, nc, settings_for, clock, tenant, recorder, recorded_on,
                                              expected, three_days_later):
    """A ladder without overdue steps (a tenant's): the change of 2026-09-27 is due 2026-10-27. Recorded the
    day before, on the day, the day after: ``due_today`` only when the clock's local date is the due date."""
    settings = settings_for(provisioned)
    clock.set(at(recorded_on))
    async with projector_stack(settings, clock) as svc:
        await set_rule_overrides(settings, tenant, {"rules": {"change-filing-scope": {"reminders": [1, 0]}},
                                                    "alerts": {"backlog_threshold": 0}})  # each alert on its own
        for fact in [*recent_company(), change_scope("2026-09-27")]:
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        got = about(await alerts_of(nc, tenant), "change-filing-scope")
        assert [(a["type"], a["data"]["step"]) for a in got] == [expected], got
        assert got[0]["data"]["obligation"]["due"] == "2026-10-27"
        if expected[0] == "obligation.due_today":
            assert "今日（2026-10-27）到期" in got[0]["data"]["message"]["zh"]
        else:
            assert "今日" not in got[0]["data"]["message"]["zh"] and "today" not in got[0]["data"]["message"]["en"]
        # the clock moving on past the day: a step not yet sent goes out as overdue, never as due today
        clock.set(at(recorded_on) + timedelta(days=3))
        await svc.tick()
        got = about(await alerts_of(nc, tenant), "change-filing-scope")
        assert [(a["type"], a["data"]["step"]) for a in got] == [expected, *three_days_later]


async def test_a_past_milestone_is_never_due_today(provisioned, nc, settings_for, clock, tenant, recorder):
    """Annual-report preparation milestones fire on their day; recorded after one passed, it is due soon."""
    clock.set(at("2027-01-05"))  # the 90-days-before-close milestone (2026-12-31) has passed
    async with projector_stack(settings_for(provisioned), clock) as svc:
        for fact in recent_company():
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        first = about(await alerts_of(nc, tenant), "annual-report-prep")
        assert [(a["type"], a["data"]["step"]) for a in first] == [("obligation.due_soon", "m-90")], first
        assert first[0]["data"]["step_date"] < "2027-01-05" and "今日" not in first[0]["data"]["message"]["zh"]
        assert first[0]["data"]["severity"] == "info"  # advisory (low), one step lower before the due date
        day = at("2027-01-06")
        while day <= at("2027-02-05"):
            clock.set(day)
            await svc.tick()
            day += timedelta(days=1)
        prep = about(await alerts_of(nc, tenant), "annual-report-prep")
        on_the_day = [a for a in prep if a["type"] == "obligation.due_today"]
        assert [a["data"]["step"] for a in on_the_day] == ["m-60"], prep
        fired = (datetime.fromisoformat(on_the_day[0]["time"]) + timedelta(hours=8)).date().isoformat()
        assert on_the_day[0]["data"]["step_date"] == fired
        assert f"今日（{fired}）到期" in on_the_day[0]["data"]["message"]["zh"]
        assert on_the_day[0]["data"]["severity"] == "low"


async def test_min_severity_filters_on_the_rule_severity_end_to_end(provisioned, nc, settings_for, clock, tenant,
                                                                    recorder, receiver):  # noqa: F811  (the receiver fixture)
    """Projector, ALERTS, notifier, webhook: an advisory obligation overdue is ``low``; a ``min_severity=high``
    subscription does not receive it, a ``low`` one does — and so for every alert type."""
    settings = settings_for(provisioned)
    clock.set(at("2026-10-28"))
    async with running_notifier(settings, clock, tenant) as notifier, projector_stack(settings, clock) as svc:
        loud = await subscribe(notifier, tenant, receiver, "/high", min_severity="high")
        quiet = await subscribe(notifier, tenant, receiver, "/low", min_severity="low")
        await set_rule_overrides(settings, tenant, {"alerts": {"backlog_threshold": 0}})  # each alert on its own
        company, licence = recent_company()
        company = {**company, "data": {**company["data"], "registered_capital": 500000}}  # a high finding too
        for fact in (company, licence, change_scope("2026-09-27")):  # business scope: an advisory rule
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        published = await alerts_of(nc, tenant)
        scope = about(published, "change-filing-scope")
        assert [(a["type"], a["severity"], a["data"]["severity"]) for a in scope] == [
            ("obligation.overdue", "low", "low")], scope

        def received(path: str) -> list[dict]:
            return [r.payload for r in receiver.at(path) if r.verified]

        await eventually(lambda: len(received("/low")) == len(published))  # low: everything at low or above
        got = {p["data"]["obligation"]["rule"] for p in received("/low") if "obligation" in p["data"]}
        assert "change-filing-scope" in got
        loud_alerts = {d["alert_id"] for d in await deliveries(notifier, tenant, loud["id"])}
        quiet_alerts = {d["alert_id"] for d in await deliveries(notifier, tenant, quiet["id"])}
        assert scope[0]["id"] in quiet_alerts and scope[0]["id"] not in loud_alerts
        high = {a["id"] for a in published if a["data"]["severity"] in ("high", "critical")}
        assert high and loud_alerts == high, "the high subscription gets exactly the high and critical alerts"
        assert {a["type"] for a in published if a["id"] not in high} >= {"obligation.overdue"}


async def test_a_resolved_finding_is_named_in_words_in_both_languages(provisioned, nc, settings_for, clock, tenant,
                                                                     recorder):
    clock.set(at("2026-03-01"))
    async with projector_stack(settings_for(provisioned), clock) as svc:
        company, licence = recent_company()
        seats = history_since_2021()[2]  # declared seats with no licence yet: unlicensed operation
        for fact in (company, {**seats, "effective_date": "2026-02-01"}):
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        opened = about(of_type(await alerts_of(nc, tenant), "finding.opened"), "unlicensed-operation")
        assert len(opened) == 1 and opened[0]["severity"] == "critical"
        assert "无证经营呼叫中心业务" in opened[0]["data"]["message"]["zh"]
        clock.set(at("2026-03-10"))
        seq = await recorder.record(tenant, {**licence, "effective_date": "2026-03-10",
                                             "data": {**licence["data"], "issued_on": "2026-03-10"}})
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        resolved = about(of_type(await alerts_of(nc, tenant), "finding.resolved"), "unlicensed-operation")
        assert len(resolved) == 1
        message = resolved[0]["data"]["message"]
        assert message["zh"].startswith("问题已解决：无证经营呼叫中心业务"), message
        assert message["en"].startswith("Finding resolved: Unlicensed call-centre operation"), message
        assert resolved[0]["data"]["message_zh"] == message["zh"] and resolved[0]["data"]["message_en"] == message["en"]
        assert resolved[0]["data"]["finding"]["title"]["zh"] == "无证经营呼叫中心业务"
        assert resolved[0]["severity"] == "critical"  # the finding's severity: a min_severity=high subscriber hears it

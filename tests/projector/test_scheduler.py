"""The scheduler: the reminder ladder by the clock, no bursts for late facts, fulfilment stops
reminders, findings and the credit estimate alert, and a restart neither repeats nor skips."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from ledger_kernel.store import LedgerStore
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack


@pytest.fixture
def provisioned(own_ledger):
    """This module's projectors follow a ledger of their own (see ``own_ledger``)."""
    return own_ledger


CO = "91440300MA5G7C1P90"
CN = "+08:00"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00{CN}")


async def alerts_of(nc, tenant: str) -> list[dict]:
    msgs = await LedgerStore(nc, "ALERTS").read_all(f"alerts.{tenant}.>")
    return [json.loads(m.data) | {"_subject": m.subject, "_msg_id": m.msg_id} for m in msgs]


def about(alerts: list[dict], rule: str) -> list[dict]:
    return [a for a in alerts if (a["data"].get("rule") or {}).get("id") == rule]


def registered(co: str = CO) -> dict:
    return {"type": "company.registered", "company": co, "effective_date": "2020-01-10",
            "data": {"name": "深圳某呼叫中心有限公司", "registered_capital": 3000000, "province": "44",
                     "industry": "other", "business_scope": ["呼叫中心业务"]}}


def licensed(co: str = CO) -> dict:
    return {"type": "licence.issued", "company": co, "effective_date": "2023-05-10",
            "data": {"licence_no": "粤B2-20230510", "category": "B24", "scope": "provincial", "provinces": ["44"],
                     "issued_on": "2023-05-10", "expires_on": "2028-05-09", "authority": "广东省通信管理局"}}


def rep_changed(day: str = "2026-09-25") -> dict:
    return {"type": "company.registration_changed", "company": CO, "effective_date": day,
            "data": {"field": "legal_representative", "old": "person-001", "new": "person-002"}}


async def test_ladder_by_the_clock_without_bursts_and_fulfilment_stops(provisioned, nc, settings_for, clock, tenant,
                                                                       recorder):
    clock.set(at("2026-10-13"))  # the change of 2026-09-25 is recorded late: d-30 and d-14 have passed
    async with projector_stack(settings_for(provisioned), clock) as svc:
        for fact in (registered(), licensed(), rep_changed()):
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        first = about(await alerts_of(nc, tenant), "change-filing")
        assert [(a["type"], a["data"]["step"]) for a in first] == [("obligation.due_soon", "d-14")], first
        alert = first[0]
        assert alert["_subject"] == f"alerts.{tenant}.{CO}.obligation_due_soon"
        assert alert["_msg_id"] == alert["id"] and alert["source"] == "urn:ledger:projector"
        assert alert["data"]["obligation"]["due"] == "2026-10-26"
        assert alert["data"]["rule"] == {"id": "change-filing", "source": alert["data"]["rule"]["source"],
                                         "confidence": "statutory"}
        assert "2026-10-26" in alert["data"]["message"]["en"] and "到期" in alert["data"]["message"]["zh"]

        assert await svc.tick() == 0  # nothing new at the same instant
        clock.set(at("2026-10-19"))
        await svc.tick()
        assert await svc.tick(at("2026-10-19", 15)) == 0
        clock.set(at("2026-10-21"))
        await svc.tick()  # no step on the 21st
        steps = [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")]
        assert steps == ["d-14", "d-7"]

        seq = await recorder.record(tenant, {"type": "licence.change_filed", "company": CO,
                                             "effective_date": "2026-10-22",
                                             "data": {"licence_no": "粤B2-20230510",
                                                      "fields": ["legal_representative"],
                                                      "filed_on": "2026-10-22"}})
        clock.set(at("2026-10-22", 10))
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        for day in ("2026-10-23", "2026-10-26", "2026-10-27", "2026-11-09"):
            clock.set(at(day))
            await svc.tick()
        steps = [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")]
        assert steps == ["d-14", "d-7"], "a fulfilled obligation must stop its reminders"
        obligations = (await svc.answer({"op": "obligations", "tenant": tenant, "company": CO,
                                         "rule": "change-filing"}))["result"]["items"]
        assert [o["status"] for o in obligations] == ["fulfilled_on_time"]


async def test_overdue_steps_fire_by_the_clock(provisioned, nc, settings_for, clock, tenant, recorder):
    clock.set(at("2026-09-26"))
    async with projector_stack(settings_for(provisioned), clock) as svc:
        for fact in (registered(), licensed(), rep_changed()):
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        day = datetime.fromisoformat("2026-09-26T09:00:00+08:00")
        while day <= at("2026-11-12"):
            clock.set(day)
            await svc.tick()
            day += timedelta(days=1)
        got = [(a["type"], a["data"]["step"], a["data"]["step_date"])
               for a in about(await alerts_of(nc, tenant), "change-filing")]
        assert got == [
            ("obligation.due_soon", "d-30", "2026-09-26"), ("obligation.due_soon", "d-14", "2026-10-12"),
            ("obligation.due_soon", "d-7", "2026-10-19"), ("obligation.due_soon", "d-3", "2026-10-23"),
            ("obligation.due_soon", "d-1", "2026-10-25"), ("obligation.due_today", "d0", "2026-10-26"),
            ("obligation.overdue", "d+1", "2026-10-27"), ("obligation.overdue", "d+7", "2026-11-02"),
            ("obligation.overdue", "d+14", "2026-11-09")], got
        ids = [a["id"] for a in await alerts_of(nc, tenant)]
        assert len(ids) == len(set(ids))


async def test_restart_neither_repeats_nor_skips(provisioned, nc, settings_for, clock, tenant, recorder):
    settings = settings_for(provisioned)
    clock.set(at("2026-10-12"))
    async with projector_stack(settings, clock) as svc:
        for fact in (registered(), licensed(), rep_changed()):
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        assert [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")] == ["d-14"]
        # decided and recorded, then the process dies before publishing
        clock.set(at("2026-10-19"))
        rows, _ = svc._tick_sync(clock.now())
        assert [r["step"] for r in rows if r["ref"].startswith("")] and any(r["step"] == "d-7" for r in rows)
        assert (await svc._status())["alerts_unpublished"] == len(rows)  # operators see what waits
    assert [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")] == ["d-14"]
    async with projector_stack(settings, clock) as svc:  # restart: the outbox is flushed
        steps = [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")]
        assert steps == ["d-14", "d-7"]
        assert (await svc._status())["alerts_unpublished"] == 0
        assert await svc.tick() == 0  # and not decided again
    clock.set(at("2026-10-25"))  # down over d-3; restarted on d-1: the latest step is sent, once
    async with projector_stack(settings, clock) as svc:
        await svc.tick()
        await svc.tick()
    async with projector_stack(settings, clock) as svc:
        await svc.tick()
        with svc.engine.connect() as conn:
            unpublished = conn.execute(sa.select(sa.func.count()).select_from(LIVE.alerts)
                                       .where(LIVE.alerts.c.published.is_(False))).scalar()
    assert unpublished == 0
    steps = [a["data"]["step"] for a in about(await alerts_of(nc, tenant), "change-filing")]
    assert steps == ["d-14", "d-7", "d-1"]


async def test_findings_open_and_resolve_and_credit_alerts(provisioned, nc, settings_for, clock, tenant, recorder):
    co = "91110108MA01QH2E3L"
    clock.set(at("2026-03-01"))
    async with projector_stack(settings_for(provisioned), clock) as svc:
        facts = [
            {"type": "company.registered", "company": co, "effective_date": "2026-01-05",
             "data": {"name": "启航教育科技有限公司", "registered_capital": 2000000, "province": "11",
                      "industry": "education", "business_scope": ["教育咨询"]}},
            {"type": "workforce.seats_declared", "company": co, "effective_date": "2026-02-01",
             "data": {"declared_seats": 20, "system_registered_seats": 20, "overseas_seats": 0}},
            {"type": "traffic.period_reported", "company": co, "effective_date": "2026-02-05",
             "data": {"month": "2026-01", "calls_total": 10000, "outbound_calls": 5000,
                      "outbound_marketing_calls": 0, "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0,
                      "complaints": 10, "recordings_retained_days": 90, "consent_records": True,
                      "revenue_95": 0, "carrier_settlement_95": 0}},
        ]
        for fact in facts:
            seq = await recorder.record(tenant, fact)
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        got = await alerts_of(nc, tenant)
        opened = [a for a in got if a["type"] == "finding.opened" and a["data"]["rule"]["id"] == "unlicensed-operation"]
        assert len(opened) == 1 and opened[0]["data"]["severity"] == "critical"
        assert opened[0]["_subject"] == f"alerts.{tenant}.{co}.finding_opened"
        credit = [a for a in got if a["type"] == "credit.below_threshold"]
        assert len(credit) == 1 and credit[0]["data"]["score"] < 80, credit
        assert "estimate" in credit[0]["data"]["message"]["en"] and "估算" in credit[0]["data"]["message"]["zh"]

        clock.set(at("2026-03-10"))
        seq = await recorder.record(tenant, {
            "type": "licence.issued", "company": co, "effective_date": "2026-03-10",
            "data": {"licence_no": "京B2-20260310", "category": "B24", "scope": "provincial", "provinces": ["11"],
                     "issued_on": "2026-03-10", "expires_on": "2031-03-09", "authority": "北京市通信管理局"}})
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        got = await alerts_of(nc, tenant)
        resolved = [a for a in got if a["type"] == "finding.resolved"
                    and a["data"]["finding"]["id"] == opened[0]["data"]["finding"]["id"]]
        assert len(resolved) == 1
        assert resolved[0]["id"] != opened[0]["id"]
        await svc.tick()
        assert len(await alerts_of(nc, tenant)) == len(got)

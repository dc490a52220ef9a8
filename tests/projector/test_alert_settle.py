"""Alerts wait for a company's facts to settle: facts recorded together (an onboarding file, a licence
and its renewal) are judged together, whatever batches the bus makes of them.

A licence issued in 2021 that expired in March looks expired until its renewal (recorded a moment
later) is applied; deciding alerts per batch sent "licence expired" and then "resolved" for a licence
that never lapsed. With the settle window the company's alerts are decided once its facts are quiet."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.test_alert_signal import history_since_2021
from projector.test_scheduler import alerts_of, at

CO = "91310115MA1K4B8N68"
RENEWAL = {"type": "licence.renewed", "company": CO, "effective_date": "2026-02-20",
           "data": {"licence_no": "沪B2-20210315", "new_expires_on": "2031-03-14"}}
EXPIRY_RULES = {"licence-expired"}  # (no number is in use yet, so no unlicensed operation)


@pytest.fixture
def provisioned(own_ledger):
    """A ledger of the test's own: which facts share a projector batch matters here."""
    return own_ledger


def opened(alerts: list[dict]) -> set[str]:
    return {a["data"]["finding"]["rule"] for a in alerts if a["type"] == "finding.opened"}


def waiting(svc) -> int:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LIVE.company_watch)
                            .where(LIVE.company_watch.c.alerts_pending.is_(True))).scalar() or 0


async def settled(svc, within: float = 20.0) -> float:
    """Seconds until no company waits (the service's own timer decides, nobody ticks)."""
    started = time.monotonic()
    while waiting(svc) or svc._unsettled:
        assert time.monotonic() - started < within, "alerts still waiting to settle"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def licence_then_renewal(svc, recorder, tenant) -> None:
    """The licence in one batch, its renewal in the next, as a split import would arrive."""
    for fact in history_since_2021()[:2]:
        await recorder.record(tenant, fact)
    await svc.catch_up()
    await recorder.record(tenant, RENEWAL)
    await svc.catch_up()


@pytest.mark.parametrize("settle", [0.0, 1.0], ids=["per-batch", "settled"])
async def test_a_licence_renewed_in_the_next_batch_alerts_no_expiry(provisioned, nc, settings_for, clock, tenant,
                                                                      recorder, settle):
    clock.set(at("2026-11-23"))
    async with projector_stack(settings_for(provisioned), clock, alert_settle=settle) as svc:
        await licence_then_renewal(svc, recorder, tenant)
        if settle:
            assert await alerts_of(nc, tenant) == [], "nothing is decided while the facts are fresh"
            assert waiting(svc) == 1
            await settled(svc)
        await svc.outbox.flush()
        alerts = await alerts_of(nc, tenant)
    if settle:
        assert opened(alerts) & EXPIRY_RULES == set(), opened(alerts)
        assert not [a for a in alerts if a["type"] == "finding.resolved"]
    else:  # the control: deciding per batch is what cried wolf
        assert opened(alerts) >= EXPIRY_RULES
        assert {a["data"]["finding"]["rule"] for a in alerts if a["type"] == "finding.resolved"} >= EXPIRY_RULES


async def test_what_is_really_wrong_is_alerted_once_the_facts_are_quiet(provisioned, nc, settings_for, clock, tenant,
                                                                        recorder):
    clock.set(at("2026-11-23"))
    async with projector_stack(settings_for(provisioned), clock, alert_settle=0.5) as svc:
        for fact in history_since_2021()[:2]:  # no renewal: the licence did lapse in March
            await recorder.record(tenant, fact)
        await svc.catch_up()
        seconds = await settled(svc)
        await svc.outbox.flush()
        alerts = await alerts_of(nc, tenant)
    assert opened(alerts) >= EXPIRY_RULES
    assert 0.2 < seconds < 10, seconds  # the timer, not a tick, decided it (ticks are off here)
    ids = [a["id"] for a in alerts]
    assert len(ids) == len(set(ids))


async def test_alerts_waiting_at_a_stop_are_decided_after_the_restart(provisioned, nc, settings_for, clock, tenant,
                                                                       recorder):
    clock.set(at("2026-11-23"))
    settings = settings_for(provisioned)
    async with projector_stack(settings, clock, alert_settle=3600) as svc:
        for fact in history_since_2021()[:2]:
            await recorder.record(tenant, fact)
        await svc.catch_up()
        assert waiting(svc) == 1
    assert await alerts_of(nc, tenant) == []
    async with projector_stack(settings, clock, alert_settle=0.3) as svc:
        await settled(svc)
        await svc.outbox.flush()
        alerts = await alerts_of(nc, tenant)
    assert opened(alerts) >= EXPIRY_RULES

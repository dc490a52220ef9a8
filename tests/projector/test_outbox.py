"""The outbox publishes what a failed publish left without waiting for the clock or a restart.

An alert is recorded unpublished in the transaction that decides it and published after the commit.
When that publish fails (ALERTS unreachable, a publish timed out under load) the alert stays in the
outbox. It used to wait for the clock's next tick or the next start; with ticks off (as the crash
tests run) it waited for a restart. Here ALERTS is gone while the alerts are decided and comes back:
they must reach it within seconds, nobody ticking and nobody restarting."""

from __future__ import annotations

import asyncio
import time

import pytest
from ledger_kernel.connection import connect
from ledger_kernel.streams import ALERTS, provision

from projector.conftest import projector_stack
from projector.test_alert_signal import history_since_2021
from projector.test_scheduler import alerts_of, at


@pytest.fixture
def provisioned(own_ledger):
    """A ledger of the test's own: ALERTS is deleted and provisioned again here."""
    return own_ledger


async def test_alerts_left_by_a_failed_publish_reach_alerts_without_a_tick(provisioned, nc, settings_for, clock,
                                                                            tenant, recorder):
    clock.set(at("2026-12-02"))
    async with projector_stack(settings_for(provisioned), clock) as svc:
        await nc.jetstream().delete_stream(ALERTS)  # the publishes that follow find no stream
        for fact in history_since_2021():
            await recorder.record(tenant, fact)
        await svc.catch_up()
        left = await asyncio.to_thread(svc.outbox.count_unpublished)
        assert left > 0, "the alerts were decided and wait in the outbox"

        admin = await connect(provisioned.url, "test-provision")
        try:
            await provision(admin)  # ALERTS is back
        finally:
            await admin.close()
        started = time.monotonic()
        while await asyncio.to_thread(svc.outbox.count_unpublished):
            assert time.monotonic() - started < 30.0, "the outbox still holds alerts 30 s after ALERTS came back"
            await asyncio.sleep(0.1)
        alerts = await alerts_of(nc, tenant)
        assert len(alerts) == left, [a["type"] for a in alerts]
        assert len({a["id"] for a in alerts}) == left, "each alert once"
        assert [a for a in alerts if a["type"] == "company.backlog"], [a["type"] for a in alerts]

"""The change feed's state changes follow the calendar, not the reminder ladder: a tenant whose ladder ends
the day before the due date still sees the obligation turn overdue on the day after it (the scheduler ticks
evaluate the companies whose statuses can move, not only those with a reminder step)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from ledger_kernel.clock import SHANGHAI
from ledger_projector.system_facts import set_rule_overrides
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.test_scheduler import CO, licensed, registered, rep_changed


@pytest.fixture
def provisioned(own_ledger):
    """A ledger of this module's own (the ticks then see only these facts)."""
    return own_ledger


def morning(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


async def state_changes(svc, tenant: str, after: str = "0") -> tuple[list[tuple], str]:
    reply = await svc.answer({"op": "changes", "tenant": tenant, "after": after, "include": ["state"],
                              "page_size": 500})
    items = reply["result"]["items"]
    return ([(i["what"]["before"], i["what"]["after"], i["at"]) for i in items
             if i["kind"] == "state" and i["what"]["change"] == "obligation.status_changed"
             and i["what"]["rule"] == "change-filing"], reply["result"]["next_cursor"])


async def test_status_changes_on_calendar_days_without_a_reminder_step(provisioned, settings_for, clock, tenant,
                                                                       recorder):
    settings = settings_for(provisioned)
    clock.set(morning(date(2026, 9, 25)))
    async with projector_stack(settings, clock) as svc:
        await set_rule_overrides(settings, tenant, {"rules": {"change-filing": {"reminders": [20, 1]}}})
        for fact in (registered(), licensed(), rep_changed("2026-09-25")):
            await recorder.record(tenant, fact)
        await svc.catch_up()
        obs = (await svc.answer({"op": "obligations", "tenant": tenant, "company": CO, "rule": "change-filing"}))
        [filing] = obs["result"]["items"]
        due = date.fromisoformat(filing["due"])
        assert filing["status"] == "open", filing
        seen, cursor = await state_changes(svc, tenant)
        assert [(b, a) for b, a, _ in seen] == [(None, "open")]

        await svc.tick()  # the same day: nothing moves
        soon = due - timedelta(days=30)  # the first day within the due-soon days
        clock.set(morning(soon))
        await svc.tick()
        moved, cursor = await state_changes(svc, tenant, cursor)
        assert moved == [("open", "due_soon", f"{soon.isoformat()}T01:00:00Z")]  # 09:00 in Shanghai

        clock.set(morning(due))  # the last step (d-1) is behind: the next tick sees no reminder for it
        await svc.tick()
        assert (await state_changes(svc, tenant, cursor))[0] == []
        key = f"{tenant}.{CO}"
        with svc.engine.connect() as conn:  # which companies a tick evaluates for the feed's sake
            assert svc.scheduler.moved_companies(conn, LIVE, morning(due).replace(hour=18)) == []  # same day
            assert svc.scheduler.moved_companies(conn, LIVE, morning(due + timedelta(days=1))) == [key]
            assert svc.scheduler.moved_companies(conn, LIVE, morning(due + timedelta(days=3))) == [key]
        clock.set(morning(due + timedelta(days=1)))
        await svc.tick()
        with svc.engine.connect() as conn:  # nothing moves again until a boundary comes
            assert svc.scheduler.moved_companies(conn, LIVE, morning(due + timedelta(days=4))) == []
        late, cursor = await state_changes(svc, tenant, cursor)
        assert [(b, a) for b, a, _ in late] == [("due_soon", "overdue")]
        await svc.tick()
        assert (await state_changes(svc, tenant, cursor))[0] == []  # said once

"""Reminder ladders (design/rules.md §2, Reminders).

Each step has a deterministic alert id (obligation id + step), so a reminder is sent at
most once however often it is computed. An obligation born late (a fact recorded after
several steps passed) gets only the latest step that applies, not a burst.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .instants import day_start, local_date
from .model import Obligation, ReminderStep
from .ruleset import RulePack
from .status import obligation_status

CLOSED = ("fulfilled_on_time", "fulfilled_late", "waived", "cancelled")


def _step(ob: Obligation, key: str, offset: int, fires_on: date, alert_type: str) -> ReminderStep:
    return ReminderStep(ob.id, key, offset, fires_on, day_start(fires_on), alert_type, f"{ob.id}-{key}")


def reminder_schedule(ob: Obligation, pack: RulePack) -> list[ReminderStep]:
    """Every step that fires while the obligation is live (informational, or due before the onboarding
    baseline: none — that history is attested, rules.md §5)."""
    if ob.informational or ob.before_tracking:
        return []
    ladder = pack.params(ob.rule)["reminders"] if ob.rule in pack.rules else ob.params.get("reminders", ())
    steps = []
    for offset in ladder:
        key = "d0" if offset == 0 else f"d-{offset}" if offset > 0 else f"d+{-offset}"
        kind = "obligation.due_today" if offset == 0 else "obligation.due_soon" if offset > 0 else "obligation.overdue"
        steps.append(_step(ob, key, offset, ob.due - timedelta(days=offset), kind))
    for m in ob.milestones:
        if m.acknowledged_on is None or m.acknowledged_on > m.due:
            steps.append(_step(ob, f"m-{m.days_before_close}", (ob.due - m.due).days, m.due, "obligation.due_today"))
    closed = min((d for d in (ob.fulfilled_on, ob.waived_on, ob.cancelled_on) if d is not None), default=None)
    acked = {f"m-{m.days_before_close}": m.acknowledged_on for m in ob.milestones}
    steps = [
        s for s in steps
        if (closed is None or s.fires_on < closed) and ((ack := acked.get(s.step)) is None or s.fires_on < ack)
    ]
    steps.sort(key=lambda s: (s.fires_on, -s.offset_days, s.step))
    return steps


def pending_steps(ob: Obligation, at: datetime, pack: RulePack) -> list[ReminderStep]:
    """The one step to send at `at` (the latest that applies), or none."""
    if ob.informational or ob.before_tracking or obligation_status(ob, at, pack) in CLOSED:
        return []
    today = local_date(at)
    due = [s for s in reminder_schedule(ob, pack) if s.fires_on <= today]
    return due[-1:]

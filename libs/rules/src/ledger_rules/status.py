"""Obligation statuses at an instant (design/rules.md §2, §5).

A deadline day runs to 24:00 Asia/Shanghai of the due date. Fulfilment is judged against
`legal_due` (the law decides whether it was in time); 'overdue' against `due` (for a
backward-counted deadline on a rest day that is the earlier, safe working day).
"""

from __future__ import annotations

from datetime import date, datetime

from .instants import local_date
from .model import Obligation
from .ruleset import RulePack

STATUSES = (
    "scheduled", "open", "due_soon", "overdue", "fulfilled_on_time", "fulfilled_late", "waived", "cancelled",
    "before_tracking",
)


def obligation_status(ob: Obligation, at: datetime, pack: RulePack) -> str:
    return status_on(ob, local_date(at), pack.due_soon_days)


def status_on(ob: Obligation, today: date, due_soon_days: int) -> str:
    """`obligation_status` on a local day (callers asking about many obligations convert the instant once)."""
    # the earliest closing event by today wins; on the same day fulfilled > waived > cancelled
    fulfilled, waived, cancelled = ob.fulfilled_on, ob.waived_on, ob.cancelled_on
    if fulfilled is not None and fulfilled > today:
        fulfilled = None
    if waived is not None and waived > today:
        waived = None
    if cancelled is not None and cancelled > today:
        cancelled = None
    closing = [(d, k) for k, d in (("fulfilled", fulfilled), ("waived", waived), ("cancelled", cancelled))
               if d is not None]
    if closing:
        day, kind = min(closing, key=lambda c: c[0])  # the first of equal days: fulfilled > waived > cancelled
        if kind == "fulfilled":
            return "fulfilled_on_time" if day <= ob.legal_due else "fulfilled_late"
        return kind
    if today > ob.due:
        # due before the onboarding baseline with nothing recorded: attested history, not a miss (rules.md §5)
        return "before_tracking" if ob.tracked_from is not None and ob.due < ob.tracked_from else "overdue"
    opens = ob.window_opens if ob.window_opens is not None else ob.born_on
    if today < opens:
        return "scheduled"
    if (ob.due - today).days <= due_soon_days:
        return "due_soon"
    return "open"

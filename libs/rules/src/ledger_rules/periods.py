"""Deadline arithmetic under 民法典 Arts. 200–204.

- Art. 201: a period counted in days starts the day after the fact.
- Art. 202: a period in months ends on the corresponding day of the last month, or that
  month's last day where there is none.
- Art. 203: a last day that is a statutory rest day moves to the end of the next working day.
- A deadline counted *before* a date ("提前90日") is the latest day still in time; if that
  day is a rest day the safe deadline is the previous working day (we say so in the note).

Every function returns a `Due` carrying the note and whether an unofficial calendar
year was consulted (`provisional`).
"""

from __future__ import annotations

import calendar as _gregorian
from datetime import date, timedelta
from typing import NamedTuple

from .calendar import Calendar, rest_reason_zh

ROLLS = ("next", "previous", "none")
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Due(NamedTuple):
    due: date  # the date shown and used for reminders and 'overdue'
    legal_due: date  # the last day the act is legally in time
    note: str | None
    note_zh: str | None
    provisional: bool


def add_months(d: date, months: int) -> date:
    """Corresponding day `months` later, or the month's last day (民法典 Art. 202)."""
    year, month = divmod(d.year * 12 + d.month - 1 + months, 12)
    month += 1
    day = d.day
    if day > 28:
        last = _MONTH_DAYS[month] if month != 2 else 29 if _gregorian.isleap(year) else 28
        day = min(day, last)
    return date(year, month, day)


def roll(day: date, cal: Calendar, how: str) -> Due:
    """Apply the rest-day rule `how` ('next' = Art. 203, 'previous' = safe, 'none') to a last day.

    Memoised on the (immutable) calendar: the same due days recur across companies."""
    memo = cal.memo
    key = (day, how)
    due = memo.get(key)
    if due is None:
        due = memo[key] = _roll(day, cal, how)
    return due


def _roll(day: date, cal: Calendar, how: str) -> Due:
    if how == "none":
        return Due(day, day, None, None, False)
    provisional = False
    reason = cal.rest_reason(day)
    provisional = provisional or cal.provisional_for(day.year)
    if reason is None:
        return Due(day, day, None, None, provisional)
    zh = rest_reason_zh(reason)
    if how == "next":
        moved = cal.next_working_day(day)
        provisional = provisional or cal.provisional_for(moved.year)
        return Due(
            moved,
            moved,
            f"rolled to next working day after {day} ({reason}, rest day), 民法典 Art. 203",
            f"{day}（{zh}）为休息日，顺延至下一个工作日，民法典第二百零三条",
            provisional,
        )
    moved = cal.previous_working_day(day)
    provisional = provisional or cal.provisional_for(moved.year)
    return Due(
        moved,
        day,
        f"moved to previous working day: safe deadline ({day} is a rest day: {reason}; legally still in time that day)",
        f"{day}（{zh}）为休息日，安全期限提前至前一个工作日",
        provisional,
    )


def days_after(start: date, days: int, cal: Calendar, how: str = "next") -> Due:
    """Last day of a period of `days` days after `start` (Arts. 201, 203)."""
    return roll(start + timedelta(days=days), cal, how)


def months_after(start: date, months: int, cal: Calendar, how: str = "next") -> Due:
    """Last day of a period of `months` months after `start` (Arts. 202, 203)."""
    return roll(add_months(start, months), cal, how)


def days_before(anchor: date, days: int, cal: Calendar, how: str = "previous") -> Due:
    """Latest day `days` days before `anchor` ('提前N日'); rest day -> previous working day."""
    return roll(anchor - timedelta(days=days), cal, how)


def working_days_after(start: date, days: int, cal: Calendar) -> Due:
    """The `days`-th working day after `start` (the start day itself is not counted)."""
    d = start
    years = {start.year}
    for _ in range(max(days, 0)):
        d = cal.next_working_day(d)
        years.add(d.year)
    years |= set(range(start.year, d.year + 1))
    provisional = any(cal.provisional_for(y) for y in years)
    return Due(d, d, f"{days} working days after {start}", f"{start}后{days}个工作日", provisional)

"""A month of due dates (月历) with the official rest days and make-up working days (调休) marked.

Pure: the rule pack's calendar says which days are rest days and why; a weekend day that the calendar
calls a working day is a make-up working day. Years without an official schedule are marked provisional.
"""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger_contracts.formats import MAX_DATE, MIN_DATE
from ledger_rules import Calendar
from ledger_rules.calendar import rest_reason_zh


@dataclass
class Day:
    day: date
    in_month: bool
    rest: str | None  # why it is a rest day (English), None on a working day
    rest_zh: str | None
    makeup: bool  # a weekend day worked under 调休
    today: bool
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Month:
    year: int
    month: int
    weeks: list[list[Day]]
    provisional: bool
    previous: str
    next: str


def month_of(value: str | None, today: date) -> tuple[int, int]:
    """``YYYY-MM`` from a query parameter, else today's month; raises ValueError when malformed."""
    if not value:
        return today.year, today.month
    year, _, month = value.partition("-")
    parsed = (int(year), int(month))
    if not (MIN_DATE.year <= parsed[0] <= MAX_DATE.year and 1 <= parsed[1] <= 12) or len(value) != 7:
        raise ValueError(value)
    return parsed


def month_view(year: int, month: int, today: date, items: list[dict[str, Any]], cal: Calendar | None = None) -> Month:
    cal = cal or Calendar.official()
    by_day: dict[date, list[dict[str, Any]]] = {}
    for item in items:
        try:
            due = date.fromisoformat(str(item.get("due"))[:10])
        except ValueError:
            continue
        by_day.setdefault(due, []).append(item)
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row = []
        for d in week:
            reason = cal.rest_reason(d)
            row.append(Day(d, d.month == month, reason, rest_reason_zh(reason) if reason else None,
                           makeup=reason is None and d.weekday() >= 5, today=d == today,
                           items=sorted(by_day.get(d, []), key=lambda i: str(i.get("company", "")))))
        weeks.append(row)
    first = date(year, month, 1)
    before = first - timedelta(days=1)
    after = first + timedelta(days=32)
    return Month(year, month, weeks, cal.provisional_for(year), f"{before.year:04d}-{before.month:02d}",
                 f"{after.year:04d}-{after.month:02d}")

"""Working days in mainland China.

Sources, in order of precedence for a day:
1. a year schedule loaded by an operator (the State Council's 放假安排 notice, as data);
2. the official schedule shipped in chinese-calendar 1.11.0 (2004–2026, holidays *and*
   make-up working days 调休);
3. a rule-based fallback: weekends plus the statutory holidays of
   《全国年节及纪念日放假办法》 (lunar dates computed in `lunar`). The fallback knows no
   调休 and no bridging days, so any deadline that touched such a year is *provisional*.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from chinese_calendar import constants as _official

from .lunar import lunar_festivals

_OFFICIAL_HOLIDAYS: dict[date, str] = dict(_official.holidays)
_OFFICIAL_WORKDAYS: dict[date, str] = dict(_official.workdays)
OFFICIAL_YEARS = range(min(d.year for d in _OFFICIAL_HOLIDAYS), max(d.year for d in _OFFICIAL_HOLIDAYS) + 1)
_ZH = {h.value: h.chinese for h in _official.Holiday}
_WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
MIN_YEAR, MAX_YEAR = 1900, 2200


class ScheduleError(ValueError):
    """A year schedule that cannot be trusted; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official schedule: rest days (holidays) and make-up working days (调休)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str | None = None

    @classmethod
    def parse(cls, obj: Any) -> YearSchedule:
        """Strictly validate `{year, holidays: [dates], workdays: [dates], source?}`."""
        if not isinstance(obj, Mapping):
            raise ScheduleError("a year schedule must be an object with keys year, holidays, workdays")
        problems: list[str] = []
        unknown = sorted(set(obj) - {"year", "holidays", "workdays", "source"})
        if unknown:
            problems.append(f"unknown key(s) {unknown}: allowed are year, holidays, workdays, source")
        missing = [k for k in ("year", "holidays", "workdays") if k not in obj]
        if missing:
            problems.append(f"missing key(s) {missing}")
        year = obj.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
            problems.append(f"year must be an integer between {MIN_YEAR} and {MAX_YEAR}, got {year!r}")
            year = None
        source = obj.get("source")
        if source is not None and not isinstance(source, str):
            problems.append("source must be a string (e.g. the notice number 国办发明电〔2026〕x号)")
        lists: dict[str, list[date]] = {}
        for key in ("holidays", "workdays"):
            lists[key] = _parse_dates(key, obj.get(key, []), year, problems)
        if "holidays" in obj and not lists["holidays"] and not any(p.startswith("holidays") for p in problems):
            problems.append("holidays is empty: every State Council schedule lists holidays")
        for d in lists["workdays"]:
            if d.weekday() < 5:
                problems.append(
                    f"workdays: {d} is a {_WEEKDAY_EN[d.weekday()]}; a make-up working day (调休) is a weekend day"
                )
        both = sorted(set(lists["holidays"]) & set(lists["workdays"]))
        if both:
            problems.append(f"dates listed as both holiday and working day: {[d.isoformat() for d in both]}")
        if problems:
            raise ScheduleError("invalid year schedule: " + "; ".join(problems))
        assert year is not None  # a missing or bad year is one of the problems above
        return cls(year, frozenset(lists["holidays"]), frozenset(lists["workdays"]), source)


def _parse_dates(key: str, values: Any, year: int | None, problems: list[str]) -> list[date]:
    if not isinstance(values, list | tuple):
        problems.append(f"{key} must be a list of YYYY-MM-DD dates")
        return []
    out: list[date] = []
    for v in values:
        if isinstance(v, date):
            d = v
        elif isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            try:
                d = date.fromisoformat(v)
            except ValueError:
                problems.append(f"{key}: {v!r} is not a calendar date")
                continue
        else:
            problems.append(f"{key}: {v!r} is not a YYYY-MM-DD date")
            continue
        # a notice may reach into late December of the year before or January after
        if year is not None and not (date(year - 1, 12, 1) <= d <= date(year + 1, 1, 31)):
            problems.append(f"{key}: {d} is outside the schedule year {year}")
            continue
        if d in out:
            problems.append(f"{key}: {d} is listed twice")
            continue
        out.append(d)
    return out


def _era_holidays(year: int) -> list[tuple[date, str]]:
    """Statutory holidays by the rules in force that year (no 调休, no bridging days)."""
    f = lunar_festivals(year)
    one = timedelta(days=1)
    days: list[tuple[date, str]] = [(date(year, 1, 1), "New Year's Day")]
    if year >= 2025:  # 2024 revision: eve + 3 days of Spring Festival, 2 days of Labour Day
        spring = [f["eve"], f["spring"], f["spring"] + one, f["spring"] + 2 * one]
        labour = [date(year, 5, 1), date(year, 5, 2)]
    elif year >= 2014:
        spring = [f["spring"], f["spring"] + one, f["spring"] + 2 * one]
        labour = [date(year, 5, 1)]
    elif year >= 2008:
        spring = [f["eve"], f["spring"], f["spring"] + one]
        labour = [date(year, 5, 1)]
    else:  # 1999 rules, used for every earlier year as well
        spring = [f["spring"], f["spring"] + one, f["spring"] + 2 * one]
        labour = [date(year, 5, 1), date(year, 5, 2), date(year, 5, 3)]
    days += [(d, "Spring Festival") for d in spring]
    days += [(d, "Labour Day") for d in labour]
    if year >= 2008:
        days += [
            (f["qingming"], "Tomb-sweeping Day"),
            (f["dragon_boat"], "Dragon Boat Festival"),
            (f["mid_autumn"], "Mid-autumn Festival"),
        ]
    days += [(date(year, 10, d), "National Day") for d in (1, 2, 3)]
    return days


@lru_cache(maxsize=512)
def _fallback_holidays(year: int) -> dict[date, str]:
    """Rest days of `year` by rule; lunar holidays of the next year can fall in it too."""
    out: dict[date, str] = {}
    for y in (year, year + 1):
        try:
            for d, name in _era_holidays(y):
                if d.year == year:
                    out.setdefault(d, name)
        except (ValueError, OverflowError, KeyError):  # astronomy outside its range: weekends only
            continue
    return out


class _StartsFromOfficial:
    """`Calendar.with_year(s)` on the class starts from the official calendar; on an instance, from it."""

    def __init__(self, method: Callable[[Calendar, YearSchedule | Mapping[str, Any]], Calendar]) -> None:
        self.method = method
        functools.update_wrapper(self, method)  # type: ignore[arg-type]  # a descriptor, not a callable: name and doc

    def __get__(self, obj: Calendar | None, cls: type[Calendar]) -> Callable[[YearSchedule | Mapping[str, Any]], Calendar]:
        return functools.partial(self.method, obj if obj is not None else cls.official())


class Calendar:
    """Answers 'is this a working day?' and says when the answer is only provisional."""

    __slots__ = ("_schedules", "_holidays", "_workdays", "_cache", "memo")

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._schedules: dict[int, YearSchedule] = {s.year: s for s in schedules}
        self._holidays: dict[date, str] = {}
        self._workdays: set[date] = set()
        for s in self._schedules.values():
            self._holidays.update((d, "holiday (operator schedule)") for d in s.holidays)
            self._workdays.update(s.workdays)
        self._cache: dict[date, str | None] = {}
        self.memo: dict = {}  # results of pure date computations over this calendar (periods.roll)

    @classmethod
    def official(cls) -> Calendar:
        return cls()

    @_StartsFromOfficial
    def with_year(self, schedule: YearSchedule | Mapping[str, Any]) -> Calendar:
        """A new calendar with an operator-loaded year (replacing any earlier one for that year)."""
        if not isinstance(schedule, YearSchedule):
            schedule = YearSchedule.parse(schedule)
        merged = dict(self._schedules)
        merged[schedule.year] = schedule
        return Calendar(merged.values())

    @property
    def loaded_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._schedules))

    def source_for(self, year: int) -> str:
        """'operator', 'official' or 'fallback'."""
        if year in self._schedules:
            return "operator"
        if year in OFFICIAL_YEARS:
            return "official"
        return "fallback"

    def provisional_for(self, year: int) -> bool:
        """True when the year has no official schedule: dates in it may move when one is published."""
        return year not in self._schedules and year not in OFFICIAL_YEARS

    def rest_reason(self, d: date) -> str | None:
        """None on a working day, else why it is a rest day ('Sunday', 'National Day', …)."""
        try:
            return self._cache[d]
        except KeyError:
            pass
        reason = self._reason(d)
        self._cache[d] = reason
        return reason

    def _reason(self, d: date) -> str | None:
        if d in self._workdays:
            return None
        if d in self._holidays:
            return self._holidays[d]
        weekend = _WEEKDAY_EN[d.weekday()] if d.weekday() >= 5 else None
        if d.year in self._schedules:
            return weekend
        if d.year in OFFICIAL_YEARS:
            if d in _OFFICIAL_WORKDAYS:
                return None
            return _OFFICIAL_HOLIDAYS.get(d) or weekend
        return _fallback_holidays(d.year).get(d) or weekend

    def is_working_day(self, d: date) -> bool:
        return self.rest_reason(d) is None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after d."""
        d += timedelta(days=1)
        while self.rest_reason(d) is not None:
            d += timedelta(days=1)
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before d."""
        d -= timedelta(days=1)
        while self.rest_reason(d) is not None:
            d -= timedelta(days=1)
        return d

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and self._schedules == other._schedules

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._schedules)))

    def __repr__(self) -> str:
        return f"Calendar(official {OFFICIAL_YEARS.start}–{OFFICIAL_YEARS.stop - 1}, loaded {self.loaded_years})"


def rest_reason_zh(reason: str) -> str:
    """Chinese name of a rest-day reason produced by `Calendar.rest_reason`."""
    if reason in _WEEKDAY_EN:
        return _WEEKDAY_ZH[_WEEKDAY_EN.index(reason)]
    if reason == "holiday (operator schedule)":
        return "法定节假日（运营方载入的安排）"
    return _ZH.get(reason, reason)

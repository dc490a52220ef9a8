"""The calendar and deadline arithmetic: 民法典 Arts. 201–203, official data, fallback years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from chinese_calendar.constants import holidays as official_holidays
from ledger_rules import (
    Calendar,
    ScheduleError,
    YearSchedule,
    add_months,
    days_after,
    days_before,
    months_after,
    working_days_after,
)
from ledger_rules.lunar import lunar_festivals

CAL = Calendar.official()


def test_official_2026_days():
    assert not CAL.is_working_day(date(2026, 10, 25))  # Sunday
    assert not CAL.is_working_day(date(2026, 10, 3))  # National Day
    assert CAL.is_working_day(date(2026, 10, 10))  # make-up Saturday (调休)
    assert CAL.is_working_day(date(2026, 9, 20))  # make-up Sunday
    assert not CAL.provisional_for(2026) and CAL.provisional_for(2027) and CAL.provisional_for(2003)


def test_thirty_days_rolls_past_sunday():
    due = days_after(date(2026, 9, 25), 30, CAL)
    assert due.due == date(2026, 10, 26) and due.legal_due == date(2026, 10, 26)
    assert due.note == "rolled to next working day after 2026-10-25 (Sunday, rest day), 民法典 Art. 203"


def test_make_up_saturday_is_not_rolled():
    due = days_after(date(2026, 9, 10), 30, CAL)  # 2026-10-10, a Saturday that is a working day
    assert due.due == date(2026, 10, 10) and due.note is None


def test_national_day_rolls_to_first_working_day_after_the_holiday():
    due = days_after(date(2026, 9, 3), 30, CAL)  # 2026-10-03
    assert due.due == date(2026, 10, 8)
    assert "National Day" in due.note and "国庆节" in due.note_zh


def test_first_day_is_not_counted():
    assert days_after(date(2026, 3, 2), 1, CAL).due == date(2026, 3, 3)


def test_deadline_in_2027_is_provisional():
    due = days_after(date(2026, 12, 10), 30, CAL)  # 2027-01-09, Saturday in a year without official data
    assert due.due == date(2027, 1, 11) and due.provisional
    assert not days_after(date(2026, 9, 25), 30, CAL).provisional


def test_backward_deadline_on_sunday_moves_to_previous_friday():
    due = days_before(date(2027, 3, 13), 90, CAL)  # E − 90 = 2026-12-13, a Sunday
    assert due.legal_due == date(2026, 12, 13)
    assert due.due == date(2026, 12, 11)
    assert "previous working day" in due.note and "safe deadline" in due.note


def test_months_end_on_corresponding_day_or_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 3, 15), 12) == date(2027, 3, 15)
    assert months_after(date(2026, 8, 31), 1, CAL).due == date(2026, 9, 30)
    assert months_after(date(2026, 4, 30), 6, CAL).due == date(2026, 10, 30)


def test_working_days_use_the_official_schedule():
    # 2026-09-25 is Mid-Autumn; then 9/28–9/30, 10/8, 10/9, 10/10 (调休 Saturday), 10/12–10/15
    assert working_days_after(date(2026, 9, 25), 10, CAL).due == date(2026, 10, 15)


def test_fallback_knows_rule_based_holidays():
    assert not CAL.is_working_day(date(2027, 1, 1))
    assert not CAL.is_working_day(date(2027, 2, 6))  # Spring Festival 2027 (computed)
    assert not CAL.is_working_day(date(2027, 2, 5))  # eve, a holiday since the 2024 revision
    assert not CAL.is_working_day(date(2027, 5, 1)) and CAL.is_working_day(date(2027, 5, 3))
    assert not CAL.is_working_day(date(2027, 10, 1)) and not CAL.is_working_day(date(2027, 10, 3))
    assert CAL.is_working_day(date(2027, 10, 4))  # no 调休 knowledge: a plain Monday
    assert CAL.rest_reason(date(2027, 9, 15)) == "Mid-autumn Festival"


@pytest.mark.parametrize("year", range(2008, 2027))
def test_computed_lunar_festivals_match_official_data(year):
    f = lunar_festivals(year)
    for key, name in (("spring", "Spring Festival"), ("qingming", "Tomb-sweeping Day"),
                      ("dragon_boat", "Dragon Boat Festival"), ("mid_autumn", "Mid-autumn Festival")):
        day = f[key]
        if day.weekday() >= 5 and day not in official_holidays:
            continue  # the package omits some weekend festival days (e.g. 2012-06-23)
        assert official_holidays.get(day) in (name, "National Day"), (year, key, day)


def test_every_year_1900_to_2200_answers_without_crashing():
    for year in range(1900, 2201):
        for day in (date(year, 1, 1), date(year, 2, 10), date(year, 6, 15), date(year, 10, 2), date(year, 12, 31)):
            CAL.is_working_day(day)
        assert days_after(date(year, 12, 20), 30, CAL).due.year == year + 1
        assert days_before(date(year, 3, 1), 90, CAL).due.year == year - 1


def test_operator_schedule_replaces_the_fallback():
    schedule = YearSchedule.parse({
        "year": 2027, "holidays": ["2027-10-01", "2027-10-04", "2027-10-05"], "workdays": ["2027-09-26"],
        "source": "国办发明电〔2026〕x号",
    })
    cal = Calendar.with_year(schedule)
    assert not cal.provisional_for(2027) and cal.source_for(2027) == "operator"
    assert not cal.is_working_day(date(2027, 10, 4)) and cal.is_working_day(date(2027, 9, 26))
    assert cal.is_working_day(date(2027, 2, 8))  # the loaded year replaces the rule-based guess entirely
    assert not days_after(date(2027, 9, 1), 30, cal).provisional
    assert Calendar.official().with_year(schedule) == cal
    assert cal.is_working_day(date(2026, 10, 10))  # official years untouched


@pytest.mark.parametrize("bad, words", [
    ("not a dict", "object"),
    ({"year": 2027, "holidays": ["2027-10-01"]}, "missing"),
    ({"year": 2027, "holidays": ["2027-10-01"], "workdays": [], "extra": 1}, "unknown key"),
    ({"year": "2027", "holidays": ["2027-10-01"], "workdays": []}, "year must be an integer"),
    ({"year": 2027, "holidays": ["2027-13-01"], "workdays": []}, "not a calendar date"),
    ({"year": 2027, "holidays": ["01/10/2027"], "workdays": []}, "not a YYYY-MM-DD"),
    ({"year": 2027, "holidays": ["2029-10-01"], "workdays": []}, "outside the schedule year"),
    ({"year": 2027, "holidays": ["2027-10-01", "2027-10-01"], "workdays": []}, "listed twice"),
    ({"year": 2027, "holidays": ["2027-10-01"], "workdays": ["2027-09-27"]}, "weekend day"),
    ({"year": 2027, "holidays": ["2027-09-26"], "workdays": ["2027-09-26"]}, "both holiday and working day"),
    ({"year": 2027, "holidays": [], "workdays": []}, "holidays is empty"),
])
def test_schedule_validation_is_strict_and_clear(bad, words):
    with pytest.raises(ScheduleError, match=words):
        YearSchedule.parse(bad)
    with pytest.raises(ValueError):
        Calendar.with_year(bad)


def test_make_up_day_in_previous_december_is_accepted():
    s = YearSchedule.parse({"year": 2019, "holidays": ["2018-12-30", "2018-12-31", "2019-01-01"],
                            "workdays": ["2018-12-29"]})
    assert date(2018, 12, 29) in s.workdays
    assert Calendar.with_year(s).is_working_day(date(2018, 12, 29))


def test_rest_day_walk_never_loops_forever():
    day = date(2200, 12, 25)
    for _ in range(30):
        day = CAL.next_working_day(day)
    assert day > date(2200, 12, 25) + timedelta(days=30)

"""The console's pure views: the time axis geometry, the month grid with 调休, and what the company page lists."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from ledger_gateway.console.month_view import month_of, month_view
from ledger_gateway.console.pages import listed_obligations, obligation_row
from ledger_gateway.console.timeline_plot import LANE_HEIGHT, LANE_TOP, plot

TODAY = date(2026, 11, 23)
windows = st.lists(st.tuples(st.integers(-700, 300), st.integers(0, 200)), max_size=60)


@given(windows)
def test_bars_in_one_lane_never_overlap_and_stay_on_the_axis(spans):
    items = [{"id": f"o{i}", "window_opens": (TODAY + timedelta(days=start)).isoformat(),
              "due": (TODAY + timedelta(days=start + length)).isoformat(), "status": "open"}
             for i, (start, length) in enumerate(spans)]
    shown = plot([], items, TODAY)
    by_lane: dict[float, list] = {}
    for bar in shown.bars:
        assert 0 <= bar.x <= 1000 and bar.x + bar.width <= 1000 + 8
        by_lane.setdefault(bar.y, []).append(bar)
    lanes = sorted(by_lane)
    assert len(lanes) <= 14 and all((y - LANE_TOP) % LANE_HEIGHT == 0 for y in lanes)
    if len(lanes) < 14:  # with lanes to spare, nothing is drawn over anything else
        for bars in by_lane.values():
            bars.sort(key=lambda b: b.x)
            assert all(a.x + a.width <= b.x for a, b in zip(bars, bars[1:], strict=False))
    assert len(shown.bars) + shown.hidden == len(items)


def test_today_and_as_of_are_lines_and_the_span_follows_the_day_looked_at():
    shown = plot([{"date": "2022-05-01", "type": "licence.issued"}], [], TODAY, date(2022, 6, 1))
    assert shown.start == date(2022, 6, 1) - timedelta(days=730) and shown.as_of_x is not None
    assert shown.today_x is None  # 2026 is outside the span around 2022-06-01
    assert len(shown.facts) == 1
    now = plot([], [], TODAY)
    assert now.today_x is not None and now.as_of_x is None


def test_the_month_marks_rest_days_and_make_up_working_days():
    october = month_view(2026, 10, TODAY, [{"due": "2026-10-26", "company": "X", "id": "o1"}])
    days = {d.day: d for week in october.weeks for d in week}
    assert days[date(2026, 10, 1)].rest == "National Day" and days[date(2026, 10, 1)].rest_zh
    assert days[date(2026, 10, 10)].makeup and days[date(2026, 10, 10)].rest is None  # a Saturday worked (调休)
    assert days[date(2026, 10, 11)].rest == "Sunday" and not days[date(2026, 10, 11)].makeup
    assert [i["id"] for i in days[date(2026, 10, 26)].items] == ["o1"]
    assert (october.previous, october.next) == ("2026-09", "2026-11") and not october.provisional
    assert month_view(2031, 1, TODAY, []).provisional  # no official schedule for 2031 yet
    assert month_of("", TODAY) == (2026, 11) and month_of("2027-02", TODAY) == (2027, 2)


def test_the_company_page_lists_what_needs_doing_and_the_year_around_the_day():
    rows = [obligation_row({"id": f"o{i}", "rule": "r", "due": (TODAY + timedelta(days=d)).isoformat(),
                            "status": status, "title": {"zh": "义务", "en": "Duty"}})
            for i, (d, status) in enumerate([(-900, "overdue"), (-900, "fulfilled_on_time"), (-100, "fulfilled_late"),
                                             (30, "due_soon"), (500, "scheduled")])]
    assert [r["id"] for r in listed_obligations(rows, TODAY, everything=False)] == ["o0", "o2", "o3"]
    assert len(listed_obligations(rows, TODAY, everything=True)) == 5
    assert rows[0]["title_zh"] == "义务" and rows[0]["title_en"] == "Duty"

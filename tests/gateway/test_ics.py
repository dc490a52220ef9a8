"""The iCalendar feed: parses with ``icalendar``, one stable UID per obligation, all-day dates,
SEQUENCE up on change, CANCELLED instead of deletion, a 7-day display alarm, refresh hints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from ledger_gateway.ics import render_feed

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def obligation(oid: str, **over):  # noqa: ANN201
    base = {"id": oid, "rule": "renewal", "title": "许可证续期申请", "about": "B2-20220315", "year": None,
            "quarter": None, "window_opens": "2026-06-17", "due": "2026-12-14", "status": "due_soon",
            "fulfilled_on": None, "provisional": False,
            "source": "电信业务经营许可管理办法 (Order 42) Art. 27", "confidence": "statutory"}
    return base | over


def events(feed: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(feed)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_parses_and_says_what_calendars_need():
    feed = render_feed([obligation("ob-1"), obligation("ob-2", rule="annual-report", title="年报", year=2025,
                                                       due="2026-03-31", status="overdue")],
                       tenant_name="上海某客服", now=NOW)
    calendar = Calendar.from_ical(feed)
    assert str(calendar["VERSION"]) == "2.0" and "上海某客服" in str(calendar["X-WR-CALNAME"])
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H" in feed and b"X-PUBLISHED-TTL:PT12H" in feed
    found = events(feed)
    assert set(found) == {"ob-1@ledger", "ob-2@ledger"}
    renewal = found["ob-1@ledger"]
    assert renewal.decoded("DTSTART") == date(2026, 12, 14) and b"DTSTART;VALUE=DATE:20261214" in feed
    assert renewal.decoded("DTSTAMP") == NOW
    assert str(renewal["STATUS"]) == "CONFIRMED"
    description = str(renewal["DESCRIPTION"])
    assert "renewal" in description and "(Order 42) Art. 27" in description and "statutory" in description
    [alarm] = renewal.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY" and alarm.decoded("TRIGGER") == -timedelta(days=7)
    assert "【逾期】" in str(found["ob-2@ledger"]["SUMMARY"]) and "2025" in str(found["ob-2@ledger"]["SUMMARY"])


def test_uids_stay_and_sequence_rises_as_obligations_change():
    before = events(render_feed([obligation("ob-1", provisional=True), obligation("ob-2")],
                                tenant_name="t", now=NOW))
    after = events(render_feed([obligation("ob-2", status="waived"), obligation("ob-1", provisional=False,
                                                                                  due="2026-12-15")],
                               tenant_name="t", now=NOW + timedelta(days=1)))
    assert set(before) == set(after)
    assert int(after["ob-1@ledger"]["SEQUENCE"]) > int(before["ob-1@ledger"]["SEQUENCE"])
    assert int(after["ob-2@ledger"]["SEQUENCE"]) > int(before["ob-2@ledger"]["SEQUENCE"])
    assert str(after["ob-2@ledger"]["STATUS"]) == "CANCELLED" and not after["ob-2@ledger"].walk("VALARM")
    assert str(before["ob-1@ledger"]["STATUS"]) == "TENTATIVE"
    done = events(render_feed([obligation("ob-1", status="fulfilled_on_time", fulfilled_on="2026-11-20")],
                              tenant_name="t", now=NOW))
    assert int(done["ob-1@ledger"]["SEQUENCE"]) > int(before["ob-1@ledger"]["SEQUENCE"])
    assert not done["ob-1@ledger"].walk("VALARM") and "2026-11-20" in str(done["ob-1@ledger"]["DESCRIPTION"])
    explicit = events(render_feed([obligation("ob-1", revision=7)], tenant_name="t", now=NOW))
    assert int(explicit["ob-1@ledger"]["SEQUENCE"]) == 7


def test_the_same_input_gives_the_same_bytes():
    obligations = [obligation(f"ob-{i}", due=f"2026-12-{10 + i:02d}") for i in range(5)]
    assert render_feed(obligations, tenant_name="t", now=NOW) == \
        render_feed(list(reversed(obligations)), tenant_name="t", now=NOW)


statuses = st.sampled_from(["scheduled", "open", "due_soon", "overdue", "fulfilled_on_time", "fulfilled_late",
                            "waived", "cancelled"])
texts = st.text(min_size=1, max_size=40)
items = st.lists(st.fixed_dictionaries({
    "id": st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), "rule": texts, "title": texts,
    "about": st.one_of(st.none(), texts), "due": st.dates(date(2020, 1, 1), date(2035, 12, 31)).map(str),
    "status": statuses, "provisional": st.booleans(), "source": texts,
    "confidence": st.sampled_from(["statutory", "notice", "advisory", "estimate"])}),
    max_size=8, unique_by=lambda o: o["id"])


@settings(max_examples=60, deadline=None)
@given(items)
def test_any_obligations_render_to_a_parsable_feed_with_one_event_each(obligations):
    found = events(render_feed(obligations, tenant_name="租户 tenant", now=NOW))
    assert set(found) == {f"{o['id']}@ledger" for o in obligations}
    for o in obligations:
        event = found[f"{o['id']}@ledger"]
        assert event.decoded("DTSTART") == date.fromisoformat(o["due"])
        assert (str(event["STATUS"]) == "CANCELLED") == (o["status"] in ("waived", "cancelled"))

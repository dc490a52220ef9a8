"""Reminder ladders: steps, ids, overrides, and no burst for obligations born late."""

from __future__ import annotations

from datetime import date

from ledger_rules import pending_steps, reminder_schedule
from rules_support import PACK, Story, at, only


def change_filing(recorded: str | None = None):
    s = Story()
    s.registered()
    s.licence()
    s.add("company.registration_changed", "2026-09-25", {"field": "legal_representative", "old": "P-0001", "new": "P-0002"},
          recorded=recorded)
    return s, only(s.evaluate().obligations, rule="change-filing")


def test_default_ladder():
    _, ob = change_filing()
    steps = reminder_schedule(ob, PACK)
    assert [s.step for s in steps] == ["d-30", "d-14", "d-7", "d-3", "d-1", "d0", "d+1", "d+7", "d+14"]
    assert steps[0].fires_on == date(2026, 9, 26) and steps[5].fires_on == date(2026, 10, 26)
    assert [s.alert_type for s in steps[4:7]] == ["obligation.due_soon", "obligation.due_today", "obligation.overdue"]
    assert steps[0].alert_id == f"{ob.id}-d-30" and len({s.alert_id for s in steps}) == 9
    assert steps[0].fires_at.isoformat() == "2026-09-25T16:00:00+00:00"


def test_ladder_override_per_rule():
    _, ob = change_filing()
    pack = PACK.with_overrides({"rules": {"change-filing": {"reminders": [30, 7, 0, -1]}}})
    assert [s.step for s in reminder_schedule(ob, pack)] == ["d-30", "d-7", "d0", "d+1"]


def test_pending_step_is_the_latest_that_applies():
    _, ob = change_filing()
    assert pending_steps(ob, at("2026-09-20"), PACK) == []
    assert [s.step for s in pending_steps(ob, at("2026-10-20"), PACK)] == ["d-7"]
    assert [s.step for s in pending_steps(ob, at("2026-10-26"), PACK)] == ["d0"]
    assert [s.step for s in pending_steps(ob, at("2026-12-01"), PACK)] == ["d+14"]


def test_no_burst_for_a_late_recorded_fact():
    _, ob = change_filing(recorded="2026-11-05")
    assert [s.step for s in pending_steps(ob, at("2026-11-05"), PACK)] == ["d+7"]


def test_closed_and_informational_obligations_have_no_pending_steps():
    s, ob = change_filing()
    s.add("licence.change_filed", "2026-10-13", {"licence_no": "B2-20220315", "fields": ["legal_representative"]})
    done = only(s.evaluate().obligations, rule="change-filing")
    assert pending_steps(done, at("2026-10-20"), PACK) == []
    assert [x.step for x in reminder_schedule(done, PACK)] == ["d-30", "d-14"]  # those fired before the filing
    s.add("penalty.imposed", "2026-10-01", {"decision_no": "P", "decided_on": "2026-10-01"})
    watch = only(s.evaluate().obligations, rule="bad-list-watch")
    assert reminder_schedule(watch, PACK) == [] and pending_steps(watch, at("2026-10-30"), PACK) == []


def test_preparation_milestones_fire_on_their_dates():
    s = Story()
    s.registered()
    s.licence()
    prep = only(s.evaluate().obligations, rule="annual-report-prep", year=2025)
    assert [(x.step, x.fires_on) for x in reminder_schedule(prep, PACK)] == [
        ("m-90", date(2025, 12, 31)), ("m-60", date(2026, 1, 30)), ("m-30", date(2026, 2, 28)), ("m-7", date(2026, 3, 24))]

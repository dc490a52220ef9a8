"""The onboarding baseline, time travel and the second release's rule decisions (design/rules.md §5–6)."""

from __future__ import annotations

from collections import Counter

from ledger_rules import credit_estimate, pending_steps, reminder_schedule
from ledger_rules.status import status_on
from rules_support import PACK, Story, at, d, only

TODAY = "2026-03-01"  # the day the consultancy onboards the client (the story's "today")


def onboarded(baseline: str | None = TODAY) -> Story:
    """A client whose licence dates from 2021, recorded with five facts, plus its baseline."""
    s = Story()
    if baseline is not None:
        s.add("company.tracking_started", baseline, {"tracked_from": baseline, "attested_by": "client compliance"})
    s.registered(on="2021-03-01")
    s.licence(issued="2021-06-15", expires="2026-06-14")
    s.add("number.allocated", "2021-07-01", {"number": "4006001234", "kind": "400", "province": "31"})
    s.add("workforce.seats_declared", "2021-07-01", {"declared_seats": 40, "system_registered_seats": 40})
    s.add("site.leased", "2021-06-01", {"site_ref": "SH-01", "province": "31", "area_m2": 300,
                                        "lease_end": "2027-05-31", "purpose_text": "呼叫中心"})
    return s


def statuses(ev, day: str) -> dict[str, str]:
    return {o.id: status_on(o, d(day), PACK.due_soon_days) for o in ev.obligations}


def test_without_a_baseline_the_backlog_since_2021_is_overdue():
    """Today's reading, kept when no baseline is recorded: the client's story of issue 12."""
    ev = onboarded(baseline=None).evaluate()
    counted = Counter(statuses(ev, "2026-03-02").values())
    assert counted["overdue"] >= 30 and "before_tracking" not in counted
    assert any(f.rule == "bad-list" and f.subject.startswith("annual-report:") for f in ev.findings)


def test_a_baseline_turns_the_unrecorded_backlog_into_before_tracking():
    ev = onboarded().evaluate()
    now = at("2026-03-02")
    st = statuses(ev, "2026-03-02")
    assert "overdue" not in st.values()
    before = [o for o in ev.obligations if st[o.id] == "before_tracking"]
    assert len(before) >= 30 and all(o.due < d(TODAY) and o.fulfilled_on is None for o in before)
    # reports for 2021–2024 (due 31 Mar of the next year, all before the baseline) are attested history
    reports = {o.year: st[o.id] for o in ev.obligations if o.rule == "annual-report"}
    assert {y: reports[y] for y in (2021, 2022, 2023, 2024)} == dict.fromkeys((2021, 2022, 2023, 2024),
                                                                               "before_tracking")
    # what falls due on or after the baseline is judged as usual: the 2025 report, the renewal
    assert reports[2025] == "due_soon"
    renewal = only(ev.obligations, rule="renewal")
    assert renewal.due >= d(TODAY) and st[renewal.id] == "due_soon" and renewal.confidence == "statutory"
    # no finding from their absence, no reminder, no credit deduction, not counted
    # only the 2025 report, due after the baseline, would be listed if still missing after its make-up month
    assert [f.subject for f in ev.findings if f.rule == "bad-list"] == ["annual-report:B2-20220315:2025"]
    assert not [f for f in ev.open_findings(now) if f.rule == "bad-list"]
    assert all(reminder_schedule(o, PACK) == [] and pending_steps(o, now, PACK) == [] for o in before)
    summary = ev.summary(now)
    assert summary.overdue == 0 and summary.risk != "high"
    parts = {c.name: c for c in credit_estimate(ev, now, PACK).components}
    assert parts["overdue_obligations"].deduction == 0 and parts["overdue_obligations"].inputs["count"] == 0
    assert ev.tracked_from == d(TODAY)


def test_a_fulfilment_recorded_later_still_counts():
    s = onboarded()
    s.add("licence.annual_report_submitted", "2026-03-20", {"licence_no": "B2-20220315", "year": 2023,
                                                           "submitted_on": "2026-03-20"}, recorded="2026-03-20")
    ev = s.evaluate()
    report = only(ev.obligations, rule="annual-report", year=2023)
    assert status_on(report, d("2026-03-10"), 30) == "before_tracking"
    assert status_on(report, d("2026-03-21"), 30) == "fulfilled_late"


def test_recording_the_baseline_again_moves_it():
    s = onboarded()
    s.add("company.tracking_started", "2025-01-01", {"tracked_from": "2025-01-01", "attested_by": "auditor"})
    ev = s.evaluate()
    assert ev.tracked_from == d("2025-01-01")  # the latest recorded counts, though its date is earlier
    report = only(ev.obligations, rule="annual-report", year=2024)  # due 31 Mar 2025: after the new baseline
    assert status_on(report, d("2026-03-02"), 30) == "overdue"
    assert status_on(only(ev.obligations, rule="annual-report", year=2023), d("2026-03-02"), 30) == "before_tracking"
    assert any(f.rule == "bad-list" and f.subject == "annual-report:B2-20220315:2024" for f in ev.findings)


def test_a_recorded_listing_still_raises_bad_list_before_the_baseline():
    s = onboarded()
    s.add("listing.listed", "2024-06-01", {"list": "bad", "authority": "上海市通信管理局", "reason": "年报未报"})
    ev = s.evaluate()
    assert [f.subject for f in ev.open_findings(at("2026-03-02")) if f.rule == "bad-list"] == ["listing:bad"]


def test_as_of_before_a_number_allocation_shows_none_of_its_obligations():
    s = Story()
    s.registered(on="2021-06-01")
    s.licence()
    s.add("number.allocated", "2026-08-03", {"number": "4006001234", "kind": "400", "province": "31"})
    ev = s.evaluate()
    filing = only(ev.obligations, rule="number-filing")
    assert filing.due == d("2026-09-02") and not filing.exists_on(d("2026-07-01"))
    summary = ev.summary(at("2026-07-01"))
    assert summary.next_due_obligation != filing.id and summary.next_due != filing.due
    assert not [o for o in ev.obligations if o.about == "4006001234" and o.exists_on(d("2026-07-01"))]
    later = ev.summary(at("2026-08-04"))
    assert later.next_due_obligation == filing.id


def test_a_released_numbers_announced_fee_stays_cancelled():
    """rules.md §6: the quarterly fee whose window opened before the release (reminders may have gone out)
    stays visible as cancelled, with the release; the next quarters never existed."""
    s = Story()
    s.registered()
    s.licence()
    s.add("number.allocated", "2025-01-15", {"number": "4006001234", "kind": "400", "province": "31"})
    released = s.add("number.released", "2025-03-20", {"number": "4006001234"})
    fees = {o.quarter: o for o in s.evaluate().obligations if o.rule == "number-fee"}
    assert sorted(fees) == ["2025Q2"]
    q2 = fees["2025Q2"]
    assert q2.cancelled_by == released.event_id and q2.cancelled_on == d("2025-03-20")
    assert status_on(q2, d("2025-03-12"), 30) == "due_soon" and status_on(q2, d("2025-04-20"), 30) == "cancelled"


def test_operations_ending_cancel_the_quarters_check_in_progress():
    s = Story()
    s.registered()
    s.licence()
    cancelled = s.add("licence.cancelled", "2025-05-10", {"licence_no": "B2-20220315", "reason": "申请注销"})
    checks = {o.quarter: o for o in s.evaluate().obligations if o.rule == "three-way-check"}
    q2 = checks["2025Q2"]
    assert q2.cancelled_by == cancelled.event_id and status_on(q2, d("2025-07-10"), 30) == "cancelled"
    assert "2025Q3" not in checks


def test_the_credit_estimate_deducts_statutory_and_notice_overdue_only():
    s = Story()
    s.registered()
    s.licence()
    s.add("traffic.period_reported", "2022-05-05", {"month": "2022-04", "calls_total": 1000, "complaints": 0})
    ev = s.evaluate()
    now = at("2022-07-05")
    overdue = [o for o in ev.obligations if status_on(o, d("2022-07-05"), 30) == "overdue"]
    assert {o.confidence for o in overdue} == {"advisory"}  # the three-way check of 2022Q2 and its kind
    parts = {c.name: c for c in credit_estimate(ev, now, PACK).components}
    assert parts["overdue_obligations"].deduction == 0 and parts["overdue_obligations"].inputs["count"] == 0
    advisory = parts["overdue_advisory_obligations"]
    assert advisory.deduction == 0 and advisory.inputs["count"] == len(overdue) and advisory.inputs["each"] == 0
    s.add("company.registration_changed", "2022-05-01", {"field": "legal_representative", "old": "person-001",
                                                         "new": "person-002"})
    parts = {c.name: c for c in credit_estimate(s.evaluate(), now, PACK).components}
    assert parts["overdue_obligations"].inputs["count"] == 1 and parts["overdue_obligations"].deduction == 5


def test_no_annual_report_for_a_licence_that_ended_during_the_year():
    """rules.md §6: Order 42 Art. 35 binds operators holding a licence when they report."""
    s = Story()
    s.registered()
    s.licence()
    s.add("licence.cancelled", "2024-06-01", {"licence_no": "B2-20220315", "reason": "申请注销"})
    years = {o.year: o for o in s.evaluate().obligations if o.rule == "annual-report"}
    assert sorted(years) == [2022, 2023]  # the 2023 report's window opened while licensed
    assert "Order 42 Art. 35" in PACK.rule("annual-report").trigger
    assert "lapsed or was cancelled during Y−1 owes none" in PACK.rule("annual-report").trigger


def test_operations_ending_cancel_the_emergency_plan_update_not_yet_due():
    s = Story()
    s.registered()
    s.licence()  # operating from 2022-03-15: the first plan update is due six months later
    cancelled = s.add("licence.cancelled", "2022-08-01", {"licence_no": "B2-20220315", "reason": "申请注销"})
    plans = [o for o in s.evaluate().obligations if o.rule == "emergency-plan"]
    assert len(plans) == 1 and plans[0].due >= d("2022-09-15")
    assert plans[0].cancelled_by == cancelled.event_id
    assert status_on(plans[0], d("2022-07-01"), 30) == "open" and status_on(plans[0], d("2022-10-01"), 30) == "cancelled"

"""Obligation rules of design/rules.md §2, one by one, with the edge cases it names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from ledger_rules import RecordedFact, evaluate, obligation_status, pending_steps
from ledger_rules.history import InvalidPayload
from rules_support import CAL, PACK, Story, at, d, none_of, only


def licensed(**kw) -> Story:
    s = Story()
    s.registered()
    s.licence(**kw)
    return s


def status(ob, when: str) -> str:
    return obligation_status(ob, at(when), PACK)


# -- change filings -----------------------------------------------------------------------------


def test_change_filing_needs_an_active_licence():
    s = Story()
    s.registered()
    s.add("company.registration_changed", "2021-09-01", {"field": "name", "old": "a", "new": "b"})
    assert not [o for o in s.evaluate().obligations if o.rule.startswith("change-filing")]


def test_change_filing_fulfilled_only_by_a_filing_covering_the_field():
    s = licensed()
    s.add("company.registration_changed", "2026-03-02", {"field": "registered_capital", "old": "1", "new": "20000000"})
    s.add("licence.change_filed", "2026-03-10", {"licence_no": "B2-20220315", "fields": ["name"], "filed_on": "2026-03-10"})
    ob = only(s.evaluate().obligations, rule="change-filing")
    assert ob.due == date(2026, 4, 1) and ob.fulfilled_on is None
    s.add("licence.change_filed", "2026-03-20", {"licence_no": "B2-20220315", "fields": ["registered_capital"],
                                                "filed_on": "2026-03-20"})
    ob = only(s.evaluate().obligations, rule="change-filing")
    assert ob.fulfilled_on == date(2026, 3, 20) and status(ob, "2026-05-01") == "fulfilled_on_time"


def test_scope_and_address_changes_are_advisory_and_address_notifies_numbers():
    s = licensed()
    s.add("number.allocated", "2025-01-10", {"number": "010-12345678", "kind": "fixed", "province": "11"})
    s.add("company.registration_changed", "2026-09-25", {"field": "registered_address", "old": "a", "new": "b"})
    ev = s.evaluate()
    scope = only(ev.obligations, rule="change-filing-scope")
    assert scope.confidence == "advisory" and scope.due == date(2026, 10, 26)
    notice = only(ev.obligations, rule="number-contact-change")
    assert notice.about == "01012345678" and notice.due == date(2026, 10, 15)  # 10 working days
    assert notice.confidence == "statutory"


def test_late_recorded_fact_is_born_overdue_and_sends_one_reminder():
    s = licensed()
    s.add("company.registration_changed", "2026-01-05", {"field": "name", "old": "a", "new": "b"}, recorded="2026-03-01")
    ob = only(s.evaluate().obligations, rule="change-filing")
    assert ob.due == date(2026, 2, 4)
    assert ob.born_at.date() == date(2026, 3, 1)
    assert status(ob, "2026-03-01") == "overdue"
    steps = pending_steps(ob, at("2026-03-01"), PACK)
    assert [x.step for x in steps] == ["d+14"]


# -- restructuring ----------------------------------------------------------------------------


def test_restructuring_approval_and_unapproved_completion():
    s = licensed()
    s.add("company.restructuring_decided", "2026-04-01", {"kind": "merger", "ref": "M1"})
    s.add("company.restructuring_completed", "2026-04-20", {"ref": "M1"})
    ev = s.evaluate()
    ob = only(ev.obligations, rule="restructuring-approval")
    assert ob.due == date(2026, 5, 6)  # 2026-05-01 falls in the Labour Day holiday (1–5 May)
    assert "before it takes effect" in ob.due_note
    f = only(ev.findings, rule="restructuring-unapproved")
    assert f.open_at(at("2026-04-21")) and f.severity == "high"
    s.add("company.restructuring_approved", "2026-05-06", {"ref": "M1"})
    ev = s.evaluate()
    f = only(ev.findings, rule="restructuring-unapproved")
    assert f.open_at(at("2026-05-05")) and not f.open_at(at("2026-05-06"))
    assert f.intervals[0].resolved_by == s.facts[-1].event_id
    assert status(only(ev.obligations, rule="restructuring-approval"), "2026-06-01") == "fulfilled_on_time"


# -- renewal ------------------------------------------------------------------------------------


def test_renewal_on_a_sunday_moves_to_the_previous_friday():
    s = licensed(issued="2022-03-14", expires="2027-03-13")
    ob = only(s.evaluate().obligations, rule="renewal")
    assert ob.legal_due == date(2026, 12, 13) and ob.due == date(2026, 12, 11)
    assert "safe deadline" in ob.due_note
    assert status(ob, "2026-12-12") == "overdue"  # past the safe deadline …
    s.add("licence.renewal_applied", "2026-12-13", {"licence_no": "B2-20220315", "applied_on": "2026-12-13"})
    ob = only(s.evaluate().obligations, rule="renewal")
    assert status(ob, "2026-12-20") == "fulfilled_on_time"  # … but the law's last day still counts


def test_renewal_late_application_and_deemed_continuation():
    s = licensed()
    s.add("licence.renewal_applied", "2027-01-20", {"licence_no": "B2-20220315", "applied_on": "2027-01-20"})
    ev = s.evaluate()
    ob = only(ev.obligations, rule="renewal")
    assert status(ob, "2027-02-01") == "fulfilled_late"
    late = only(ev.findings, rule="renewal-late", subject="licence:B2-20220315:expiry:2027-03-14")
    assert late.open_at(at("2026-12-15")) and late.open_at(at("2027-06-01"))
    assert late.intervals[0].opened_at == at("2026-12-15", 0)
    none_of([f for f in ev.findings if f.open_at(at("2027-06-01"))], rule="licence-expired")  # pending: Art. 50
    s.add("licence.renewed", "2027-07-01", {"licence_no": "B2-20220315", "new_expires_on": "2032-03-14"})
    ev = s.evaluate()
    late = only(ev.findings, rule="renewal-late", subject="licence:B2-20220315:expiry:2027-03-14")
    assert late.open_at(at("2027-06-30")) and not late.open_at(at("2027-07-01"))
    new_term = [o for o in ev.obligations if o.rule == "renewal"]
    assert [o.due for o in new_term] == [date(2026, 12, 14), date(2031, 12, 15)]  # 2032 is a leap year
    assert new_term[1].provisional


def test_licence_expired_opens_the_day_after_expiry_and_refusal_reopens_it():
    s = licensed()
    ev = s.evaluate()
    f = only(ev.findings, rule="licence-expired")
    assert f.intervals[0].opened_at == at("2027-03-15", 0) and f.severity == "critical"
    assert not f.open_at(at("2027-03-14", 23)) and f.open_at(at("2027-03-15", 0))
    s.add("licence.renewal_applied", "2026-12-01", {"licence_no": "B2-20220315", "applied_on": "2026-12-01"})
    s.add("licence.renewal_refused", "2027-05-10", {"licence_no": "B2-20220315", "reason": "x"})
    f = only(s.evaluate().findings, rule="licence-expired")
    assert f.intervals[0].opened_at == at("2027-05-10", 0)


# -- annual reports -------------------------------------------------------------------------------


def test_annual_report_fulfilment_matches_the_year_reported_on_only():
    s = licensed()
    s.add("licence.annual_report_submitted", "2025-03-10",
          {"licence_no": "B2-20220315", "year": 2024, "submitted_on": "2025-03-10"})
    ev = s.evaluate()
    by_year = {o.year: o for o in ev.obligations if o.rule == "annual-report"}
    assert sorted(by_year) == [2022, 2023, 2024, 2025, 2026]
    assert by_year[2024].fulfilled_on == date(2025, 3, 10)
    assert all(by_year[y].fulfilled_on is None for y in (2022, 2023, 2025, 2026))


def test_annual_report_make_up_month_then_bad_list():
    s = licensed()
    ev = s.evaluate()
    r23 = only(ev.obligations, rule="annual-report", year=2023)
    assert r23.due == date(2024, 4, 1)  # 31 Mar 2024 is a Sunday
    assert status(r23, "2024-04-15") == "overdue"
    bad = only(ev.findings, rule="bad-list", subject="annual-report:B2-20220315:2023")
    assert not bad.open_at(at("2024-04-30", 23)) and bad.open_at(at("2024-05-01", 0))
    s.add("licence.annual_report_submitted", "2024-06-03", {"licence_no": "B2-20220315", "year": 2023})
    bad = only(s.evaluate().findings, rule="bad-list", subject="annual-report:B2-20220315:2023")
    assert bad.intervals[0].resolved_at == at("2024-06-03", 0)


def test_annual_report_window_override_per_year_and_authority():
    pack = PACK.with_overrides({"rules": {"annual-report": {"windows": {
        "2025/MIIT": {"opens": "2025-01-10", "closes": "2025-03-20"}}}}})
    ob = only(licensed().evaluate(pack).obligations, rule="annual-report", year=2024)
    assert ob.window_opens == date(2025, 1, 10) and ob.due == date(2025, 3, 20)
    assert ob.params["window"]["opens"] == "2025-01-10"


def test_returned_report_reopens_until_correct_by():
    s = licensed()
    s.add("licence.annual_report_submitted", "2025-03-10", {"licence_no": "B2-20220315", "year": 2024})
    s.add("licence.annual_report_returned", "2025-03-25",
          {"licence_no": "B2-20220315", "year": 2024, "reason": "x", "correct_by": "2025-04-15"})
    ob = only(s.evaluate().obligations, rule="annual-report", year=2024)
    assert ob.fulfilled_on is None and ob.due == date(2025, 4, 15)
    s.add("licence.annual_report_submitted", "2025-04-10", {"licence_no": "B2-20220315", "year": 2024})
    ob = only(s.evaluate().obligations, rule="annual-report", year=2024)
    assert status(ob, "2025-05-01") == "fulfilled_on_time"


def test_annual_report_prep_milestones():
    s = licensed()
    ev = s.evaluate()
    prep = only(ev.obligations, rule="annual-report-prep", year=2025)
    assert [m.key for m in prep.milestones] == ["evidence", "audit", "cross-check", "sign-off"]
    # close − 30 = 2026-03-01 (Sunday) -> 2026-02-28, a Saturday that is a make-up working day (调休)
    assert [m.due for m in prep.milestones] == [date(2025, 12, 31), date(2026, 1, 30), date(2026, 2, 28),
                                                 date(2026, 3, 24)]
    assert prep.due == date(2026, 3, 24) and prep.confidence == "advisory"
    for key in ("evidence", "audit", "cross-check", "sign-off"):
        s.add("company.milestone_acknowledged", "2026-03-01", {"obligation_id": prep.id, "milestone": key})
    prep = only(s.evaluate().obligations, rule="annual-report-prep", year=2025)
    assert all(m.acknowledged_on for m in prep.milestones) and prep.fulfilled_on == date(2026, 3, 1)


# -- waivers and cancellations ----------------------------------------------------------------------


def test_waiver_needs_a_reason():
    s = licensed()
    target = only(s.evaluate().obligations, rule="annual-report", year=2022)
    reasonless = RecordedFact("ev-reasonless", "company.obligation_waived", s.company, d("2023-02-01"),
                              at("2023-02-01"), {"obligation_id": target.id, "reason": ""}, 99, s.company)
    with pytest.raises(InvalidPayload, match="first at reason"):  # the projector parks it before: never read as no waiver
        evaluate([*s.facts, reasonless], PACK, CAL)
    assert only(s.evaluate().obligations, rule="annual-report", year=2022).waived_on is None
    s.add("company.obligation_waived", "2023-02-02", {"obligation_id": target.id, "reason": "licence issued in 2022 Q1, "
                                                                                              "authority exempted"})
    ob = only(s.evaluate().obligations, rule="annual-report", year=2022)
    assert ob.waived_by == s.facts[-1].event_id and ob.waived_reason.startswith("licence issued")
    assert status(ob, "2024-01-01") == "waived" and status(ob, "2023-01-15") == "open"
    none_of(s.evaluate().findings, rule="bad-list", subject="annual-report:B2-20220315:2022")


def test_cancelled_or_revoked_licence_cancels_its_obligations():
    for kind in ("licence.cancelled", "licence.revoked"):
        s = licensed()
        s.add(kind, "2025-02-01", {"licence_no": "B2-20220315", "reason": "x"})
        ev = s.evaluate()
        assert status(only(ev.obligations, rule="renewal"), "2026-12-20") == "cancelled"
        r24 = only(ev.obligations, rule="annual-report", year=2024)
        assert r24.cancelled_on == date(2025, 2, 1) and r24.cancelled_by == s.facts[-1].event_id
        none_of(ev.obligations, rule="annual-report", year=2025)
        none_of([f for f in ev.findings if f.open_at(at("2027-06-01"))], rule="licence-expired")


# -- numbers ----------------------------------------------------------------------------------------


def test_number_filing_activation_and_fees():
    s = licensed()
    s.add("number.allocated", "2026-02-03", {"number": "95012", "kind": "95", "province": "31"})
    s.add("number.activated", "2026-02-10", {"number": "95012"})
    s.add("number.fee_paid", "2026-04-08", {"number": "95012", "quarter": "2026Q2"})
    ev = s.evaluate(until=date(2027, 3, 1))
    assert only(ev.obligations, rule="number-filing").due == date(2026, 3, 5)
    assert only(ev.obligations, rule="number-activation-report").due == date(2026, 2, 24)  # 2-20 is a holiday
    fees = {o.quarter: o for o in ev.obligations if o.rule == "number-fee"}
    assert sorted(fees) == ["2026Q2", "2026Q3", "2026Q4", "2027Q1"]
    assert fees["2026Q2"].fulfilled_on == date(2026, 4, 8) and fees["2026Q3"].fulfilled_on is None
    assert fees["2027Q1"].due == date(2027, 1, 11) and fees["2027Q1"].provisional
    report = only(ev.obligations, rule="number-annual-report", year=2026)
    assert report.due == date(2027, 3, 31) and report.about == s.company


def test_released_number_cancels_pending_number_obligations():
    s = licensed()
    s.add("number.allocated", "2026-02-03", {"number": "95012", "kind": "95", "province": "31"})
    s.add("number.released", "2026-02-20", {"number": "95012"})
    ev = s.evaluate()
    assert only(ev.obligations, rule="number-filing").cancelled_on == date(2026, 2, 20)
    none_of(ev.obligations, rule="number-fee")
    none_of(ev.obligations, rule="number-annual-report")


# -- penalties --------------------------------------------------------------------------------------


def penalty(s: Story, **extra):
    data = {"decision_no": "沪通管罚〔2026〕12号", "authority": "上海市通信管理局", "decided_on": "2026-05-06",
            "received_on": "2026-05-08", "legal_basis": "x", "fine": 20000, "orders_rectification": True,
            "description": "x"}
    data.update(extra)
    return s.add("penalty.imposed", "2026-05-06", data)


def test_rectification_without_deadline_raises_a_finding_and_invents_nothing():
    s = licensed()
    penalty(s)
    ev = s.evaluate()
    none_of(ev.obligations, rule="rectification")
    f = only(ev.findings, rule="rectification-deadline-missing")
    assert f.severity == "medium" and f.open_at(at("2026-05-06"))
    s.add("penalty.rectification_submitted", "2026-06-01", {"decision_no": "沪通管罚〔2026〕12号", "report_ref": "r"})
    f = only(s.evaluate().findings, rule="rectification-deadline-missing")
    assert not f.open_at(at("2026-06-01"))


def test_rectification_uses_the_decisions_date_as_is():
    s = licensed()
    penalty(s, rectification_due="2026-06-07")  # a Sunday: the authority's date, not rolled
    ev = s.evaluate()
    ob = only(ev.obligations, rule="rectification")
    assert ob.due == date(2026, 6, 7) and ob.due_note is None
    none_of(ev.findings, rule="rectification-deadline-missing")


def test_fine_payment_and_bad_list_watch():
    s = licensed()
    penalty(s, orders_rectification=False)
    s.add("penalty.paid", "2026-05-20", {"decision_no": "沪通管罚〔2026〕12号", "amount": 5000})
    ev = s.evaluate()
    fine = only(ev.obligations, rule="fine-payment")
    assert fine.due == date(2026, 5, 25)  # received 05-08 + 15 = 05-23, a Saturday
    assert fine.fulfilled_on is None  # partial payment
    watch = only(ev.obligations, rule="bad-list-watch")
    assert watch.informational and watch.due == date(2026, 6, 5) and watch.severity == "info"
    s.add("penalty.paid", "2026-05-22", {"decision_no": "沪通管罚〔2026〕12号", "amount": 15000})
    s.add("penalty.revoked", "2026-07-01", {"decision_no": "沪通管罚〔2026〕12号"})
    ev = s.evaluate()
    assert only(ev.obligations, rule="fine-payment").fulfilled_on == date(2026, 5, 22)
    assert status(only(ev.obligations, rule="bad-list-watch"), "2026-07-02") == "cancelled"


# -- premises, systems, operations ---------------------------------------------------------------------


def test_lease_renewal_chain():
    s = licensed()
    s.add("site.leased", "2025-01-01", {"site_ref": "S1", "province": "31", "area_m2": 200, "lease_start": "2025-01-01",
                                        "lease_end": "2026-12-31", "purpose_text": "呼叫中心", "sublease": False})
    ob = only(s.evaluate().obligations, rule="lease-renewal")
    assert ob.due == date(2026, 12, 31) and ob.window_opens == date(2026, 10, 2)
    assert ob.params["reminders"][0] == 90
    s.add("site.lease_renewed", "2026-11-01", {"site_ref": "S1", "new_lease_end": "2029-12-31"})
    obs = [o for o in s.evaluate().obligations if o.rule == "lease-renewal"]
    assert [(o.due, o.fulfilled_on) for o in obs] == [(date(2026, 12, 31), date(2026, 11, 1)), (date(2029, 12, 31), None)]


def test_mlps_assessment_every_12_months_for_level_3():
    s = licensed()
    s.add("facility.mlps_filed", "2025-03-01", {"system_ref": "CC", "level": 3, "filing_no": "x"})
    s.add("facility.mlps_assessed", "2025-06-30", {"system_ref": "CC", "level": 3, "result": "pass"})
    s.add("facility.mlps_filed", "2025-03-01", {"system_ref": "OA", "level": 2, "filing_no": "y"})
    obs = [o for o in s.evaluate().obligations if o.rule == "mlps-assessment"]
    assert [(o.about, o.due, o.fulfilled_on) for o in obs] == [
        ("CC", date(2026, 3, 2), date(2025, 6, 30)),  # counted from the filing; 03-01 is a Sunday
        ("CC", date(2026, 6, 30), None),
    ]


def test_three_way_check_per_quarter_fulfilled_by_that_quarter_only():
    s = licensed(issued="2026-01-10", expires="2031-01-09")
    s.add("workforce.three_way_check_recorded", "2026-04-02",
          {"quarter": "2026Q1", "actual_seats": 10, "system_registered_seats": 10, "insured_headcount": 10})
    obs = {o.quarter: o for o in s.evaluate(until=date(2026, 12, 31)).obligations if o.rule == "three-way-check"}
    assert sorted(obs) == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert obs["2026Q1"].fulfilled_on == date(2026, 4, 2) and obs["2026Q2"].fulfilled_on is None
    assert status(obs["2026Q1"], "2026-04-10") == "fulfilled_late"


def test_emergency_plan_six_months_after_the_last_update():
    s = licensed(issued="2026-01-10", expires="2031-01-09")
    s.add("facility.emergency_plan_updated", "2026-05-20", {"system_ref": "CC"})
    obs = [o for o in s.evaluate(until=date(2027, 1, 1)).obligations if o.rule == "emergency-plan"]
    assert [(o.due, o.fulfilled_on) for o in obs] == [(date(2026, 7, 10), date(2026, 5, 20)), (date(2026, 11, 20), None)]


def test_vendor_reverification_before_vendor_licence_expiry_and_yearly():
    s = licensed()
    s.add("outsourcing.arranged", "2026-01-05", {"mode": "bpo", "vendor_uscc": "91110105MA00ABCD1G",
                                                 "vendor_name": "v", "vendor_licence_no": "B2-20190042",
                                                 "vendor_licence_category": "B24",
                                                 "vendor_licence_expires_on": "2026-08-01", "provinces_served": ["31"]})
    ob = only(s.evaluate().obligations, rule="vendor-reverification")
    assert ob.due == date(2026, 7, 31)  # 2026-08-01 is a Saturday: the working day before
    s.add("outsourcing.arranged", "2026-01-06", {"mode": "seat_leasing", "vendor_uscc": "91110105MA00ABCD3N",
                                                 "vendor_name": "某某通信", "provinces_served": []})
    assert len([o for o in s.evaluate().obligations if o.rule == "vendor-reverification"]) == 1


def test_licence_decision_is_informational():
    s = Story()
    s.registered()
    s.add("licence.applied", "2026-01-05", {"licence_no": "B2-20260220", "category": "B24", "scope": "nationwide"})
    ob = only(s.evaluate().obligations, rule="licence-decision")
    assert ob.informational and ob.due == date(2026, 3, 6)
    assert pending_steps(ob, at("2026-03-06"), PACK) == []
    s.licence(no="B2-20260220", issued="2026-02-20", expires="2031-02-19")
    assert only(s.evaluate().obligations, rule="licence-decision").fulfilled_on == date(2026, 2, 20)


def test_obligation_ids_are_stable_and_independent_of_ledger_sequence():
    a = licensed()
    b = Story()
    b.facts = [replace(f, ledger_sequence=f.ledger_sequence + 1000) for f in a.facts]
    ids_a = sorted(o.id for o in a.evaluate().obligations)
    ids_b = sorted(o.id for o in b.evaluate().obligations)
    assert ids_a == ids_b and all(i.startswith("ob_") and len(i) == 19 for i in ids_a)

"""Facts that record an authority's later decision, in the form the contracts give them to the rule pack.

penalty.rectification_deadline_recorded answers the rectification-deadline-missing
finding, licence.refused decides an application, licence.reinstated lifts a
suspension. Each payload here passes through ledger_contracts.validate_fact first,
so a rename on either side fails these tests.
"""

from __future__ import annotations

from datetime import date

from ledger_contracts import validate_fact
from ledger_contracts.examples import example_fact
from ledger_rules import obligation_status
from rules_support import PACK, Story, at, none_of, only, start_of

DECISION = "沪通管罚〔2026〕12号"
TODAY = date(2026, 11, 23)


def data(fact_type: str, **changes) -> dict:
    """The stored (canonical) payload of the example of ``fact_type`` with ``changes``."""
    fact = example_fact(fact_type)
    fact["data"].update(changes)
    return validate_fact(fact, today=TODAY).data_json()


def with_undated_penalty() -> Story:
    """A licensed company with a decision that orders correction but gives no deadline."""
    s = Story()
    s.registered()
    s.licence()
    s.add("penalty.imposed", "2026-05-06", data(
        "penalty.imposed", decision_no=DECISION, decided_on="2026-05-06", received_on="2026-05-08", fine=0,
        orders_rectification=True, rectification_due=None))
    return s


def status(ob, when: str) -> str:
    return obligation_status(ob, at(when), PACK)


# -- penalty.rectification_deadline_recorded -----------------------------------------------------


def test_recording_the_deadline_resolves_the_finding_and_creates_the_rectification_obligation():
    s = with_undated_penalty()
    before = s.evaluate()
    none_of(before.obligations, rule="rectification")
    missing = only(before.findings, rule="rectification-deadline-missing")
    assert missing.open_at(at("2026-05-19")) and missing.resolved_at is None

    recorded = s.add("penalty.rectification_deadline_recorded", "2026-05-20",
                     data("penalty.rectification_deadline_recorded", decision_no=DECISION,
                          rectification_due="2026-06-30"))
    after = s.evaluate()

    missing = only(after.findings, rule="rectification-deadline-missing")
    assert missing.id == only(before.findings, rule="rectification-deadline-missing").id  # the same finding
    assert [(i.opened_at, i.resolved_at, i.resolved_by) for i in missing.intervals] == [
        (start_of("2026-05-06"), start_of("2026-05-20"), recorded.event_id)]
    assert missing.open_at(at("2026-05-19")) and not missing.open_at(at("2026-05-20"))

    ob = only(after.obligations, rule="rectification")
    assert (ob.about, ob.about_kind) == (DECISION, "penalty")
    assert ob.due == ob.legal_due == date(2026, 6, 30)  # the authority's date, as recorded
    assert ob.created_by == recorded.event_id and ob.fulfilled_on is None
    assert "Art. 28" in ob.source and ob.confidence == "statutory"
    assert [status(ob, day) for day in ("2026-05-25", "2026-06-30", "2026-07-01")] == ["open", "due_soon", "overdue"]

    submitted = s.add("penalty.rectification_submitted", "2026-06-22",
                      data("penalty.rectification_submitted", decision_no=DECISION))
    ob = only(s.evaluate().obligations, rule="rectification")
    assert (ob.fulfilled_on, ob.fulfilled_by) == (date(2026, 6, 22), submitted.event_id)
    assert status(ob, "2026-07-01") == "fulfilled_on_time"


def test_a_deadline_recorded_after_it_passed_gives_an_obligation_born_overdue():
    s = with_undated_penalty()
    s.add("penalty.rectification_deadline_recorded", "2026-07-10",
          data("penalty.rectification_deadline_recorded", decision_no=DECISION, rectification_due="2026-06-30"))
    ev = s.evaluate()
    ob = only(ev.obligations, rule="rectification")
    assert ob.due == date(2026, 6, 30) and status(ob, "2026-07-10") == "overdue"
    missing = only(ev.findings, rule="rectification-deadline-missing")
    assert missing.intervals[-1].resolved_at == start_of("2026-07-10")


def test_an_extended_deadline_replaces_the_earlier_one():
    s = with_undated_penalty()
    s.add("penalty.rectification_deadline_recorded", "2026-05-20",
          data("penalty.rectification_deadline_recorded", decision_no=DECISION, rectification_due="2026-06-30"))
    extended = s.add("penalty.rectification_deadline_recorded", "2026-06-25",
                     data("penalty.rectification_deadline_recorded", decision_no=DECISION,
                          rectification_due="2026-07-31"))
    ob = only(s.evaluate().obligations, rule="rectification")
    assert ob.due == date(2026, 7, 31) and ob.created_by == extended.event_id


def test_a_deadline_for_another_decision_changes_nothing():
    s = with_undated_penalty()
    s.add("penalty.rectification_deadline_recorded", "2026-05-20",
          data("penalty.rectification_deadline_recorded", rectification_due="2026-06-30"))  # the example's 2025 decision
    ev = s.evaluate()
    none_of(ev.obligations, rule="rectification")
    assert only(ev.findings, rule="rectification-deadline-missing").open_at(at("2026-06-01"))


# -- licence.refused --------------------------------------------------------------------------------


def test_a_refusal_decides_its_own_application_only():
    s = Story()
    s.registered()
    s.add("licence.applied", "2026-01-05", data("licence.applied", licence_no="APP-JS-2026-0001"))
    s.add("licence.applied", "2026-01-06", data("licence.applied", licence_no="APP-JS-2026-0002"))
    before = {o.about: o for o in s.evaluate().obligations if o.rule == "licence-decision"}
    assert sorted(before) == ["APP-JS-2026-0001", "APP-JS-2026-0002"]
    assert before["APP-JS-2026-0001"].due == date(2026, 3, 6) and before["APP-JS-2026-0001"].fulfilled_on is None

    refusal = s.add("licence.refused", "2026-02-10", data("licence.refused", licence_no="APP-JS-2026-0001"))
    ev = s.evaluate()
    decided = {o.about: o for o in ev.obligations if o.rule == "licence-decision"}
    assert (decided["APP-JS-2026-0001"].fulfilled_on, decided["APP-JS-2026-0001"].fulfilled_by) == (
        date(2026, 2, 10), refusal.event_id)
    assert status(decided["APP-JS-2026-0001"], "2026-02-11") == "fulfilled_on_time"
    assert decided["APP-JS-2026-0002"].fulfilled_on is None
    assert decided["APP-JS-2026-0001"].id == before["APP-JS-2026-0001"].id
    # a refusal creates no licence, so no licence obligations follow
    none_of(ev.obligations, rule="renewal")
    none_of(ev.obligations, rule="annual-report")


def test_a_refusal_by_licence_number_decides_the_application_made_with_it():
    s = Story()
    s.registered()
    s.add("licence.applied", "2026-01-05", data("licence.applied", licence_no="B2-20260105"))
    s.add("licence.refused", "2026-03-20", data("licence.refused", licence_no="B2-20260105"))
    ob = only(s.evaluate().obligations, rule="licence-decision")
    assert ob.fulfilled_on == date(2026, 3, 20) and status(ob, "2026-03-21") == "fulfilled_late"


# -- licence.reinstated ------------------------------------------------------------------------------


def test_reinstatement_lifts_the_suspension_for_unlicensed_operation():
    s = Story()
    s.registered()
    s.licence()
    s.add("workforce.seats_declared", "2026-01-10", data("workforce.seats_declared"))
    s.add("licence.suspended", "2026-03-01", data("licence.suspended", licence_no="B2-20220315"))
    suspended = only(s.evaluate().findings, rule="unlicensed-operation")
    assert suspended.open_at(at("2026-03-01")) and suspended.resolved_at is None

    reinstated = s.add("licence.reinstated", "2026-04-15", data("licence.reinstated", licence_no="B2-20220315"))
    f = only(s.evaluate(until=date(2026, 12, 31)).findings, rule="unlicensed-operation")  # before the expiry
    assert [(i.opened_at, i.resolved_at, i.resolved_by) for i in f.intervals] == [
        (start_of("2026-03-01"), start_of("2026-04-15"), reinstated.event_id)]
    assert not f.open_at(at("2026-04-15"))

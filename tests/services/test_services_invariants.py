"""Each aggregate's own invariants, against a real nats-server: refused with their error, nothing appended.

And the other half of the rule: facts that only reveal non-compliance are recorded.
"""

from __future__ import annotations

from typing import Any

import pytest
from ledger_contracts.examples import example_fact, example_sequence
from services_support import assert_problem, send, tenant_events


def fact(fact_type: str, **data: Any) -> dict[str, Any]:
    out = example_fact(fact_type)
    out["data"].update(data)
    return out


ISSUED = fact("licence.issued")  # B2-20220315, 2022-03-15 → 2027-03-14
LICENCE = ISSUED["data"]["licence_no"]
ALLOCATED = fact("number.allocated")  # 400-600-1234
NUMBER = "4006001234"
IMPOSED = fact("penalty.imposed")
LEASED = fact("site.leased")  # lease_end 2027-04-30
ARRANGED = fact("outsourcing.arranged")
DECIDED = fact("company.restructuring_decided")


def story_fact(fact_type: str, **match: Any) -> dict[str, Any]:
    """The first fact of the example story of ``fact_type`` whose data has the ``match`` values."""
    return next(f for f in example_sequence()
                if f["type"] == fact_type and all(f["data"].get(k) == v for k, v in match.items()))


REFUSAL = fact("licence.refused")  # of the application APP-JS-2024-0815
APPLICATION = REFUSAL["data"]["licence_no"]
APPLIED = story_fact("licence.applied", licence_no=APPLICATION)
SUSPENDED = fact("licence.suspended", licence_no=LICENCE)
REINSTATED = fact("licence.reinstated")  # B2-20220315
DEADLINE = fact("penalty.rectification_deadline_recorded")  # 2025-06-30, for a decision of 2025-04-10
UNDATED = story_fact("penalty.imposed", decision_no=DEADLINE["data"]["decision_no"])  # orders correction, no date

# (case id, facts recorded first, the refused fact, code, field)
REFUSED = [
    ("company registered twice", [fact("company.registered")], fact("company.registered", name="另一个名称有限公司"),
     "already_registered", "company"),
    ("licence issued twice", [ISSUED], fact("licence.issued", authority="工业和信息化部"), "already_issued",
     "data.licence_no"),
    ("licence applied after issue", [ISSUED], fact("licence.applied"), "already_issued", "data.licence_no"),
    ("renewal of an unknown licence", [], fact("licence.renewed"), "unknown_licence", "data.licence_no"),
    ("change filed for an unknown licence", [], fact("licence.change_filed"), "unknown_licence", "data.licence_no"),
    ("annual report for an unknown licence", [], fact("licence.annual_report_submitted"), "unknown_licence",
     "data.licence_no"),
    ("second annual report for one year", [ISSUED, fact("licence.annual_report_submitted")],
     fact("licence.annual_report_submitted", submitted_on="2023-03-28"), "annual_report_exists", "data.year"),
    ("annual report after acceptance", [ISSUED, fact("licence.annual_report_submitted"),
                                        fact("licence.annual_report_accepted")],
     fact("licence.annual_report_submitted", submitted_on="2023-05-02"), "annual_report_exists", "data.year"),
    ("renewal to an earlier expiry", [ISSUED], fact("licence.renewed", new_expires_on="2027-03-14"),
     "not_after_current_expiry", "data.new_expires_on"),
    ("renewal refused for an unknown licence", [], fact("licence.renewal_refused"), "unknown_licence",
     "data.licence_no"),
    ("suspension of an unknown licence", [], fact("licence.suspended"), "unknown_licence", "data.licence_no"),
    ("refusal of an application never made", [], REFUSAL, "unknown_application", "data.licence_no"),
    ("refusal of a licence already issued", [fact("licence.applied"), ISSUED], fact("licence.refused", licence_no=LICENCE),
     "already_issued", "data.licence_no"),
    ("application refused twice", [APPLIED, REFUSAL], fact("licence.refused", reason="再次不予许可"), "already_refused",
     "data.licence_no"),
    ("reinstatement of an unknown licence", [], REINSTATED, "unknown_licence", "data.licence_no"),
    ("reinstatement of a licence never suspended", [ISSUED], REINSTATED, "not_suspended", "data.licence_no"),
    ("licence reinstated twice", [ISSUED, SUSPENDED, REINSTATED], REINSTATED, "not_suspended", "data.licence_no"),
    ("reinstatement of a licence applied for but not issued", [fact("licence.applied", licence_no="B2-20241101")],
     fact("licence.reinstated", licence_no="B2-20241101"),
     "unknown_licence", "data.licence_no"),
    ("licence revoked twice", [ISSUED, fact("licence.revoked", licence_no=LICENCE)],
     fact("licence.revoked", licence_no=LICENCE, reason="再次吊销"), "already_revoked", "data.licence_no"),
    ("licence cancelled twice", [ISSUED, fact("licence.cancelled")], fact("licence.cancelled", reason="重复注销"),
     "already_cancelled", "data.licence_no"),
    ("vendor verified without an arrangement", [], fact("outsourcing.vendor_verified"), "unknown_arrangement",
     "data.vendor_uscc"),
    ("outsourcing ended without an arrangement", [], fact("outsourcing.ended"), "unknown_arrangement",
     "data.vendor_uscc"),
    ("outsourcing ended twice", [ARRANGED, fact("outsourcing.ended")], fact("outsourcing.ended"), "already_ended",
     "data.vendor_uscc"),
    ("restructuring approved but never decided", [], fact("company.restructuring_approved"),
     "unknown_restructuring", "data.ref"),
    ("restructuring completed but never decided", [], fact("company.restructuring_completed"),
     "unknown_restructuring", "data.ref"),
    ("restructuring decided twice", [DECIDED], fact("company.restructuring_decided"), "restructuring_exists",
     "data.ref"),
    ("onboarding baseline recorded again on the same day", [fact("company.tracking_started")],
     fact("company.tracking_started", attested_by="auditor"), "tracking_unchanged", "data.tracked_from"),
    ("number filed but never allocated", [], fact("number.filed"), "unknown_number", "data.number"),
    ("number activated but never allocated", [], fact("number.activated"), "unknown_number", "data.number"),
    ("fee paid for an unknown number", [], fact("number.fee_paid"), "unknown_number", "data.number"),
    ("number allocated twice", [ALLOCATED], fact("number.allocated", number="4006001234"), "already_allocated",
     "data.number"),
    ("number filed twice", [ALLOCATED, fact("number.filed")], fact("number.filed"), "already_filed", "data.number"),
    ("fee paid twice for a quarter", [ALLOCATED, fact("number.fee_paid")], fact("number.fee_paid"),
     "fee_already_paid", "data.quarter"),
    ("number filed after release", [ALLOCATED, fact("number.released")], fact("number.filed"), "number_released",
     "data.number"),
    ("number released twice", [ALLOCATED, fact("number.released")], fact("number.released"), "number_released",
     "data.number"),
    ("number annual report twice for a year", [fact("numbering.annual_report_submitted")],
     fact("numbering.annual_report_submitted"), "annual_report_exists", "data.year"),
    ("penalty paid for an unknown decision", [], fact("penalty.paid"), "unknown_decision", "data.decision_no"),
    ("rectification for an unknown decision", [], fact("penalty.rectification_submitted"), "unknown_decision",
     "data.decision_no"),
    ("rectification accepted for an unknown decision", [], fact("penalty.rectification_accepted"),
     "unknown_decision", "data.decision_no"),
    ("rectification deadline for an unknown decision", [], DEADLINE, "unknown_decision", "data.decision_no"),
    ("rectification deadline for a decision ordering no correction",
     [story_fact("penalty.imposed", orders_rectification=False)],
     fact("penalty.rectification_deadline_recorded", decision_no=story_fact(
         "penalty.imposed", orders_rectification=False)["data"]["decision_no"]),
     "no_rectification_ordered", "data.decision_no"),
    ("rectification deadline before the decision", [UNDATED],
     fact("penalty.rectification_deadline_recorded", rectification_due="2025-04-09"), "before_decision",
     "data.rectification_due"),
    ("penalty imposed twice", [IMPOSED], fact("penalty.imposed", fine=20000), "duplicate_decision",
     "data.decision_no"),
    ("penalty revoked twice", [IMPOSED, fact("penalty.revoked", decision_no=IMPOSED["data"]["decision_no"])],
     fact("penalty.revoked", decision_no=IMPOSED["data"]["decision_no"]), "already_revoked", "data.decision_no"),
    ("listing removed while not listed", [], fact("listing.removed"), "not_listed", "data.list"),
    ("listing removed from another list", [fact("listing.listed")], fact("listing.removed", list="dishonest"),
     "not_listed", "data.list"),
    ("listed twice on one list", [fact("listing.listed")], fact("listing.listed", authority="工业和信息化部"),
     "already_listed", "data.list"),
    ("lease renewed to before the current end", [LEASED], fact("site.lease_renewed", new_lease_end="2026-12-31"),
     "not_after_current_end", "data.new_lease_end"),
    ("lease renewed to the current end", [LEASED], fact("site.lease_renewed", new_lease_end="2027-04-30"),
     "not_after_current_end", "data.new_lease_end"),
    ("lease renewed for an unknown site", [], fact("site.lease_renewed"), "unknown_site", "data.site_ref"),
    ("unknown site vacated", [], fact("site.vacated"), "unknown_site", "data.site_ref"),
    ("site leased twice", [LEASED], fact("site.leased"), "already_leased", "data.site_ref"),
    ("lease renewed after vacating", [LEASED, fact("site.vacated")], fact("site.lease_renewed"), "site_vacated",
     "data.site_ref"),
]


@pytest.mark.parametrize(("before", "refused", "code", "field"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_invariant_is_refused_and_nothing_is_appended(services_stack, nc, tenant, before, refused, code, field):
    for index, earlier in enumerate(before):
        reply = await send(nc, tenant, earlier, f"setup-{index}")
        assert reply["ok"] is True, reply
    events_before = await tenant_events(nc, tenant)

    reply = await send(nc, tenant, refused, "the-refused-one")

    assert_problem(reply, 409, "invariant_violated")
    assert reply["errors"][0]["code"] == code
    assert reply["errors"][0]["field"] == field
    assert reply["detail"] == reply["errors"][0]["reason_en"]
    assert await tenant_events(nc, tenant) == events_before


async def test_expiry_not_after_issue_is_refused_naming_the_field(services_stack, nc, tenant):
    for expires_on in ("2022-03-15", "2021-01-01"):
        reply = await send(nc, tenant, fact("licence.issued", expires_on=expires_on))
        assert_problem(reply, 422, "invalid_fact")
        assert [(e["field"], e["code"]) for e in reply["errors"]] == [("data.expires_on", "date_order")]
    assert await tenant_events(nc, tenant) == []


async def test_a_returned_annual_report_may_be_submitted_again(services_stack, nc, tenant):
    for index, f in enumerate([ISSUED, fact("licence.annual_report_submitted"),
                               fact("licence.annual_report_returned"),
                               fact("licence.annual_report_submitted", submitted_on="2023-04-25")]):
        reply = await send(nc, tenant, f, f"c{index}")
        assert reply["ok"] is True, reply
        assert reply["sequence"] == index + 1


async def test_a_suspension_is_lifted_and_a_licence_may_be_suspended_again(services_stack, nc, tenant):
    story = [ISSUED, SUSPENDED, REINSTATED, fact("licence.suspended", licence_no=LICENCE, reason="再次暂停"),
             REINSTATED]
    for index, f in enumerate(story):
        reply = await send(nc, tenant, f, f"s{index}")
        assert reply["ok"] is True, (index, reply)
        assert reply["sequence"] == index + 1
    assert [e["type"] for e in await tenant_events(nc, tenant)] == [f["type"] for f in story]


async def test_recording_the_onboarding_baseline_again_moves_it(services_stack, nc, tenant):
    """rules.md §5: the latest company.tracking_started counts; moving the date (either way) is recorded."""
    story = [fact("company.tracking_started"), fact("company.tracking_started", tracked_from="2026-03-01"),
             fact("company.tracking_started", tracked_from="2025-01-01", note=None)]
    replies = [await send(nc, tenant, f, f"t{index}") for index, f in enumerate(story)]
    assert all(r["ok"] for r in replies), replies
    assert [r["sequence"] for r in replies] == [1, 2, 3]
    events = await tenant_events(nc, tenant)
    assert [e["data"]["tracked_from"] for e in events] == ["2021-06-01", "2026-03-01", "2025-01-01"]


async def test_a_refused_application_may_be_made_again_and_refused_again(services_stack, nc, tenant):
    story = [APPLIED, REFUSAL, APPLIED, fact("licence.refused", reason="仍不符合条件")]
    replies = [await send(nc, tenant, f, f"a{index}") for index, f in enumerate(story)]
    assert all(r["ok"] for r in replies), replies
    assert {r["aggregate_id"] for r in replies} == {APPLICATION}
    assert [r["sequence"] for r in replies] == [1, 2, 3, 4]


async def test_a_rectification_deadline_is_recorded_and_may_be_extended(services_stack, nc, tenant):
    story = [UNDATED, fact("penalty.rectification_deadline_recorded", rectification_due="2025-04-10"),  # same day
             DEADLINE, fact("penalty.rectification_deadline_recorded", rectification_due="2025-07-31")]
    replies = [await send(nc, tenant, f, f"d{index}") for index, f in enumerate(story)]
    assert all(r["ok"] for r in replies), replies
    events = await tenant_events(nc, tenant)
    assert [e["data"].get("rectification_due") for e in events] == [None, "2025-04-10", "2025-06-30", "2025-07-31"]
    # the deadline of a decision that has one already (the first example penalty) may be recorded too
    assert (await send(nc, tenant, IMPOSED, "p0"))["ok"]
    assert (await send(nc, tenant, fact("penalty.rectification_deadline_recorded",
                                        decision_no=IMPOSED["data"]["decision_no"]), "p1"))["ok"]


async def test_a_released_number_may_be_allocated_again_and_filed_anew(services_stack, nc, tenant):
    story = [ALLOCATED, fact("number.filed"), fact("number.fee_paid"), fact("number.released"), ALLOCATED,
             fact("number.filed"), fact("number.fee_paid")]
    for index, f in enumerate(story):
        reply = await send(nc, tenant, f, f"n{index}")
        assert reply["ok"] is True, (index, reply)
    assert [e["type"] for e in await tenant_events(nc, tenant)] == [f["type"] for f in story]


async def test_a_renewal_extends_the_expiry_the_next_renewal_is_judged_against(services_stack, nc, tenant):
    assert (await send(nc, tenant, ISSUED, "i"))["ok"]
    assert (await send(nc, tenant, fact("licence.renewed", new_expires_on="2032-03-14"), "r1"))["ok"]
    reply = await send(nc, tenant, fact("licence.renewed", new_expires_on="2030-01-01"), "r2")
    assert_problem(reply, 409, "invariant_violated")
    assert "2032-03-14" in reply["errors"][0]["reason_en"]


# Facts that only reveal non-compliance: recorded, for the projector to judge.
RECORDED = [
    ("a number without any licence", [], fact("number.allocated")),
    ("a lease whose purpose omits 呼叫中心", [], fact("site.leased", purpose_text="办公")),
    ("a sublease without the owner's consent", [], fact("site.leased", sublease=True, owner_consent=False)),
    ("a restructuring completed without approval", [DECIDED], fact("company.restructuring_completed")),
    ("seat leasing from a vendor without a licence", [],
     fact("outsourcing.arranged", mode="seat_leasing", vendor_licence_no=None, vendor_licence_category=None,
          vendor_licence_expires_on=None)),
    ("a failed vendor verification", [ARRANGED], fact("outsourcing.vendor_verified", status_valid=False)),
    ("an MLPS assessment of an unfiled system", [], fact("facility.mlps_assessed")),
    ("seats far beyond the insured headcount", [], fact("workforce.seats_declared", declared_seats=900)),
    ("a fine paid in part, twice", [IMPOSED, fact("penalty.paid", amount="3000")], fact("penalty.paid", amount="2000")),
    ("marketing calls outside hours", [], fact("traffic.period_reported", calls_outside_hours=500)),
    ("a number filed after it was activated", [ALLOCATED, fact("number.activated")], fact("number.filed")),
    ("an annual report of a revoked licence", [ISSUED, fact("licence.revoked", licence_no=LICENCE)],
     fact("licence.annual_report_submitted")),
]


@pytest.mark.parametrize(("before", "recorded"), [c[1:] for c in RECORDED], ids=[c[0] for c in RECORDED])
async def test_non_compliance_is_recorded_not_refused(services_stack, nc, tenant, before, recorded):
    for index, earlier in enumerate(before):
        assert (await send(nc, tenant, earlier, f"setup-{index}"))["ok"] is True
    reply = await send(nc, tenant, recorded, "the-fact")
    assert reply["ok"] is True, reply
    events = await tenant_events(nc, tenant)
    assert events[-1]["id"] == reply["event_id"] and events[-1]["type"] == recorded["type"]


def test_every_refusal_code_is_documented_in_the_protocol():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "internal-protocol.md").read_text(encoding="utf-8")
    for case_id, _, _, code, field in REFUSED:
        assert f"`{code}`" in doc, f"{code} ({case_id}) is not in docs/internal-protocol.md"
        assert f"`{field}`" in doc

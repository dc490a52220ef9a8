"""Properties: evaluate() never raises on plausible (or sloppy) facts, and is deterministic; a payload its
contract model refuses, of a type whose folds receive the model, is refused at the rules' edge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_contracts.catalogue import CATALOGUE
from ledger_rules import (
    Calendar,
    RecordedFact,
    RulePack,
    as_json,
    credit_estimate,
    evaluate,
    obligation_status,
    pending_steps,
    reminder_schedule,
)
from ledger_rules.evaluation import evaluate_history
from ledger_rules.history import SUPPORTED_FACT_TYPES, History, InvalidPayload

PACK = RulePack.default()
CAL = Calendar.official()
USCC = "91440300MA5G7C1P90"

days = st.one_of(
    st.dates(date(2018, 1, 1), date(2030, 12, 31)),
    st.dates(date(1900, 1, 1), date(2200, 12, 31)),
)
iso = days.map(date.isoformat)
lease_days = st.dates(date(2018, 1, 1), date(2090, 12, 31))  # after the leases' start, within the contract's years
LICENCES = [("B2-20230001", "nationwide", []), ("粤B2-20230002", "provincial", ["44"]),
            ("B2-20230003", "provincial", ["31"])]  # (number, scope, provinces): each consistent
licence_no = st.sampled_from([no for no, _, _ in LICENCES])
number = st.sampled_from(["95012", "4006001234", "02088886666"])
decision = st.sampled_from(["罚〔2025〕1号", "罚〔2026〕2号"])
vendor = st.sampled_from(["91110105MA00ABCD1G", "91110105MA00ABCD3N"])
site = st.sampled_from(["S1", "S2"])
small = st.integers(0, 600)

def _traffic(counts: list[int], consent: bool, days: int, revenue: int | None, settlement: int | None) -> dict:
    """A month's traffic report whose parts fit their totals (calls ≥ outbound ≥ marketing ≥ rest-day marketing)."""
    total, outbound, marketing, rest_days, outside = counts
    return {"month": "2026-01", "calls_total": total, "outbound_calls": outbound, "outbound_marketing_calls": marketing,
            "marketing_calls_on_rest_days": rest_days, "calls_outside_hours": outside, "complaints": outside,
            "recordings_retained_days": days, "consent_records": consent, "revenue_95": revenue,
            "carrier_settlement_95": settlement}


PAYLOADS = {
    "company.registered": st.fixed_dictionaries({"name": st.just("某公司"), "province": st.sampled_from(["31", "44"]),
                                                 "registered_capital": st.integers(0, 10**9),
                                                 "industry": st.sampled_from(["education", "other"])}),
    "company.registration_changed": st.one_of(
        st.integers(0, 10**8).map(lambda n: {"field": "registered_capital", "old": "1", "new": str(n + 2)}),
        st.sampled_from(["name", "registered_address", "business_scope"]).map(
            lambda f: {"field": f, "old": "甲", "new": "乙"}),
        st.sampled_from(["legal_representative", "contact"]).map(lambda f: {"field": f, "old": "P-1", "new": "P-2"})),
    "company.restructuring_decided": st.fixed_dictionaries({"kind": st.sampled_from(["merger", "split"]),
                                                           "ref": st.sampled_from(["R1", "R2"])}),
    "company.restructuring_approved": st.fixed_dictionaries({"ref": st.sampled_from(["R1", "R2"])}),
    "company.restructuring_completed": st.fixed_dictionaries({"ref": st.sampled_from(["R1", "R2"])}),
    "company.capabilities_declared": st.fixed_dictionaries(
        {"ai_outbound": st.booleans(), "cross_border": st.booleans()},
        optional={"algorithm_filing_no": st.just("网信算备310115000000001"), "data_export_filing_no": st.just("D1")}),
    "company.obligation_waived": st.fixed_dictionaries({
        "obligation_id": st.sampled_from(["ob_0000000000000000", "ob_2e6e68c5109c0266"]),
        "reason": st.sampled_from(["不适用", "licence issued in Q1"])}),
    "licence.applied": st.sampled_from(LICENCES).map(
        lambda t: {"licence_no": t[0], "category": "B24", "scope": t[1], "provinces": t[2], "authority": "MIIT"}),
    "licence.issued": st.tuples(st.sampled_from(LICENCES), st.sampled_from(["B24", "B21", "B25"]), lease_days,
                                st.integers(1, 3000)).map(
        lambda t: {"licence_no": t[0][0], "scope": t[0][1], "provinces": t[0][2], "category": t[1],
                   "issued_on": f"{t[2]}", "expires_on": f"{t[2] + timedelta(days=t[3])}", "authority": "MIIT"}),
    "licence.change_filed": st.fixed_dictionaries({"licence_no": licence_no, "fields": st.lists(
        st.sampled_from(["name", "business_scope"]), min_size=1, max_size=2, unique=True),
        "filed_on": lease_days.map(date.isoformat)}),
    "licence.renewal_applied": st.fixed_dictionaries({"licence_no": licence_no,
                                                     "applied_on": lease_days.map(date.isoformat)}),
    "licence.renewed": st.fixed_dictionaries({"licence_no": licence_no, "new_expires_on": lease_days.map(date.isoformat)}),
    "licence.renewal_refused": st.fixed_dictionaries({"licence_no": licence_no, "reason": st.just("材料不全")}),
    "licence.annual_report_submitted": st.tuples(licence_no, lease_days, st.integers(1, 3)).map(
        lambda t: {"licence_no": t[0], "year": t[1].year - t[2], "submitted_on": f"{t[1]}"}),  # a year already over
    "licence.annual_report_returned": st.fixed_dictionaries({"licence_no": licence_no, "year": st.integers(2015, 2035),
                                                            "reason": st.just("材料不全"),
                                                            "correct_by": lease_days.map(date.isoformat)}),
    "licence.cancelled": st.fixed_dictionaries({"licence_no": licence_no, "reason": st.just("主动注销")}),
    "licence.suspended": st.fixed_dictionaries({"licence_no": licence_no, "reason": st.just("整改")}),
    "outsourcing.arranged": st.fixed_dictionaries({
        "mode": st.sampled_from(["bpo", "seat_leasing"]), "vendor_uscc": vendor, "vendor_name": st.just("某某通信"),
        "vendor_licence_category": st.one_of(st.none(), st.sampled_from(["B24", "B21"])),
        "vendor_licence_expires_on": st.one_of(st.none(), lease_days.map(date.isoformat)),
        "provinces_served": st.lists(st.sampled_from(["11", "44"]), unique=True)}),
    "outsourcing.vendor_verified": st.fixed_dictionaries({
        "vendor_uscc": vendor, "verified_on": lease_days.map(date.isoformat), "name_matches": st.booleans(),
        "uscc_matches": st.booleans(), "category_ok": st.booleans(), "status_valid": st.booleans(),
        "coverage_ok": st.booleans()}),
    "outsourcing.ended": st.fixed_dictionaries({"vendor_uscc": vendor}),
    # payloads of the fact types whose folds receive their contract model are contract-valid (the edge
    # parks the others: test_an_invalid_payload_is_refused_at_the_edge_of_the_rules); the rest may be sloppy
    "number.allocated": st.tuples(st.sampled_from([("95012", "95"), ("4006001234", "400"), ("02088886666", "fixed")]),
                                  st.sampled_from(["11", "44"])).map(
        lambda t: {"number": t[0][0], "kind": t[0][1], "province": t[1], "provider": "中国电信"}),
    "number.activated": st.fixed_dictionaries({"number": number}),
    "number.released": st.fixed_dictionaries({"number": number}),
    "number.fee_paid": st.fixed_dictionaries({"number": number, "quarter": st.sampled_from(["2025Q4", "2026Q1"])}),
    "numbering.annual_report_submitted": st.fixed_dictionaries({"year": st.integers(2015, 2035)}),
    "traffic.period_reported": st.tuples(st.lists(small, min_size=5, max_size=5), st.booleans(), small,
                                         st.one_of(st.none(), small), st.one_of(st.none(), small)).map(
        lambda t: _traffic(sorted(t[0], reverse=True), t[1], t[2], t[3], t[4])),
    "traffic.spot_check_recorded": st.tuples(st.integers(1, 600), small).map(
        lambda t: {"sampled": t[0], "passed": min(t[1], t[0])}),
    "workforce.seats_declared": st.fixed_dictionaries({"declared_seats": small, "system_registered_seats": small,
                                                      "overseas_seats": small}),
    "workforce.social_insurance_reported": st.fixed_dictionaries({
        "month": st.sampled_from(["2025-11", "2025-12", "2026-01"]), "insured_headcount": small,
        "min_contribution_base": st.integers(1, 600), "local_average_wage": st.integers(1, 600)}),
    "workforce.three_way_check_recorded": st.fixed_dictionaries({
        "quarter": st.sampled_from(["2025Q4", "2026Q1"]), "actual_seats": small, "system_registered_seats": small,
        "insured_headcount": small}),
    "site.leased": st.fixed_dictionaries({
        "site_ref": site, "province": st.sampled_from(["31", "44"]), "address": st.just("上海市浦东新区张江路1号"),
        "area_m2": st.integers(1, 600), "lease_start": st.just("2017-12-31"), "lease_end": lease_days.map(date.isoformat),
        "purpose_text": st.sampled_from(["办公", "呼叫中心办公"]), "sublease": st.booleans(),
        "owner_consent": st.booleans(), "workstations": small}),
    "site.lease_renewed": st.fixed_dictionaries({"site_ref": site, "new_lease_end": lease_days.map(date.isoformat)}),
    "site.vacated": st.fixed_dictionaries({"site_ref": site}),
    "facility.mlps_filed": st.fixed_dictionaries({"system_ref": st.just("CC"), "level": st.integers(1, 4),
                                                 "filing_no": st.just("31010043004-24001")}),
    "facility.mlps_assessed": st.fixed_dictionaries({"system_ref": st.just("CC"), "level": st.integers(1, 4),
                                                    "result": st.just("符合")}),
    "facility.emergency_plan_updated": st.fixed_dictionaries({"system_ref": st.just("CC")}),
    "penalty.imposed": st.tuples(decision, lease_days, st.integers(0, 30), small, st.booleans(),
                                 st.one_of(st.none(), st.integers(0, 90))).map(
        lambda t: {"decision_no": t[0], "authority": "上海市通信管理局", "legal_basis": "电信条例第六十九条",
                   "decided_on": f"{t[1]}", "received_on": f"{t[1] + timedelta(days=t[2])}", "fine": t[3],
                   "orders_rectification": t[4],
                   "rectification_due": f"{t[1] + timedelta(days=t[5])}" if t[4] and t[5] is not None else None}),
    "penalty.paid": st.fixed_dictionaries({"decision_no": decision, "amount": small}),
    "penalty.rectification_submitted": st.fixed_dictionaries({"decision_no": decision, "report_ref": st.just("R-1")}),
    "penalty.revoked": st.fixed_dictionaries({"decision_no": decision}),
    "listing.listed": st.fixed_dictionaries({"list": st.sampled_from(["bad", "dishonest"]),
                                            "authority": st.just("上海市通信管理局"), "reason": st.just("年报未报")}),
    "listing.removed": st.fixed_dictionaries({"list": st.sampled_from(["bad", "dishonest"])}),
    "unknown.fact": st.fixed_dictionaries({}),
}

fact_inputs = st.lists(
    st.tuples(st.sampled_from(sorted(PAYLOADS)), days, st.integers(0, 400)).flatmap(
        lambda t: PAYLOADS[t[0]].map(lambda data: (t[0], t[1], t[2], data))),
    max_size=25,
)


def build(inputs) -> list[RecordedFact]:
    out = []
    for i, (type_, eff, lag, data) in enumerate(inputs, start=1):
        recorded = datetime(eff.year, eff.month, eff.day, tzinfo=UTC) + timedelta(days=lag, hours=3)
        out.append(RecordedFact(f"e{i}", type_, USCC, eff, recorded, data, i, "agg"))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact_inputs, days)
def test_evaluate_never_raises_and_is_deterministic(inputs, when):
    facts = build(inputs)
    first = evaluate(facts, PACK, CAL)
    second = evaluate(list(facts), PACK, CAL)
    assert first == second
    assert [o.id for o in first.obligations] == [o.id for o in second.obligations]
    shifted = evaluate([replace(f, ledger_sequence=f.ledger_sequence + 10_000) for f in facts], PACK, CAL)
    assert [o.id for o in shifted.obligations] == [o.id for o in first.obligations]
    assert [f.id for f in shifted.findings] == [f.id for f in first.findings]
    instant = datetime(when.year, when.month, when.day, 12, tzinfo=UTC)
    for ob in first.obligations:
        obligation_status(ob, instant, PACK)
        reminder_schedule(ob, PACK)
        pending_steps(ob, instant, PACK)
        assert ob.id.startswith("ob_") and ob.due is not None
    for f in first.findings:
        f.open_at(instant)
        for i in f.intervals:
            assert i.resolved_at is None or i.resolved_at > i.opened_at
    credit_estimate(first, instant, PACK)
    first.summary(instant)
    as_json(first)


INVALID = {  # one payload per typed fact type that its contract model refuses, and the field it names
    "number.allocated": ({"number": "95012", "kind": "95", "province": "99", "provider": "中国电信"}, "province"),
    "number.fee_paid": ({"number": "95012", "quarter": "garbage"}, "quarter"),
    "numbering.annual_report_submitted": ({"year": None}, "year"),
    "facility.mlps_filed": ({"system_ref": "CC", "level": 9, "filing_no": "x"}, "level"),
    "facility.mlps_assessed": ({"system_ref": "CC", "level": 3}, "result"),
    "listing.listed": ({"list": "garbage", "authority": "x", "reason": "y"}, "list"),
    "listing.removed": ({"list": -1}, "list"),
    "company.obligation_waived": ({"obligation_id": "ob_2e6e68c5109c0266", "reason": ""}, "reason"),
    "company.registered": ({"name": "某公司", "province": "31", "registered_capital": "garbage", "industry": "other"},
                           "registered_capital"),
    "company.registration_changed": ({"field": "registered_capital", "old": "1", "new": -1}, "new"),
    "site.leased": ({"site_ref": "S1", "province": "31", "address": "x", "area_m2": 0, "lease_start": "2025-01-01",
                     "lease_end": "2026-01-01", "purpose_text": "办公", "sublease": False, "owner_consent": False,
                     "workstations": 1}, "area_m2"),
    "site.lease_renewed": ({"site_ref": "S1", "new_lease_end": "garbage"}, "new_lease_end"),
    "outsourcing.arranged": ({"mode": "bpo", "vendor_uscc": "V1", "vendor_name": "x"}, "vendor_uscc"),
    "penalty.imposed": ({"decision_no": "罚〔2025〕1号", "authority": "x", "legal_basis": "y", "decided_on": "2025-01-02",
                         "received_on": "2025-01-03", "fine": -1, "orders_rectification": False}, "fine"),
    "penalty.paid": ({"decision_no": "罚〔2025〕1号", "amount": None}, "amount"),
    "traffic.period_reported": ({"month": "2026-13", "calls_total": 1, "outbound_calls": 1, "outbound_marketing_calls": 0,
                                 "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0, "complaints": 0,
                                 "recordings_retained_days": 30, "consent_records": True}, "month"),
    "traffic.spot_check_recorded": ({"sampled": 0, "passed": 0}, "sampled"),
    "licence.issued": ({"licence_no": "B2-1", "category": "B24", "scope": "nationwide", "issued_on": "2024-01-01",
                        "expires_on": "2029-01-01", "authority": "MIIT"}, "licence_no"),
    "licence.annual_report_submitted": ({"licence_no": "B2-20230001", "year": None, "submitted_on": "2024-03-01"},
                                        "year"),
    "outsourcing.vendor_verified": ({"vendor_uscc": "91110105MA00ABCD1G", "verified_on": "2026-01-01",
                                     "name_matches": None, "uscc_matches": True, "category_ok": True,
                                     "status_valid": True, "coverage_ok": True}, "name_matches"),
    "company.capabilities_declared": ({"ai_outbound": None, "cross_border": False}, "ai_outbound"),
    "company.restructuring_decided": ({"kind": "takeover", "ref": "R1"}, "kind"),
    "workforce.seats_declared": ({"declared_seats": -1, "system_registered_seats": 0, "overseas_seats": 0},
                                 "declared_seats"),
    "workforce.social_insurance_reported": ({"month": "2026-01", "insured_headcount": 3, "min_contribution_base": "x",
                                             "local_average_wage": 5000}, "min_contribution_base"),
    "workforce.three_way_check_recorded": ({"actual_seats": 1, "system_registered_seats": 1, "insured_headcount": 1},
                                           "quarter"),
}


def test_every_family_the_rules_fold_has_a_refused_example():
    assert set(INVALID) <= set(SUPPORTED_FACT_TYPES) <= set(CATALOGUE)
    assert {t.split(".")[0] for t in INVALID} == {t.split(".")[0] for t in SUPPORTED_FACT_TYPES}


@given(st.sampled_from(sorted(INVALID)), fact_inputs)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_an_invalid_payload_is_refused_at_the_edge_of_the_rules(type_, inputs):
    """No field is read as absent: the whole company's evaluation fails naming the fact and the field
    (the projector parks such facts before they reach the rules), and a kept history is left as it was."""
    facts = build(inputs)
    data, field = INVALID[type_]
    bad = RecordedFact("bad-1", type_, USCC, date(2026, 1, 5), datetime(2026, 1, 5, 3, tzinfo=UTC), data, 10_000, "agg")
    with pytest.raises(InvalidPayload) as refused:
        evaluate([*facts, bad], PACK, CAL)
    assert f"{type_} bad-1" in str(refused.value) and f"first at {field}" in str(refused.value)
    kept = History.from_facts(facts, PACK.licence["validity_years"])
    before = evaluate_history(kept, PACK, CAL)
    with pytest.raises(InvalidPayload):
        kept.extend([bad])
    assert evaluate_history(kept, PACK, CAL) == before

"""Finding rules of design/rules.md §3 (and §0): raised, resolved, and when."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from ledger_contracts.catalogue import CATALOGUE
from rules_support import PACK, Story, at, none_of, only, start_of

VENDOR = {"vendor_uscc": "91110105MA00ABCD1G", "vendor_name": "某某通信", "vendor_licence_no": "B2-20190042",
          "vendor_licence_category": "B24", "vendor_licence_expires_on": "2029-05-01", "provinces_served": ["11"]}


def open_rules(ev, when: str) -> set[str]:
    return {f.rule for f in ev.findings if f.open_at(at(when))}


def test_no_foreign_ownership_rule_exists():
    assert not [r for r in PACK.rules if "foreign" in r]


def test_seat_leasing_is_unlicensed_but_bpo_is_not():
    s = Story()
    s.registered(capital=2_000_000, industry="education")
    s.add("outsourcing.arranged", "2026-02-01", {"mode": "bpo", **VENDOR})
    assert "unlicensed-operation" not in open_rules(s.evaluate(), "2026-03-01")
    s.add("outsourcing.arranged", "2026-02-05", {"mode": "seat_leasing", **VENDOR, "vendor_uscc": "91110105MA00ABCD2K"})
    f = only(s.evaluate().findings, rule="unlicensed-operation")
    assert f.severity == "critical" and f.intervals[0].opened_at == start_of("2026-02-05")
    assert "Art. 69" in f.source and f.evidence["events"] == [s.facts[-1].event_id]


def test_unlicensed_operation_resolves_with_a_licence_and_returns_at_expiry():
    s = Story()
    s.registered()
    s.add("workforce.seats_declared", "2026-01-10", {"declared_seats": 50, "system_registered_seats": 50,
                                                      "overseas_seats": 0})
    s.licence(issued="2026-03-01", expires="2026-12-31")
    f = only(s.evaluate().findings, rule="unlicensed-operation")
    assert [(i.opened_at, i.resolved_at, i.resolved_by) for i in f.intervals] == [
        (start_of("2026-01-10"), start_of("2026-03-01"), s.facts[-1].event_id),
        (start_of("2027-01-01"), None, None),  # time-driven: the licence lapses with no event
    ]


def test_number_without_licence_and_its_resolution():
    s = Story()
    s.registered()
    s.add("number.allocated", "2026-02-03", {"number": "4006001234", "kind": "400", "province": "11"})
    f = only(s.evaluate().findings, rule="number-without-licence")
    assert f.subject == "number:4006001234" and f.severity == "high" and f.open_at(at("2026-02-03"))
    s.licence(issued="2026-04-01", expires="2031-03-31")
    f = only(s.evaluate().findings, rule="number-without-licence")
    assert not f.open_at(at("2026-04-01"))
    # an activated number while unlicensed also means unlicensed operation
    s2 = Story()
    s2.add("number.allocated", "2026-02-03", {"number": "4006001234", "kind": "400", "province": "11"})
    s2.add("number.activated", "2026-02-04", {"number": "4006001234"})
    assert "unlicensed-operation" in open_rules(s2.evaluate(), "2026-02-05")


def test_coverage_mismatch_for_provincial_licence_only():
    s = Story()
    s.registered(capital=3_000_000, province="44")
    s.licence(no="粤B2-20230510", scope="provincial", provinces=["44"], issued="2023-05-10", expires="2028-05-09")
    s.add("number.allocated", "2026-01-05", {"number": "02088886666", "kind": "fixed", "province": "44"})
    s.add("site.leased", "2026-01-06", {"site_ref": "SH-1", "province": "31", "area_m2": 120, "lease_end": "2029-01-01",
                                        "purpose_text": "呼叫中心办公"})
    ev = s.evaluate()
    f = only(ev.findings, rule="coverage-mismatch")
    assert f.subject == "site:SH-1" and f.evidence["province"] == "31" and f.severity == "high"
    s.add("site.vacated", "2026-06-01", {"site_ref": "SH-1"})
    assert not only(s.evaluate().findings, rule="coverage-mismatch").open_at(at("2026-06-01"))


def test_capital_below_threshold_follows_capital_changes():
    s = Story()
    s.registered(capital=5_000_000)
    s.licence()  # nationwide needs 10,000,000
    f = only(s.evaluate().findings, rule="capital-below-threshold")
    assert f.open_at(at("2022-03-15")) and f.params["nationwide"] == 10_000_000
    s.add("company.registration_changed", "2023-01-10", {"field": "registered_capital", "old": "5000000", "new": "12000000"})
    ev = s.evaluate()
    f = only(ev.findings, rule="capital-below-threshold")
    assert f.intervals[0].resolved_at == start_of("2023-01-10")
    assert only(ev.obligations, rule="change-filing").about == "B2-20220315"


def test_bad_list_listing_recorded_and_removed():
    s = Story()
    s.registered()
    s.add("listing.listed", "2026-02-01", {"list": "bad", "authority": "MIIT", "reason": "未年报"})
    s.add("listing.removed", "2026-08-01", {"list": "bad"})
    f = only(s.evaluate().findings, rule="bad-list")
    assert f.subject == "listing:bad" and f.open_at(at("2026-03-01")) and not f.open_at(at("2026-08-01"))


def test_penalties_unrectified_when_the_annual_report_window_opens():
    s = Story()
    s.registered()
    s.licence()
    s.add("penalty.imposed", "2024-06-01", {"decision_no": "P1", "decided_on": "2024-06-01", "fine": 0,
                                            "orders_rectification": True, "rectification_due": "2024-12-31"})
    ev = s.evaluate()
    f = only(ev.findings, rule="penalties-unrectified")
    assert f.intervals[0].opened_at == start_of("2025-01-01") and f.confidence == "advisory"
    s.add("penalty.rectification_submitted", "2025-02-10", {"decision_no": "P1", "report_ref": "r"})
    f = only(s.evaluate().findings, rule="penalties-unrectified")
    assert f.intervals[0].resolved_at == start_of("2025-02-10")


def test_penalties_unrectified_only_for_a_decision_that_ordered_rectification():
    """rules.md §6: a penalty that ordered no correction has no rectification report to wait for."""
    s = Story()
    s.registered()
    s.licence()
    s.add("penalty.imposed", "2024-06-01", {"decision_no": "P1", "decided_on": "2024-06-01", "fine": 1000,
                                            "orders_rectification": False})
    s.add("penalty.imposed", "2024-07-01", {"decision_no": "P2", "decided_on": "2024-07-01", "fine": 0,
                                            "orders_rectification": True, "rectification_due": "2024-09-30"})
    found = [f for f in s.evaluate().findings if f.rule == "penalties-unrectified"]
    assert [f.subject for f in found] == ["penalty:P2"]
    assert found[0].intervals[0].opened_at == start_of("2025-01-01")


def test_three_way_mismatch_is_judged_on_the_check_and_seat_inflation_on_declared_seats():
    """rules.md §6: one finding per piece of evidence. Declared seats far above insured headcount is
    seat-inflation (evidence: the declaration and the insurance report), never a three-way mismatch without a
    recorded check; a recorded check that disagrees is three-way-mismatch, with only the check as evidence."""
    s = Story()
    s.registered()
    s.licence()
    seats = s.add("workforce.seats_declared", "2025-01-01", {"declared_seats": 500, "system_registered_seats": 480})
    insured = s.add("workforce.social_insurance_reported", "2025-01-31", {"month": "2025-01",
                                                                          "insured_headcount": 180})
    ev = s.evaluate()
    assert open_rules(ev, "2025-02-01") >= {"seat-inflation"}
    assert "three-way-mismatch" not in open_rules(ev, "2025-02-01")
    assert only(ev.findings, rule="seat-inflation").evidence["events"] == [seats.event_id, insured.event_id]
    check = s.add("workforce.three_way_check_recorded", "2025-03-31", {
        "quarter": "2025Q1", "actual_seats": 200, "system_registered_seats": 480, "insured_headcount": 180})
    ev = s.evaluate()
    mismatch = only(ev.findings, rule="three-way-mismatch")
    assert mismatch.evidence["events"] == [check.event_id] and mismatch.evidence["quarter"] == "2025Q1"
    # the catalogue says the same: the declaration and the insurance report are not a three-way check's input
    assert "three-way-mismatch" not in CATALOGUE["workforce.seats_declared"].rules
    assert "three-way-mismatch" not in CATALOGUE["workforce.social_insurance_reported"].rules
    assert "three-way-mismatch" in CATALOGUE["workforce.three_way_check_recorded"].rules


def test_workforce_findings():
    s = Story()
    s.registered()
    s.licence()
    s.add("workforce.seats_declared", "2025-01-01", {"declared_seats": 500, "system_registered_seats": 480,
                                                      "overseas_seats": 20})
    s.add("workforce.social_insurance_reported", "2025-01-31", {"month": "2025-01", "insured_headcount": 180,
                                                                 "min_contribution_base": 3000,
                                                                 "local_average_wage": 10000})
    s.add("workforce.three_way_check_recorded", "2025-03-31", {"quarter": "2025Q1", "actual_seats": 200,
                                                                "system_registered_seats": 480,
                                                                "insured_headcount": 180})
    rules = open_rules(s.evaluate(), "2025-04-01")
    assert {"seat-inflation", "social-insurance-thin", "three-way-mismatch", "cross-border-unfiled"} <= rules
    s.add("workforce.social_insurance_reported", "2025-02-28", {"month": "2025-02", "insured_headcount": 2})
    thin = only(s.evaluate().findings, rule="social-insurance-thin")
    assert "2025-02" in thin.message_en and "under 3" in thin.message_en


def test_traffic_findings_look_at_the_latest_month():
    s = Story()
    s.registered(industry="education")
    s.licence()
    s.add("traffic.period_reported", "2026-02-05", {"month": "2026-01", "calls_total": 1000, "outbound_calls": 800,
                                                     "outbound_marketing_calls": 300, "calls_outside_hours": 4,
                                                     "marketing_calls_on_rest_days": 12, "complaints": 2,
                                                     "recordings_retained_days": 15, "consent_records": False,
                                                     "revenue_95": 70, "carrier_settlement_95": 100})
    rules = open_rules(s.evaluate(), "2026-02-06")
    assert {"revenue-settlement-mismatch", "recording-retention-short", "marketing-outbound", "calling-hours",
            "education-holiday-calls"} <= rules
    s.add("traffic.period_reported", "2026-03-05", {"month": "2026-02", "calls_total": 1000,
                                                     "outbound_marketing_calls": 300, "calls_outside_hours": 0,
                                                     "marketing_calls_on_rest_days": 0,
                                                     "recordings_retained_days": 90, "consent_records": True,
                                                     "revenue_95": 90, "carrier_settlement_95": 100})
    ev = s.evaluate()
    assert not {"revenue-settlement-mismatch", "recording-retention-short", "marketing-outbound", "calling-hours",
                "education-holiday-calls"} & open_rules(ev, "2026-03-06")
    f = only(ev.findings, rule="calling-hours")
    assert f.intervals[0].resolved_by == s.facts[-1].event_id


def test_number_and_premises_findings():
    s = Story()
    s.registered(capital=12_000_000)
    s.licence()
    s.add("workforce.seats_declared", "2025-01-01", {"declared_seats": 2, "system_registered_seats": 2})
    for i in range(3):
        s.add("number.allocated", "2025-02-01", {"number": f"0211234567{i}", "kind": "fixed", "province": "31"})
    s.add("number.allocated", "2025-02-01", {"number": "95012", "kind": "95", "province": "31"})
    s.add("site.leased", "2025-03-01", {"site_ref": "S1", "province": "31", "area_m2": 60, "lease_end": "2026-01-01",
                                        "purpose_text": "办公", "sublease": True, "owner_consent": False})
    rules = open_rules(s.evaluate(), "2025-04-01")
    assert {"fixed-number-quota", "9x-number-capital", "premises-purpose", "sublease-without-consent",
            "lease-shorter-than-licence", "premises-area", "mlps-missing"} <= rules
    s.add("facility.mlps_filed", "2025-05-01", {"system_ref": "CC", "level": 3, "filing_no": "x"})
    assert "mlps-missing" not in open_rules(s.evaluate(), "2025-05-02")


def test_capability_findings():
    s = Story()
    s.registered()
    s.add("company.capabilities_declared", "2026-01-01", {"ai_outbound": True, "cross_border": True})
    assert {"ai-outbound-unfiled", "cross-border-unfiled"} <= open_rules(s.evaluate(), "2026-01-02")
    s.add("company.capabilities_declared", "2026-02-01", {"ai_outbound": True, "algorithm_filing_no": "A1",
                                                           "cross_border": True, "data_export_filing_no": "D1"})
    assert not {"ai-outbound-unfiled", "cross-border-unfiled"} & open_rules(s.evaluate(), "2026-02-02")


def test_vendor_licence_invalid_opens_when_vendor_licence_expires():
    s = Story()
    s.registered()
    s.licence()
    s.add("outsourcing.arranged", "2026-01-05", {"mode": "bpo", **VENDOR, "vendor_licence_expires_on": "2026-06-30"})
    f = only(s.evaluate().findings, rule="vendor-licence-invalid")
    assert f.intervals[0].opened_at == start_of("2026-07-01") and f.severity == "high"
    s.add("outsourcing.vendor_verified", "2026-02-01", {"vendor_uscc": VENDOR["vendor_uscc"], "verified_on": "2026-02-01",
                                                        "name_matches": True, "uscc_matches": False, "category_ok": True,
                                                        "status_valid": True, "coverage_ok": True})
    f = only(s.evaluate().findings, rule="vendor-licence-invalid")
    assert f.intervals[0].opened_at == start_of("2026-02-01") and "another USCC" in f.message_en


def test_b21_licence_is_an_info_mislabel_not_unlicensed():
    s = Story()
    s.registered()
    s.licence(category="B21")
    s.add("workforce.seats_declared", "2022-04-01", {"declared_seats": 20, "system_registered_seats": 20})
    rules = open_rules(s.evaluate(), "2022-05-01")
    assert "category-mislabel" in rules and "unlicensed-operation" not in rules
    assert only(s.evaluate().findings, rule="category-mislabel").severity == "info"
    s2 = Story()
    s2.licence(category="B25")
    s2.add("workforce.seats_declared", "2022-04-01", {"declared_seats": 20})
    assert "unlicensed-operation" in open_rules(s2.evaluate(), "2022-05-01")


def test_findings_carry_source_confidence_params_and_bilingual_messages():
    s = Story()
    s.registered(capital=100)
    s.licence()
    for f in s.evaluate().findings:
        assert f.id.startswith("fi_") and f.source and f.confidence in ("statutory", "notice", "advisory")
        assert "?" not in f.message_en and "?" not in f.message_zh, f
        assert f.params == PACK.params(f.rule)


def test_disabled_finding_rule_produces_nothing():
    s = Story()
    s.registered(capital=100)
    s.licence()
    pack = PACK.with_overrides({"rules": {"capital-below-threshold": {"enabled": False}}})
    none_of(s.evaluate(pack).findings, rule="capital-below-threshold")
    pack = PACK.with_overrides({"rules": {"capital-below-threshold": {"severity": "critical"}}})
    assert only(s.evaluate(pack).findings, rule="capital-below-threshold").severity == "critical"


def test_finding_instants_need_a_time_zone():
    s = Story()
    s.registered(capital=100)
    s.licence()
    f = only(s.evaluate().findings, rule="capital-below-threshold")
    with pytest.raises(ValueError, match="time zone"):
        f.open_at(datetime(2026, 1, 1))
    assert f.opened_at.utcoffset().total_seconds() == 0
    assert date(2022, 3, 15) == f.opened_at.astimezone(at("2026-01-01").tzinfo).date()

"""The credit-score estimate (design/rules.md §4)."""

from __future__ import annotations

from ledger_rules import credit_alert, credit_estimate
from rules_support import PACK, Story, at


def company() -> Story:
    s = Story()
    s.registered()
    s.licence(issued="2025-03-15", expires="2030-03-14")
    return s


def test_no_traffic_data_means_no_score_not_100():
    est = credit_estimate(company().evaluate(), at("2026-06-15"), PACK)
    assert est.label == "estimate" and est.score is None and est.band is None
    assert est.coverage_months == 0
    assert "not 100" in est.statement_en and "不按100分计" in est.statement_zh
    assert [c.name for c in est.components] == ["complaints", "spot_checks", "critical_findings", "high_findings",
                                                "overdue_obligations", "overdue_advisory_obligations", "penalties",
                                                "listings"]


def test_score_with_data_and_every_component_shown_with_inputs():
    s = company()
    for m in range(1, 7):
        s.add("traffic.period_reported", f"2026-{m + 1:02d}-05", {"month": f"2026-{m:02d}", "calls_total": 100_000,
                                                                   "complaints": 10, "consent_records": True,
                                                                   "recordings_retained_days": 60})
    s.add("traffic.spot_check_recorded", "2026-05-10", {"sampled": 200, "passed": 190})
    s.add("penalty.imposed", "2026-03-01", {"decision_no": "P1", "decided_on": "2026-03-01", "fine": 0})
    s.add("listing.listed", "2026-04-01", {"list": "dishonest", "authority": "x", "reason": "y"})
    est = credit_estimate(s.evaluate(), at("2026-07-15"), PACK)
    by = {c.name: c for c in est.components}
    assert est.coverage_months == 6 and est.window == ("2025-07", "2026-06")
    assert by["complaints"].inputs["per_10k_calls"] == 1.0 and by["complaints"].deduction == 3
    assert by["spot_checks"].deduction == 5.0 and by["spot_checks"].cap == 30
    assert by["penalties"].deduction == 5 and by["listings"].deduction == 20
    assert by["high_findings"].inputs["count"] >= 1  # the listing is also an open bad-list finding
    total = sum(c.deduction for c in est.components)
    assert est.score == round(100 - total, 1) and est.band in ("good", "watch", "at_risk")
    assert est.band == ("good" if est.score >= 90 else "watch" if est.score >= 80 else "at_risk")


def test_caps_hold():
    s = company()
    s.add("traffic.period_reported", "2026-02-05", {"month": "2026-01", "calls_total": 1000, "complaints": 50})
    est = credit_estimate(s.evaluate(), at("2026-03-01"), PACK)
    complaints = next(c for c in est.components if c.name == "complaints")
    assert complaints.inputs["per_10k_calls"] == 500 and complaints.deduction == 30


def test_weights_are_parameters():
    s = company()
    s.add("traffic.period_reported", "2026-02-05", {"month": "2026-01", "calls_total": 10_000, "complaints": 2})
    pack = PACK.with_overrides({"credit": {"complaints": {"per_complaint_per_10k_calls": 10}}})
    est = credit_estimate(s.evaluate(pack), at("2026-03-01"), pack)
    assert next(c for c in est.components if c.name == "complaints").deduction == 20


def test_alert_below_80_or_on_a_drop_of_10():
    s = Story()  # no licence, nothing overdue: only traffic moves the estimate
    s.registered()
    s.add("traffic.period_reported", "2026-02-05", {"month": "2026-01", "calls_total": 10_000, "complaints": 0})
    good = credit_estimate(s.evaluate(), at("2026-03-01"), PACK)
    s.add("traffic.period_reported", "2026-03-05", {"month": "2026-02", "calls_total": 10_000, "complaints": 4})
    worse = credit_estimate(s.evaluate(), at("2026-04-01"), PACK)
    assert good.score == 100 and worse.score == 94
    assert credit_alert(good, worse, PACK) is None
    s.add("traffic.period_reported", "2026-04-05", {"month": "2026-03", "calls_total": 10_000, "complaints": 30})
    bad = credit_estimate(s.evaluate(), at("2026-05-01"), PACK)
    alert = credit_alert(worse, bad, PACK)
    assert bad.score < 80 and alert.reason == "below" and alert.alert_type == "credit.below_threshold"

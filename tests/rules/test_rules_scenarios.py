"""Every acceptance scenario of tests/scenarios, evaluated directly with the rule pack's API."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from ledger_rules import Calendar, RecordedFact, RulePack, evaluate, finding_open_at, obligation_status
from spec_files import acceptance_scenarios, load_scenario

SCENARIOS = acceptance_scenarios()


def facts_of(scenario: dict) -> list[RecordedFact]:
    out = []
    for i, f in enumerate(scenario["facts"], start=1):
        eff = date.fromisoformat(f["effective_date"])
        recorded = datetime.fromisoformat(f"{eff.isoformat()}T10:00:00+08:00") + timedelta(hours=3)
        out.append(RecordedFact(f"sc-{i}", f["type"], f["company"], eff, recorded, f["data"], i, f["company"]))
    return out


def test_scenarios_are_there():
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path):
    scenario = json.loads(path.read_text(encoding="utf-8"))
    pack, cal = RulePack.default(), Calendar.official()
    ev = evaluate(facts_of(scenario), pack, cal)
    expect = scenario["expect"]
    at = datetime.fromisoformat(expect["as_of"])
    for want in expect.get("obligations", []):
        matches = [
            o for o in ev.obligations
            if o.rule == want["rule"]
            and ("about" not in want or o.about == want["about"])
            and ("year" not in want or o.year == want["year"])
        ]
        assert len(matches) == 1, f"{want}: found {[(o.rule, o.about, o.year) for o in matches]}"
        ob = matches[0]
        if "due" in want:
            assert ob.due.isoformat() == want["due"], want
        assert obligation_status(ob, at, pack) == want["status"], want
    open_now = [f for f in ev.findings if finding_open_at(f, at)]
    for want in expect.get("findings", []):
        assert any(f.rule == want["rule"] and f.severity == want["severity"] for f in open_now), (
            want, [(f.rule, f.severity) for f in open_now])
    for rule in expect.get("absent_findings", []):
        assert not any(f.rule == rule for f in open_now), rule


def test_change_filing_scenario_details():
    """2026-09-25 + 30 days = 2026-10-25, a Sunday: due Monday 2026-10-26, with the reason."""
    scenario = load_scenario("change-filing-rolls-past-weekend")
    ev = evaluate(facts_of(scenario), RulePack.default(), Calendar.official())
    ob = next(o for o in ev.obligations if o.rule == "change-filing")
    assert ob.about == "粤B2-20230510"
    assert ob.due == date(2026, 10, 26) and not ob.provisional
    assert "2026-10-25" in ob.due_note and "Art. 203" in ob.due_note
    assert ob.source == "Order 42 Art. 29" and ob.confidence == "statutory"
    assert ob.params["days"] == 30 and ob.params["field"] == "legal_representative"


def test_nationwide_scenario_details():
    scenario = load_scenario("nationwide-licence-lifecycle")
    ev = evaluate(facts_of(scenario), RulePack.default(), Calendar.official())
    renewal = next(o for o in ev.obligations if o.rule == "renewal")
    assert renewal.due == date(2026, 12, 14) == renewal.legal_due
    assert renewal.window_opens == date(2026, 9, 15)  # E − 180
    report_2026 = next(o for o in ev.obligations if o.rule == "annual-report" and o.year == 2026)
    assert report_2026.provisional  # 2027 has no official calendar
    assert report_2026.window_opens == date(2027, 1, 1)
    assert not any(o.rule == "annual-report" and o.year == 2027 for o in ev.obligations)  # lapses 2027-03-14
    bad = next(f for f in ev.findings if f.rule == "bad-list" and f.subject.endswith(":2024"))
    # opens when the April make-up month is over: 1 May 2025 00:00 Asia/Shanghai
    assert bad.intervals[0].opened_at.isoformat() == "2025-04-30T16:00:00+00:00"

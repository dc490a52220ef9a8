"""Audit of the rule pack against design/rules.md: each test pins a discrepancy found and fixed."""

from __future__ import annotations

from datetime import date

import pytest
from ledger_rules import RecordedFact, evaluate
from ledger_rules.history import InvalidPayload
from rules_support import CAL, PACK, Story, at, only


def test_number_annual_report_closing_day_override_of_29_february_never_crashes():
    """rules.md §1 ("Never crash and never silently guess") and §2 `number-annual-report` (31 Mar of the
    next year, a parameter like any other): the pack accepts `closes` = "02-29" (it validates against a
    leap year), so a common year must fall back to 28 Feb as `annual-report` already does, not raise."""
    pack = PACK.with_overrides({"rules": {"number-annual-report": {"closes": "02-29"}}})
    s = Story()
    s.registered()
    s.licence()
    s.add("number.allocated", "2025-01-10", {"number": "95012", "kind": "95", "province": "31"})
    obs = {o.year: o for o in s.evaluate(pack, until=date(2029, 1, 1)).obligations if o.rule == "number-annual-report"}
    assert obs[2025].due == date(2026, 2, 28)  # a Saturday, but a 调休 make-up working day: not moved
    assert obs[2026].due == date(2027, 3, 1) and obs[2026].provisional  # 28 Feb 2027 is a Sunday (no official data)
    assert obs[2027].due == date(2028, 2, 29)  # leap year: the day itself (a Tuesday)


def test_a_licence_recorded_without_expiry_is_refused_not_assumed():
    """rules.md §0 once assumed `licence.validity_years` for a licence recorded without expiry; the contract
    requires `expires_on`, so such a fact never reaches the rules (the projector parks it) and a fact that
    does is refused naming the field, instead of guessing an expiry."""
    s = Story()
    s.registered()
    unexpiring = RecordedFact("ev-unexpiring", "licence.issued", s.company, date(2022, 3, 15), at("2022-03-15"),
                              {"licence_no": "B2-20220315", "category": "B24", "scope": "nationwide", "provinces": [],
                               "issued_on": "2022-03-15", "authority": "MIIT"}, 99, "B2-20220315")
    with pytest.raises(InvalidPayload, match="first at expires_on"):
        evaluate([*s.facts, unexpiring], PACK, CAL)
    s.licence(issued="2022-03-15", expires="2025-03-14")
    ob = only(s.evaluate().obligations, rule="renewal")
    assert ob.params["expires_on"] == "2025-03-14" and ob.due_note is not None and "assumed" not in ob.due_note
    assert ob.legal_due == date(2024, 12, 14)  # E − 90 days, a Saturday: safe deadline the Friday before
    assert ob.due == date(2024, 12, 13)

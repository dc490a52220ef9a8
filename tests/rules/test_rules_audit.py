"""Audit of the rule pack against design/rules.md: each test pins a discrepancy found and fixed."""

from __future__ import annotations

from datetime import date

from rules_support import PACK, Story, only


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


def test_assumed_licence_validity_follows_the_pack_parameter():
    """rules.md §0 (validity: 5 years) and the preamble ("Rules are data … a tenant may override parameters;
    each computed obligation records the parameter values it used"): a licence recorded without expiry is
    assumed valid for `licence.validity_years`; the renewal's note already says the pack's figure, so the
    expiry it is computed from must use the same figure, not a hard-coded 5 years."""
    s = Story()
    s.registered()
    s.add("licence.issued", "2022-03-15", {"licence_no": "B2-20220315", "category": "B24", "scope": "nationwide",
                                           "provinces": [], "issued_on": "2022-03-15", "authority": "MIIT"})
    default = only(s.evaluate().obligations, rule="renewal")
    assert default.params["expires_on"] == "2027-03-14" and "5 years" in default.due_note
    three = PACK.with_overrides({"licence": {"validity_years": 3}})
    ob = only(s.evaluate(three).obligations, rule="renewal")
    assert "3 years" in ob.due_note
    assert ob.params["expires_on"] == "2025-03-14"
    assert ob.legal_due == date(2024, 12, 14)  # E − 90 days, a Saturday: safe deadline the Friday before
    assert ob.due == date(2024, 12, 13)

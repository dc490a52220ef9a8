"""The rule pack as data: every rule of rules.md, overrides, validation, and the generated docs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from ledger_rules import RulePack, obligation_status
from ledger_rules.docs import DEFAULT_OUTPUT, main, render
from rules_support import Story, at, only
from spec_files import spec_file

PACK = RulePack.default()


def rules_md_ids(section: str) -> set[str]:
    text = spec_file("design", "rules.md").read_text(encoding="utf-8")
    part = text.split(section, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", part, flags=re.M))


def test_every_rule_of_rules_md_is_in_the_pack():
    obligations = {r.id for r in PACK.obligation_rules()}
    findings = {r.id for r in PACK.finding_rules()}
    assert rules_md_ids("## 2. Obligations") == obligations
    assert rules_md_ids("## 3. Findings") == findings
    for r in PACK.rules.values():
        assert r.source and r.confidence in ("statutory", "notice", "advisory", "estimate")
        assert r.params["severity"] in ("critical", "high", "medium", "advisory", "info")
        assert r.title_zh and r.title_en


def test_overrides_change_parameters_and_are_recorded():
    s = Story()
    s.registered()
    s.licence()
    s.add("company.registration_changed", "2026-09-25", {"field": "name", "old": "a", "new": "b"})
    pack = PACK.with_overrides({"rules": {"change-filing": {"days": 20}}, "due_soon_days": 10})
    ob = only(s.evaluate(pack).obligations, rule="change-filing")
    assert ob.due == date(2026, 10, 15) and ob.params["days"] == 20
    assert obligation_status(ob, at("2026-10-01"), pack) == "open"
    assert obligation_status(ob, at("2026-10-05"), pack) == "due_soon"
    off = PACK.with_overrides({"rules": {"change-filing": {"enabled": False}}})
    assert not [o for o in s.evaluate(off).obligations if o.rule == "change-filing"]
    assert PACK.params("change-filing")["days"] == 30  # the default pack is untouched


@pytest.mark.parametrize("overrides, words", [
    ({"rules": {"no-such-rule": {}}}, "unknown rule 'no-such-rule'"),
    ({"rules": {"change-filing": {"dayz": 20}}}, "has no parameter 'dayz'"),
    ({"rules": {"change-filing": {"days": "30"}}}, "non-negative integer"),
    ({"rules": {"change-filing": {"enabled": "no"}}}, "true or false"),
    ({"rules": {"change-filing": {"severity": "urgent"}}}, "must be one of"),
    ({"rules": {"change-filing": {"reminders": [30, "7"]}}}, "whole days"),
    ({"rules": {"change-filing": {"roll": "sideways"}}}, "'next', 'previous' or 'none'"),
    ({"rules": {"annual-report": {"windows": {"next year": {}}}}}, "window year"),
    ({"rules": {"annual-report": {"windows": {"2027": {"opens": "1 Jan"}}}}}, "YYYY-MM-DD"),
    ({"rules": {"annual-report": {"closes": "31-03"}}}, "MM-DD"),
    ({"credit": {"complaints": {"weight": 3}}}, "has no parameter 'weight'"),
    ({"colour": "blue"}, "unknown override section"),
    ({"due_soon_days": -1}, "due_soon_days"),
])
def test_bad_overrides_are_refused_clearly(overrides, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        PACK.with_overrides(overrides)


def test_docs_are_generated_from_the_rule_data():
    text = render()
    for r in PACK.rules.values():
        assert f"`{r.id}`" in text
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == text, "run: python -m ledger_rules.docs"
    assert main(["--check"]) == 0


def test_docs_check_fails_on_a_stale_file(tmp_path):
    out = tmp_path / "rules.md"
    out.write_text("old", encoding="utf-8")
    assert main(["--check", "--output", str(out)]) == 1
    assert main(["--output", str(out)]) == 0 and main(["--check", "--output", str(out)]) == 0

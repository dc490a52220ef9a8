"""Rules register where they are written: the pack, the trigger families and the published vocabulary
all come from the registrations, and the declared trigger families are enough to walk the state rules."""

from __future__ import annotations

import pytest
from golden_companies import companies
from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.rule_ids import FACT_RULES, FINDING_RULES, OBLIGATION_RULES, RULE_IDS
from ledger_rules import evaluate, findings, obligations, registry, vocabulary
from ledger_rules.history import History
from ledger_rules.registry import EVERY_OBLIGATION_READS, FAMILIES, obligation, state_finding
from rules_support import PACK

CASES = list(companies())


def test_the_default_pack_is_the_registrations():
    regs = registry.registrations()
    assert [r.rule.id for r in regs] == list(PACK.rules)
    for reg in regs:
        assert PACK.rule(reg.rule.id) is reg.rule
        assert reg.rule.kind == ("obligation" if reg.mode == "obligation" else "finding")
        assert callable(reg.fn) and reg.facts
    assert {r.rule.id for r in regs if r.mode == "timeline"} == {
        "licence-expired", "renewal-late", "restructuring-unapproved", "bad-list",
        "rectification-deadline-missing", "penalties-unrectified"}


def test_trigger_families_are_the_families_of_the_facts_read():
    mlps = registry.registration("mlps-missing")
    assert mlps.reads == {"systems", "licence", "numbers", "workforce", "outsourcing"}
    assert registry.registration("calling-hours").reads == {"traffic"}
    assert registry.registration("capital-below-threshold").reads == {"licence", "company"}
    for reg in registry.registrations():
        assert reg.reads <= set(FAMILIES.values())
        if reg.mode == "obligation":
            assert set(EVERY_OBLIGATION_READS) <= set(reg.facts), reg.rule.id


def test_contracts_publish_the_registered_vocabulary():
    assert vocabulary.main(["--check"]) == 0, "run: python -m ledger_rules.vocabulary"
    assert OBLIGATION_RULES == tuple(r.id for r in PACK.obligation_rules())
    assert FINDING_RULES == tuple(r.id for r in PACK.finding_rules())
    assert RULE_IDS == {*PACK.rules, registry.CREDIT_ESTIMATE}
    for reg in registry.registrations():
        for fact_type in reg.facts:
            assert reg.rule.id in CATALOGUE[fact_type].rules, (reg.rule.id, fact_type)
    assert FACT_RULES["traffic.spot_check_recorded"] == (registry.CREDIT_ESTIMATE,)
    assert "workforce.key_person_appointed" not in FACT_RULES  # no rule reads it
    assert CATALOGUE["workforce.key_person_appointed"].rules == ()


def test_a_stale_vocabulary_is_caught(tmp_path):
    out = tmp_path / "rule_ids.py"
    out.write_text("OBLIGATION_RULES = ()\n", encoding="utf-8")
    assert vocabulary.main(["--check", "--output", str(out)]) == 1
    assert vocabulary.main(["--output", str(out)]) == 0 and vocabulary.main(["--check", "--output", str(out)]) == 0


def test_a_declaration_is_checked_when_it_is_written():
    declared = dict(title_zh="测试", title_en="Test", trigger="t", source="s", confidence="advisory",
                    severity="advisory", message_zh="m", message_en="m")
    with pytest.raises(ValueError, match="unknown fact types"):
        state_finding("made-up", facts=("licence.misspelt",), **declared)
    with pytest.raises(ValueError, match="confidence must be one of"):
        state_finding("made-up", facts=("licence.issued",), **{**declared, "confidence": "hunch"})
    with pytest.raises(ValueError, match="registered twice"):
        obligation("renewal", "续期", "Renewal", facts=("licence.issued",), trigger="t", outcome="o",
                   fulfilled_by="f", source="s", confidence="statutory", severity="high")(lambda ctx, rule: iter(()))
    assert [r.rule.id for r in registry.registrations()] == list(PACK.rules)  # nothing half-registered


def _findings_walked(facts, pack, cal, until, every_day: bool):
    horizon = evaluate(facts, pack, cal, until=until).horizon
    h = History.from_facts(facts, pack.licence["validity_years"])
    operating = h.operating_intervals(pack.licence, horizon) if h.events else []
    every = obligations.derive(obligations.Context(h, pack, cal, horizon, operating), include_disabled=True)
    if every_day:  # wake every state rule on every day a fact happened, whatever its trigger families
        h.slices_on = {day: set(FAMILIES.values()) for day in h.slices_on}
    return findings.derive(findings.Context(h, pack, horizon, every))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_declared_trigger_families_are_enough(case):
    """Re-evaluating each state rule only on the days its families change says the same as every day."""
    _, facts, pack, cal, until = case
    assert _findings_walked(facts, pack, cal, until, False) == _findings_walked(facts, pack, cal, until, True)

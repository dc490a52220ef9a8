"""Alert severity comes from the rule (statutory high, licence at stake critical, notice medium,
advisory low; reminders before the day one step lower), and the backlog threshold is a tenant setting."""

from __future__ import annotations

import pytest
from ledger_rules import alert_severity as severity
from ledger_rules.ruleset import RulePack


def test_every_obligation_rule_alerts_at_the_level_its_confidence_asks():
    pack = RulePack.default()
    seen = {}
    for rule in pack.obligation_rules():
        if rule.informational:
            continue
        overdue = severity.obligation_alert(rule.severity, "obligation.overdue")
        assert overdue == severity.expected_for(rule.id, rule.confidence), rule.id
        assert severity.obligation_alert(rule.severity, "obligation.due_today") == overdue
        assert severity.obligation_alert(rule.severity, "obligation.due_soon") == severity.lower(overdue)
        seen[rule.id] = overdue
    assert seen["renewal"] == "critical"
    assert seen["annual-report"] == seen["fine-payment"] == "high"
    assert seen["number-fee"] == seen["mlps-assessment"] == "medium"
    assert seen["three-way-check"] == seen["emergency-plan"] == seen["annual-report-prep"] == "low"
    assert severity.obligation_alert("critical", "obligation.due_soon") == "high"
    assert severity.obligation_alert("advisory", "obligation.due_soon") == "info"


def test_findings_keep_their_rule_severity_and_only_the_licence_itself_is_critical():
    pack = RulePack.default()
    levels = {r.id: severity.from_rule(r.severity) for r in pack.finding_rules()}
    assert {rid for rid, level in levels.items() if level == "critical"} == {"licence-expired", "unlicensed-operation"}
    assert set(severity.LICENCE_AT_STAKE) == {"renewal", "licence-expired", "unlicensed-operation"}
    assert levels["number-without-licence"] == "high"  # advisory source, high severity: the rule's severity counts
    assert levels["seat-inflation"] == "low" and levels["category-mislabel"] == "info"
    assert severity.highest(["low", "critical", "medium"]) == "critical"
    assert severity.highest([]) == "info"


def test_a_tenant_overrides_an_obligation_severity_and_the_alert_follows():
    pack = RulePack.default().with_overrides({"rules": {"three-way-check": {"severity": "high"}}})
    assert severity.obligation_alert(pack.rule("three-way-check").severity, "obligation.overdue") == "high"


def test_the_backlog_threshold_is_a_tenant_setting():
    assert RulePack.default().alerts["backlog_threshold"] == 3
    assert RulePack.default().with_overrides({"alerts": {"backlog_threshold": 10}}).alerts["backlog_threshold"] == 10
    assert RulePack.default().with_overrides({"alerts": {"backlog_threshold": 0}}).alerts["backlog_threshold"] == 0
    for bad in ({"alerts": {"backlog_threshold": -1}}, {"alerts": {"backlog_threshold": "3"}},
                {"alerts": {"backlog_threshold": True}}, {"alerts": {"digest": 3}}, {"alerts": 3}):
        with pytest.raises(ValueError):
            RulePack.default().with_overrides(bad)

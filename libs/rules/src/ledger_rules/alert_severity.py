"""How loud an alert is, from its rule (design: interfaces "Alert severity and time travel").

The alert scale is ``info < low < medium < high < critical``. An obligation's alert takes
its rule's severity: statutory obligations are ``high`` — ``critical`` where losing the
licence is at stake (:data:`LICENCE_AT_STAKE`) — ``notice`` ones ``medium`` and
``advisory`` ones ``low`` (the rule pack's obligation ``severity`` parameters say exactly
this, and a tenant may override them). A reminder before the due date is one step lower.
A finding keeps its rule's severity; the finding scale's ``advisory`` is ``low`` here.
"""

from __future__ import annotations

from collections.abc import Iterable

SCALE = ("info", "low", "medium", "high", "critical")
LICENCE_AT_STAKE = ("renewal", "licence-expired", "unlicensed-operation")  # rule ids: the licence itself
BY_CONFIDENCE = {"statutory": "high", "notice": "medium", "advisory": "low", "estimate": "low"}
_FROM_RULE = {"critical": "critical", "high": "high", "medium": "medium", "advisory": "low", "low": "low",
              "info": "info"}


def from_rule(severity: str | None) -> str:
    """A rule's (or finding's) severity on the alert scale; unknown values count as ``medium``."""
    return _FROM_RULE.get(severity or "", "medium")


def lower(severity: str) -> str:
    return SCALE[max(0, SCALE.index(severity) - 1)]


def obligation_alert(rule_severity: str | None, alert_type: str) -> str:
    """An obligation reminder's severity: the rule's on the day and after, one step lower before."""
    level = from_rule(rule_severity)
    return lower(level) if alert_type == "obligation.due_soon" else level


def expected_for(rule_id: str, confidence: str) -> str:
    """What the design asks of an overdue obligation of this rule (the pack's data is checked against it)."""
    if confidence == "statutory" and rule_id in LICENCE_AT_STAKE:
        return "critical"
    return BY_CONFIDENCE.get(confidence, "medium")


def highest(severities: Iterable[str]) -> str:
    return max(severities, key=SCALE.index, default="info")

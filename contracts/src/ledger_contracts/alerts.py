"""The alert vocabulary shared by the projector (which decides alerts), the notifier (which
delivers and filters them) and the AsyncAPI document: alert types and the severity scale.

Severity is ordered ``info < low < medium < high < critical``; a subscription's
``min_severity`` keeps alerts at or above it. ``advisory`` — the finding scale's name for
the level of ``low`` — is accepted as a synonym, so findings keep their rule's severity.
"""

from __future__ import annotations

from typing import TypeGuard

ALERT_TYPES = ("obligation.due_soon", "obligation.due_today", "obligation.overdue",
               "finding.opened", "finding.resolved", "credit.below_threshold", "company.backlog")
ALERT_SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_SYNONYMS = {"advisory": "low"}


def severity_rank(severity: str) -> int:
    """The position of a severity on the scale (``advisory`` ranks as ``low``); ValueError if unknown."""
    return ALERT_SEVERITIES.index(SEVERITY_SYNONYMS.get(severity, severity))


def is_severity(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and (value in ALERT_SEVERITIES or value in SEVERITY_SYNONYMS)

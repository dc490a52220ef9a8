"""Rule ids of the rule pack (shared/design/rules.md), so the catalogue can say who uses a fact.

Kept here as plain data: the rule pack itself (parameters, sources,
confidence) lives in ledger_rules; contracts only needs the names, and a test
checks every name the catalogue mentions is one of these.
"""

from __future__ import annotations

OBLIGATION_RULES: tuple[str, ...] = (
    "change-filing",
    "change-filing-scope",
    "restructuring-approval",
    "renewal",
    "annual-report",
    "annual-report-prep",
    "number-annual-report",
    "number-filing",
    "number-activation-report",
    "number-contact-change",
    "number-fee",
    "fine-payment",
    "rectification",
    "bad-list-watch",
    "lease-renewal",
    "mlps-assessment",
    "three-way-check",
    "emergency-plan",
    "vendor-reverification",
    "licence-decision",
)
"""Section 2 of rules.md: things with a deadline."""

FINDING_RULES: tuple[str, ...] = (
    "unlicensed-operation",
    "number-without-licence",
    "coverage-mismatch",
    "capital-below-threshold",
    "licence-expired",
    "renewal-late",
    "restructuring-unapproved",
    "bad-list",
    "rectification-deadline-missing",
    "penalties-unrectified",
    "seat-inflation",
    "three-way-mismatch",
    "social-insurance-thin",
    "revenue-settlement-mismatch",
    "9x-number-capital",
    "fixed-number-quota",
    "premises-purpose",
    "sublease-without-consent",
    "lease-shorter-than-licence",
    "premises-area",
    "mlps-missing",
    "ai-outbound-unfiled",
    "cross-border-unfiled",
    "recording-retention-short",
    "marketing-outbound",
    "calling-hours",
    "education-holiday-calls",
    "vendor-licence-invalid",
    "category-mislabel",
)
"""Section 3 of rules.md: states that are wrong now."""

CREDIT_ESTIMATE = "credit-estimate"
"""Section 4 of rules.md (the credit-score estimate), which has no id there; this is ours."""

RULE_IDS: frozenset[str] = frozenset((*OBLIGATION_RULES, *FINDING_RULES, CREDIT_ESTIMATE))

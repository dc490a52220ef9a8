"""Subjects as a hierarchy one can authorise and filter on.

``ledger.{tenant}.{company}.{aggregate_type}.{aggregate_id}`` and
``alerts.{tenant}.{company}.{kind}``; every token matches ``[A-Za-z0-9_-]+``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
LEDGER_PREFIX = "ledger"
ALERTS_PREFIX = "alerts"


class SubjectError(ValueError):
    """A subject token is not safe for NATS."""


def check_token(name: str, value: str) -> str:
    if not isinstance(value, str) or not TOKEN.match(value):
        raise SubjectError(f"{name} {value!r} is not a subject token ([A-Za-z0-9_-]+)")
    return value


def token_for(prefix: str, natural_key: str) -> str:
    """A deterministic token for a natural key that is not token-safe (e.g. 京通管罚〔2024〕12号)."""
    if TOKEN.match(natural_key) and len(natural_key) <= 64:
        return natural_key
    return prefix + hashlib.sha256(natural_key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AggregateAddress:
    tenant: str
    company: str
    aggregate_type: str
    aggregate_id: str

    def __post_init__(self) -> None:
        check_token("tenant", self.tenant)
        check_token("company", self.company)
        check_token("aggregate type", self.aggregate_type)
        check_token("aggregate id", self.aggregate_id)

    @property
    def subject(self) -> str:
        return ".".join((LEDGER_PREFIX, self.tenant, self.company, self.aggregate_type, self.aggregate_id))

    @classmethod
    def parse(cls, subject: str) -> AggregateAddress:
        parts = subject.split(".")
        if len(parts) != 5 or parts[0] != LEDGER_PREFIX:
            raise SubjectError(f"{subject!r} is not ledger.<tenant>.<company>.<aggregate_type>.<aggregate_id>")
        return cls(*parts[1:])


def company_filter(tenant: str, company: str) -> str:
    return f"{LEDGER_PREFIX}.{check_token('tenant', tenant)}.{check_token('company', company)}.>"


def tenant_filter(tenant: str) -> str:
    return f"{LEDGER_PREFIX}.{check_token('tenant', tenant)}.>"


def alert_subject(tenant: str, company: str, kind: str) -> str:
    return ".".join(
        (ALERTS_PREFIX, check_token("tenant", tenant), check_token("company", company), check_token("kind", kind))
    )

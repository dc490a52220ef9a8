"""Reading an alert off ALERTS: a CloudEvent with a deterministic id, checked and normalised.

The projector produces them; we accept the envelope leniently (tenant and company may come
from the extension attributes, from ``data`` or from the subject) but refuse anything we
could not route or sign: no id, no known type, no tenant or company.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ledger_contracts.alerts import (
    ALERT_SEVERITIES,
    ALERT_TYPES,
    SEVERITY_SYNONYMS,
    is_severity,
    severity_rank,
)
from ledger_kernel.subjects import TOKEN

__all__ = ["ALERT_TYPES", "SEVERITIES", "Alert", "AlertError", "parse_alert", "severity_rank"]
SEVERITIES = ALERT_SEVERITIES + tuple(SEVERITY_SYNONYMS)  # what min_severity accepts (advisory = low)
DEFAULT_SEVERITY = {  # for an alert that carries none (the projector always sets one)
    "obligation.due_soon": "medium",
    "obligation.due_today": "high",
    "obligation.overdue": "high",
    "finding.opened": "medium",
    "finding.resolved": "info",
    "credit.below_threshold": "high",
    "company.backlog": "high",
}


class AlertError(ValueError):
    """A message on ALERTS that is not an alert we can deliver."""


@dataclass(frozen=True)
class Alert:
    id: str
    type: str
    tenant: str
    company: str
    severity: str
    time: str | None
    data: dict[str, Any]
    event: dict[str, Any]

    def webhook_payload(self) -> dict[str, Any]:
        """The Standard Webhooks body: ``{type, timestamp, data}`` (timestamp = when the alert was raised)."""
        return {"type": self.type, "timestamp": self.time, "data": self.data}


def _severity_of(event_type: str, data: dict[str, Any]) -> str:
    for candidate in (data.get("severity"), (data.get("finding") or {}).get("severity")
                      if isinstance(data.get("finding"), dict) else None):
        if is_severity(candidate):
            return candidate
    return DEFAULT_SEVERITY[event_type]


def _subject_token(name: str, value: Any) -> str:
    if not isinstance(value, str) or not TOKEN.match(value):
        raise AlertError(f"{name} is missing or not a subject token")
    return value


def parse_alert(raw: bytes | dict[str, Any], subject: str | None = None) -> Alert:
    """The alert in a CloudEvent (structured JSON); AlertError says what is wrong."""
    if isinstance(raw, dict):
        event = raw
    else:
        try:
            event = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise AlertError(f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise AlertError("not a JSON object")
    alert_id = event.get("id")
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > 200:
        raise AlertError("id is missing or not a string")
    event_type = event.get("type")
    if event_type not in ALERT_TYPES:
        raise AlertError(f"type {event_type!r} is not an alert type")
    data = event.get("data")
    if not isinstance(data, dict):
        raise AlertError("data must be an object")
    parts = subject.split(".") if subject else []
    from_subject = parts[1:3] if len(parts) == 4 and parts[0] == "alerts" else [None, None]
    tenant = event.get("tenant") or data.get("tenant") or from_subject[0]
    company = event.get("company") or data.get("company") or from_subject[1]
    if isinstance(company, dict):  # data.company may be {"uscc", "name"}
        company = company.get("uscc")
    tenant, company = _subject_token("tenant", tenant), _subject_token("company", company)
    return Alert(id=alert_id, type=event_type, tenant=tenant, company=company,
                 severity=_severity_of(event_type, data), time=event.get("time"), data=data, event=event)

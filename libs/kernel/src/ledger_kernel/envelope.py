"""The CloudEvents 1.0 envelope (structured JSON mode) and its tamper-evidence chain.

Each event carries ``prevhash`` (the ``hash`` of its predecessor in the same
aggregate, or :data:`GENESIS`) and ``hash`` — SHA-256 over the canonical JSON of
every other attribute. Altering any stored byte of meaning breaks the chain.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from ledger_kernel.canonical import canonical_json, sha256_hex

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
GENESIS = "0" * 64
SCHEMA_BASE = "https://ledger.example/contracts/schemas"
_EVENT_NAMESPACE = uuid.UUID("6f1c2a3e-8a55-4f1e-9d8e-2c7b4b0f5e11")
_SCHEMA_VERSION = re.compile(r"\.v(\d+)\.json$")

REQUIRED = ("specversion", "id", "source", "type", "subject", "time", "dataschema", "tenant", "company",
            "sequence", "effectivedate", "prevhash", "hash", "data")


class EnvelopeError(ValueError):
    """A message on the ledger is not a well-formed event of ours."""


def event_id_for(tenant: str, command_id: str) -> str:
    """The event id derived from a command id: a retried command yields the same id (idempotency)."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{tenant}/{command_id}"))


def dataschema_for(event_type: str, version: int) -> str:
    return f"{SCHEMA_BASE}/{event_type}.v{version}.json"


def schema_version(event: dict[str, Any]) -> int:
    match = _SCHEMA_VERSION.search(str(event.get("dataschema", "")))
    if not match:
        raise EnvelopeError(f"dataschema {event.get('dataschema')!r} carries no version")
    return int(match.group(1))


def format_time(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise EnvelopeError("event time must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash" and v is not None}
    return sha256_hex(canonical_json(body))


def build_event(
    *,
    event_id: str,
    source: str,
    event_type: str,
    version: int,
    aggregate_id: str,
    tenant: str,
    company: str,
    sequence: int,
    effective_date: date,
    data: dict[str, Any],
    prevhash: str,
    recorded_at: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    actor: str | None = None,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """A sealed event as a JSON-ready dict (attributes with no value are omitted)."""
    event: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event_id,
        "source": source,
        "type": event_type,
        "subject": aggregate_id,
        "time": format_time(recorded_at),
        "datacontenttype": "application/json",
        "dataschema": dataschema_for(event_type, version),
        "tenant": tenant,
        "company": company,
        "sequence": sequence,
        "effectivedate": effective_date.isoformat(),
        "correlationid": correlation_id,
        "causationid": causation_id,
        "actor": actor,
        "traceparent": traceparent,
        "prevhash": prevhash,
        "data": data,
    }
    event = {k: v for k, v in event.items() if v is not None}
    event["hash"] = compute_hash(event)
    return event


def encode(event: dict[str, Any]) -> bytes:
    return canonical_json(event)


def decode(raw: bytes) -> dict[str, Any]:
    """Parse and check the envelope's shape; raise EnvelopeError with the reason otherwise."""
    import json

    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise EnvelopeError("not a JSON object")
    missing = [k for k in REQUIRED if k not in event]
    if missing:
        raise EnvelopeError(f"missing attributes: {', '.join(missing)}")
    if event["specversion"] != SPECVERSION:
        raise EnvelopeError(f"specversion {event['specversion']!r} is not 1.0")
    if not isinstance(event["sequence"], int) or event["sequence"] < 1:
        raise EnvelopeError("sequence must be a positive integer")
    if not isinstance(event["data"], dict):
        raise EnvelopeError("data must be an object")
    return event


def seal_ok(event: dict[str, Any]) -> bool:
    """True when the event's own hash matches its content."""
    return event.get("hash") == compute_hash(event)

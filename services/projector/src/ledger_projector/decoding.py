"""From a stored LEDGER message to a fact the projector can apply — or the reason it cannot.

A poison message (undecodable, a subject that does not match its event, an unknown
type, a schema version this reader cannot upcast, a payload its model refuses) is
never fatal: it becomes a :class:`Poison` that the projection parks with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from ledger_contracts.catalogue import CATALOGUE
from ledger_kernel import envelope
from ledger_kernel.registry import CannotUpcast, EventRegistry, EventSpec, UnknownEventType
from ledger_kernel.store import StoredMessage
from ledger_kernel.subjects import AggregateAddress, SubjectError
from pydantic import ValidationError

SYSTEM_TENANT = "_system"
CALENDAR_COMPANY = "_calendar"
CALENDAR_TYPE = "calendar.year_loaded"
RULES_COMPANY = "_rules"
RULES_TYPE = "rules.overrides_set"


@dataclass(frozen=True, slots=True)
class Link:
    """A decodable event's place in its aggregate's hash chain, as stored."""

    subject: str
    sequence: Any
    prevhash: Any
    hash: Any
    sealed: bool  # its hash matches its content

    def as_event(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "prevhash": self.prevhash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AppliedFact:
    ledger_sequence: int
    tenant: str
    company: str
    event_id: str
    type: str
    aggregate_type: str
    aggregate_id: str
    effective_date: date
    recorded_at: datetime
    data: dict[str, Any]
    link: Link | None = None

    @property
    def company_key(self) -> str:
        return f"{self.tenant}.{self.company}"


@dataclass(frozen=True, slots=True)
class SystemFact:
    """A fact for the projector itself: a year's holiday schedule, a tenant's rule overrides."""

    ledger_sequence: int
    type: str
    data: dict[str, Any]
    link: Link | None = None


@dataclass(frozen=True, slots=True)
class Poison:
    ledger_sequence: int
    subject: str
    event_id: str | None
    type: str | None
    reason: str
    link: Link | None = None


Decoded = AppliedFact | SystemFact | Poison


@lru_cache(maxsize=1)
def registry() -> EventRegistry:
    """The fact catalogue as an upcasting registry (upcasters register on it as versions grow)."""
    reg = EventRegistry()
    for spec in CATALOGUE.values():
        reg.register(EventSpec(spec.type, spec.version, spec.payload, str(spec.owner), spec.aggregate_type))
    try:  # contracts may publish upcasters for old payload versions
        from ledger_contracts import upcasters
    except ImportError:
        pass
    else:
        for (event_type, version), fn in getattr(upcasters, "UPCASTERS", {}).items():
            reg.upcasters[(event_type, version)] = fn
    return reg


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sealed(event: dict[str, Any]) -> bool:
    try:
        return envelope.seal_ok(event)
    except (ValueError, TypeError):  # NaN and the like: no canonical form, so no matching hash
        return False


def decode(msg: StoredMessage, *, validate: bool = True) -> Decoded:
    seq, subject = msg.stream_seq, msg.subject
    try:
        event = msg.event()
    except envelope.EnvelopeError as exc:
        return Poison(seq, subject, msg.msg_id, None, f"undecodable: {exc}")
    event_id, event_type = str(event.get("id")), str(event.get("type"))
    link = Link(subject, event.get("sequence"), event.get("prevhash"), event.get("hash"), _sealed(event))
    try:
        address = AggregateAddress.parse(subject)
    except SubjectError as exc:
        return Poison(seq, subject, event_id, event_type, f"bad subject: {exc}", link)
    if (address.tenant, address.company) != (event["tenant"], event["company"]):
        return Poison(seq, subject, event_id, event_type, "tenant/company differ from the subject", link)
    if address.tenant == SYSTEM_TENANT:
        if event_type in (CALENDAR_TYPE, RULES_TYPE):
            return SystemFact(seq, event_type, event["data"], link)
        return Poison(seq, subject, event_id, event_type, f"unknown system fact type {event_type}", link)
    try:
        version = envelope.schema_version(event)
        data = registry().upcast(event_type, version, event["data"])
        spec = registry().spec(event_type)
        if validate:
            spec.payload_model.model_validate(data)  # a check only: the stored data stays as recorded
        effective = date.fromisoformat(event["effectivedate"])
        recorded = _instant(event["time"])
    except UnknownEventType:
        return Poison(seq, subject, event_id, event_type, f"unknown type {event_type}", link)
    except CannotUpcast as exc:
        return Poison(seq, subject, event_id, event_type, f"cannot upcast: {exc}", link)
    except ValidationError as exc:
        return Poison(seq, subject, event_id, event_type,
                      f"payload refused by its model: {exc.error_count()} error(s), first at "
                      f"{'.'.join(map(str, exc.errors()[0]['loc']))}", link)
    except (envelope.EnvelopeError, ValueError, TypeError) as exc:
        return Poison(seq, subject, event_id, event_type, f"undecodable: {exc}", link)
    return AppliedFact(seq, address.tenant, address.company, event_id, event_type, address.aggregate_type,
                       address.aggregate_id, effective, recorded, data, link)

"""Aggregates: a small explicit domain model folded from its own events.

A service subclasses :class:`Aggregate`, writes ``check_<event>`` methods for
the invariants it owns and ``on_<event>`` methods that change state. Nothing
here knows about JetStream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from ledger_kernel.canonical import canonical_json
from ledger_kernel.envelope import GENESIS


class Refused(Exception):
    """A fact breaks an invariant of its aggregate: nothing is appended (HTTP 409)."""

    def __init__(self, code: str, field: str | None, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.field = field
        self.reason_en = reason_en
        self.reason_zh = reason_zh

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "reason_en": self.reason_en, "reason_zh": self.reason_zh}


class IntegrityError(RuntimeError):
    """The stored history of an aggregate is broken (gap, reorder, bad hash)."""


@dataclass(frozen=True)
class Command:
    """A validated fact on its way to becoming exactly one event."""

    tenant: str
    company: str
    type: str
    effective_date: date
    data: dict[str, Any]  # JSON-ready payload, already validated by its model
    command_id: str
    expected_sequence: int | None = None
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None

    def fingerprint(self) -> bytes:
        """What makes two commands with one command id the same request."""
        return canonical_json({"type": self.type, "company": self.company,
                               "effective_date": self.effective_date.isoformat(), "data": self.data})


@dataclass(frozen=True)
class EventRef:
    sequence: int
    stream_seq: int
    type: str
    fingerprint: bytes


@dataclass
class Aggregate:
    """State of one aggregate, plus what the repository needs for concurrency."""

    aggregate_type: ClassVar[str] = ""

    aggregate_id: str
    version: int = 0  # aggregate sequence of the last applied event
    last_stream_seq: int = 0
    last_hash: str = GENESIS
    events: dict[str, EventRef] = field(default_factory=dict)

    @staticmethod
    def _method(prefix: str, event_type: str) -> str:
        return prefix + event_type.replace(".", "_")

    def check(self, command: Command) -> None:
        """Raise :class:`Refused` if ``command`` would break an invariant of this aggregate."""
        fn = getattr(self, self._method("check_", command.type), None)
        if fn is not None:
            fn(command.data, command)

    def apply(self, event: dict[str, Any], stream_seq: int) -> None:
        if event["sequence"] != self.version + 1:
            raise IntegrityError(
                f"{self.aggregate_type}/{self.aggregate_id}: sequence {event['sequence']} after {self.version}")
        if event["prevhash"] != self.last_hash:
            raise IntegrityError(f"{self.aggregate_type}/{self.aggregate_id}: hash chain broken at {event['sequence']}")
        fn = getattr(self, self._method("on_", event["type"]), None)
        if fn is not None:
            fn(event["data"], event)
        self.version = event["sequence"]
        self.last_stream_seq = stream_seq
        self.last_hash = event["hash"]
        self.events[event["id"]] = EventRef(
            event["sequence"], stream_seq, event["type"],
            canonical_json({"type": event["type"], "company": event["company"],
                            "effective_date": event["effectivedate"], "data": event["data"]}),
        )

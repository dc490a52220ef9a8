"""The records the rule pack takes and returns. All immutable; all dates Asia/Shanghai, instants UTC.

Plain records only: an obligation's status at an instant is `status`'s, a company's whole
result (`Evaluation`) is `evaluation`'s."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar


@dataclass(frozen=True, slots=True)
class RecordedFact:
    """One ledger event, already validated by its owning service."""

    event_id: str
    type: str
    company: str
    effective_date: date
    recorded_at: datetime  # UTC instant
    data: Mapping[str, Any]
    ledger_sequence: int
    aggregate_id: str


@dataclass(frozen=True, slots=True)
class Milestone:
    key: str  # "evidence" | "audit" | "cross-check" | "sign-off"
    days_before_close: int
    due: date
    title_zh: str
    title_en: str
    acknowledged_on: date | None = None
    acknowledged_by: str | None = None


_R = TypeVar("_R")


def build_record(cls: type[_R], values: dict[str, Any]) -> _R:
    """Construct a frozen record from a complete field dict in one step.

    Frozen dataclass __init__ sets each field through object.__setattr__; the projector
    builds thousands of these per batch, so we fill __dict__ at once (same result)."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


@dataclass(frozen=True)
class Obligation:
    """Something the company must do by a date. Time-independent: statuses come from `obligation_status`."""

    id: str
    company: str
    rule: str
    title_zh: str
    title_en: str
    about: str  # licence number, phone number, decision number, site ref, vendor USCC, system ref or the USCC
    about_kind: str  # licence | number | penalty | site | system | vendor | restructuring | application | company
    year: int | None  # periodic rules; annual-report: the year reported on
    quarter: str | None  # "2026Q3"
    window_opens: date | None  # None: open from the trigger (born_on)
    due: date  # the date shown (safe deadline for backward-counted rules)
    legal_due: date  # the last day the act is legally in time (differs from due only for a safe deadline)
    due_note: str | None
    due_note_zh: str | None
    provisional: bool  # a date computation touched a year without an official calendar
    born_on: date  # the trigger's effective date: before it the obligation is 'scheduled'
    born_at: datetime | None  # when the fact that created it was recorded (UTC)
    created_by: str  # event id
    fulfilled_on: date | None
    fulfilled_by: str | None
    waived_reason: str | None
    waived_by: str | None
    waived_on: date | None
    cancelled_on: date | None
    cancelled_by: str | None
    informational: bool
    severity: str
    source: str
    confidence: str
    params: Mapping[str, Any]
    milestones: tuple[Milestone, ...] = ()
    tracked_from: date | None = None  # the company's onboarding baseline (company.tracking_started), if any

    @property
    def before_tracking(self) -> bool:
        """Due before the company's baseline: its history is attested, so missing it is no finding and no alert."""
        return self.tracked_from is not None and self.due < self.tracked_from

    def exists_on(self, day: date) -> bool:
        """Time travel: an obligation exists from its triggering fact's effective date (rules.md §6)."""
        return self.born_on <= day

    def as_dict(self) -> dict[str, Any]:
        return as_json(self)


class Interval(NamedTuple):
    """One period in which a finding was open; resolved_at None means still open."""

    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True)
class Finding:
    """A state that is (or was) wrong, with every interval in which it held."""

    id: str
    company: str
    rule: str
    subject: str  # what it is about, e.g. "number:4006001234", "licence:B2-20220315", "company"
    title_zh: str
    title_en: str
    severity: str
    message_zh: str  # from the latest evaluation of the rule
    message_en: str
    evidence: Mapping[str, Any]  # {"events": [...], figures...}
    source: str
    confidence: str
    params: Mapping[str, Any]
    intervals: tuple[Interval, ...]

    @property
    def opened_at(self) -> datetime:
        return self.intervals[-1].opened_at

    @property
    def resolved_at(self) -> datetime | None:
        return self.intervals[-1].resolved_at

    def open_at(self, at: datetime) -> bool:
        return finding_open_at(self, at)

    def as_dict(self) -> dict[str, Any]:
        return as_json(self)


def finding_open_at(f: Finding, at: datetime) -> bool:
    """True when `at` falls in one of the finding's open intervals."""
    if at.tzinfo is None:
        raise ValueError(f"instant {at.isoformat()} has no time zone: pass an aware datetime")
    for opened, resolved, _ in f.intervals:
        if opened <= at and (resolved is None or at < resolved):
            return True
    return False


@dataclass(frozen=True, slots=True)
class ReminderStep:
    obligation_id: str
    step: str  # "d-30" … "d0" … "d+14", or "m-90" for a preparation milestone
    offset_days: int  # days before due (negative: overdue)
    fires_on: date  # local date
    fires_at: datetime  # 00:00 Asia/Shanghai of fires_on, in UTC
    alert_type: str  # obligation.due_soon | obligation.due_today | obligation.overdue
    alert_id: str  # obligation id + step: a reminder is sent once


@dataclass(frozen=True, slots=True)
class TrafficMonth:
    month: str  # "2026-09"
    calls_total: int | None
    complaints: int | None
    event_id: str


@dataclass(frozen=True, slots=True)
class SpotCheck:
    on: date
    sampled: int
    passed: int
    event_id: str


@dataclass(frozen=True, slots=True)
class PenaltyRecord:
    decision_no: str
    decided_on: date
    revoked_on: date | None
    fine: float | None
    event_id: str


@dataclass(frozen=True, slots=True)
class ListingPeriod:
    list: str  # bad | dishonest | abnormal
    listed_on: date
    removed_on: date | None
    event_id: str


@dataclass(frozen=True, slots=True)
class CreditInputs:
    """What the credit estimate needs, kept with the evaluation so it can be scored at any instant."""

    traffic: tuple[TrafficMonth, ...]
    spot_checks: tuple[SpotCheck, ...]
    penalties: tuple[PenaltyRecord, ...]
    listings: tuple[ListingPeriod, ...]


@dataclass(frozen=True, slots=True)
class CreditComponent:
    name: str
    title_zh: str
    title_en: str
    inputs: Mapping[str, Any]
    deduction: float
    cap: float


@dataclass(frozen=True, slots=True)
class CreditEstimate:
    label: str  # always "estimate"
    score: float | None  # None when there is no traffic data to score
    band: str | None  # good | watch | at_risk
    coverage_months: int
    window_months: int
    window: tuple[str, str]  # first and last month of the trailing window
    components: tuple[CreditComponent, ...]
    statement_zh: str
    statement_en: str

    def as_dict(self) -> dict[str, Any]:
        return as_json(self)


def as_json(value: Any) -> Any:
    """JSON-ready form: dates and instants as ISO strings, records as objects, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "pack"}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: as_json(v) for k, v in value._asdict().items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [as_json(v) for v in value]
    return value

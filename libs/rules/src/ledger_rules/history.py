"""One company's facts folded into dated records.

Facts are ordered by the day they happened (the payload's own date where the catalogue
has one — issued_on, applied_on, submitted_on, filed_on, verified_on — else
`effective_date`), then by ledger sequence. Every query is *as of* a day, so the same
records serve obligations (computed once) and findings (walked day by day).

A fold is registered with its type's payload model (`@folds(NumberAllocated)`) and receives the
payload as that model, validated once here at the entry point (`History.extend`): its fields are real
dates, ints, amounts and enums, and `Event.data` is the model too. A payload the model refuses is an
error of the edge that let it through (the projector parks such facts before they reach the rules):
it raises InvalidPayload naming the fact and the field, and nothing is folded.
"""

from __future__ import annotations

import bisect
import builtins
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Protocol

from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.enums import RegistrationField
from ledger_contracts.facts import (
    CompanyCapabilitiesDeclared,
    CompanyMilestoneAcknowledged,
    CompanyObligationWaived,
    CompanyRegistered,
    CompanyRegistrationChanged,
    CompanyRestructuringApproved,
    CompanyRestructuringCompleted,
    CompanyRestructuringDecided,
    CompanyTrackingStarted,
    FacilityEmergencyPlanUpdated,
    FacilityMlpsAssessed,
    FacilityMlpsFiled,
    FactPayload,
    LicenceAnnualReportAccepted,
    LicenceAnnualReportReturned,
    LicenceAnnualReportSubmitted,
    LicenceApplied,
    LicenceCancelled,
    LicenceChangeFiled,
    LicenceIssued,
    LicenceRefused,
    LicenceReinstated,
    LicenceRenewalApplied,
    LicenceRenewalRefused,
    LicenceRenewed,
    LicenceRevoked,
    LicenceSuspended,
    ListingListed,
    ListingRemoved,
    NumberActivated,
    NumberActivationReported,
    NumberAllocated,
    NumberContactChangeNotified,
    NumberFeePaid,
    NumberFiled,
    NumberingAnnualReportSubmitted,
    NumberReleased,
    OutsourcingArranged,
    OutsourcingEnded,
    OutsourcingVendorVerified,
    PenaltyImposed,
    PenaltyPaid,
    PenaltyRectificationAccepted,
    PenaltyRectificationDeadlineRecorded,
    PenaltyRectificationSubmitted,
    PenaltyRevoked,
    SiteLeased,
    SiteLeaseRenewed,
    SiteVacated,
    TrafficPeriodReported,
    TrafficSpotCheckRecorded,
    WorkforceSeatsDeclared,
    WorkforceSocialInsuranceReported,
    WorkforceThreeWayCheckRecorded,
)
from ledger_contracts.formats import parse_money
from pydantic import ValidationError
from typing_extensions import TypeVar

from .instants import local_date
from .model import RecordedFact
from .registry import family_of

P = TypeVar("P", bound=FactPayload)
T = TypeVar("T")
D = TypeVar("D", default=Any)  # what an Event's data is: its payload model (Event[NumberAllocated])

RECENT_MONTHS = 12  # social insurance look-back kept per report (rule parameter `months` up to this)

_FOLDS: dict[str, Callable[[History, Event, Any], None]] = {}
_OWN_DATE: dict[str, str] = {}  # fact type → the payload field that says when it happened


class InvalidPayload(ValueError):
    """A payload its contract model refuses reached the rule pack: the edge should have parked it."""


def folds(model: type[P], *, own_date: str | None = None) -> Callable[
        [Callable[[History, Event, P], None]], Callable[[History, Event, P], None]]:
    """Register how facts of one type are folded into a company's History.

    `model`: the type's payload model in the catalogue; the fold receives the payload as that model.
    `own_date`: the payload's own date, when the catalogue has one (issued_on, filed_on …);
    the fact is dated by it instead of its effective date. A type without a fold is kept as an
    event (it still dates the company's history) but changes no record."""
    fact_type = model.fact_type
    if fact_type not in CATALOGUE or fact_type in _FOLDS or CATALOGUE[fact_type].payload is not model:
        raise ValueError(f"{model.__name__} is no payload model of the catalogue, or its type is folded twice")

    def register(fold: Callable[[History, Event, P], None]) -> Callable[[History, Event, P], None]:
        _FOLDS[fact_type] = fold
        if own_date is not None:
            _OWN_DATE[fact_type] = own_date
        return fold

    return register


def cny(amount: Decimal) -> float:
    """An amount of the contract's (a Decimal) as the rules count with it: a whole amount stays an int,
    so it is written out as it was recorded (5000, not 5000.0)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def payload_of(fact_type: str, data: Mapping[str, Any], event_id: str = "") -> FactPayload | Mapping[str, Any]:
    """The payload as its contract model; InvalidPayload, naming the fact, if the model refuses it.
    A type outside the catalogue (none of the rules' business) keeps its dict: no fold reads it."""
    spec = CATALOGUE.get(fact_type)
    if spec is None:
        return data
    try:
        return spec.payload.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidPayload(
            f"{fact_type} {event_id}: payload refused by its model ({exc.error_count()} error(s), first at "
            f"{'.'.join(map(str, first['loc'])) or '(payload)'}: {first['msg']})") from None


def quarter_of(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


class Dated(Generic[T]):
    """(day, value) pairs in day order with an as-of lookup."""

    __slots__ = ("days", "values")

    def __init__(self) -> None:
        self.days: list[date] = []
        self.values: list[T] = []

    def add(self, day: date, value: T) -> None:
        i = bisect.bisect_right(self.days, day)
        self.days.insert(i, day)
        self.values.insert(i, value)

    def as_of(self, day: date) -> T | None:
        i = bisect.bisect_right(self.days, day)
        return self.values[i - 1] if i else None

    def upto(self, day: date) -> list[T]:
        return self.values[: bisect.bisect_right(self.days, day)]

    def __iter__(self) -> Iterator[tuple[date, T]]:
        return iter(zip(self.days, self.values, strict=True))

    def __bool__(self) -> bool:
        return bool(self.days)


@dataclass(slots=True)
class Event(Generic[D]):
    """The parts of a fact the rules use. `data`: the payload as its contract model where the type's
    fold is registered with the model (Event[WorkforceSeatsDeclared]), else the stored dict."""

    id: str
    on: date
    recorded_at: datetime | None
    data: D


@dataclass
class Licence:
    no: str
    issued: Event
    category: str
    scope: str  # nationwide | provincial
    provinces: tuple[str, ...]
    authority: str
    expires_on: date
    renewals: list[tuple[Event, date]] = field(default_factory=list)  # (fact, new expiry)
    applications: list[Event] = field(default_factory=list)
    refusals: list[Event] = field(default_factory=list)
    ended: Event | None = None  # cancelled or revoked
    ended_kind: str | None = None
    suspensions: list[Event] = field(default_factory=list)
    reinstatements: list[Event] = field(default_factory=list)
    change_filings: list[tuple[Event, tuple[str, ...]]] = field(default_factory=list)
    reports: dict[int, list[Event]] = field(default_factory=dict)
    returns: dict[int, list[tuple[Event, date]]] = field(default_factory=dict)  # (fact, correct by)
    accepted: dict[int, Event] = field(default_factory=dict)

    @property
    def start(self) -> date:
        return self.issued.on

    def terms(self) -> list[tuple[date, date, Event]]:
        """(term start, expiry, fact that set it), in order."""
        out = [(self.start, self.expires_on, self.issued)]
        for ev, new in self.renewals:
            if new > out[-1][1]:
                out.append((ev.on, new, ev))
        return out

    def expiry_as_of(self, day: date) -> date:
        e = self.expires_on
        for ev, new in self.renewals:
            if ev.on <= day and new > e:
                e = new
        return e

    def pending_application(self, expiry: date, day: date) -> Event | None:
        """An application made by `expiry` and undecided on `day` (行政许可法 Art. 50)."""
        for a in self.applications:
            if a.on > expiry or a.on > day:
                continue
            decided = any(a.on <= ev.on <= day for ev, _ in self.renewals) or any(
                a.on <= r.on <= day for r in self.refusals
            )
            if not decided:
                return a
        return None

    def active_on(self, day: date) -> bool:
        if day < self.start or (self.ended is not None and day >= self.ended.on):
            return False
        e = self.expiry_as_of(day)
        return day <= e or self.pending_application(e, day) is not None

    def suspended_on(self, day: date) -> bool:
        last_s = max((s.on for s in self.suspensions if s.on <= day), default=None)
        if last_s is None:
            return False
        last_r = max((r.on for r in self.reinstatements if r.on <= day), default=None)
        return last_r is None or last_r < last_s

    def time_points(self) -> list[date]:
        """Days on which the licence may change state without a fact: the day after each expiry."""
        return [e + timedelta(days=1) for _, e, _ in self.terms()]


@dataclass
class Number:
    number: str
    kind: str
    province: str | None
    allocated: Event
    activated: Event | None = None
    released: Event | None = None
    filed: Event | None = None
    activation_reported: Event | None = None
    contact_notices: list[Event] = field(default_factory=list)
    fees: dict[str, Event] = field(default_factory=dict)

    def held_on(self, day: date) -> bool:
        return self.allocated.on <= day and (self.released is None or day < self.released.on)

    def active_on(self, day: date) -> bool:
        return (
            self.activated is not None and self.activated.on <= day and (self.released is None or day < self.released.on)
        )


@dataclass
class Penalty:
    decision_no: str
    imposed: Event
    decided_on: date
    received_on: date
    fine: float  # CNY, 0 if none
    orders_rectification: bool
    rectification_due: date | None
    deadline_recorded: Event | None = None  # a later fact recording the deadline
    payments: list[tuple[Event, float]] = field(default_factory=list)
    rectification_submitted: Event | None = None
    rectification_accepted: Event | None = None
    revoked: Event | None = None


@dataclass
class Site:
    ref: str
    leased: Event
    province: str
    area_m2: float
    lease_end: date
    purpose_text: str
    sublease: bool
    owner_consent: bool
    renewals: list[tuple[Event, date]] = field(default_factory=list)
    vacated: Event | None = None

    def held_on(self, day: date) -> bool:
        return self.leased.on <= day and (self.vacated is None or day < self.vacated.on)

    def lease_end_as_of(self, day: date) -> date:
        end = self.lease_end
        for ev, new in self.renewals:
            if ev.on <= day:
                end = new
        return end


@dataclass
class System:
    ref: str
    filings: list[tuple[Event, int]] = field(default_factory=list)  # (fact, protection level 1–5)
    assessments: list[tuple[Event, int]] = field(default_factory=list)

    def level_as_of(self, day: date) -> int | None:
        level = None
        for ev, lv in sorted(self.filings + self.assessments, key=lambda x: x[0].on):
            if ev.on <= day:
                level = lv
        return level


@dataclass
class Arrangement:
    vendor_uscc: str
    arranged: Event
    mode: str  # seat_leasing | bpo
    vendor_name: str
    licence_category: str | None
    licence_expires_on: date | None
    provinces_served: tuple[str, ...]
    ended: Event | None = None
    verifications: list[Event[OutsourcingVendorVerified]] = field(default_factory=list)

    def active_on(self, day: date) -> bool:
        return self.arranged.on <= day and (self.ended is None or day < self.ended.on)


@dataclass
class Restructuring:
    ref: str
    decided: Event | None = None
    kind: str | None = None
    approved: Event | None = None
    completed: Event | None = None


@dataclass
class Listing:
    list: str  # hides the builtin in this class body, hence builtins.list below
    periods: builtins.list[tuple[Event, Event | None]] = field(default_factory=builtins.list)  # (listed, removed)
    notices: dict[str, ListingListed] = field(default_factory=dict)  # listed event id → who listed it, why

    def listed_on(self, day: date) -> Event | None:
        for listed, removed in self.periods:
            if listed.on <= day and (removed is None or day < removed.on):
                return listed
        return None


class History:
    """Everything known about one company, each item dated by when it happened."""

    def __init__(self, company: str, validity_years: int = 5) -> None:
        self.company = company
        self.events: list[Event] = []
        # event id → (type, payload model) of every fact validated here: a fold started again over the same
        # facts (one dated among the folded ones arrived) takes them from here instead of validating again
        self.payloads: dict[str, tuple[str, FactPayload | Mapping[str, Any]]] = {}
        self.slices_on: dict[date, set[str]] = {}
        self.last_event_on: dict[tuple[date, str], str] = {}
        self.latest_day: date | None = None
        # no longer read: the contract requires a licence's expiry, so none is assumed (the callers that
        # still pass the pack's `licence.validity_years` — evaluation, the projector — can stop)
        self.validity_years = validity_years
        self.name: Dated[str] = Dated()
        self.capital: Dated[tuple[float, str]] = Dated()  # registered capital, the fact that says it
        self.industry: Dated[str] = Dated()
        self.changes: list[tuple[Event, str]] = []  # registration changes (fact, field)
        self.capabilities: Dated[Event[CompanyCapabilitiesDeclared]] = Dated()
        self.licences: dict[str, Licence] = {}
        self.applications: list[Event[LicenceApplied]] = []
        self.refusals: list[Event[LicenceRefused]] = []  # a new licence refused
        self.restructurings: dict[str, Restructuring] = {}
        self.waivers: dict[str, list[Event[CompanyObligationWaived]]] = {}
        self.milestone_acks: dict[str, list[Event[CompanyMilestoneAcknowledged]]] = {}
        self.arrangements: dict[str, Arrangement] = {}
        self.numbers: dict[str, Number] = {}
        self.number_reports: dict[int, Event] = {}
        self.traffic: Dated[tuple[str, Event[TrafficPeriodReported]]] = Dated()  # (month, report)
        self.traffic_by_month: dict[str, Event[TrafficPeriodReported]] = {}
        # (month, report) of the latest month known
        self.traffic_latest: Dated[tuple[str, Event[TrafficPeriodReported]]] = Dated()
        self.spot_checks: list[Event[TrafficSpotCheckRecorded]] = []
        self.seats: Dated[Event[WorkforceSeatsDeclared]] = Dated()
        self.insurance: Dated[Event[WorkforceSocialInsuranceReported]] = Dated()
        # ((month, report), …) of the latest RECENT_MONTHS months
        self.insurance_recent: Dated[tuple[tuple[str, Event[WorkforceSocialInsuranceReported]], ...]] = Dated()
        self.three_way_checks: list[Event[WorkforceThreeWayCheckRecorded]] = []
        self.three_way: Dated[Event[WorkforceThreeWayCheckRecorded]] = Dated()
        self.sites: dict[str, Site] = {}
        self.systems: dict[str, System] = {}
        self.plan_updates: list[Event] = []
        self.penalties: dict[str, Penalty] = {}
        self.listings: dict[str, Listing] = {}
        self.tracked_from: date | None = None  # the latest company.tracking_started (rules.md §5)
        self.tracking: Event | None = None
        self._cc_key: Any = None
        self._cc: list[Licence] = []
        self._licensed: dict[tuple[date, bool], list[Licence]] = {}  # licensed_on answers (facts are fixed)
        self._folded_to: tuple[date, int] | None = None  # (day, ledger sequence) of the last fact folded
        self._tracking_seq = -1  # ledger sequence of the company.tracking_started that counts

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_facts(cls, facts: Sequence[RecordedFact], validity_years: int = 5,
                   payloads: Mapping[str, tuple[str, FactPayload | Mapping[str, Any]]] | None = None) -> History:
        """`validity_years`: the pack's licence validity, no longer read (see __init__). `payloads`: an
        earlier fold's validated payloads (`History.payloads`) of some of these facts, used as they are."""
        company = facts[0].company if facts else ""
        h = cls(company, validity_years)
        if payloads:
            h.payloads.update(payloads)
        h.extend(facts)
        return h

    def extend(self, facts: Sequence[RecordedFact]) -> bool:
        """Fold more facts of the same company into this history, if they all come after the ones
        already folded in the fold's order (day, then ledger sequence); False, and nothing changed,
        if one would land among them: the caller folds the whole history again (`from_facts`).

        This is what lets a long-lived caller keep a company's history between batches instead of
        folding every fact again; the result is the same as `from_facts` over all the facts."""
        ordered: list[tuple[date, int, RecordedFact, FactPayload | Mapping[str, Any]]] = []
        known = self.payloads
        for f in facts:
            seq = f.ledger_sequence if isinstance(f.ledger_sequence, int) else 0
            # validated before anything is folded in: a refused payload leaves the history as it was
            hit = known.get(str(f.event_id))
            payload = hit[1] if hit is not None and hit[0] == f.type else payload_of(f.type, f.data, str(f.event_id))
            own = _OWN_DATE.get(f.type)
            on: date = getattr(payload, own) if own is not None else f.effective_date
            ordered.append((on, seq, f, payload))
        ordered.sort(key=lambda x: (x[0], x[1]))
        if not ordered:
            return True
        for _, _, f, payload in ordered:  # valid whether or not they fold here: a refold takes them
            known[str(f.event_id)] = (f.type, payload)
        # the onboarding baseline folds the same in any order (the latest recorded counts): an import that
        # records it first, dated years after the history it brings, must not make every later fact a refold
        dated = [(on, seq) for on, seq, f, _ in ordered if f.type != "company.tracking_started"]
        if dated and self._folded_to is not None and dated[0] < self._folded_to:
            return False
        if dated:
            self._folded_to = dated[-1]
        self._cc_key, self._cc, self._licensed = None, [], {}  # answers cached over the facts as they were
        for on, seq, f, payload in ordered:
            rec = f.recorded_at if isinstance(f.recorded_at, datetime) else None
            ev: Event = Event(str(f.event_id), on, rec, payload)
            self.latest_day = on if self.latest_day is None or on > self.latest_day else self.latest_day
            if rec is not None and rec.tzinfo is not None and rec.utcoffset() is not None:
                self.latest_day = max(self.latest_day, local_date(rec))
            if f.type == "company.tracking_started":
                # recording it again moves the baseline: the latest recorded one counts, whatever its date.
                # It is about the ledger, not the company's history: no slice, no creator of obligations.
                if seq >= self._tracking_seq and isinstance(payload, CompanyTrackingStarted):
                    self._tracking_seq, self.tracked_from, self.tracking = seq, payload.tracked_from, ev
                continue
            self.events.append(ev)
            slice_ = family_of(f.type) if isinstance(f.type, str) else None
            if slice_ is None:
                continue
            self.slices_on.setdefault(on, set()).add(slice_)
            self.last_event_on[(on, slice_)] = ev.id
            handler = _FOLDS.get(f.type)
            if handler is not None:
                handler(self, ev, payload)
        return True

    # -- queries --------------------------------------------------------------------------

    def call_centre_licences(self, licence_facts: Mapping[str, Any]) -> list[Licence]:
        key = (licence_facts["call_centre_categories"], licence_facts["mislabel_categories"])
        if self._cc_key != key:
            ok = set(key[0]) | set(key[1])
            self._cc_key, self._cc = key, [lic for lic in self.licences.values() if lic.category in ok]
            self._licensed = {}
        return self._cc

    def numbers_held(self, day: date) -> list[Number]:
        return [n for n in self.numbers.values() if n.held_on(day)]

    def licensed_on(self, day: date, licence_facts: Mapping[str, Any], operable: bool = False) -> list[Licence]:
        """Active call-centre licences of the company's own on `day` (operable: not suspended).

        Asked by several finding rules on each checkpoint day: answered once per day (callers only read it)."""
        licences = self.call_centre_licences(licence_facts)
        key = (day, operable)
        hit = self._licensed.get(key)
        if hit is None:
            hit = self._licensed[key] = [
                lic for lic in licences if lic.active_on(day) and not (operable and lic.suspended_on(day))
            ]
        return hit

    def indicators_on(self, day: date) -> list[tuple[str, str, str]]:
        """Signs of call-centre operation (rules.md §3): (zh, en, event id)."""
        out = []
        for n in self.numbers.values():
            if n.active_on(day) and n.activated is not None:
                out.append((f"号码{n.number}已启用", f"number {n.number} activated", n.activated.id))
        seats = self.seats.as_of(day)
        if seats is not None and (k := seats.data.declared_seats) > 0:
            out.append((f"申报座席{k}个", f"{k} seats declared", seats.id))
        for a in self.arrangements.values():
            if a.mode == "seat_leasing" and a.active_on(day):
                out.append((f"租用{a.vendor_name}的座席", f"seats leased from {a.vendor_name}", a.arranged.id))
        return out

    def operating_on(self, day: date, licence_facts: Mapping[str, Any]) -> bool:
        """Licensed, or any of `indicators_on` (asked on every checkpoint day: without building their texts)."""
        if self.licensed_on(day, licence_facts) or any(n.active_on(day) for n in self.numbers.values()):
            return True
        seats = self.seats.as_of(day)
        if seats is not None and seats.data.declared_seats > 0:
            return True
        return any(a.mode == "seat_leasing" and a.active_on(day) for a in self.arrangements.values())

    def checkpoints(self, horizon: date) -> list[date]:
        """Every day on which anything may change, up to the horizon."""
        return sorted(d for d in set(self.slices_on) | self.time_points() if d <= horizon)

    def operating_intervals(self, licence_facts: Mapping[str, Any], horizon: date) -> list[tuple[date, date | None]]:
        """[start, end) periods in which the company operates (licensed, or operating signs)."""
        out: list[tuple[date, date | None]] = []
        start = None
        for day in self.checkpoints(horizon):
            on = self.operating_on(day, licence_facts)
            if on and start is None:
                start = day
            elif not on and start is not None:
                out.append((start, day))
                start = None
        if start is not None:
            out.append((start, None))
        return out

    def time_points(self) -> set[date]:
        """Days when state changes without a fact (licence lapses, vendor licence expiries)."""
        days: set[date] = set()
        for lic in self.licences.values():
            days.update(lic.time_points())
        for a in self.arrangements.values():
            if a.licence_expires_on is not None:
                days.add(a.licence_expires_on + timedelta(days=1))
        return days


@folds(CompanyRegistered)
def _on_company_registered(h: History, ev: Event, p: CompanyRegistered) -> None:
    h.capital.add(ev.on, (cny(p.registered_capital), ev.id))
    h.name.add(ev.on, p.name)
    h.industry.add(ev.on, p.industry.value)


@folds(CompanyRegistrationChanged)
def _on_registration_changed(h: History, ev: Event, p: CompanyRegistrationChanged) -> None:
    h.changes.append((ev, p.field.value))
    if p.field is RegistrationField.registered_capital:
        h.capital.add(ev.on, (cny(parse_money(p.new)), ev.id))  # the model has checked it is an amount
    elif p.field is RegistrationField.name:
        h.name.add(ev.on, p.new)


def _restructuring(h: History, ref: str) -> Restructuring:
    return h.restructurings.setdefault(ref, Restructuring(ref))


@folds(CompanyRestructuringDecided)
def _on_restructuring_decided(h: History, ev: Event, p: CompanyRestructuringDecided) -> None:
    if (r := _restructuring(h, p.ref)).decided is None:
        r.decided, r.kind = ev, p.kind.value


@folds(CompanyRestructuringApproved)
def _on_restructuring_approved(h: History, ev: Event, p: CompanyRestructuringApproved) -> None:
    if (r := _restructuring(h, p.ref)).approved is None:
        r.approved = ev


@folds(CompanyRestructuringCompleted)
def _on_restructuring_completed(h: History, ev: Event, p: CompanyRestructuringCompleted) -> None:
    if (r := _restructuring(h, p.ref)).completed is None:
        r.completed = ev


@folds(CompanyCapabilitiesDeclared)
def _on_capabilities(h: History, ev: Event, p: CompanyCapabilitiesDeclared) -> None:
    h.capabilities.add(ev.on, ev)


@folds(CompanyObligationWaived)
def _on_waived(h: History, ev: Event, p: CompanyObligationWaived) -> None:
    h.waivers.setdefault(p.obligation_id, []).append(ev)


@folds(CompanyMilestoneAcknowledged)
def _on_milestone(h: History, ev: Event, p: CompanyMilestoneAcknowledged) -> None:
    h.milestone_acks.setdefault(p.obligation_id, []).append(ev)


class _AboutLicence(Protocol):
    @property
    def licence_no(self) -> str: ...


@folds(LicenceIssued, own_date="issued_on")
def _on_licence_issued(h: History, ev: Event, p: LicenceIssued) -> None:
    if p.licence_no in h.licences:
        return
    h.licences[p.licence_no] = Licence(
        no=p.licence_no,
        issued=ev,
        category=p.category,
        scope=p.scope.value,
        provinces=tuple(p.provinces),
        authority=p.authority,
        expires_on=p.expires_on,
    )


@folds(LicenceApplied)
def _on_licence_applied(h: History, ev: Event, p: LicenceApplied) -> None:
    h.applications.append(ev)


@folds(LicenceRefused)
def _on_licence_refused(h: History, ev: Event, p: LicenceRefused) -> None:
    h.refusals.append(ev)


@folds(LicenceChangeFiled, own_date="filed_on")
def _on_change_filed(h: History, ev: Event, p: LicenceChangeFiled) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.change_filings.append((ev, tuple(f.value for f in p.fields)))


@folds(LicenceRenewalApplied, own_date="applied_on")
def _on_renewal_applied(h: History, ev: Event, p: LicenceRenewalApplied) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.applications.append(ev)


@folds(LicenceRenewed)
def _on_renewed(h: History, ev: Event, p: LicenceRenewed) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.renewals.append((ev, p.new_expires_on))


@folds(LicenceRenewalRefused)
def _on_renewal_refused(h: History, ev: Event, p: LicenceRenewalRefused) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.refusals.append(ev)


@folds(LicenceAnnualReportSubmitted, own_date="submitted_on")
def _on_annual_report(h: History, ev: Event, p: LicenceAnnualReportSubmitted) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.reports.setdefault(p.year, []).append(ev)


@folds(LicenceAnnualReportReturned)
def _on_annual_report_returned(h: History, ev: Event, p: LicenceAnnualReportReturned) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.returns.setdefault(p.year, []).append((ev, p.correct_by))


@folds(LicenceAnnualReportAccepted)
def _on_annual_report_accepted(h: History, ev: Event, p: LicenceAnnualReportAccepted) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.accepted.setdefault(p.year, ev)


def _ender(kind: str) -> Callable[[History, Event, _AboutLicence], None]:
    def handler(h: History, ev: Event, p: _AboutLicence) -> None:
        if (lic := h.licences.get(p.licence_no)) is not None and lic.ended is None:
            lic.ended, lic.ended_kind = ev, kind

    return handler


folds(LicenceRevoked)(_ender("revoked"))
folds(LicenceCancelled)(_ender("cancelled"))


@folds(LicenceSuspended)
def _on_suspended(h: History, ev: Event, p: LicenceSuspended) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.suspensions.append(ev)


@folds(LicenceReinstated)
def _on_reinstated(h: History, ev: Event, p: LicenceReinstated) -> None:
    if (lic := h.licences.get(p.licence_no)) is not None:
        lic.reinstatements.append(ev)


@folds(OutsourcingArranged)
def _on_arranged(h: History, ev: Event, p: OutsourcingArranged) -> None:
    previous = h.arrangements.get(p.vendor_uscc)
    if previous is not None and previous.ended is None:
        # a renewed arrangement with the same vendor updates what we know of its licence
        previous.licence_category = p.vendor_licence_category
        previous.licence_expires_on = p.vendor_licence_expires_on
        previous.vendor_name = p.vendor_name
        return
    h.arrangements[p.vendor_uscc] = Arrangement(
        vendor_uscc=p.vendor_uscc,
        arranged=ev,
        mode=p.mode.value,
        vendor_name=p.vendor_name,
        licence_category=p.vendor_licence_category,
        licence_expires_on=p.vendor_licence_expires_on,
        provinces_served=tuple(p.provinces_served),
    )


@folds(OutsourcingVendorVerified, own_date="verified_on")
def _on_vendor_verified(h: History, ev: Event, p: OutsourcingVendorVerified) -> None:
    if (a := h.arrangements.get(p.vendor_uscc)) is not None:
        a.verifications.append(ev)


@folds(OutsourcingEnded)
def _on_outsourcing_ended(h: History, ev: Event, p: OutsourcingEnded) -> None:
    if (a := h.arrangements.get(p.vendor_uscc)) is not None and a.ended is None:
        a.ended = ev


class _AboutNumber(Protocol):
    @property
    def number(self) -> str: ...  # national digits only (the model normalises it)


@folds(NumberAllocated)
def _on_number_allocated(h: History, ev: Event, p: NumberAllocated) -> None:
    existing = h.numbers.get(p.number)
    if existing is not None and existing.released is None:
        return
    h.numbers[p.number] = Number(p.number, p.kind.value, p.province, ev)


def _number_setter(attr: str) -> Callable[[History, Event, _AboutNumber], None]:
    def handler(h: History, ev: Event, p: _AboutNumber) -> None:
        if (n := h.numbers.get(p.number)) is not None and getattr(n, attr) is None:
            setattr(n, attr, ev)

    return handler


folds(NumberFiled)(_number_setter("filed"))
folds(NumberActivated)(_number_setter("activated"))
folds(NumberReleased)(_number_setter("released"))
folds(NumberActivationReported)(_number_setter("activation_reported"))


@folds(NumberContactChangeNotified)
def _on_contact_notified(h: History, ev: Event, p: NumberContactChangeNotified) -> None:
    if (n := h.numbers.get(p.number)) is not None:
        n.contact_notices.append(ev)


@folds(NumberFeePaid)
def _on_fee_paid(h: History, ev: Event, p: NumberFeePaid) -> None:
    if (n := h.numbers.get(p.number)) is not None:
        n.fees.setdefault(p.quarter, ev)


@folds(NumberingAnnualReportSubmitted)
def _on_number_report(h: History, ev: Event, p: NumberingAnnualReportSubmitted) -> None:
    h.number_reports.setdefault(p.year, ev)


@folds(TrafficPeriodReported)
def _on_traffic(h: History, ev: Event, p: TrafficPeriodReported) -> None:
    month = p.month
    h.traffic_by_month[month] = ev
    h.traffic.add(ev.on, (month, ev))
    # the report of the latest month known so far (facts arrive in day order): O(1) per query later
    best = h.traffic_latest.values[-1] if h.traffic_latest else None
    if best is None or month >= best[0]:
        best = (month, ev)
    h.traffic_latest.add(ev.on, best)


@folds(TrafficSpotCheckRecorded)
def _on_spot_check(h: History, ev: Event, p: TrafficSpotCheckRecorded) -> None:
    h.spot_checks.append(ev)


@folds(WorkforceSeatsDeclared)
def _on_seats(h: History, ev: Event, p: WorkforceSeatsDeclared) -> None:
    h.seats.add(ev.on, ev)


@folds(WorkforceSocialInsuranceReported)
def _on_insurance(h: History, ev: Event, p: WorkforceSocialInsuranceReported) -> None:
    h.insurance.add(ev.on, ev)
    # the latest RECENT_MONTHS reported months so far, each month's latest report
    recent = dict(h.insurance_recent.values[-1]) if h.insurance_recent else {}
    recent[p.month] = ev
    keep = sorted(recent)[-RECENT_MONTHS:]
    h.insurance_recent.add(ev.on, tuple((m, recent[m]) for m in keep))


@folds(WorkforceThreeWayCheckRecorded)
def _on_three_way(h: History, ev: Event, p: WorkforceThreeWayCheckRecorded) -> None:
    h.three_way_checks.append(ev)
    h.three_way.add(ev.on, ev)


@folds(SiteLeased)
def _on_site_leased(h: History, ev: Event, p: SiteLeased) -> None:
    if p.site_ref in h.sites and h.sites[p.site_ref].vacated is None:
        return
    h.sites[p.site_ref] = Site(
        ref=p.site_ref,
        leased=ev,
        province=p.province,
        area_m2=float(p.area_m2),
        lease_end=p.lease_end,
        purpose_text=p.purpose_text,
        sublease=p.sublease,
        owner_consent=p.owner_consent,
    )


@folds(SiteLeaseRenewed)
def _on_lease_renewed(h: History, ev: Event, p: SiteLeaseRenewed) -> None:
    if (s := h.sites.get(p.site_ref)) is not None:
        s.renewals.append((ev, p.new_lease_end))


@folds(SiteVacated)
def _on_vacated(h: History, ev: Event, p: SiteVacated) -> None:
    if (s := h.sites.get(p.site_ref)) is not None and s.vacated is None:
        s.vacated = ev


def _system(h: History, ref: str) -> System:
    return h.systems.setdefault(ref, System(ref))


@folds(FacilityMlpsFiled)
def _on_mlps_filed(h: History, ev: Event, p: FacilityMlpsFiled) -> None:
    _system(h, p.system_ref).filings.append((ev, p.level))


@folds(FacilityMlpsAssessed)
def _on_mlps_assessed(h: History, ev: Event, p: FacilityMlpsAssessed) -> None:
    _system(h, p.system_ref).assessments.append((ev, p.level))


@folds(FacilityEmergencyPlanUpdated)
def _on_plan_updated(h: History, ev: Event, p: FacilityEmergencyPlanUpdated) -> None:
    h.plan_updates.append(ev)


@folds(PenaltyImposed)
def _on_penalty_imposed(h: History, ev: Event, p: PenaltyImposed) -> None:
    if p.decision_no in h.penalties:
        return
    h.penalties[p.decision_no] = Penalty(
        decision_no=p.decision_no,
        imposed=ev,
        decided_on=p.decided_on,
        received_on=p.received_on,
        fine=cny(p.fine),
        orders_rectification=p.orders_rectification,
        rectification_due=p.rectification_due,
    )


@folds(PenaltyPaid)
def _on_penalty_paid(h: History, ev: Event, p: PenaltyPaid) -> None:
    if (pen := h.penalties.get(p.decision_no)) is not None:
        pen.payments.append((ev, cny(p.amount)))


class _AboutDecision(Protocol):
    @property
    def decision_no(self) -> str: ...


def _penalty_setter(attr: str) -> Callable[[History, Event, _AboutDecision], None]:
    def handler(h: History, ev: Event, p: _AboutDecision) -> None:
        if (pen := h.penalties.get(p.decision_no)) is not None and getattr(pen, attr) is None:
            setattr(pen, attr, ev)

    return handler


folds(PenaltyRectificationSubmitted)(_penalty_setter("rectification_submitted"))
folds(PenaltyRectificationAccepted)(_penalty_setter("rectification_accepted"))
folds(PenaltyRevoked)(_penalty_setter("revoked"))


@folds(PenaltyRectificationDeadlineRecorded)
def _on_deadline_recorded(h: History, ev: Event, p: PenaltyRectificationDeadlineRecorded) -> None:
    if (pen := h.penalties.get(p.decision_no)) is not None:
        pen.rectification_due, pen.deadline_recorded = p.rectification_due, ev


@folds(ListingListed)
def _on_listed(h: History, ev: Event, p: ListingListed) -> None:
    lst = h.listings.setdefault(p.list.value, Listing(p.list.value))
    if not lst.periods or lst.periods[-1][1] is not None:
        lst.periods.append((ev, None))
        lst.notices[ev.id] = p


@folds(ListingRemoved)
def _on_unlisted(h: History, ev: Event, p: ListingRemoved) -> None:
    lst = h.listings.get(p.list.value)
    if lst and lst.periods and lst.periods[-1][1] is None:
        lst.periods[-1] = (lst.periods[-1][0], ev)


SUPPORTED_FACT_TYPES = tuple(sorted((*_FOLDS, "company.tracking_started")))

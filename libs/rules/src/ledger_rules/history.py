"""One company's facts folded into dated records.

Facts are ordered by the day they happened (the payload's own date where the catalogue
has one — issued_on, applied_on, submitted_on, filed_on, verified_on — else
`effective_date`), then by ledger sequence. Every query is *as of* a day, so the same
records serve obligations (computed once) and findings (walked day by day). Malformed
payloads never raise: a field that cannot be read is treated as absent.
"""

from __future__ import annotations

import bisect
import builtins
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias, TypeVar

from ledger_contracts.catalogue import CATALOGUE

from .instants import local_date
from .model import RecordedFact
from .periods import add_months
from .registry import family_of

Fold = TypeVar("Fold", bound=Callable[..., None])

RECENT_MONTHS = 12  # social insurance look-back kept per report (rule parameter `months` up to this)

_FOLDS: dict[str, Callable[[History, Event, Mapping[str, Any]], None]] = {}
Handler: TypeAlias = "Callable[[History, Event, Mapping[str, Any]], None]"  # folds one fact's payload in
_OWN_DATE: dict[str, str] = {}  # fact type → the payload field that says when it happened


def folds(fact_type: str, *, own_date: str | None = None) -> Callable[[Fold], Fold]:
    """Register how facts of one type are folded into a company's History.

    `own_date`: the payload's own date, when the catalogue has one (issued_on, filed_on …);
    the fact is dated by it instead of its effective date. A type without a fold is kept as an
    event (it still dates the company's history) but changes no record."""
    if fact_type not in CATALOGUE or fact_type in _FOLDS:
        raise ValueError(f"{fact_type!r} is no fact type of the catalogue, or is folded twice")

    def register(fold: Fold) -> Fold:
        _FOLDS[fact_type] = fold
        if own_date is not None:
            _OWN_DATE[fact_type] = own_date
        return fold

    return register


def as_date(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str) and len(v) >= 10:
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def as_number(v: Any) -> float | None:
    t = type(v)
    if t is int:  # the common case first (payloads are read on every checkpoint day)
        return v
    if t is float:
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, str):
        try:
            n = float(v.replace(",", ""))
        except ValueError:
            return None
        return n if n == n and abs(n) != float("inf") else None
    try:
        return float(v)  # Decimal
    except (TypeError, ValueError):
        return None


def as_int(v: Any) -> int | None:
    n = as_number(v)
    return int(n) if n is not None else None


def as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return None


def as_text(v: Any) -> str | None:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def as_texts(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,) if v.strip() else ()
    if isinstance(v, list | tuple):
        return tuple(t for t in (as_text(x) for x in v) if t)
    return ()


def province_of(v: Any) -> str | None:
    """Two-digit GB/T 2260 province code ("11", "440300" -> "44")."""
    t = as_text(v)
    if t and re.fullmatch(r"\d{2,6}", t):
        return t[:2]
    return t


def quarter_of(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def valid_month(v: Any) -> str | None:
    t = as_text(v)
    if t and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", t):
        return t
    return None


def valid_quarter(v: Any) -> str | None:
    t = as_text(v)
    if t and re.fullmatch(r"\d{4}Q[1-4]", t.upper()):
        return t.upper()
    return None


class Dated:
    """(day, value) pairs in day order with an as-of lookup."""

    __slots__ = ("days", "values")

    def __init__(self) -> None:
        self.days: list[date] = []
        self.values: list[Any] = []

    def add(self, day: date, value: Any) -> None:
        i = bisect.bisect_right(self.days, day)
        self.days.insert(i, day)
        self.values.insert(i, value)

    def as_of(self, day: date) -> Any:
        i = bisect.bisect_right(self.days, day)
        return self.values[i - 1] if i else None

    def upto(self, day: date) -> list[Any]:
        return self.values[: bisect.bisect_right(self.days, day)]

    def __iter__(self) -> Iterator[tuple[date, Any]]:
        return iter(zip(self.days, self.values, strict=True))

    def __bool__(self) -> bool:
        return bool(self.days)


@dataclass(slots=True)
class Event:
    """The parts of a fact the rules use."""

    id: str
    on: date
    recorded_at: datetime | None
    data: Mapping[str, Any]


@dataclass
class Licence:
    no: str
    issued: Event
    category: str
    scope: str  # nationwide | provincial | other
    provinces: tuple[str, ...]
    authority: str | None
    expires_on: date
    expiry_assumed: bool
    renewals: list[tuple[Event, date]] = field(default_factory=list)  # (fact, new expiry)
    applications: list[Event] = field(default_factory=list)
    refusals: list[Event] = field(default_factory=list)
    ended: Event | None = None  # cancelled or revoked
    ended_kind: str | None = None
    suspensions: list[Event] = field(default_factory=list)
    reinstatements: list[Event] = field(default_factory=list)
    change_filings: list[tuple[Event, tuple[str, ...]]] = field(default_factory=list)
    reports: dict[int, list[Event]] = field(default_factory=dict)
    returns: dict[int, list[tuple[Event, date | None]]] = field(default_factory=dict)
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
    received_on: date | None
    fine: float | None
    orders_rectification: bool
    rectification_due: date | None
    deadline_recorded: Event | None = None  # a later fact recording the deadline
    payments: list[tuple[Event, float | None]] = field(default_factory=list)
    rectification_submitted: Event | None = None
    rectification_accepted: Event | None = None
    revoked: Event | None = None


@dataclass
class Site:
    ref: str
    leased: Event
    province: str | None
    area_m2: float | None
    lease_end: date | None
    purpose_text: str | None
    sublease: bool | None
    owner_consent: bool | None
    renewals: list[tuple[Event, date]] = field(default_factory=list)
    vacated: Event | None = None

    def held_on(self, day: date) -> bool:
        return self.leased.on <= day and (self.vacated is None or day < self.vacated.on)

    def lease_end_as_of(self, day: date) -> date | None:
        end = self.lease_end
        for ev, new in self.renewals:
            if ev.on <= day:
                end = new
        return end


@dataclass
class System:
    ref: str
    filings: list[tuple[Event, int | None]] = field(default_factory=list)
    assessments: list[tuple[Event, int | None]] = field(default_factory=list)

    def level_as_of(self, day: date) -> int | None:
        level = None
        for ev, lv in sorted(self.filings + self.assessments, key=lambda x: x[0].on):
            if ev.on <= day and lv is not None:
                level = lv
        return level


@dataclass
class Arrangement:
    vendor_uscc: str
    arranged: Event
    mode: str
    vendor_name: str | None
    licence_category: str | None
    licence_expires_on: date | None
    provinces_served: tuple[str, ...]
    ended: Event | None = None
    verifications: list[Event] = field(default_factory=list)

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
        self.slices_on: dict[date, set[str]] = {}
        self.last_event_on: dict[tuple[date, str], str] = {}
        self.latest_day: date | None = None
        self.validity_years = validity_years  # rules.md §0: assumed for a licence recorded without expiry
        self.name = Dated()
        self.capital = Dated()  # registered capital
        self.industry = Dated()
        self.changes: list[tuple[Event, str]] = []  # registration changes (fact, field)
        self.capabilities = Dated()  # Event
        self.licences: dict[str, Licence] = {}
        self.applications: list[Event] = []  # licence.applied
        self.refusals: list[Event] = []  # licence.refused (a new licence refused)
        self.restructurings: dict[str, Restructuring] = {}
        self.waivers: dict[str, list[Event]] = {}
        self.milestone_acks: dict[str, list[Event]] = {}
        self.arrangements: dict[str, Arrangement] = {}
        self.numbers: dict[str, Number] = {}
        self.number_reports: dict[int, Event] = {}
        self.traffic = Dated()  # Event of traffic.period_reported, by day recorded
        self.traffic_by_month: dict[str, Event] = {}
        self.traffic_latest = Dated()  # (month, Event) of the latest month known
        self.spot_checks: list[Event] = []
        self.seats = Dated()  # Event
        self.insurance = Dated()  # Event
        self.insurance_recent = Dated()  # ((month, Event), …) of the latest RECENT_MONTHS months
        self.three_way_checks: list[Event] = []
        self.three_way = Dated()
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
    def from_facts(cls, facts: Sequence[RecordedFact], validity_years: int = 5) -> History:
        """`validity_years`: the pack's licence validity, assumed for a licence recorded without expiry."""
        company = facts[0].company if facts else ""
        h = cls(company, validity_years)
        h.extend(facts)
        return h

    def extend(self, facts: Sequence[RecordedFact]) -> bool:
        """Fold more facts of the same company into this history, if they all come after the ones
        already folded in the fold's order (day, then ledger sequence); False, and nothing changed,
        if one would land among them: the caller folds the whole history again (`from_facts`).

        This is what lets a long-lived caller keep a company's history between batches instead of
        folding every fact again; the result is the same as `from_facts` over all the facts."""
        ordered = []
        for f in facts:
            if not isinstance(f.data, Mapping):
                continue
            eff = as_date(f.effective_date)
            if eff is None:
                continue
            own = _OWN_DATE.get(f.type)
            on = (as_date(f.data.get(own)) if own else None) or eff
            ordered.append((on, f.ledger_sequence if isinstance(f.ledger_sequence, int) else 0, f))
        ordered.sort(key=lambda x: (x[0], x[1]))
        if not ordered:
            return True
        if self._folded_to is not None and (ordered[0][0], ordered[0][1]) < self._folded_to:
            return False
        self._folded_to = (ordered[-1][0], ordered[-1][1])
        self._cc_key, self._cc, self._licensed = None, [], {}  # answers cached over the facts as they were
        for on, seq, f in ordered:
            rec = f.recorded_at if isinstance(f.recorded_at, datetime) else None
            ev = Event(str(f.event_id), on, rec, f.data)
            self.latest_day = on if self.latest_day is None or on > self.latest_day else self.latest_day
            if rec is not None and rec.tzinfo is not None and rec.utcoffset() is not None:
                self.latest_day = max(self.latest_day, local_date(rec))
            if f.type == "company.tracking_started":
                # recording it again moves the baseline: the latest recorded one counts, whatever its date.
                # It is about the ledger, not the company's history: no slice, no creator of obligations.
                if seq >= self._tracking_seq and (tracked := as_date(f.data.get("tracked_from"))) is not None:
                    self._tracking_seq, self.tracked_from, self.tracking = seq, tracked, ev
                continue
            self.events.append(ev)
            slice_ = family_of(f.type) if isinstance(f.type, str) else None
            if slice_ is None:
                continue
            self.slices_on.setdefault(on, set()).add(slice_)
            self.last_event_on[(on, slice_)] = ev.id
            handler = _FOLDS.get(f.type)
            if handler is not None:
                handler(self, ev, f.data)
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
        if seats is not None and (as_int(seats.data.get("declared_seats")) or 0) > 0:
            k = as_int(seats.data.get("declared_seats"))
            out.append((f"申报座席{k}个", f"{k} seats declared", seats.id))
        for a in self.arrangements.values():
            if a.mode == "seat_leasing" and a.active_on(day):
                out.append((f"租用{a.vendor_name or a.vendor_uscc}的座席", f"seats leased from {a.vendor_name or a.vendor_uscc}",
                            a.arranged.id))
        return out

    def operating_on(self, day: date, licence_facts: Mapping[str, Any]) -> bool:
        """Licensed, or any of `indicators_on` (asked on every checkpoint day: without building their texts)."""
        if self.licensed_on(day, licence_facts) or any(n.active_on(day) for n in self.numbers.values()):
            return True
        seats = self.seats.as_of(day)
        if seats is not None and (as_int(seats.data.get("declared_seats")) or 0) > 0:
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


@folds("company.registered")
def _on_company_registered(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (c := as_number(d.get("registered_capital"))) is not None:
        h.capital.add(ev.on, (c, ev.id))
    if (name := as_text(d.get("name"))) is not None:
        h.name.add(ev.on, name)
    if (ind := as_text(d.get("industry"))) is not None:
        h.industry.add(ev.on, ind)


@folds("company.registration_changed")
def _on_registration_changed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    fld = as_text(d.get("field"))
    if fld is None:
        return
    h.changes.append((ev, fld))
    if fld == "registered_capital" and (c := as_number(d.get("new"))) is not None:
        h.capital.add(ev.on, (c, ev.id))
    if fld == "name" and (name := as_text(d.get("new"))) is not None:
        h.name.add(ev.on, name)


def _restructuring(h: History, d: Mapping[str, Any]) -> Restructuring | None:
    ref = as_text(d.get("ref"))
    if ref is None:
        return None
    return h.restructurings.setdefault(ref, Restructuring(ref))


@folds("company.restructuring_decided")
def _on_restructuring_decided(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (r := _restructuring(h, d)) is not None and r.decided is None:
        r.decided, r.kind = ev, as_text(d.get("kind"))


@folds("company.restructuring_approved")
def _on_restructuring_approved(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (r := _restructuring(h, d)) is not None and r.approved is None:
        r.approved = ev


@folds("company.restructuring_completed")
def _on_restructuring_completed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (r := _restructuring(h, d)) is not None and r.completed is None:
        r.completed = ev


@folds("company.capabilities_declared")
def _on_capabilities(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.capabilities.add(ev.on, ev)


@folds("company.obligation_waived")
def _on_waived(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (oid := as_text(d.get("obligation_id"))) is not None:
        h.waivers.setdefault(oid, []).append(ev)


@folds("company.milestone_acknowledged")
def _on_milestone(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (oid := as_text(d.get("obligation_id"))) is not None:
        h.milestone_acks.setdefault(oid, []).append(ev)


def _licence(h: History, d: Mapping[str, Any]) -> Licence | None:
    no = as_text(d.get("licence_no"))
    return h.licences.get(no) if no else None


@folds("licence.issued", own_date="issued_on")
def _on_licence_issued(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    no = as_text(d.get("licence_no"))
    if no is None or no in h.licences:
        return
    expires = as_date(d.get("expires_on"))
    assumed = expires is None
    if expires is None:
        try:
            expires = add_months(ev.on, 12 * h.validity_years) - timedelta(days=1)
        except (ValueError, OverflowError):
            return
    scope = (as_text(d.get("scope")) or "").lower()
    scope = {"全网": "nationwide", "地网": "provincial", "省内": "provincial"}.get(scope, scope)
    h.licences[no] = Licence(
        no=no,
        issued=ev,
        category=(as_text(d.get("category")) or "").upper(),
        scope=scope if scope in ("nationwide", "provincial") else "other",
        provinces=tuple(p for p in (province_of(x) for x in as_texts(d.get("provinces"))) if p),
        authority=as_text(d.get("authority")),
        expires_on=expires,
        expiry_assumed=assumed,
    )


@folds("licence.applied")
def _on_licence_applied(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.applications.append(ev)


@folds("licence.refused")
def _on_licence_refused(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.refusals.append(ev)


@folds("licence.change_filed", own_date="filed_on")
def _on_change_filed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None:
        lic.change_filings.append((ev, as_texts(d.get("fields"))))


@folds("licence.renewal_applied", own_date="applied_on")
def _on_renewal_applied(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None:
        lic.applications.append(ev)


@folds("licence.renewed")
def _on_renewed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None and (new := as_date(d.get("new_expires_on"))) is not None:
        lic.renewals.append((ev, new))


@folds("licence.renewal_refused")
def _on_renewal_refused(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None:
        lic.refusals.append(ev)


@folds("licence.annual_report_submitted", own_date="submitted_on")
def _on_annual_report(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    year = as_int(d.get("year"))
    if year is None:
        return
    targets = [_licence(h, d)] if as_text(d.get("licence_no")) else list(h.licences.values())
    for lic in targets:
        if lic is not None:
            lic.reports.setdefault(year, []).append(ev)


@folds("licence.annual_report_returned")
def _on_annual_report_returned(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    year = as_int(d.get("year"))
    if year is not None and (lic := _licence(h, d)) is not None:
        lic.returns.setdefault(year, []).append((ev, as_date(d.get("correct_by"))))


@folds("licence.annual_report_accepted")
def _on_annual_report_accepted(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    year = as_int(d.get("year"))
    if year is not None and (lic := _licence(h, d)) is not None:
        lic.accepted.setdefault(year, ev)


def _ender(kind: str) -> Handler:
    def handler(h: History, ev: Event, d: Mapping[str, Any]) -> None:
        if (lic := _licence(h, d)) is not None and lic.ended is None:
            lic.ended, lic.ended_kind = ev, kind

    return handler


folds("licence.revoked")(_ender("revoked"))
folds("licence.cancelled")(_ender("cancelled"))


@folds("licence.suspended")
def _on_suspended(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None:
        lic.suspensions.append(ev)


@folds("licence.reinstated")
def _on_reinstated(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (lic := _licence(h, d)) is not None:
        lic.reinstatements.append(ev)


@folds("outsourcing.arranged")
def _on_arranged(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    uscc = as_text(d.get("vendor_uscc"))
    if uscc is None:
        return
    previous = h.arrangements.get(uscc)
    if previous is not None and previous.ended is None:
        # a renewed arrangement with the same vendor updates what we know of its licence
        previous.licence_category = (as_text(d.get("vendor_licence_category")) or "").upper() or None
        previous.licence_expires_on = as_date(d.get("vendor_licence_expires_on"))
        previous.vendor_name = as_text(d.get("vendor_name")) or previous.vendor_name
        return
    h.arrangements[uscc] = Arrangement(
        vendor_uscc=uscc,
        arranged=ev,
        mode=(as_text(d.get("mode")) or "").lower(),
        vendor_name=as_text(d.get("vendor_name")),
        licence_category=(as_text(d.get("vendor_licence_category")) or "").upper() or None,
        licence_expires_on=as_date(d.get("vendor_licence_expires_on")),
        provinces_served=tuple(p for p in (province_of(x) for x in as_texts(d.get("provinces_served"))) if p),
    )


@folds("outsourcing.vendor_verified", own_date="verified_on")
def _on_vendor_verified(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (a := h.arrangements.get(as_text(d.get("vendor_uscc")) or "")) is not None:
        a.verifications.append(ev)


@folds("outsourcing.ended")
def _on_outsourcing_ended(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (a := h.arrangements.get(as_text(d.get("vendor_uscc")) or "")) is not None and a.ended is None:
        a.ended = ev


def _number(h: History, d: Mapping[str, Any]) -> Number | None:
    n = as_text(d.get("number"))
    return h.numbers.get(re.sub(r"\D", "", n) or n) if n else None


@folds("number.allocated")
def _on_number_allocated(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    n = as_text(d.get("number"))
    if n is None:
        return
    key = re.sub(r"\D", "", n) or n
    existing = h.numbers.get(key)
    if existing is not None and existing.released is None:
        return
    h.numbers[key] = Number(key, (as_text(d.get("kind")) or "other").lower(), province_of(d.get("province")), ev)


def _number_setter(attr: str) -> Handler:
    def handler(h: History, ev: Event, d: Mapping[str, Any]) -> None:
        if (n := _number(h, d)) is not None and getattr(n, attr) is None:
            setattr(n, attr, ev)

    return handler


folds("number.filed")(_number_setter("filed"))
folds("number.activated")(_number_setter("activated"))
folds("number.released")(_number_setter("released"))
folds("number.activation_reported")(_number_setter("activation_reported"))


@folds("number.contact_change_notified")
def _on_contact_notified(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (n := _number(h, d)) is not None:
        n.contact_notices.append(ev)


@folds("number.fee_paid")
def _on_fee_paid(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (n := _number(h, d)) is not None:
        q = valid_quarter(d.get("quarter")) or quarter_of(ev.on)
        n.fees.setdefault(q, ev)


@folds("numbering.annual_report_submitted")
def _on_number_report(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (year := as_int(d.get("year"))) is not None:
        h.number_reports.setdefault(year, ev)


@folds("traffic.period_reported")
def _on_traffic(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    month = valid_month(d.get("month")) or month_of(ev.on)
    h.traffic_by_month[month] = ev
    h.traffic.add(ev.on, (month, ev))
    # the report of the latest month known so far (facts arrive in day order): O(1) per query later
    best = h.traffic_latest.values[-1] if h.traffic_latest else None
    if best is None or month >= best[0]:
        best = (month, ev)
    h.traffic_latest.add(ev.on, best)


@folds("traffic.spot_check_recorded")
def _on_spot_check(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.spot_checks.append(ev)


@folds("workforce.seats_declared")
def _on_seats(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.seats.add(ev.on, ev)


@folds("workforce.social_insurance_reported")
def _on_insurance(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.insurance.add(ev.on, ev)
    # the latest RECENT_MONTHS reported months so far, each month's latest report
    recent = dict(h.insurance_recent.values[-1]) if h.insurance_recent else {}
    recent[valid_month(d.get("month")) or month_of(ev.on)] = ev
    keep = sorted(recent)[-RECENT_MONTHS:]
    h.insurance_recent.add(ev.on, tuple((m, recent[m]) for m in keep))


@folds("workforce.three_way_check_recorded")
def _on_three_way(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.three_way_checks.append(ev)
    h.three_way.add(ev.on, ev)


def _site(h: History, d: Mapping[str, Any]) -> Site | None:
    ref = as_text(d.get("site_ref"))
    return h.sites.get(ref) if ref else None


@folds("site.leased")
def _on_site_leased(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    ref = as_text(d.get("site_ref"))
    if ref is None or (ref in h.sites and h.sites[ref].vacated is None):
        return
    h.sites[ref] = Site(
        ref=ref,
        leased=ev,
        province=province_of(d.get("province")),
        area_m2=as_number(d.get("area_m2")),
        lease_end=as_date(d.get("lease_end")),
        purpose_text=as_text(d.get("purpose_text")),
        sublease=as_bool(d.get("sublease")),
        owner_consent=as_bool(d.get("owner_consent")),
    )


@folds("site.lease_renewed")
def _on_lease_renewed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (s := _site(h, d)) is not None and (new := as_date(d.get("new_lease_end"))) is not None:
        s.renewals.append((ev, new))


@folds("site.vacated")
def _on_vacated(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (s := _site(h, d)) is not None and s.vacated is None:
        s.vacated = ev


def _system(h: History, d: Mapping[str, Any]) -> System | None:
    ref = as_text(d.get("system_ref"))
    return h.systems.setdefault(ref, System(ref)) if ref else None


@folds("facility.mlps_filed")
def _on_mlps_filed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (s := _system(h, d)) is not None:
        s.filings.append((ev, as_int(d.get("level"))))


@folds("facility.mlps_assessed")
def _on_mlps_assessed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (s := _system(h, d)) is not None:
        s.assessments.append((ev, as_int(d.get("level"))))


@folds("facility.emergency_plan_updated")
def _on_plan_updated(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    h.plan_updates.append(ev)


def _penalty(h: History, d: Mapping[str, Any]) -> Penalty | None:
    no = as_text(d.get("decision_no"))
    return h.penalties.get(no) if no else None


@folds("penalty.imposed")
def _on_penalty_imposed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    no = as_text(d.get("decision_no"))
    if no is None or no in h.penalties:
        return
    h.penalties[no] = Penalty(
        decision_no=no,
        imposed=ev,
        decided_on=as_date(d.get("decided_on")) or ev.on,
        received_on=as_date(d.get("received_on")),
        fine=as_number(d.get("fine")),
        orders_rectification=as_bool(d.get("orders_rectification")) is True,
        rectification_due=as_date(d.get("rectification_due")),
    )


@folds("penalty.paid")
def _on_penalty_paid(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (p := _penalty(h, d)) is not None:
        p.payments.append((ev, as_number(d.get("amount"))))


def _penalty_setter(attr: str) -> Handler:
    def handler(h: History, ev: Event, d: Mapping[str, Any]) -> None:
        if (p := _penalty(h, d)) is not None and getattr(p, attr) is None:
            setattr(p, attr, ev)

    return handler


folds("penalty.rectification_submitted")(_penalty_setter("rectification_submitted"))
folds("penalty.rectification_accepted")(_penalty_setter("rectification_accepted"))
folds("penalty.revoked")(_penalty_setter("revoked"))


@folds("penalty.rectification_deadline_recorded")
def _on_deadline_recorded(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    if (p := _penalty(h, d)) is not None and (due := as_date(d.get("rectification_due"))) is not None:
        p.rectification_due, p.deadline_recorded = due, ev


@folds("listing.listed")
def _on_listed(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    kind = (as_text(d.get("list")) or "bad").lower()
    lst = h.listings.setdefault(kind, Listing(kind))
    if not lst.periods or lst.periods[-1][1] is not None:
        lst.periods.append((ev, None))


@folds("listing.removed")
def _on_unlisted(h: History, ev: Event, d: Mapping[str, Any]) -> None:
    kind = (as_text(d.get("list")) or "bad").lower()
    lst = h.listings.get(kind)
    if lst and lst.periods and lst.periods[-1][1] is None:
        lst.periods[-1] = (lst.periods[-1][0], ev)


SUPPORTED_FACT_TYPES = tuple(sorted((*_FOLDS, "company.tracking_started")))

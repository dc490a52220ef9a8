"""Obligations: what the company must do, and by when (design/rules.md §2).

One function per rule, declared where it is written (`@obligation`, see `registry`); each
turns the company's history into drafts. `derive` then gives every draft its deterministic
id (company | rule | about | period-or-trigger key — never a ledger sequence), applies
waivers and freezes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache, partial
from types import MappingProxyType
from typing import Any, NamedTuple

from ledger_contracts.facts import CompanyObligationWaived, LicenceRefused

from .calendar import Calendar
from .history import Event, History, Licence, Number, quarter_of
from .model import Milestone, Obligation
from .periods import Due, add_months, days_after, days_before, months_after, roll, working_days_after
from .registry import obligation, registration
from .rule import NUMBER_KINDS, Rule
from .ruleset import RulePack

MILESTONES = (
    ("evidence", "证据材料：等保测评、座席照片、社保、合同", "Evidence: MLPS assessment, seat photos, social insurance, contracts"),
    ("audit", "审计报告、话务记录、完税证明", "Audit report, traffic records, tax certificates"),
    ("cross-check", "独立交叉核查", "Independent cross-check"),
    ("sign-off", "签字确认并上传", "Sign-off and upload"),
)


@dataclass(slots=True)
class Draft:
    rule: str
    about: str
    about_kind: str
    key: str
    due: Due
    created: Event
    window_opens: date | None = None
    year: int | None = None
    quarter: str | None = None
    fulfilled: Event | None = None
    fulfilled_on: date | None = None
    cancelled: Event | None = None
    note: str | None = None  # prepended to the due note
    note_zh: str | None = None
    extra_params: dict[str, Any] | None = None
    milestones: tuple[Milestone, ...] = ()
    acks: list[Event] = field(default_factory=list)
    # the obligation `derive` froze it into, with what that also read (rule, baseline, waiver): a draft
    # `Reuse` gives back is frozen again only if one of them changed
    frozen: tuple[Rule, date | None, Any, Obligation] | None = None

    def fulfil(self, ev: Event | None, on: date | None = None) -> None:
        if ev is not None and (self.fulfilled_on is None or (on or ev.on) < self.fulfilled_on):
            self.fulfilled, self.fulfilled_on = ev, on or ev.on

    def cancel_if(self, ev: Event | None) -> None:
        """The cause went away (licence ended, number released, penalty revoked …)."""
        if ev is not None and (self.fulfilled_on is None or self.fulfilled_on > ev.on):
            if self.cancelled is None or ev.on < self.cancelled.on:
                self.cancelled = ev


class Reuse:
    """What an evaluation kept between batches made of each subject of a per-subject rule (number-fee:
    each number): its drafts (each with its frozen obligation, `Draft.frozen`), given back as the same
    objects when the next evaluation finds the subject's inputs unchanged. A company with hundreds of
    numbers has thousands of number-fee obligations; a new fact about one number re-derived all of them.

    Only for an evaluation with the same pack, calendar and horizon as the one it follows (the
    caller starts a new one otherwise): those are not part of a subject's inputs."""

    __slots__ = ("before", "now")

    def __init__(self, before: Reuse | None = None) -> None:
        self.before: dict[tuple[str, str], tuple[Any, list[Draft]]] = before.now if before is not None else {}
        self.now: dict[tuple[str, str], tuple[Any, list[Draft]]] = {}

    def drafts(self, rule_id: str, subject: str, inputs: Any, build: Callable[[], list[Draft]]) -> list[Draft]:
        """``build()``, or the drafts it gave last time if ``inputs`` (all they are derived from) are equal."""
        key = (rule_id, subject)
        hit = self.before.get(key)
        drafts = hit[1] if hit is not None and hit[0] == inputs else build()
        self.now[key] = (inputs, drafts)
        return drafts

    def carry(self, rule_ids: Collection[str]) -> None:
        """Keep what the rules not run this time made (their obligations are kept as they were)."""
        for key, value in self.before.items():
            if key[0] not in rule_ids:
                self.now[key] = value


@dataclass(slots=True)
class Context:
    h: History
    pack: RulePack
    cal: Calendar
    horizon: date
    operating: list[tuple[date, date | None]]
    _reports: list[Draft] | None = None
    reuse: Reuse | None = None  # a kept evaluation's subjects (None: derive everything)

    def annual_reports(self) -> list[Draft]:
        """annual-report drafts, computed once (annual-report-prep follows them)."""
        if self._reports is None:
            self._reports = list(_annual_report(self, self.pack.rule("annual-report")))
        return self._reports


@lru_cache(maxsize=1 << 16)
def obligation_id(company: str, rule: str, about: str, key: str) -> str:
    """Deterministic: the projector re-evaluates the same companies batch after batch, so memoised."""
    return "ob_" + hashlib.sha256(f"{company}|{rule}|{about}|{key}".encode()).hexdigest()[:16]


def _first(events: Iterable[Event], after: date, until: date | None = None,
           pred: Callable[[Event], bool] | None = None) -> Event | None:
    for ev in events:
        if ev.on >= after and (until is None or ev.on <= until) and (pred is None or pred(ev)):
            return ev
    return None


def _fact_on(h: History, day: date) -> Event | None:
    """The last fact of `day` (the one that changed the company's state then), if any."""
    return next((e for e in reversed(h.events) if e.on == day), None)


# -- licence ---------------------------------------------------------------------------------


@obligation(
    "change-filing", "许可证变更（名称、法定代表人、注册资本）", "Licence change filing (name, legal representative, capital)",
    facts=("company.registration_changed", "licence.issued", "licence.change_filed",
           "licence.change_approved"),
    trigger=("company name, legal representative or registered capital changed at business "
             "registration, while holding an active licence"),
    outcome="30 days after the registration change",
    fulfilled_by="a licence change filing covering that change",
    source="Order 42 Art. 29",
    confidence="statutory", severity="high",
    days=30, roll="next", fields=("name", "legal_representative", "registered_capital"),
)
def _change_filing(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for ev, fld in ctx.h.changes:
        if fld not in p["fields"]:
            continue
        for lic in ctx.h.licences.values():
            if not lic.active_on(ev.on):
                continue
            d = Draft(rule.id, lic.no, "licence", f"{fld}@{ev.on}", days_after(ev.on, p["days"], ctx.cal, p["roll"]), ev)
            d.extra_params = {"field": fld}
            d.fulfil(_first((f for f, fields in lic.change_filings if not fields or fld in fields), ev.on))
            d.cancel_if(lic.ended)
            yield d


@obligation(
    "change-filing-scope", "许可证变更（经营范围、注册地址）", "Licence change filing (business scope, registered address)",
    facts=("company.registration_changed", "licence.issued", "licence.change_filed",
           "licence.change_approved"),
    trigger="business scope or registered address changed, while licensed",
    outcome="30 days after the change",
    fulfilled_by="a licence change filing covering that change",
    source="seeds 001/004",
    confidence="advisory", severity="advisory",
    days=30, roll="next", fields=("business_scope", "registered_address"),
)
def _change_filing_scope(ctx: Context, rule: Rule) -> Iterator[Draft]:
    """The same test over the registration items the scope rule lists."""
    return _change_filing(ctx, rule)


@obligation(
    "restructuring-approval", "重大事项变更审批（合并、分立、股权变更、业务转移、覆盖范围）", "Restructuring approval (merger, split, shareholders, transfer, coverage)",
    facts=("company.restructuring_decided", "company.restructuring_approved"),
    trigger=("the company decided a merger, split, shareholder change, transfer of operations or "
             "coverage change, while licensed"),
    outcome="apply within 30 days of the decision, and before it takes effect",
    fulfilled_by="approval recorded",
    source="Order 42 Art. 28",
    confidence="statutory", severity="high",
    days=30, roll="next", kinds=("merger", "split", "shareholder_change", "transfer_of_operations", "coverage_change"),
)
def _restructuring_approval(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for r in ctx.h.restructurings.values():
        if r.decided is None or (r.kind is not None and r.kind not in p["kinds"]):
            continue
        if not any(lic.active_on(r.decided.on) for lic in ctx.h.licences.values()):
            continue
        d = Draft(rule.id, r.ref, "restructuring", r.ref, days_after(r.decided.on, p["days"], ctx.cal, p["roll"]),
                  r.decided, note="and before it takes effect", note_zh="且须在生效前获批")
        d.extra_params = {"kind": r.kind}
        d.fulfil(r.approved)
        yield d


@obligation(
    "renewal", "许可证续期申请", "Licence renewal application",
    facts=("licence.issued", "licence.renewal_applied", "licence.renewed", "licence.renewal_refused",
           "licence.suspended", "licence.revoked", "licence.cancelled"),
    trigger="each active licence with expiry E",
    outcome=("apply no later than E − 90 days (rest day: previous working day, the safe deadline); "
             "preparation opens at E − 180 days"),
    fulfilled_by="renewal application recorded (or the renewal itself)",
    source="Order 42 Art. 27",
    confidence="statutory", severity="critical",
    note=("Seed 004 reads 提前90日 as 'within the 90 days before expiry': contradicted. Applying late "
          "means the licence may not be renewed; an application pending and undecided at E keeps "
          "the licence alive (行政许可法 Art. 50)."),
    days_before_expiry=90, window_days_before_expiry=180, roll="previous",
)
def _renewal(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for lic in ctx.h.licences.values():
        for start, expiry, ev in lic.terms():
            if lic.ended is not None and lic.ended.on <= start:
                break
            due = days_before(expiry, p["days_before_expiry"], ctx.cal, p["roll"])
            d = Draft(rule.id, lic.no, "licence", f"expiry:{expiry}", due, ev,
                      window_opens=expiry - timedelta(days=p["window_days_before_expiry"]))
            d.extra_params = {"expires_on": expiry.isoformat()}
            d.fulfil(_first(lic.applications, start, expiry))
            renewal = next((r for r, new in lic.renewals if r.on >= start and new > expiry), None)
            d.fulfil(renewal)
            d.cancel_if(lic.ended)
            yield d


def report_window(ctx: Context, lic: Licence, window_year: int) -> tuple[date, date, date]:
    """(opens, closes, makeup_closes) for the annual report filed in `window_year`."""
    p = ctx.pack.params("annual-report")
    windows = p["windows"]
    chosen = windows.get(f"{window_year}/{lic.authority}") or windows.get(str(window_year)) or {}

    return (
        chosen.get("opens") or month_day(window_year, p["opens"]),
        chosen.get("closes") or month_day(window_year, p["closes"]),
        chosen.get("makeup_closes") or month_day(window_year, p["makeup_closes"]),
    )


def month_day(year: int, mm_dd: str) -> date:
    """A 'MM-DD' parameter in `year`; an override of 02-29 means 28 Feb in a common year (never a crash)."""
    month, day = int(mm_dd[:2]), int(mm_dd[3:])
    try:
        return date(year, month, day)
    except ValueError:  # 02-29 in a common year
        return date(year, month, 28)


def _annual_report(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for lic in ctx.h.licences.values():
        for year in range(lic.start.year, ctx.horizon.year):
            if not lic.active_on(date(year + 1, 1, 1)):
                continue
            opens, closes, makeup = report_window(ctx, lic, year + 1)
            due = roll(closes, ctx.cal, p["roll"])
            makeup_due = roll(makeup, ctx.cal, p["roll"])
            d = Draft(rule.id, lic.no, "licence", str(year), due, lic.issued, window_opens=opens, year=year)
            d.extra_params = {"window": {"opens": opens.isoformat(), "closes": closes.isoformat(),
                                         "makeup_closes": makeup.isoformat()},
                              "makeup_due": makeup_due.legal_due.isoformat()}
            _match_report(d, lic, year)
            d.cancel_if(lic.ended)
            yield d


def _match_report(d: Draft, lic: Licence, year: int) -> None:
    """Submissions for exactly this year; a return for correction reopens it until correct_by."""
    timeline: list[tuple[date, int, Event, date | None]] = [(ev.on, 0, ev, None) for ev in lic.reports.get(year, [])]
    timeline += [(ev.on, 1, ev, by) for ev, by in lic.returns.get(year, [])]
    fulfilled: Event | None = None
    for _, kind, ev, correct_by in sorted(timeline, key=lambda x: (x[0], x[1])):
        if kind == 0 and fulfilled is None:
            fulfilled = ev
        elif kind == 1 and fulfilled is not None:
            fulfilled = None
            if correct_by is not None and correct_by > d.due.legal_due:
                d.due = Due(correct_by, correct_by, f"returned on {ev.on} for correction by {correct_by}",
                            f"{ev.on}退回补正，须于{correct_by}前改正", d.due.provisional)
    if fulfilled is None and year in lic.accepted:
        fulfilled = lic.accepted[year]
    d.fulfil(fulfilled)


@obligation(
    "annual-report", "许可证年报", "Licence annual report",
    facts=("licence.issued", "licence.renewed", "licence.annual_report_submitted",
           "licence.annual_report_returned", "licence.annual_report_accepted", "licence.suspended",
           "licence.revoked", "licence.cancelled"),
    trigger=("each licence held in year Y−1 and still held when the window opens on 1 January of Y "
             "(the obligation's year is Y−1, the year reported on); a licence that lapsed or was "
             "cancelled during Y−1 owes none: Order 42 Art. 35 binds operators holding a licence when "
             "they report"),
    outcome=("window 1 Jan – 31 Mar of Y (Art. 203 roll); April is a make-up month; listing on the "
             "不良名单 follows in May"),
    fulfilled_by="annual report submitted for Y−1",
    source="Order 42 Art. 35, Art. 38; make-up month: 工信部信管〔2017〕321号 and provincial notices",
    confidence="statutory", severity="high",
    note=("Seed 003's 1 Mar – 31 May 17:00 window, 20-day correction and 16 Jul – 31 Aug "
          "inspections: contradicted or unsupported. Authorities announce exact dates each year: "
          "override `windows` per window year, or per 'year/authority' (e.g. \"2025/重庆市通信管理局\": "
          "{\"opens\": \"2025-01-10\"})."),
    opens="01-01", closes="03-31", makeup_closes="04-30", roll="next", windows=MappingProxyType({}),
)
def _annual_report_drafts(ctx: Context, rule: Rule) -> Iterator[Draft]:
    """Computed once per evaluation: annual-report-prep follows them."""
    return iter(ctx.annual_reports())


@obligation(
    "annual-report-prep", "年报准备节点", "Annual report preparation milestones",
    facts=("company.milestone_acknowledged", "licence.issued", "licence.annual_report_submitted"),
    trigger="each annual report",
    outcome="milestones 90, 60, 30 and 7 days before the window closes (rest day: previous working day)",
    fulfilled_by="each milestone acknowledged, or the report submitted",
    source="seed 003",
    confidence="advisory", severity="advisory",
    note=("Milestones: evidence (等保 assessment, seat photos, social insurance, contracts); audit "
          "report, traffic records, tax certificates; independent cross-check; sign-off and "
          "upload. Reminders fire on each milestone."),
    reminders=(),
    milestone_days=(90, 60, 30, 7), roll="previous",
)
def _annual_report_prep(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    company = ctx.h.company
    for report in ctx.annual_reports():
        assert report.year is not None  # annual-report drafts always carry their year
        lic = ctx.h.licences[report.about]
        _, closes, _ = report_window(ctx, lic, report.year + 1)
        dues = [days_before(closes, n, ctx.cal, p["roll"]) for n in p["milestone_days"]]
        d = Draft(rule.id, lic.no, "licence", str(report.year), dues[-1], lic.issued,
                  window_opens=dues[0].due, year=report.year)
        d.due = Due(dues[-1].due, dues[-1].legal_due, dues[-1].note, dues[-1].note_zh,
                    any(x.provisional for x in dues))
        acks = ctx.h.milestone_acks.get(obligation_id(company, rule.id, lic.no, str(report.year)), [])
        milestones, matched = [], []
        for (key, zh, en), n, due in zip(MILESTONES, p["milestone_days"], dues, strict=False):
            names = {key, f"d-{n}", f"m-{n}", str(n)}
            ack = next((a for a in acks if a.data.milestone in names), None)
            milestones.append(Milestone(key, n, due.due, zh, en, ack.on if ack else None, ack.id if ack else None))
            matched.append(ack)
        d.milestones = tuple(milestones)
        acked = [a for a in matched if a is not None]
        if matched and len(acked) == len(matched):
            d.fulfil(max(acked, key=lambda a: (a.on, a.id)))
        d.fulfil(report.fulfilled, report.fulfilled_on)
        d.cancel_if(lic.ended)
        yield d


# -- numbers ---------------------------------------------------------------------------------


@obligation(
    "number-annual-report", "码号年报", "Numbering annual report",
    facts=("number.allocated", "number.released", "numbering.annual_report_submitted"),
    trigger="the company holds code numbers at year end",
    outcome="31 Mar of the next year (Art. 203 roll)",
    fulfilled_by="number annual report submitted",
    source="provincial notices (Jilin 2024, Sichuan 2026)",
    confidence="notice", severity="medium",
    closes="03-31", roll="next", kinds=NUMBER_KINDS,
)
def _number_annual_report(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    numbers = [n for n in ctx.h.numbers.values() if n.kind in p["kinds"]]
    if not numbers:
        return
    first = min(n.allocated.on.year for n in numbers)
    for year in range(first, ctx.horizon.year):
        year_end = date(year, 12, 31)
        held = [n for n in numbers if n.held_on(year_end)]
        if not held:
            continue
        closes = month_day(year + 1, p["closes"])
        d = Draft(rule.id, ctx.h.company, "company", str(year), roll(closes, ctx.cal, p["roll"]),
                  min((n.allocated for n in held), key=lambda e: (e.on, e.id)),
                  window_opens=date(year + 1, 1, 1), year=year)
        d.extra_params = {"numbers_held": sorted(n.number for n in held)}
        d.fulfil(ctx.h.number_reports.get(year))
        yield d


@obligation(
    "number-filing", "码号备案", "Number filing",
    facts=("number.allocated", "number.filed", "number.released"),
    trigger="a number allocated",
    outcome="30 days after allocation",
    fulfilled_by="filing recorded",
    source="seed 004",
    confidence="advisory", severity="advisory",
    note="The regulation reviewed does not state 30 days.",
    days=30, roll="next",
)
def _number_filing(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for n in ctx.h.numbers.values():
        d = Draft(rule.id, n.number, "number", f"allocated@{n.allocated.on}",
                  days_after(n.allocated.on, p["days"], ctx.cal, p["roll"]), n.allocated)
        d.fulfil(n.filed)
        d.cancel_if(n.released)
        yield d


@obligation(
    "number-activation-report", "码号启用报告", "Number activation report",
    facts=("number.activated", "number.released", "number.activation_reported"),
    trigger="a number opened (activated)",
    outcome="10 days after opening",
    fulfilled_by="activation reported",
    source="96-number approval example (Qinghai 96885)",
    confidence="notice", severity="medium",
    days=10, roll="next",
)
def _number_activation_report(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for n in ctx.h.numbers.values():
        if n.activated is None:
            continue
        d = Draft(rule.id, n.number, "number", f"activated@{n.activated.on}",
                  days_after(n.activated.on, p["days"], ctx.cal, p["roll"]), n.activated)
        d.fulfil(n.activation_reported)
        d.cancel_if(n.released)
        yield d


@obligation(
    "number-contact-change", "码号联系信息变更告知", "Number contact change notice",
    facts=("company.registration_changed", "number.allocated", "number.released",
           "number.contact_change_notified"),
    trigger="registered address or contact changed while holding numbers",
    outcome="10 working days after the change, per number",
    fulfilled_by="notice to the number authority recorded",
    source="电信网码号资源管理办法 Art. 26",
    confidence="statutory", severity="high",
    working_days=10, fields=("registered_address", "contact"),
)
def _number_contact_change(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for ev, fld in ctx.h.changes:
        if fld not in p["fields"]:
            continue
        for n in ctx.h.numbers_held(ev.on):
            d = Draft(rule.id, n.number, "number", f"{fld}@{ev.on}",
                      working_days_after(ev.on, p["working_days"], ctx.cal), ev)
            d.extra_params = {"field": fld}
            d.fulfil(_first(n.contact_notices, ev.on))
            d.cancel_if(n.released)
            yield d


def _quarter_starts(first: date, last: date) -> Iterator[date]:
    q = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    while q <= last:
        yield q
        q = add_months(q, 3)


class _Quarter(NamedTuple):
    start: date
    name: str  # "2026Q3"
    month_before: date  # first day of the month before the quarter (number-fee window)
    end: date  # last day of the quarter


@lru_cache(maxsize=4096)
def _quarters(first: date, last: date) -> tuple[_Quarter, ...]:
    """The quarters from the one containing `first` to the one starting by `last`: the same spans
    recur for every number and every re-evaluation, so they are computed once."""
    return tuple(_Quarter(q, quarter_of(q), add_months(q, -1), add_months(q, 3) - timedelta(days=1))
                 for q in _quarter_starts(first, last))


@obligation(
    "number-fee", "码号资源占用费", "Number occupancy fee",
    facts=("number.allocated", "number.released", "number.fee_paid"),
    trigger=("holding a number on the first day of a quarter (a fee whose window opened before the "
             "number was released stays, cancelled by the release)"),
    outcome="the 10th of Jan, Apr, Jul, Oct (Art. 203 roll)",
    fulfilled_by="fee paid for that quarter",
    source="MIIT 2021 notice (reported)",
    confidence="notice", severity="medium",
    note="The fee for the quarter of allocation is settled at allocation and not tracked.",
    day_of_month=10, roll="next", kinds=NUMBER_KINDS,
)
def _number_fee(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for n in ctx.h.numbers.values():
        if n.kind not in p["kinds"]:
            continue
        if ctx.reuse is None:
            yield from _number_fees(ctx, rule, n)
            continue
        released = (n.released.id, n.released.on) if n.released is not None else None
        inputs = (n.kind, n.allocated.id, n.allocated.on, released,
                  tuple((q, ev.id, ev.on) for q, ev in n.fees.items()), ctx.horizon)
        yield from ctx.reuse.drafts(rule.id, n.number, inputs, partial(_number_fees, ctx, rule, n))


def _number_fees(ctx: Context, rule: Rule, n: Number) -> list[Draft]:
    """One number's quarterly fees: all they depend on is the number's allocation, release and fees
    paid, the horizon, the calendar and the rule's parameters (``Reuse`` relies on it)."""
    p = rule.params
    day, how, cal = min(p["day_of_month"], 28), p["roll"], ctx.cal
    allocated_on = n.allocated.on
    released_on = n.released.on if n.released is not None else None
    out: list[Draft] = []
    for q in _quarters(allocated_on + timedelta(days=1), ctx.horizon):
        q0 = q.start
        if q0 <= allocated_on:
            continue
        released_first = released_on is not None and q0 >= released_on  # not n.held_on(q0)
        if released_on is not None and released_first and q.month_before > released_on:
            break  # never announced: released before its window opened
        due = roll(date(q0.year, q0.month, day), cal, how)
        d = Draft(rule.id, n.number, "number", q.name, due, n.allocated,
                  window_opens=q.month_before, year=q0.year, quarter=q.name)
        d.fulfil(n.fees.get(q.name))
        if released_first:
            # announced (its window opened, reminders may have gone out) before the release:
            # it stays visible, cancelled by the release (rules.md §6)
            d.cancel_if(n.released)
        out.append(d)
        if released_first:
            break
    return out


# -- penalties -------------------------------------------------------------------------------


@obligation(
    "fine-payment", "罚款缴纳", "Fine payment",
    facts=("penalty.imposed", "penalty.paid", "penalty.revoked"),
    trigger="a penalty with a fine",
    outcome="15 days after the decision was received",
    fulfilled_by="payment recorded (the full amount)",
    source="行政处罚法 Art. 67",
    confidence="statutory", severity="high",
    days=15, roll="next",
)
def _fine_payment(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for pen in ctx.h.penalties.values():
        if pen.fine <= 0:
            continue
        d = Draft(rule.id, pen.decision_no, "penalty", pen.decision_no,
                  days_after(pen.received_on, p["days"], ctx.cal, p["roll"]), pen.imposed)
        d.extra_params = {"fine": pen.fine}
        paid = 0.0
        for ev, amount in pen.payments:
            paid += amount
            if paid >= pen.fine - 0.005:
                d.fulfil(ev)
                break
        d.cancel_if(pen.revoked)
        yield d


@obligation(
    "rectification", "整改报告", "Rectification",
    facts=("penalty.imposed", "penalty.rectification_deadline_recorded", "penalty.rectification_submitted",
           "penalty.rectification_accepted", "penalty.revoked"),
    trigger="a penalty that orders correction",
    outcome=("the date set in the decision (never a default: without one, finding "
             "rectification-deadline-missing)"),
    fulfilled_by="rectification report submitted (acceptance closes it)",
    source="行政处罚法 Art. 28",
    confidence="statutory", severity="high",
    roll="none",
)
def _rectification(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for pen in ctx.h.penalties.values():
        if not pen.orders_rectification or pen.rectification_due is None:
            continue  # no deadline recorded: finding rectification-deadline-missing, never a default
        d = Draft(rule.id, pen.decision_no, "penalty", pen.decision_no,
                  roll(pen.rectification_due, ctx.cal, p["roll"]), pen.deadline_recorded or pen.imposed)
        d.fulfil(pen.rectification_submitted)
        d.fulfil(pen.rectification_accepted)
        d.cancel_if(pen.revoked)
        yield d


@obligation(
    "bad-list-watch", "不良名单关注", "Bad-list watch",
    facts=("penalty.imposed", "penalty.revoked"),
    trigger="a penalty imposed",
    outcome="informational: listing expected within 30 days of the decision",
    fulfilled_by="— (a recorded listing confirms it)",
    source="Order 42 Art. 42",
    confidence="statutory", severity="info",
    informational=True,
    days=30, roll="none",
)
def _bad_list_watch(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    bad = ctx.h.listings.get("bad")
    for pen in ctx.h.penalties.values():
        d = Draft(rule.id, pen.decision_no, "penalty", pen.decision_no,
                  days_after(pen.decided_on, p["days"], ctx.cal, p["roll"]), pen.imposed)
        if bad is not None:
            d.fulfil(_first((listed for listed, _ in bad.periods), pen.decided_on))
        d.cancel_if(pen.revoked)
        yield d


# -- premises, systems, operations -------------------------------------------------------------


@obligation(
    "lease-renewal", "场地租约续签", "Lease renewal",
    facts=("site.leased", "site.lease_renewed", "site.vacated"),
    trigger="a site lease ending on L",
    outcome="reminders from L − 90 days, due L",
    fulfilled_by="lease renewed or site vacated",
    source="seed 003",
    confidence="advisory", severity="advisory",
    reminders=(90, 60, 30, 14, 7, 3, 1, 0, -1, -7, -14),
    window_days=90, roll="none",
)
def _lease_renewal(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for s in ctx.h.sites.values():
        ends = [(s.lease_end, s.leased)] + [(new, ev) for ev, new in s.renewals]
        for i, (end, created) in enumerate(ends):
            d = Draft(rule.id, s.ref, "site", f"lease-end:{end}", roll(end, ctx.cal, p["roll"]), created,
                      window_opens=end - timedelta(days=p["window_days"]))
            if i + 1 < len(ends):
                d.fulfil(ends[i + 1][1])
            elif s.vacated is not None:
                d.fulfil(s.vacated)
            yield d
            if s.vacated is not None and i + 1 < len(ends) and ends[i + 1][1].on > s.vacated.on:
                break


@obligation(
    "mlps-assessment", "等保测评", "MLPS assessment",
    facts=("facility.mlps_filed", "facility.mlps_assessed"),
    trigger="a level-3 (或以上) 等保 system",
    outcome="12 months after the last assessment (or the filing, if none)",
    fulfilled_by="assessment recorded",
    source="等级保护 practice",
    confidence="notice", severity="medium",
    months=12, min_level=3, roll="next",
)
def _mlps_assessment(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for sys_ in ctx.h.systems.values():
        dated = sorted([(ev, lv, "filing") for ev, lv in sys_.filings] + [(ev, lv, "assessment") for ev, lv in sys_.assessments],
                       key=lambda x: (x[0].on, x[0].id))
        anchor = next(((ev, kind) for ev, lv, kind in dated if lv is not None and lv >= p["min_level"]), None)
        while anchor is not None and anchor[0].on <= ctx.horizon:
            ev, kind = anchor
            d = Draft(rule.id, sys_.ref, "system", f"from:{ev.on}", months_after(ev.on, p["months"], ctx.cal, p["roll"]), ev)
            if kind == "filing":
                d.note, d.note_zh = "no assessment recorded: counted from the filing", "无测评记录：自备案日起算"
            nxt = next(((e, lv) for e, lv, k in dated if k == "assessment" and e.on > ev.on), None)
            drop = next((e for e, lv, k in dated if e.on > ev.on and lv is not None and lv < p["min_level"]), None)
            if nxt is not None:
                d.fulfil(nxt[0])
            d.cancel_if(drop)
            yield d
            if nxt is None or (nxt[1] is not None and nxt[1] < p["min_level"]) or (drop and drop.on <= nxt[0].on):
                break
            anchor = (nxt[0], "assessment")


@obligation(
    "three-way-check", "三一致核查", "Three-way check",
    facts=("workforce.three_way_check_recorded",),
    trigger="every quarter while operating",
    outcome="quarter end: compare actual seats, system-registered seats and insured headcount",
    fulfilled_by="check recorded",
    source="seed 003",
    confidence="advisory", severity="advisory",
    roll="next",
)
def _three_way_check(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    if not ctx.operating:
        return
    checks: dict[str, Event] = {}  # the first check recorded for each quarter
    for c in ctx.h.three_way_checks:
        checks.setdefault(c.data.quarter, c)
    start = ctx.operating[0][0]  # created by the fact that started operations (or the latest before a lapse ended)
    creator = next((e for e in ctx.h.events if e.on >= start), ctx.h.events[-1])
    operating = ctx.operating
    for q in _quarters(ctx.operating[0][0], ctx.horizon):
        q0, q_end = q.start, q.end
        if q_end > ctx.horizon:
            break
        ending = None
        if not any(s <= q_end and (e is None or q_end < e) for s, e in operating):
            # operations stopped during the quarter: its check was announced (the window opened), so it
            # stays visible, cancelled by the fact that ended them (rules.md §6); a quarter never operated
            # in never existed
            ended = next((e for s, e in operating if e is not None and s <= q_end and q0 < e <= q_end), None)
            ending = _fact_on(ctx.h, ended) if ended is not None else None
            if ending is None:
                continue
        d = Draft(rule.id, ctx.h.company, "company", q.name, roll(q_end, ctx.cal, p["roll"]), creator,
                  window_opens=q0, year=q0.year, quarter=q.name)
        d.fulfil(checks.get(q.name))
        d.cancel_if(ending)
        yield d


@obligation(
    "emergency-plan", "应急预案更新", "Emergency plan update",
    facts=("facility.emergency_plan_updated",),
    trigger="every 6 months while operating",
    outcome="6 months after the last update (or operating start)",
    fulfilled_by="plan update recorded",
    source="seed 003",
    confidence="advisory", severity="advisory",
    months=6, roll="next",
)
def _emergency_plan(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    updates = ctx.h.plan_updates
    for start, end in ctx.operating:
        anchor_day = start
        anchor_ev = next((e for e in ctx.h.events if e.on >= start), ctx.h.events[-1])
        while anchor_day <= ctx.horizon and (end is None or anchor_day < end):
            due = months_after(anchor_day, p["months"], ctx.cal, p["roll"])
            d = Draft(rule.id, ctx.h.company, "company", f"from:{anchor_day}", due, anchor_ev)
            nxt = _first(updates, anchor_day + timedelta(days=1))
            d.fulfil(nxt)
            if end is not None and due.due >= end:
                d.cancel_if(_fact_on(ctx.h, end))  # operations stopped before it fell due (rules.md §6)
            yield d
            if nxt is None or (end is not None and nxt.on >= end):
                break
            anchor_day, anchor_ev = nxt.on, nxt


@obligation(
    "vendor-reverification", "外包服务商资质复核", "Vendor re-verification",
    facts=("outsourcing.arranged", "outsourcing.vendor_verified", "outsourcing.ended"),
    trigger="a BPO arrangement",
    outcome="before the vendor's licence expires, and at least every 12 months",
    fulfilled_by="vendor verification recorded",
    source="seed 000",
    confidence="advisory", severity="advisory",
    months=12, roll="previous",
)
def _vendor_reverification(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    for a in ctx.h.arrangements.values():
        if a.mode != "bpo":
            continue
        anchor = a.arranged
        for _ in range(1000):
            if anchor.on > ctx.horizon:
                break
            due = months_after(anchor.on, p["months"], ctx.cal, p["roll"])
            if a.licence_expires_on is not None and anchor.on < a.licence_expires_on < due.due:
                due = roll(a.licence_expires_on, ctx.cal, p["roll"])
            d = Draft(rule.id, a.vendor_uscc, "vendor", f"from:{anchor.on}", due, anchor)
            nxt = _first(a.verifications, anchor.on + timedelta(days=1))
            d.fulfil(nxt)
            d.cancel_if(a.ended)
            yield d
            if nxt is None or (a.ended is not None and nxt.on >= a.ended.on):
                break
            anchor = nxt


def _refusal_of(ref: str) -> Callable[[Event[LicenceRefused]], bool]:
    """A licence.refused fact about the application ``ref``."""
    return lambda r: bool(r.data.licence_no == ref)


@obligation(
    "licence-decision", "许可审批结果", "Licence decision",
    facts=("licence.applied", "licence.refused", "licence.issued"),
    trigger="a licence applied for",
    outcome="informational: decision expected within 60 days",
    fulfilled_by="licence issued or refused",
    source="电信条例 Art. 14",
    confidence="statutory", severity="info",
    informational=True,
    note="Seed 004 says 40–60 working days; the regulation says 60 days.",
    days=60, roll="next",
)
def _licence_decision(ctx: Context, rule: Rule) -> Iterator[Draft]:
    p = rule.params
    used: set[str] = set()
    for ev in ctx.h.applications:
        ref = ev.data.licence_no
        d = Draft(rule.id, ref, "application", f"{ref}@{ev.on}", days_after(ev.on, p["days"], ctx.cal, p["roll"]), ev)
        issued = ctx.h.licences.get(ref)
        if issued is None or issued.no in used:
            issued = next((lic for lic in ctx.h.licences.values() if lic.start >= ev.on and lic.no not in used), None)
        if issued is not None:
            used.add(issued.no)
            d.fulfil(issued.issued)
        d.fulfil(_first(ctx.h.refusals, ev.on, pred=_refusal_of(ref)))
        yield d


def derive(ctx: Context, *, include_disabled: bool = False, only: Collection[str] | None = None) -> list[Obligation]:
    """All obligations of the company (disabled rules only when asked: findings may need them); `only`:
    those of these rules (an evaluation kept between batches re-runs the rules new facts reach)."""
    out: list[Obligation] = []
    company = ctx.h.company
    waivers = ctx.h.waivers
    for rule in ctx.pack.obligation_rules():
        if not (rule.enabled or include_disabled) or (only is not None and rule.id not in only):
            continue
        base = {
            "company": company, "rule": rule.id, "title_zh": rule.title_zh, "title_en": rule.title_en,
            "informational": rule.informational, "severity": rule.severity, "source": rule.source,
            "confidence": rule.confidence, "params": rule.params, "tracked_from": ctx.h.tracked_from,
        }
        for d in registration(rule.id).fn(ctx, rule):
            if ctx.reuse is None:
                out.append(_freeze(base, d, waivers))
                continue
            hit = d.frozen  # set when a kept evaluation froze this same draft
            if hit is not None and hit[0] is rule and hit[1] == ctx.h.tracked_from \
                    and hit[2] is _waiver(waivers, hit[3].id):
                ob = hit[3]
            else:
                ob = _freeze(base, d, waivers)
                d.frozen = (rule, ctx.h.tracked_from, _waiver(waivers, ob.id), ob)
            out.append(ob)
    if ctx.reuse is not None:
        ctx.reuse.carry(only if only is not None else [r.id for r in ctx.pack.obligation_rules()])
    out.sort(key=lambda o: (o.due, o.rule, o.about, o.id))
    return out


def _waiver(waivers: Mapping[str, list[Event[CompanyObligationWaived]]], oid: str) -> Any:
    """The waiver `_freeze` applies to the obligation `oid` (None: none)."""
    found = waivers.get(oid)
    return found[0] if found else None


def _join(sep: str, a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"{a}{sep}{b}"
    return a or b or None


def _freeze(base: dict[str, Any], d: Draft, waivers: Mapping[str, list[Event[CompanyObligationWaived]]]) -> Obligation:
    """The frozen obligation; built straight into the instance's __dict__ (the hot loop of evaluate)."""
    oid = obligation_id(base["company"], base["rule"], d.about, d.key)
    waiver = waivers[oid][0] if oid in waivers else None  # a waiver always gives its reason
    due = d.due
    created, fulfilled, cancelled = d.created, d.fulfilled, d.cancelled
    values = {
        **base,
        "id": oid,
        "about": d.about,
        "about_kind": d.about_kind,
        "year": d.year,
        "quarter": d.quarter,
        "window_opens": d.window_opens,
        "due": due.due,
        "legal_due": due.legal_due,
        "due_note": _join("; ", d.note, due.note),
        "due_note_zh": _join("；", d.note_zh, due.note_zh),
        "provisional": due.provisional,
        "born_on": created.on,
        "born_at": created.recorded_at,
        "created_by": created.id,
        "fulfilled_on": d.fulfilled_on,
        "fulfilled_by": fulfilled.id if fulfilled else None,
        "waived_reason": waiver.data.reason if waiver else None,
        "waived_by": waiver.id if waiver else None,
        "waived_on": waiver.on if waiver else None,
        "cancelled_on": cancelled.on if cancelled else None,
        "cancelled_by": cancelled.id if cancelled else None,
        "milestones": d.milestones,
    }
    if d.extra_params:
        values["params"] = MappingProxyType({**base["params"], **d.extra_params})
    ob = object.__new__(Obligation)
    object.__setattr__(ob, "__dict__", values)  # frozen: fill every field at once
    return ob

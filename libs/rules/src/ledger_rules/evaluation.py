"""evaluate(): one company's facts in, a time-independent Evaluation out (and the Evaluation record)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from . import findings as _findings
from . import obligations as _obligations
from .calendar import Calendar
from .history import History
from .instants import local_date
from .model import (
    CreditInputs,
    Finding,
    ListingPeriod,
    Obligation,
    PenaltyRecord,
    RecordedFact,
    SpotCheck,
    TrafficMonth,
    finding_open_at,
)
from .registry import CREDIT_ESTIMATE, facts_read_by, family_of, registration
from .ruleset import RulePack
from .status import status_on

_LAST_DAY = date(9000, 12, 31)


@dataclass(frozen=True, slots=True)
class Summary:
    open_findings: Mapping[str, int]  # by severity
    overdue: int
    due_soon: int
    next_due: date | None
    next_due_obligation: str | None
    risk: str  # critical | high | medium | low


@dataclass(frozen=True)
class Evaluation:
    """One company's obligations and findings, valid at any instant up to `horizon`."""

    company: str
    obligations: list[Obligation]
    findings: list[Finding]
    credit_inputs: CreditInputs
    horizon: date  # periodic obligations and time-driven findings are computed up to this day
    pack: Any  # the RulePack used (statuses need its due_soon_days)
    tracked_from: date | None = None  # the onboarding baseline (company.tracking_started), if recorded

    def obligation(self, obligation_id: str) -> Obligation | None:
        return next((o for o in self.obligations if o.id == obligation_id), None)

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def open_findings(self, at: datetime) -> list[Finding]:
        return [f for f in self.findings if finding_open_at(f, at)]

    def statuses(self, at: datetime) -> dict[str, str]:
        today, soon = local_date(at), self.pack.due_soon_days
        return {o.id: status_on(o, today, soon) for o in self.obligations}

    def summary(self, at: datetime) -> Summary:
        """Counts and a portfolio risk level (our model, see docs/rules.md)."""
        today, soon = local_date(at), self.pack.due_soon_days  # also validates the instant
        by_severity = {s: 0 for s in ("critical", "high", "medium", "advisory", "info")}
        for f in self.findings:
            if finding_open_at(f, at):
                by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
        overdue = due_soon = 0
        statutory_overdue = False
        upcoming: tuple[date, str] | None = None  # the smallest (due, id) still to do
        for o in self.obligations:
            if o.informational or o.born_on > today:  # not yet triggered on that day: absent
                continue
            s = status_on(o, today, soon)
            if s == "overdue":
                overdue += 1
                statutory_overdue = statutory_overdue or o.confidence == "statutory"
            elif s in ("open", "due_soon", "scheduled"):
                due_soon += s == "due_soon"
                if upcoming is None or (o.due, o.id) < upcoming:
                    upcoming = (o.due, o.id)
        if by_severity["critical"]:
            risk = "critical"
        elif by_severity["high"] or statutory_overdue:
            risk = "high"
        elif by_severity["medium"] or overdue:
            risk = "medium"
        else:
            risk = "low"
        return Summary(
            open_findings=by_severity,
            overdue=overdue,
            due_soon=due_soon,
            next_due=upcoming[0] if upcoming else None,
            next_due_obligation=upcoming[1] if upcoming else None,
            risk=risk,
        )


def evaluate(
    facts: Sequence[RecordedFact], pack: RulePack, calendar: Calendar, *, until: date | None = None
) -> Evaluation:
    """Obligations, findings and credit inputs for one company's whole history (in ledger order).

    Periodic obligations and time-driven findings are computed up to `until` (default: the
    later of the latest fact's day — effective or recorded — and the latest licence expiry,
    plus `pack.horizon_days`); `Evaluation.horizon` says which. A caller evaluating long after
    the last fact passes `until` (e.g. now + 2 years). Pure: no clock, no I/O.
    """
    companies = {f.company for f in facts}
    if len(companies) > 1:
        raise ValueError(f"evaluate() takes one company's facts; got {len(companies)} companies")
    return evaluate_history(History.from_facts(facts, pack.licence["validity_years"]), pack, calendar, until=until)


def evaluate_history(h: History, pack: RulePack, calendar: Calendar, *, until: date | None = None) -> Evaluation:
    """`evaluate` over a history already folded (one kept between calls and grown with `History.extend`,
    folded with the pack's ``licence.validity_years``). It reads the history and never changes it."""
    return evaluate_again(h, pack, calendar, None, (), until=until)[0]


EVENTS = "*events*"
"""A pseudo-family: read by a rule that looks at the company's facts whatever their family (`History.events`)."""
OPERATING = "*operating*"
"""A pseudo-family: read by a rule that follows the company's operating intervals."""
OPERATING_READS = frozenset({"licence", "numbers", "workforce", "outsourcing"})
"""The families `History.operating_intervals` reads: call-centre licences, active numbers, seats, seat leasing."""
IMPLICIT_READS: Mapping[str, frozenset[str]] = {
    # what a rule reads besides its declared facts: periodic rules while operating, created by the fact
    # that started operations and cancelled by the one that ended them (of any family)
    "three-way-check": frozenset({OPERATING, EVENTS}),
    "emergency-plan": frozenset({OPERATING, EVENTS}),
}
FOLLOWS: Mapping[str, tuple[str, ...]] = {"annual-report-prep": ("annual-report",)}
"""Obligation rules built from another rule's drafts: they read what that rule reads."""


@cache
def rule_reads(rule_id: str) -> frozenset[str]:
    """The families (and pseudo-families) whose facts can change what a rule says, at a fixed horizon."""
    reads = set(registration(rule_id).reads) | IMPLICIT_READS.get(rule_id, frozenset())
    for other in FOLLOWS.get(rule_id, ()):
        reads |= rule_reads(other)
    return frozenset(reads)


@cache
def _credit_reads() -> frozenset[str]:
    return frozenset(f for f in (family_of(t) for t in facts_read_by(CREDIT_ESTIMATE)) if f is not None)


def touched_families(facts: Iterable[RecordedFact]) -> frozenset[str]:
    """The families new facts belong to (any fact is also one of the company's events)."""
    out = {EVENTS}
    for f in facts:
        family = family_of(f.type) if isinstance(f.type, str) else None
        if family is not None:
            out.add(family)
    return frozenset(out)


@dataclass(frozen=True)
class Kept:
    """One company's evaluation kept rule by rule, with what it was computed from: the next facts re-run
    only the rules whose families they touch, and every rule when the horizon, pack or calendar moved."""

    pack: RulePack
    calendar: Calendar
    horizon: date
    operating: list[tuple[date, date | None]]
    obligations: Mapping[str, list[Obligation]]  # rule id → its obligations (enabled or not), in evaluation order
    findings: Mapping[str, list[Finding]]  # rule id → its findings, by subject
    credit_inputs: CreditInputs
    reuse: _obligations.Reuse | None = None  # per-subject drafts and obligations (number-fee: each number)


def evaluate_again(h: History, pack: RulePack, calendar: Calendar, kept: Kept | None, new: Sequence[RecordedFact],
                   *, until: date | None = None) -> tuple[Evaluation, Kept]:
    """`evaluate_history` of `h`, re-running only what the `new` facts (already folded into `h`) can change
    since `kept` was evaluated over the history without them (None: run every rule). Obligations and
    findings equal to the kept ones are the kept objects, so a caller can tell what changed by identity.
    Rules declare the facts they read (`registry`); whatever else they read is `IMPLICIT_READS`/`FOLLOWS`."""
    horizon = _horizon(h, pack, until)
    whole = kept is None or kept.pack is not pack or kept.calendar is not calendar or kept.horizon != horizon
    touched = touched_families(new)
    if kept is None or whole or touched & OPERATING_READS:
        operating = h.operating_intervals(pack.licence, horizon) if h.events else []
    else:
        operating = kept.operating
    if kept is not None and not whole and operating != kept.operating:
        touched |= {OPERATING}
    obligation_ids = [r.id for r in pack.obligation_rules()]
    redo = set(obligation_ids) if whole else {r for r in obligation_ids if rule_reads(r) & touched}
    every_by_rule = dict(kept.obligations) if kept is not None and not whole else {}
    changed = False
    reuse = kept.reuse if kept is not None and not whole else None
    if redo:
        fresh: dict[str, list[Obligation]] = {r: [] for r in redo}
        reuse = _obligations.Reuse(reuse)
        ctx = _obligations.Context(h, pack, calendar, horizon, operating, reuse=reuse)
        for o in _obligations.derive(ctx, include_disabled=True, only=redo):
            fresh[o.rule].append(o)
        for rule_id, obs in fresh.items():
            before = every_by_rule.get(rule_id)
            every_by_rule[rule_id] = obs = _same(before, obs)
            changed = changed or obs is not before
    every = _merged_obligations(every_by_rule, obligation_ids)
    finding_ids = [r.id for r in pack.finding_rules() if r.enabled]
    if whole:
        redo = set(finding_ids)
    else:
        redo = {r for r in finding_ids if rule_reads(r) & touched
                or (changed and registration(r).mode == "timeline")}  # timeline rules read obligations
    findings_by_rule = dict(kept.findings) if kept is not None and not whole else {}
    if redo:
        fresh_findings: dict[str, list[Finding]] = {r: [] for r in redo}
        for f in _findings.derive(_findings.Context(h, pack, horizon, every), only=redo):
            fresh_findings[f.rule].append(f)
        for rule_id, fs in fresh_findings.items():
            findings_by_rule[rule_id] = _same(findings_by_rule.get(rule_id), fs)
    credit = kept.credit_inputs if kept is not None and not whole and not touched & _credit_reads() \
        else _credit_inputs(h)
    enabled = {r.id for r in pack.obligation_rules() if r.enabled}
    evaluation = Evaluation(
        company=h.company,
        obligations=[o for o in every if o.rule in enabled],
        findings=[f for rule_id in sorted(findings_by_rule) for f in findings_by_rule[rule_id]],
        credit_inputs=credit,
        horizon=horizon,
        pack=pack,
        tracked_from=h.tracked_from,
    )
    return evaluation, Kept(pack, calendar, horizon, operating, every_by_rule, findings_by_rule, credit, reuse)


R = TypeVar("R", Obligation, Finding)


def _same(before: list[R] | None, now: list[R]) -> list[R]:
    """`now`, with each item equal to one of `before` replaced by it (`before` itself if all are).

    Items are compared by their fields' dict (the records are frozen dataclasses without slots): the
    dataclass ``__eq__`` builds two tuples per comparison, and a re-run rule compares thousands."""
    if before is None:
        return now
    if len(before) == len(now) and all(a is b or a.__dict__ == b.__dict__ for a, b in zip(before, now, strict=True)):
        return before
    kept = {item.id: item for item in before}
    return [old if (old := kept.get(item.id)) is not None and (old is item or old.__dict__ == item.__dict__) else item
            for item in now]


def _merged_obligations(by_rule: Mapping[str, list[Obligation]], rule_ids: list[str]) -> list[Obligation]:
    """Every rule's obligations in the order `derive` gives them all at once (its sort is stable)."""
    out = [o for rule_id in rule_ids for o in by_rule.get(rule_id, ())]
    out.sort(key=_ORDER)
    return out


_ORDER = attrgetter("due", "rule", "about", "id")  # the order of `obligations.derive` (in C: no lambda call each)


def _horizon(h: History, pack: RulePack, until: date | None) -> date:
    if until is not None:
        horizon = until
    elif h.latest_day is not None:
        # licence-bound obligations run to the last known expiry by themselves; open-ended ones
        # (numbers, operations) need a bound: the later of the latest fact and that expiry, plus horizon_days
        anchor = max([h.latest_day, *(lic.terms()[-1][1] for lic in h.licences.values())])
        horizon = anchor + timedelta(days=max(0, min(pack.horizon_days, (_LAST_DAY - anchor).days)))
    else:
        horizon = date(1900, 1, 1)
    return min(horizon, _LAST_DAY)


def _credit_inputs(h: History) -> CreditInputs:
    traffic = tuple(
        TrafficMonth(month, ev.data.calls_total, ev.data.complaints, ev.id)
        for month, ev in sorted(h.traffic_by_month.items())
    )
    checks = [SpotCheck(ev.on, ev.data.sampled, ev.data.passed, ev.id) for ev in h.spot_checks]  # 0 ≤ passed ≤ sampled
    penalties = tuple(
        PenaltyRecord(p.decision_no, p.decided_on, p.revoked.on if p.revoked else None, p.fine, p.imposed.id)
        for p in h.penalties.values()
    )
    listings = tuple(
        ListingPeriod(kind, listed.on, removed.on if removed else None, listed.id)
        for kind, lst in sorted(h.listings.items())
        for listed, removed in lst.periods
    )
    return CreditInputs(traffic, tuple(checks), penalties, listings)

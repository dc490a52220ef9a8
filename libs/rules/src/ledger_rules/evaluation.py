"""evaluate(): one company's facts in, a time-independent Evaluation out (and the Evaluation record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

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
    if until is not None:
        horizon = until
    elif h.latest_day is not None:
        # licence-bound obligations run to the last known expiry by themselves; open-ended ones
        # (numbers, operations) need a bound: the later of the latest fact and that expiry, plus horizon_days
        anchor = max([h.latest_day, *(lic.terms()[-1][1] for lic in h.licences.values())])
        horizon = anchor + timedelta(days=max(0, min(pack.horizon_days, (_LAST_DAY - anchor).days)))
    else:
        horizon = date(1900, 1, 1)
    horizon = min(horizon, _LAST_DAY)
    operating = h.operating_intervals(pack.licence, horizon) if h.events else []
    every = _obligations.derive(_obligations.Context(h, pack, calendar, horizon, operating), include_disabled=True)
    found = _findings.derive(_findings.Context(h, pack, horizon, every))
    enabled = {r.id for r in pack.obligation_rules() if r.enabled}
    return Evaluation(
        company=h.company,
        obligations=[o for o in every if o.rule in enabled],
        findings=found,
        credit_inputs=_credit_inputs(h),
        horizon=horizon,
        pack=pack,
        tracked_from=h.tracked_from,
    )


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

"""evaluate(): one company's facts in, a time-independent Evaluation out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from . import findings as _findings
from . import obligations as _obligations
from .calendar import Calendar
from .history import History, as_int
from .model import (
    CreditInputs,
    Evaluation,
    ListingPeriod,
    PenaltyRecord,
    RecordedFact,
    SpotCheck,
    TrafficMonth,
)
from .ruleset import RulePack

_LAST_DAY = date(9000, 12, 31)


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
        TrafficMonth(month, as_int(ev.data.get("calls_total")), as_int(ev.data.get("complaints")), ev.id)
        for month, ev in sorted(h.traffic_by_month.items())
    )
    checks = []
    for ev in h.spot_checks:
        sampled, passed = as_int(ev.data.get("sampled")), as_int(ev.data.get("passed"))
        if sampled and sampled > 0 and passed is not None and 0 <= passed <= sampled:
            checks.append(SpotCheck(ev.on, sampled, passed, ev.id))
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

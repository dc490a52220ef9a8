"""The credit-score estimate (docs/rules.md, "Credit-score estimate").

No official formula for a code-number credit score was found; seed 002's is unsupported.
This is our transparent *estimate*: 100 minus capped deductions over the trailing 12
months, every deduction shown with its inputs, weights from the pack. Without traffic
data it gives no score (never a silent 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from .evaluation import Evaluation
from .instants import local_date
from .model import CreditComponent, CreditEstimate, finding_open_at
from .periods import add_months
from .registry import CREDIT_ESTIMATE, reads
from .ruleset import RulePack
from .status import status_on

reads(CREDIT_ESTIMATE, facts=("company.tracking_started", "traffic.period_reported", "traffic.spot_check_recorded",
                              "penalty.imposed", "penalty.revoked", "listing.listed", "listing.removed"))


@dataclass(frozen=True, slots=True)
class CreditAlert:
    alert_type: str  # credit.below_threshold
    reason: str  # "below" | "drop"
    message_zh: str
    message_en: str


@lru_cache(maxsize=1024)
def _month_window(today: date, months: int) -> tuple[str, ...]:
    first = add_months(date(today.year, today.month, 1), -months)
    return tuple(f"{(m := add_months(first, i)).year:04d}-{m.month:02d}" for i in range(months))


def credit_estimate(evaluation: Evaluation, at: datetime, pack: RulePack | None = None) -> CreditEstimate:
    pack = pack or evaluation.pack
    c = pack.credit
    today = local_date(at)
    months = _month_window(today, c["window_months"])  # the full months before the current one
    since = add_months(today, -c["window_months"])  # dated items: (since, today]
    inputs = evaluation.credit_inputs
    in_window = set(months)
    traffic = [t for t in inputs.traffic if t.month in in_window]
    components: list[CreditComponent] = []

    def component(name: str, zh: str, en: str, inputs_: dict[str, Any], deduction: float, cap: float) -> None:
        components.append(CreditComponent(name, zh, en, inputs_, round(min(deduction, cap), 2), cap))

    calls = sum(t.calls_total or 0 for t in traffic)
    complaints = sum(t.complaints or 0 for t in traffic)
    rate = complaints / calls * 10_000 if calls else None
    w = c["complaints"]
    component("complaints", "每万次呼叫投诉数", "Complaints per 10,000 calls",
              {"complaints": complaints, "calls": calls, "per_10k_calls": round(rate, 3) if rate is not None else None,
               "months": [t.month for t in traffic], "per_complaint_per_10k_calls": w["per_complaint_per_10k_calls"]},
              (rate or 0) * w["per_complaint_per_10k_calls"], w["cap"])

    checks = [s for s in inputs.spot_checks if since < s.on <= today]
    sampled = sum(s.sampled for s in checks)
    passed = sum(s.passed for s in checks)
    failure = 1 - passed / sampled if sampled else None
    w = c["spot_checks"]
    component("spot_checks", "实名抽检不合格率", "Real-name spot-check failure rate",
              {"sampled": sampled, "passed": passed, "failure_rate": round(failure, 4) if failure is not None else None,
               "events": [s.event_id for s in checks]},
              (failure or 0) * w["per_failure_rate"], w["cap"])

    open_findings = [f for f in evaluation.findings if finding_open_at(f, at)]
    for sev, key, zh, en in (("critical", "critical_findings", "未解决的严重问题", "Open critical findings"),
                             ("high", "high_findings", "未解决的高风险问题", "Open high findings")):
        ids = [f.id for f in open_findings if f.severity == sev]
        w = c[key]
        component(key, zh, en, {"count": len(ids), "findings": ids, "each": w["each"]}, len(ids) * w["each"], w["cap"])

    soon = pack.due_soon_days
    w = c["overdue_obligations"]
    counted = set(w["confidences"])  # statutory and notice: advisory agency practice costs nothing (§6)
    overdue: list[str] = []
    other: list[str] = []
    for o in evaluation.obligations:
        if not o.informational and status_on(o, today, soon) == "overdue":
            (overdue if o.confidence in counted else other).append(o.id)
    component("overdue_obligations", "逾期义务（法定、通知）", "Overdue obligations (statutory, notice)",
              {"count": len(overdue), "obligations": overdue, "each": w["each"], "confidences": list(w["confidences"])},
              len(overdue) * w["each"], w["cap"])
    w = c["overdue_advisory_obligations"]
    component("overdue_advisory_obligations", "逾期义务（建议类，不扣分）", "Overdue obligations (advisory, weight 0)",
              {"count": len(other), "obligations": other, "each": w["each"]}, len(other) * w["each"], w["cap"])

    penalties = [p for p in inputs.penalties
                 if since < p.decided_on <= today and (p.revoked_on is None or p.revoked_on > today)]
    w = c["penalties"]
    component("penalties", "近12个月行政处罚", "Penalties in the last 12 months",
              {"count": len(penalties), "decisions": [p.decision_no for p in penalties], "each": w["each"]},
              len(penalties) * w["each"], w["cap"])

    w = c["listings"]
    listed = [lp for lp in inputs.listings if lp.list in w["lists"] and lp.listed_on <= today
              and (lp.removed_on is None or today < lp.removed_on)]
    component("listings", "列入不良名单或失信名单", "On the 不良名单 or 失信名单",
              {"lists": sorted({lp.list for lp in listed}), "events": [lp.event_id for lp in listed]},
              w["deduction"] if listed else 0, w["deduction"])

    coverage = len({t.month for t in traffic})
    window = (months[0], months[-1])
    total = sum(x.deduction for x in components)
    if coverage < c["min_coverage_months"] and not checks:
        return CreditEstimate(
            "estimate", None, None, coverage, c["window_months"], window, tuple(components),
            f"近{c['window_months']}个月没有话务数据，无法估算信用分（不按100分计）。已知扣分合计{total:g}分。",
            f"No traffic data in the last {c['window_months']} months: no score is estimated (not 100). "
            f"Known deductions total {total:g}.",
        )
    score = round(max(0.0, 100 - total), 1)
    bands = c["bands"]
    band = "good" if score >= bands["good"] else "watch" if score >= bands["watch"] else "at_risk"
    return CreditEstimate(
        "estimate", score, band, coverage, c["window_months"], window, tuple(components),
        f"估算值，非官方信用分：100分减去近{c['window_months']}个月的封顶扣分；话务数据覆盖{coverage}/{c['window_months']}个月。",
        f"Estimate, not an official score: 100 minus capped deductions over the last {c['window_months']} months; "
        f"traffic data for {coverage} of {c['window_months']} months.",
    )


def credit_alert(previous: CreditEstimate | None, current: CreditEstimate, pack: RulePack) -> CreditAlert | None:
    """Alert when the estimate falls below the threshold, or drops by the configured points."""
    a = pack.credit["alert"]
    if current.score is None:
        return None
    before = previous.score if previous is not None else None
    if current.score < a["below"] and (before is None or before >= a["below"]):
        return CreditAlert("credit.below_threshold", "below",
                           f"信用分估算降至{current.score:g}，低于{a['below']}分。",
                           f"The credit estimate fell to {current.score:g}, below {a['below']}.")
    if before is not None and before - current.score >= a["drop"]:
        return CreditAlert("credit.below_threshold", "drop",
                           f"信用分估算由{before:g}降至{current.score:g}（下降{before - current.score:g}分）。",
                           f"The credit estimate dropped from {before:g} to {current.score:g}.")
    return None

"""Builders for rule-pack tests: a company's story as RecordedFacts, instants in Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger_contracts.catalogue import CATALOGUE
from ledger_rules import SHANGHAI, Calendar, RecordedFact, RulePack, evaluate

USCC = "91310115MA1K4B8N68"
PACK = RulePack.default()
CAL = Calendar.official()

# Values for required fields a story leaves out: fields no rule reads, or values no rule objects to
# (a month or quarter is the one the fact is dated in, a decision is received the day it is made).
# A story need only say what matters to it.
QUIET: dict[str, Callable[[date, Mapping[str, Any]], dict[str, Any]]] = {
    "number.allocated": lambda on, given: {"provider": "中国电信"},
    "facility.mlps_filed": lambda on, given: {"filing_no": "31010043004-24001"},
    "facility.mlps_assessed": lambda on, given: {"result": "符合"},
    "workforce.seats_declared": lambda on, given: {"system_registered_seats": 0, "overseas_seats": 0},
    "workforce.social_insurance_reported": lambda on, given: {
        "month": f"{on:%Y-%m}", "min_contribution_base": 5000, "local_average_wage": 8000},
    "workforce.three_way_check_recorded": lambda on, given: {"quarter": f"{on.year}Q{(on.month - 1) // 3 + 1}"},
    "outsourcing.vendor_verified": lambda on, given: {
        "verified_on": f"{on}", "name_matches": True, "uscc_matches": True, "category_ok": True, "status_valid": True,
        "coverage_ok": True},
    "licence.applied": lambda on, given: {"category": "B24", "scope": "nationwide", "authority": "工业和信息化部"},
    "licence.issued": lambda on, given: {"authority": "工业和信息化部"},
    "licence.change_filed": lambda on, given: {"filed_on": f"{on}"},
    "licence.renewal_applied": lambda on, given: {"applied_on": f"{on}"},
    "licence.annual_report_submitted": lambda on, given: {"submitted_on": f"{on}"},
    "licence.annual_report_returned": lambda on, given: {"reason": "材料不全"},
    **{t: (lambda on, given: {"reason": "依法处理"}) for t in (
        "licence.refused", "licence.renewal_refused", "licence.suspended", "licence.revoked", "licence.cancelled")},
    "traffic.period_reported": lambda on, given: {
        "month": f"{on:%Y-%m}", "outbound_calls": given.get("calls_total", 0), "outbound_marketing_calls": 0,
        "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0, "complaints": 0, "recordings_retained_days": 180,
        "consent_records": True},
    "penalty.imposed": lambda on, given: {
        "authority": "上海市通信管理局", "legal_basis": "电信条例第六十九条", "decided_on": f"{on}",
        "received_on": given.get("decided_on", f"{on}"), "fine": 0, "orders_rectification": False},
    "penalty.rectification_submitted": lambda on, given: {"report_ref": "R-1"},
    "site.leased": lambda on, given: {"address": "上海市浦东新区张江路1号", "lease_start": f"{on}", "workstations": 0,
                               "purpose_text": "呼叫中心经营", "sublease": False, "owner_consent": False},
}


def contract_payload(type_: str, data: Mapping[str, Any], on: date) -> dict[str, Any]:
    """A story's payload (of a fact dated `on`) as the ledger would hold it: the required fields it leaves
    out filled by quiet values, and checked by the contract model where the rule pack receives the model
    (a story the contract refuses is a mistake of the test, said here rather than inside the rules)."""
    full = {**QUIET[type_](on, data), **data} if type_ in QUIET else dict(data)
    if type_ in CATALOGUE:
        CATALOGUE[type_].payload.model_validate(full)  # raises, naming the field, if the story is wrong
    return full


def d(s: str) -> date:
    return date.fromisoformat(s)


def at(s: str, hour: int = 9) -> datetime:
    """An aware instant: 'YYYY-MM-DD' means that day at `hour`:00 Asia/Shanghai."""
    if "T" in s:
        return datetime.fromisoformat(s)
    day = d(s)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def start_of(s: str) -> datetime:
    """00:00 Asia/Shanghai of a day, in UTC."""
    day = d(s)
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


class Story:
    """One company's facts in ledger order."""

    def __init__(self, company: str = USCC):
        self.company = company
        self.facts: list[RecordedFact] = []

    def add(self, type_: str, effective: str, data: dict | None = None, *, recorded: str | None = None,
            event_id: str | None = None) -> RecordedFact:
        eff = d(effective)
        rec = d(recorded) if recorded else eff
        data = contract_payload(type_, data or {}, eff)
        n = len(self.facts) + 1
        fact = RecordedFact(
            event_id=event_id or f"ev-{n:03d}-{type_}",
            type=type_,
            company=self.company,
            effective_date=eff,
            recorded_at=datetime(rec.year, rec.month, rec.day, 2, 30, tzinfo=UTC) + timedelta(hours=1),
            data=data,
            ledger_sequence=n,
            aggregate_id=str(data.get("licence_no") or data.get("number") or self.company),
        )
        self.facts.append(fact)
        return fact

    # frequent facts
    def registered(self, on="2021-06-01", capital=12_000_000, industry="other", province="31"):
        return self.add("company.registered", on, {"name": "某公司", "registered_capital": capital,
                                                   "province": province, "industry": industry,
                                                   "business_scope": ["呼叫中心业务"]})

    def licence(self, no="B2-20220315", issued="2022-03-15", expires="2027-03-14", scope="nationwide",
                provinces=(), category="B24", authority="MIIT"):
        return self.add("licence.issued", issued, {"licence_no": no, "category": category, "scope": scope,
                                                   "provinces": list(provinces), "issued_on": issued,
                                                   "expires_on": expires, "authority": authority})

    def evaluate(self, pack: RulePack = PACK, cal: Calendar = CAL, until: date | None = None):
        return evaluate(self.facts, pack, cal, until=until)


def only(items, **where):
    found = [x for x in items if all(getattr(x, k) == v for k, v in where.items())]
    assert len(found) == 1, f"expected one of {where}, found {len(found)}: {[(x.rule, getattr(x, 'about', None)) for x in items]}"
    return found[0]


def none_of(items, **where):
    found = [x for x in items if all(getattr(x, k) == v for k, v in where.items())]
    assert not found, f"expected none of {where}, found {found}"

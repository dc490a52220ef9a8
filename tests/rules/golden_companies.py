"""Companies whose full evaluation is kept as a golden snapshot (tests/rules/golden/).

The snapshot pins every output of the rule pack — obligations, ids, dates, notes, findings and
their intervals, credit, summaries, statuses and reminders — so that work on the pack's speed
cannot change an answer. `python tests/rules/golden_companies.py` rewrites it; do that only
for an intended change of the rules, and say so in the review.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger_rules import (
    SHANGHAI,
    Calendar,
    RecordedFact,
    RulePack,
    add_months,
    as_json,
    credit_estimate,
    evaluate,
    finding_open_at,
    obligation_status,
    reminder_schedule,
)
from rules_support import contract_payload
from spec_files import acceptance_scenarios

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "golden" / "evaluations.json.gz"
PROJECTOR_SCENARIOS = HERE.parent / "projector" / "scenarios"

TENANT_PACK = RulePack.default().with_overrides({
    "due_soon_days": 45,
    "horizon_days": 400,
    "rules": {"number-fee": {"day_of_month": 15}, "three-way-check": {"enabled": False},
              "renewal": {"days_before_expiry": 120}, "seat-inflation": {"tolerance": 0.5}},
})
CAL_2027 = Calendar.official().with_year({
    "year": 2027, "source": "test schedule",
    "holidays": ["2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09",
                 "2027-04-05", "2027-05-01", "2027-05-02", "2027-05-03", "2027-10-01", "2027-10-04"],
    "workdays": ["2027-02-13", "2027-09-26"],
})


# a registration change of each field, with values of its kind (people are opaque references, never names)
CHANGED: dict[str, dict[str, str]] = {
    "name": {"old": "某呼叫中心有限公司", "new": "新某呼叫中心有限公司"},
    "legal_representative": {"old": "P-0001", "new": "P-0002"},
    "registered_capital": {"old": "1000000", "new": "12000000"},
    "business_scope": {"old": "呼叫中心业务", "new": "呼叫中心业务；信息服务业务"},
    "registered_address": {"old": "上海市浦东新区", "new": "上海市徐汇区"},
    "contact": {"old": "R-01", "new": "R-02"},
}


def _fact(i: int, company: str, type_: str, effective: date, data: dict[str, Any],
          recorded: datetime | None = None) -> RecordedFact:
    rec = recorded or datetime(effective.year, effective.month, effective.day, 3, 30, tzinfo=UTC)
    data = contract_payload(type_, data, effective)
    agg = str(data.get("licence_no") or data.get("number") or data.get("site_ref") or company)
    return RecordedFact(f"ev-{company[-6:]}-{i:04d}", type_, company, effective, rec, data, i, agg)


def scenario_facts(path: Path) -> list[RecordedFact]:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    companies = sorted({f["company"] for f in scenario["facts"]})
    company = scenario.get("expect", {}).get("company", companies[0])
    out = []
    for i, f in enumerate(scenario["facts"], start=1):
        if f["company"] != company:
            continue
        eff = date.fromisoformat(f["effective_date"])
        recorded = datetime.fromisoformat(f"{eff.isoformat()}T10:00:00+08:00") + timedelta(hours=3)
        out.append(RecordedFact(f"sc-{i}", f["type"], f["company"], eff, recorded, f["data"], i, f["company"]))
    return out


def projector_synthetic(i: int, rng: random.Random) -> list[RecordedFact]:
    """The companies of tests/projector/synthetic.py (same shape), as facts."""
    co = f"913101{10_000 + i:011d}X"[:18]
    start = date(2021, 1, 4) + timedelta(days=rng.randrange(0, 900))
    issued = start + timedelta(days=rng.randrange(10, 200))
    lic = f"B2-{issued.strftime('%Y%m%d')}"
    rows: list[tuple[str, date, dict[str, Any]]] = [
        ("company.registered", start, {"name": f"测试呼叫中心{i}有限公司",
                                       "registered_capital": rng.choice([2_000_000, 12_000_000]),
                                       "province": "31", "industry": "other", "business_scope": ["呼叫中心业务"]}),
        ("licence.issued", issued, {"licence_no": lic, "category": "B24", "scope": "nationwide", "provinces": [],
                                    "issued_on": issued.isoformat(),
                                    "expires_on": (issued + timedelta(days=5 * 365 - 1)).isoformat(),
                                    "authority": "MIIT"}),
    ]
    for k in range(rng.randrange(1, 4)):
        rows.append(("number.allocated", issued + timedelta(days=30 + 40 * k),
                     {"number": f"40060{i % 10000:04d}{k}", "kind": "400", "province": "31"}))
    for y in range(issued.year, 2026):
        if rng.random() < 0.7:
            sub = date(y + 1, 3, rng.randrange(1, 28))
            rows.append(("licence.annual_report_submitted", sub,
                         {"licence_no": lic, "year": y, "submitted_on": sub.isoformat()}))
    for m in range(rng.randrange(0, 4)):
        rows.append(("traffic.period_reported", date(2026, m + 2, 5),
                     {"month": f"2026-0{m + 1}", "calls_total": 50_000, "complaints": rng.randrange(0, 30),
                      "recordings_retained_days": 90, "consent_records": True}))
    return [_fact(n, co, t, d, data) for n, (t, d, data) in enumerate(rows, start=1)]


def rich_company(seed: int, company: str = "91310115MA1K4B8N68", years: int = 5) -> list[RecordedFact]:
    """About 100+ facts over `years` years touching every rule: licences, numbers, sites, systems,
    workforce, traffic, penalties, listings, vendors, restructurings, waivers and milestones."""
    rng = random.Random(seed)
    start = date(2021, 1, 4) + timedelta(days=rng.randrange(0, 200))
    rows: list[tuple[str, date, dict[str, Any]]] = []

    def add(type_: str, on: date, data: dict[str, Any]) -> None:
        rows.append((type_, on, data))

    add("company.registered", start, {"name": "某呼叫中心有限公司", "registered_capital": rng.choice([800_000, 12_000_000]),
                                      "province": "31", "industry": rng.choice(["other", "education"]),
                                      "business_scope": ["呼叫中心业务"]})
    issued = start + timedelta(days=rng.randrange(30, 120))
    scope = rng.choice(["nationwide", "provincial"])
    lic = f"B2-{issued:%Y%m%d}"
    add("licence.applied", issued - timedelta(days=45), {"licence_no": lic, "category": "B24", "scope": scope,
                                                         "provinces": ["31"] if scope == "provincial" else [],
                                                         "authority": "MIIT" if scope == "nationwide" else "SHCA"})
    add("licence.issued", issued, {"licence_no": lic, "category": rng.choice(["B24", "B24", "B21"]), "scope": scope,
                                   "provinces": ["31"] if scope == "provincial" else [],
                                   "issued_on": issued.isoformat(),
                                   # one in five was recorded without expiry, which the pack then assumed 5
                                   # years on: the contract requires it, so that assumed date is recorded
                                   "expires_on": (issued + timedelta(days=5 * 365 - 1)).isoformat()
                                   if rng.random() < 0.8 else (add_months(issued, 60) - timedelta(days=1)).isoformat(),
                                   "authority": "MIIT" if scope == "nationwide" else "SHCA"})
    end = start + timedelta(days=365 * years)
    numbers = []
    for k in range(rng.randrange(2, 5)):
        on = issued + timedelta(days=rng.randrange(-20, 400))
        kind = rng.choice(["400", "95", "fixed", "96"])
        no = {"400": f"400{seed:02d}{k:05d}", "95": f"95{seed:02d}{k:04d}", "96": f"96{seed:02d}{k:04d}",
              "fixed": f"021{seed:02d}{k:06d}"}[kind]  # each a number of its kind, as the contract requires
        numbers.append(no)
        add("number.allocated", on, {"number": no, "kind": kind, "province": rng.choice(["31", "31", "44"])})
        if rng.random() < 0.7:
            add("number.filed", on + timedelta(days=rng.randrange(5, 50)), {"number": no})
        if rng.random() < 0.8:
            act = on + timedelta(days=rng.randrange(3, 30))
            add("number.activated", act, {"number": no})
            if rng.random() < 0.6:
                add("number.activation_reported", act + timedelta(days=rng.randrange(2, 20)), {"number": no})
        q = date(on.year, (on.month - 1) // 3 * 3 + 1, 8)
        while q < end - timedelta(days=90):
            q = date(q.year + (q.month + 3 > 12), (q.month + 2) % 12 + 1, rng.randrange(2, 16))
            if rng.random() < 0.75:
                add("number.fee_paid", q, {"number": no, "quarter": f"{q.year}Q{(q.month - 1) // 3 + 1}"})
        if rng.random() < 0.3:
            add("number.released", on + timedelta(days=rng.randrange(300, 900)), {"number": no})
    for y in range(issued.year, end.year):
        if rng.random() < 0.8:
            sub = date(y + 1, rng.choice([2, 3, 3, 4, 5]), rng.randrange(1, 28))
            add("licence.annual_report_submitted", sub, {"licence_no": lic, "year": y, "submitted_on": sub.isoformat()})
            if rng.random() < 0.2:
                add("licence.annual_report_returned", sub + timedelta(days=10),
                    {"licence_no": lic, "year": y, "correct_by": (sub + timedelta(days=40)).isoformat()})
                add("licence.annual_report_submitted", sub + timedelta(days=30),
                    {"licence_no": lic, "year": y, "submitted_on": (sub + timedelta(days=30)).isoformat()})
        if numbers and rng.random() < 0.6:
            add("numbering.annual_report_submitted", date(y + 1, 3, rng.randrange(1, 31)), {"year": y})
    for fld in rng.sample(["name", "legal_representative", "registered_capital", "business_scope",
                           "registered_address", "contact"], 3):
        on = start + timedelta(days=rng.randrange(100, 365 * years - 100))
        add("company.registration_changed", on, {"field": fld, **CHANGED[fld]})
        if rng.random() < 0.6:
            add("licence.change_filed", on + timedelta(days=rng.randrange(5, 45)),
                {"licence_no": lic, "fields": [fld], "filed_on": (on + timedelta(days=20)).isoformat()})
        if numbers and rng.random() < 0.5:
            add("number.contact_change_notified", on + timedelta(days=rng.randrange(3, 20)), {"number": numbers[0]})
    add("site.leased", start + timedelta(days=10), {"site_ref": "S1", "province": "31", "area_m2": rng.choice([60, 300]),
                                                    "lease_end": (start + timedelta(days=900)).isoformat(),
                                                    "purpose_text": rng.choice(["呼叫中心办公", "办公"]),
                                                    "sublease": rng.random() < 0.3, "owner_consent": False})
    add("site.lease_renewed", start + timedelta(days=850), {"site_ref": "S1",
                                                            "new_lease_end": (start + timedelta(days=1800)).isoformat()})
    if rng.random() < 0.5:
        add("site.leased", start + timedelta(days=400), {"site_ref": "S2", "province": "44", "area_m2": 30,
                                                         "lease_end": (start + timedelta(days=1100)).isoformat()})
        add("site.vacated", start + timedelta(days=1000), {"site_ref": "S2"})
    add("facility.mlps_filed", issued + timedelta(days=20), {"system_ref": "CC", "level": 3, "filing_no": "x"})
    a = issued + timedelta(days=60)
    while a < end:
        if rng.random() < 0.8:
            add("facility.mlps_assessed", a, {"system_ref": "CC", "level": 3, "result": "pass"})
        a += timedelta(days=rng.randrange(300, 420))
    p = issued + timedelta(days=30)
    while p < end:
        if rng.random() < 0.7:
            add("facility.emergency_plan_updated", p, {"system_ref": "CC"})
        p += timedelta(days=rng.randrange(150, 200))
    add("workforce.seats_declared", issued + timedelta(days=5), {"declared_seats": 100, "system_registered_seats": 100,
                                                                 "overseas_seats": rng.choice([0, 0, 5])})
    for m in range(0, 12 * years, rng.choice([2, 3])):
        mo = date(start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1)
        key = f"{mo:%Y-%m}"
        add("workforce.social_insurance_reported", mo + timedelta(days=35),
            {"month": key, "insured_headcount": rng.choice([2, 80, 100]), "min_contribution_base": 3000,
             "local_average_wage": rng.choice([5000, 8000])})
        report = {"month": key, "calls_total": rng.randrange(5_000, 60_000), "complaints": rng.randrange(0, 20),
                  "recordings_retained_days": rng.choice([20, 90]), "consent_records": rng.random() < 0.8,
                  "outbound_marketing_calls": rng.choice([0, 10]), "calls_outside_hours": rng.choice([0, 0, 3]),
                  "marketing_calls_on_rest_days": rng.choice([0, 4]), "revenue_95": 70, "carrier_settlement_95": 100}
        # the parts fit their totals, as the contract requires: no rest-day marketing calls without marketing calls
        report["marketing_calls_on_rest_days"] = min(report["marketing_calls_on_rest_days"],
                                                     report["outbound_marketing_calls"])
        add("traffic.period_reported", mo + timedelta(days=36), {**report, "outbound_calls": report["calls_total"]})
    for q in range(0, 4 * years, 2):
        qd = date(start.year + q // 4, q % 4 * 3 + 1, 1) + timedelta(days=95)
        add("workforce.three_way_check_recorded", qd,
            {"quarter": f"{start.year + q // 4}Q{q % 4 + 1}", "actual_seats": 100,
             "system_registered_seats": rng.choice([100, 120]), "insured_headcount": rng.choice([100, 80])})
    for k in range(rng.randrange(1, 4)):
        on = start + timedelta(days=rng.randrange(200, 365 * years - 200))
        no = f"沪通管罚〔{on.year}〕{seed}{k}号"
        rect = rng.random() < 0.6
        add("penalty.imposed", on, {"decision_no": no, "decided_on": on.isoformat(), "authority": "上海市通信管理局",
                                    "legal_basis": "电信条例第六十九条",
                                    "received_on": (on + timedelta(days=3 if rng.random() < 0.5 else 0)).isoformat(),
                                    "fine": rng.choice([0, 5000, 20000]), "orders_rectification": rect,
                                    "rectification_due": (on + timedelta(days=60)).isoformat()
                                    if rect and rng.random() < 0.5 else None})
        if rng.random() < 0.6:
            add("penalty.paid", on + timedelta(days=rng.randrange(5, 30)), {"decision_no": no, "amount": 5000})
        if rect and rng.random() < 0.5:
            add("penalty.rectification_deadline_recorded", on + timedelta(days=10),
                {"decision_no": no, "rectification_due": (on + timedelta(days=50)).isoformat()})
        if rect and rng.random() < 0.6:
            add("penalty.rectification_submitted", on + timedelta(days=40), {"decision_no": no, "report_ref": "r"})
        if rng.random() < 0.15:
            add("penalty.revoked", on + timedelta(days=70), {"decision_no": no})
    if rng.random() < 0.5:
        on = start + timedelta(days=rng.randrange(300, 1200))
        add("listing.listed", on, {"list": rng.choice(["bad", "dishonest"]), "authority": "x", "reason": "y"})
        add("listing.removed", on + timedelta(days=200), {"list": "bad"})
    add("traffic.spot_check_recorded", end - timedelta(days=100), {"sampled": 200, "passed": rng.randrange(150, 200)})
    for uscc, mode in (("91110105MA00ABCD1G", "bpo"), ("91110105MA00ABCD2K", "seat_leasing")):
        if rng.random() < 0.6:
            on = start + timedelta(days=rng.randrange(50, 800))
            add("outsourcing.arranged", on, {"mode": mode, "vendor_uscc": uscc, "vendor_name": "某某通信",
                                             "vendor_licence_category": rng.choice(["B24", "B21"]),
                                             "vendor_licence_expires_on": (on + timedelta(days=700)).isoformat(),
                                             "provinces_served": ["11", "31"]})
            if rng.random() < 0.7:
                add("outsourcing.vendor_verified", on + timedelta(days=300),
                    {"vendor_uscc": uscc, "verified_on": (on + timedelta(days=300)).isoformat(),
                     "name_matches": True, "category_ok": rng.random() < 0.7})
            if rng.random() < 0.3:
                add("outsourcing.ended", on + timedelta(days=500), {"vendor_uscc": uscc})
    if rng.random() < 0.7:
        on = start + timedelta(days=rng.randrange(300, 1000))
        add("company.restructuring_decided", on, {"kind": "shareholder_change", "ref": "R1"})
        add("company.restructuring_completed", on + timedelta(days=20), {"ref": "R1"})
        if rng.random() < 0.5:
            add("company.restructuring_approved", on + timedelta(days=25), {"ref": "R1"})
    add("company.capabilities_declared", start + timedelta(days=400),
        {"ai_outbound": rng.random() < 0.5, "cross_border": rng.random() < 0.5})
    expiry = issued + timedelta(days=5 * 365 - 1)
    if rng.random() < 0.6:
        applied = expiry - timedelta(days=rng.choice([100, 60]))
        add("licence.renewal_applied", applied, {"licence_no": lic, "applied_on": applied.isoformat()})
        if rng.random() < 0.7:
            add("licence.renewed", applied + timedelta(days=30),
                {"licence_no": lic, "new_expires_on": (expiry + timedelta(days=5 * 365)).isoformat()})
    if rng.random() < 0.2:
        add("licence.suspended", start + timedelta(days=600), {"licence_no": lic})
        add("licence.reinstated", start + timedelta(days=640), {"licence_no": lic})
    facts = [_fact(n, company, t, d, data) for n, (t, d, data) in enumerate(rows, start=1)]
    # waivers and milestone acknowledgements name obligation ids: take them from a first evaluation
    first = evaluate(facts, RulePack.default(), Calendar.official())
    extra: list[tuple[str, date, dict[str, Any]]] = []
    for ob in first.obligations:
        if ob.rule == "annual-report-prep" and rng.random() < 0.4:
            for m in ob.milestones[: rng.randrange(1, 5)]:
                extra.append(("company.milestone_acknowledged", m.due - timedelta(days=rng.randrange(-3, 5)),
                              {"obligation_id": ob.id, "milestone": m.key}))
        elif ob.rule in ("number-filing", "lease-renewal", "emergency-plan") and rng.random() < 0.2:
            # a waiver that waives nothing in one draw of two: the contract refuses a waiver without a
            # reason (which waived nothing), so it names no obligation of the company instead
            reason = rng.choice(["", "不适用"])
            extra.append(("company.obligation_waived", ob.due - timedelta(days=5),
                          {"obligation_id": ob.id if reason else "ob_0000000000000000", "reason": reason or "不适用"}))
    n = len(facts)
    facts += [_fact(n + k, company, t, d, data) for k, (t, d, data) in enumerate(extra, start=1)]
    # late recording: a few facts recorded well after they happened
    late = rng.sample(range(len(facts)), 3)
    for k in late:
        f = facts[k]
        facts[k] = RecordedFact(f.event_id, f.type, f.company, f.effective_date,
                                f.recorded_at + timedelta(days=120), f.data, f.ledger_sequence, f.aggregate_id)
    return facts


def companies() -> Iterator[tuple[str, list[RecordedFact], RulePack, Calendar, date | None]]:
    """(name, facts, pack, calendar, until) for every company in the snapshot."""
    pack, cal = RulePack.default(), Calendar.official()
    for path in acceptance_scenarios() + sorted(PROJECTOR_SCENARIOS.glob("*.json")):
        facts = scenario_facts(path)
        yield f"scenario:{path.stem}", facts, pack, cal, None
    rng = random.Random(7)
    for i in range(6):
        yield f"projector-synthetic:{i}", projector_synthetic(i, rng), pack, cal, None
    for seed in range(1, 9):
        facts = rich_company(seed)
        yield f"rich:{seed}", facts, pack, cal, None
        if seed <= 2:
            yield f"rich:{seed}:until-2031", facts, pack, cal, date(2031, 6, 30)
            yield f"rich:{seed}:tenant-pack", facts, TENANT_PACK, cal, None
            yield f"rich:{seed}:calendar-2027", facts, pack, CAL_2027, None
    yield "empty", [], pack, cal, None


def instants(ev) -> list[datetime]:
    """Instants at which statuses, open findings, summaries and credit are pinned."""
    days = [date(2021, 6, 30), date(2023, 3, 31), date(2024, 4, 10), date(2025, 5, 1), date(2026, 1, 10),
            date(2026, 11, 23), date(2027, 3, 31)]
    out = [datetime(d.year, d.month, d.day, 9, tzinfo=SHANGHAI) for d in days]
    out.append(datetime(2026, 4, 9, 16, 0, tzinfo=UTC))  # exactly 00:00 Shanghai of 10 April
    return out


def snapshot_of(name: str, facts: list[RecordedFact], pack: RulePack, cal: Calendar, until: date | None) -> dict:
    ev = evaluate(facts, pack, cal, until=until)
    at_ = {}
    for t in instants(ev):
        at_[t.isoformat()] = {
            "statuses": [obligation_status(o, t, pack) for o in ev.obligations],  # in obligation order
            "open": [finding_open_at(f, t) for f in ev.findings],  # in finding order
            "summary": as_json(ev.summary(t)),
            "credit": as_json(credit_estimate(ev, t, pack)),
        }
    return {
        "name": name,
        "facts": len(facts),
        "evaluation": as_json(ev),
        "reminders": {o.id: as_json(reminder_schedule(o, pack)) for o in ev.obligations},
        "at": at_,
    }


def build() -> dict[str, dict]:
    return {name: snapshot_of(name, facts, pack, cal, until) for name, facts, pack, cal, until in companies()}


def write(path: Path = SNAPSHOT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(build(), ensure_ascii=False, sort_keys=True, indent=0)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
        fh.write(text.encode("utf-8"))  # mtime 0: the same answers give the same bytes


def load(path: Path = SNAPSHOT) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOT)
    print(f"wrote {SNAPSHOT}")

"""Realistic facts for the benchmark: many companies, valid USCCs, a plausible life each.

Every fact passes its payload model (the services and the projector would refuse
anything else, and a benchmark of refusals measures nothing). The same facts come
out as submitted facts (for cmd.<service> and HTTP) or as sealed CloudEvents with
their hash chains (for raw JetStream baselines and for filling LEDGER fast).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.formats import USCC_CHARSET, uscc_check_char
from ledger_kernel import envelope

# Real county-level division codes (GB/T 2260) with their province: Shanghai Pudong, Beijing Chaoyang,
# Shenzhen, Guangzhou Tianhe, Hangzhou Xihu, Chengdu Wuhou, Wuhan Jianghan, Nanjing Jianye.
DIVISIONS = ("310115", "110105", "440300", "440106", "330106", "510107", "420103", "320105")
MONTHS = [f"{y}-{m:02d}" for y in range(2016, 2026) for m in range(1, 13)]  # 120 months, all in the past
RECORDED_AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
TRACKED_FROM = date(2025, 7, 1)  # every company's onboarding baseline: half a year before the facts are recorded


def uscc(index: int, division: str | None = None) -> str:
    """A valid 18-character USCC for company ``index``: 91 (enterprise), division, organisation code, check."""
    division = division or DIVISIONS[index % len(DIVISIONS)]
    n, org = index, []
    for _ in range(9):
        n, r = divmod(n, len(USCC_CHARSET))
        org.append(USCC_CHARSET[r])
    first17 = "91" + division + "MA" + "".join(reversed(org))[2:]
    return first17 + uscc_check_char(first17)


def _number(company: int, j: int) -> str:
    """A 400 number unique to (company, j) across a million companies' worth of numbers."""
    return f"400{(company * 211 + j) % 10_000_000:07d}"


def company_facts(index: int, events: int) -> list[dict[str, Any]]:
    """``events`` facts about company ``index`` in the order a back office would record them.

    Registration, the onboarding baseline, licence, seats and premises first; then the monthly traffic
    and social-insurance reports of 2016–2025 (a company of 100 facts has only reports), then numbers
    being allocated, filed, activated and reported (up to 190). Every aggregate key is unique within the
    company, so no domain invariant refuses a fact.
    """
    company = uscc(index)
    province = company[2:4]
    serial = f"20{(index % 6) + 18}{(index % 12) + 1:02d}{(index % 28) + 1:02d}"
    licence = f"B2-{serial}"
    issued = date(2000 + int(serial[2:4]), int(serial[4:6]), int(serial[6:8]))
    head: list[tuple[str, date, dict[str, Any]]] = [
        ("company.registered", issued.replace(year=issued.year - 1),
         {"name": f"某客服外包有限公司{index}", "registered_capital": 12_000_000 + index, "province": province,
          "industry": "other", "business_scope": ["呼叫中心业务", "信息技术咨询"]}),
        # onboarded as real clients are: history before the baseline is attested, not alerted (rules.md §5)
        ("company.tracking_started", TRACKED_FROM,
         {"tracked_from": TRACKED_FROM.isoformat(), "attested_by": "client compliance officer 客户合规负责人",
          "note": "onboarded with its history; earlier filings checked by the consultancy"}),
        ("licence.issued", issued,
         {"licence_no": licence, "category": "B24", "scope": "nationwide", "provinces": [],
          "issued_on": issued.isoformat(), "expires_on": issued.replace(year=issued.year + 5).isoformat(),
          "authority": "MIIT"}),
        ("workforce.seats_declared", issued,
         {"declared_seats": 120 + index % 50, "system_registered_seats": 118 + index % 50, "overseas_seats": 0}),
        ("site.leased", issued,
         {"site_ref": f"site-{index}-1", "province": province, "address": f"张江路{index % 900 + 1}号",
          "area_m2": 800, "lease_start": issued.isoformat(),
          "lease_end": issued.replace(year=issued.year + 6).isoformat(), "purpose_text": "办公",
          "sublease": False, "owner_consent": False, "workstations": 150}),
    ]
    if index % 10 == 3:  # one company in ten has had a penalty, and paid it
        head += penalty_facts(index, issued)
    out = [_fact(company, t, d, data) for t, d, data in head[:events]]
    month, number = 0, 0
    baseline = 1  # the onboarding baseline is one fact more; the rest of the company is as it was without it
    while len(out) < events:
        if month < len(MONTHS) and (number >= 190 or (len(out) - baseline) % 2 == 0):
            m = MONTHS[month]
            month += 1
            day = date(int(m[:4]), int(m[5:]), 28)
            out.append(_fact(company, "traffic.period_reported", day, {
                "month": m, "calls_total": 52_000 + month, "outbound_calls": 21_000, "outbound_marketing_calls": 9_000,
                "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0, "complaints": 3 + month % 7,
                "recordings_retained_days": 190, "consent_records": True}))
            if len(out) < events:
                out.append(_fact(company, "workforce.social_insurance_reported", day, {
                    "month": m, "insured_headcount": 130 + month % 9, "min_contribution_base": 5_975,
                    "local_average_wage": 12_183}))
            continue
        digits = _number(index, number)
        number += 1
        on = date(2020 + number % 5, 1 + number % 12, 10)
        for t, extra in (("number.allocated", {"kind": "400", "province": province, "provider": "中国联通",
                                                "purpose": "客服"}),
                         ("number.filed", {}), ("number.activated", {}), ("number.activation_reported", {})):
            if len(out) < events:
                out.append(_fact(company, t, on, {"number": digits, **extra}))
    return out


def penalty_facts(index: int, on: date) -> list[tuple[str, date, dict[str, Any]]]:
    decision = f"{'京沪粤浙'[index % 4]}通管罚〔{on.year + 1}〕{index % 97 + 1}号"
    decided = on.replace(year=on.year + 1)
    return [
        ("penalty.imposed", decided,
         {"decision_no": decision, "authority": "通信管理局", "decided_on": decided.isoformat(),
          "received_on": decided.isoformat(), "legal_basis": "电信条例第六十九条", "fine": 30_000,
          "orders_rectification": False, "description": "未按规定报送年报"}),
        ("penalty.paid", decided + timedelta(days=10), {"decision_no": decision, "amount": 30_000}),
    ]


def one_fact(service: str, index: int) -> dict[str, Any]:
    """A valid first fact for ``service`` about company ``index``."""
    if service == "penalties":
        t, d, data = penalty_facts(index, date(2022, 3, 15))[0]
        return _fact(uscc(index), t, d, data)
    return next(f for f in company_facts(index, 12) if owner(f["type"]) == service)


def _fact(company: str, fact_type: str, effective: date, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": fact_type, "company": company, "effective_date": effective.isoformat(), "data": data}


def facts(companies: int, per_company: int, *, first: int = 0) -> Iterator[dict[str, Any]]:
    """``companies × per_company`` facts, company after company (the order of a bulk import)."""
    for i in range(first, first + companies):
        yield from company_facts(i, per_company)


def interleaved(companies: int, per_company: int, *, group: int = 50, first: int = 0) -> Iterator[dict[str, Any]]:
    """The same facts with ``group`` companies recorded side by side, as a live ledger looks."""
    for g in range(first, first + companies, group):
        lists = [company_facts(i, per_company) for i in range(g, min(g + group, first + companies))]
        for k in range(per_company):
            for lst in lists:
                if k < len(lst):
                    yield lst[k]


def owner(fact_type: str) -> str:
    return str(CATALOGUE[fact_type].owner)


def request(tenant: str, fact: dict[str, Any], command_id: str | None = None) -> dict[str, Any]:
    """A cmd.<service> request (docs/internal-protocol.md)."""
    return {"tenant": tenant, "fact": fact, "command_id": command_id or str(uuid.uuid4()),
            "expected_sequence": None, "actor": "key:bench", "correlation_id": None, "causation_id": None}


@dataclass
class Sealer:
    """Turns facts into sealed events with per-aggregate sequence and hash chain (what a service would append)."""

    tenant: str
    tips: dict[str, tuple[int, str]] = field(default_factory=dict)
    counter: int = 0
    run: str = field(default_factory=lambda: uuid.uuid4().hex)  # ids unique across sealers: JetStream de-duplicates

    def seal(self, fact: dict[str, Any]) -> tuple[str, str, bytes]:
        """(subject, event id, encoded event)."""
        spec = CATALOGUE[fact["type"]]
        aggregate_id = spec.aggregate_id(fact["company"], fact["data"])
        subject = f"ledger.{self.tenant}.{fact['company']}.{spec.aggregate_type}.{aggregate_id}"
        sequence, prev = self.tips.get(subject, (0, envelope.GENESIS))
        self.counter += 1
        event_id = envelope.event_id_for(self.tenant, f"bench-{self.run}-{self.counter}")
        event = envelope.build_event(
            event_id=event_id, source=f"urn:ledger:{spec.owner}", event_type=fact["type"], version=spec.version,
            aggregate_id=aggregate_id, tenant=self.tenant, company=fact["company"], sequence=sequence + 1,
            effective_date=date.fromisoformat(fact["effective_date"]), data=fact["data"], prevhash=prev,
            recorded_at=RECORDED_AT, actor="key:bench")
        self.tips[subject] = (sequence + 1, event["hash"])
        return subject, event_id, envelope.encode(event)

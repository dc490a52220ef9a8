"""A synthetic ledger: many companies with realistic facts, and a few poison messages."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import date, timedelta
from typing import Any

from ledger_kernel.store import LedgerStore

from projector.ledger_facts import DirectRecorder

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(n: int) -> str:
    """A USCC with a valid GB 32100 check character."""
    body = f"913101{n:011d}"
    body = body[:17]
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return body + ALPHABET[(31 - total % 31) % 31]


def company_facts(i: int, rng: random.Random) -> list[dict[str, Any]]:
    co = uscc(10_000 + i)
    start = date(2021, 1, 4) + timedelta(days=rng.randrange(0, 900))
    issued = start + timedelta(days=rng.randrange(10, 200))
    lic = f"B2-{issued.strftime('%Y%m%d')}"
    facts = [
        {"type": "company.registered", "company": co, "effective_date": start.isoformat(),
         "data": {"name": f"测试呼叫中心{i}有限公司", "registered_capital": rng.choice([2_000_000, 12_000_000]),
                  "province": "31", "industry": "other", "business_scope": ["呼叫中心业务"]}},
        {"type": "licence.issued", "company": co, "effective_date": issued.isoformat(),
         "data": {"licence_no": lic, "category": "B24", "scope": "nationwide", "provinces": [],
                  "issued_on": issued.isoformat(), "expires_on": (issued + timedelta(days=5 * 365 - 1)).isoformat(),
                  "authority": "MIIT"}},
    ]
    for k in range(rng.randrange(1, 4)):
        on = issued + timedelta(days=30 + 40 * k)
        facts.append({"type": "number.allocated", "company": co, "effective_date": on.isoformat(),
                      "data": {"number": f"40060{i % 10000:04d}{k}", "kind": "400", "province": "31",
                               "provider": "某运营商", "purpose": "客服"}})
    for y in range(issued.year, 2026):
        if rng.random() < 0.7:
            sub = date(y + 1, 3, rng.randrange(1, 28))
            facts.append({"type": "licence.annual_report_submitted", "company": co, "effective_date": sub.isoformat(),
                          "data": {"licence_no": lic, "year": y, "submitted_on": sub.isoformat()}})
    for m in range(rng.randrange(0, 4)):
        month = f"2026-0{m + 1}"
        facts.append({"type": "traffic.period_reported", "company": co, "effective_date": f"2026-0{m + 2}-05",
                      "data": {"month": month, "calls_total": 50_000, "outbound_calls": 20_000,
                               "outbound_marketing_calls": 0, "calls_outside_hours": 0,
                               "marketing_calls_on_rest_days": 0, "complaints": rng.randrange(0, 30),
                               "recordings_retained_days": 90, "consent_records": True,
                               "revenue_95": 0, "carrier_settlement_95": 0}})
    return facts


async def fill(store: LedgerStore, recorder: DirectRecorder, tenant: str, companies: int, *, seed: int = 7,
               poison_every: int = 0, concurrency: int = 32) -> int:
    """Record every company's facts (companies interleaved, each in order); the ledger's last sequence."""
    rng = random.Random(seed)
    per = [company_facts(i, rng) for i in range(companies)]
    sem = asyncio.Semaphore(concurrency)
    counter = 0

    async def one(facts: list[dict[str, Any]]) -> None:
        nonlocal counter
        async with sem:
            for fact in facts:
                await recorder.record(tenant, fact)
                counter += 1
                if poison_every and counter % poison_every == 0:
                    await store.js.publish(f"ledger.{tenant}.{fact['company']}.junk.x{counter}",
                                           b"\xff not an event", headers={"Nats-Msg-Id": f"{tenant}-p{counter}"})

    await asyncio.gather(*(one(f) for f in per))
    return await store.last_sequence()


async def publish_bad_version(store: LedgerStore, tenant: str, company: str) -> None:
    """A well-formed event of a schema version this reader cannot upcast."""
    from ledger_kernel.envelope import build_event, encode

    event = build_event(event_id=f"{tenant}-v9", source="urn:ledger:test", event_type="company.registered",
                        version=9, aggregate_id=company, tenant=tenant, company=company, sequence=1,
                        effective_date=date(2026, 1, 1), data={"name": "x"}, prevhash="0" * 64,
                        recorded_at=__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC))
    await store.js.publish(f"ledger.{tenant}.{company}.company.{company}", encode(event))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()

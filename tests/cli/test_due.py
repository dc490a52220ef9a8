"""``ledger due --days N [--company USCC] [--all]``: what needs action across the tenant, against the live stack
(its clock stands at NOW; the command is told the same instant through LEDGER_CLOCK)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from gateway_harness import NOW
from ledger_kernel.clock import FixedClock, local_today
from projector.synthetic import uscc

TODAY = local_today(FixedClock(NOW))
CLOCK = {"LEDGER_CLOCK": NOW.isoformat()}
COMPANIES = [uscc(40_000 + i) for i in range(4)]


def facts() -> list[dict]:
    """Four licensed companies whose change filings fell due 50 and 5 days ago or fall due in 10 and 25 days;
    the first also has a 400 number (notice and advisory obligations)."""
    out = []
    for i, (co, days) in enumerate(zip(COMPANIES, (-50, 10, 25, -5), strict=True)):
        changed = TODAY + timedelta(days=days - 30)
        out += [
            {"type": "company.registered", "company": co, "effective_date": "2021-06-01",
             "data": {"name": f"待办测试{i}有限公司", "registered_capital": 12_000_000, "province": "31",
                      "industry": "other", "business_scope": ["呼叫中心业务"]}},
            {"type": "licence.issued", "company": co, "effective_date": "2024-02-05",
             "data": {"licence_no": f"B2-2024020{i}", "category": "B24", "scope": "nationwide", "provinces": [],
                      "issued_on": "2024-02-05", "expires_on": "2029-02-04", "authority": "MIIT"}},
            {"type": "company.registration_changed", "company": co, "effective_date": changed.isoformat(),
             "data": {"field": "legal_representative", "old": "person-001", "new": "person-002"}},
        ]
    out.append({"type": "number.allocated", "company": COMPANIES[0], "effective_date": (TODAY - timedelta(days=3))
                .isoformat(), "data": {"number": "4006000001", "kind": "400", "province": "31",
                                       "provider": "某运营商", "purpose": "客服"}})
    return out


async def test_ledger_due_lists_what_needs_action_within_n_days(stack, ledger, tenant_key):
    _, key = tenant_key
    async with stack.client(key) as client:
        r = await client.post("/v1/facts:batch", json=facts())
        assert r.status_code == 200 and all(x["ok"] for x in r.json()["results"]), r.text
        last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
        own = {}
        for co in COMPANIES:
            got = await client.get(f"/v1/companies/{co}/obligations", params={"page_size": 500, "min_sequence": last})
            own[co] = got.json()["items"]
    horizon = (TODAY + timedelta(days=30)).isoformat()

    def expected(confidences: tuple[str, ...], companies=COMPANIES) -> list[tuple]:
        return sorted((o["due"], co, o["id"]) for co in companies for o in own[co]
                      if o["status"] in ("overdue", "due_soon", "open", "scheduled")
                      and o["confidence"] in confidences and o["due"] <= horizon)

    common = ["--url", stack.url, "--key", key]
    result = await ledger("due", "--days", "30", "--json", *common, **CLOCK)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [(o["due"], o["company"], o["id"]) for o in items] == expected(("statutory", "notice"))
    filings = {o["company"]: o["status"] for o in items if o["rule"] == "change-filing"}
    assert filings == {COMPANIES[0]: "overdue", COMPANIES[1]: "due_soon", COMPANIES[2]: "due_soon",
                       COMPANIES[3]: "overdue"}
    assert all(date.fromisoformat(o["due"]) <= TODAY + timedelta(days=30) for o in items)

    everything = json.loads((await ledger("due", "--days", "30", "--all", "--json", *common, **CLOCK)).stdout)
    assert [(o["due"], o["company"], o["id"]) for o in everything] == expected(("statutory", "notice", "advisory"))
    assert len(everything) > len(items)  # the number's advisory filing
    one = json.loads((await ledger("due", "--days", "60", "--company", COMPANIES[3], "--json", *common,
                                   **CLOCK)).stdout)
    assert {o["company"] for o in one} == {COMPANIES[3]} and any(o["rule"] == "change-filing" for o in one)

    table = await ledger("due", "--days", "30", *common, **CLOCK)
    assert table.exit_code == 0, table.output
    assert "due within 30 days" in table.stdout and COMPANIES[0] in table.stdout
    assert "overdue" in table.stdout and "待办测试1有限公司" in table.stdout
    bad = await ledger("due", "--days", "30", "--company", "not-a-uscc", *common, **CLOCK)
    assert bad.exit_code == 1 and "company" in bad.stderr

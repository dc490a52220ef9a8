"""Work queues across the tenant (issue 14): ``GET /v1/obligations`` with its filters and pages, the portfolio
sorted by the next statutory deadline, and 422 — never an empty 200 — for an unknown filter value on every
list endpoint. 50 companies recorded through the services; the stack's clock stands at NOW."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from projector.synthetic import uscc

COMPANIES = 50
DUE_FROM, DUE_TO = "2026-10-25", "2026-12-10"
TO_DO = ("scheduled", "open", "due_soon")
BASELINE = "2026-01-01"  # every company's onboarding baseline (建账基准日)


def company_facts(i: int) -> list[dict]:
    """A licensed company whose legal representative changed ``i`` days before 2026-11-20: its change filing
    (statutory, 30 days) falls due between 2026-11-01 and 2026-12-20, overdue or due soon at NOW; every
    third one also has a 400 number (notice and advisory obligations)."""
    co = uscc(20_000 + i)
    issued = date(2022, 1, 10) + timedelta(days=17 * i)
    changed = date(2026, 11, 20) - timedelta(days=i)
    lic = f"B2-{issued.strftime('%Y%m%d')}"
    facts = [
        {"type": "company.registered", "company": co, "effective_date": "2021-06-01",
         "data": {"name": f"队列测试{i:02d}呼叫中心有限公司", "registered_capital": 12_000_000, "province": "31",
                  "industry": "other", "business_scope": ["呼叫中心业务"]}},
        # onboarded as a real client is: history before 2026 is attested (before_tracking), not a backlog
        {"type": "company.tracking_started", "company": co, "effective_date": BASELINE,
         "data": {"tracked_from": BASELINE, "attested_by": "合规顾问 compliance consultant"}},
        {"type": "licence.issued", "company": co, "effective_date": issued.isoformat(),
         "data": {"licence_no": lic, "category": "B24", "scope": "nationwide", "provinces": [],
                  "issued_on": issued.isoformat(), "expires_on": (issued + timedelta(days=5 * 365 - 1)).isoformat(),
                  "authority": "MIIT"}},
        {"type": "company.registration_changed", "company": co, "effective_date": changed.isoformat(),
         "data": {"field": "legal_representative", "old": f"person-{i:03d}", "new": f"person-{i + 100:03d}"}},
    ]
    if i % 3 == 0:
        facts.append({"type": "number.allocated", "company": co, "effective_date": "2026-10-12",
                      "data": {"number": f"4006{i:06d}", "kind": "400", "province": "31", "provider": "某运营商",
                               "purpose": "客服"}})
    return facts


@pytest.fixture
async def queue(api):
    facts = [f for i in range(COMPANIES) for f in company_facts(i)]
    r = await api.post("/v1/facts:batch", json=facts)
    assert r.status_code == 200, r.text
    assert all(x["ok"] for x in r.json()["results"]), r.text
    api.last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
    api.companies = [uscc(20_000 + i) for i in range(COMPANIES)]
    return api


async def pages(api, path: str, **params) -> list[dict]:
    items, token = [], None
    while True:
        r = await api.get(path, params={**params, **({"page_token": token} if token else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= int(params.get("page_size", 50))
        items += body["items"]
        token = body["next_page_token"]
        if token is None:
            return items


async def per_company(api) -> dict[str, list[dict]]:
    """Each company's own list: the independent source of every expectation here."""
    out = {}
    for co in api.companies:
        r = await api.get(f"/v1/companies/{co}/obligations", params={"page_size": 500, "min_sequence": api.last})
        assert r.status_code == 200, r.text
        out[co] = r.json()["items"]
    return out


async def test_the_work_queue_across_companies_equals_the_per_company_lists(stack, queue):
    own = await per_company(queue)
    expected = sorted(((o["due"], co, o["id"], o["status"]) for co, items in own.items() for o in items
                       if o["status"] in ("due_soon", "overdue") and DUE_FROM <= o["due"] <= DUE_TO))
    statuses = {s for _, _, _, s in expected}
    assert statuses == {"due_soon", "overdue"} and len({co for _, co, _, _ in expected}) > 30
    attested = {o["id"] for items in own.values() for o in items if o["status"] == "before_tracking"}
    assert attested and all(o["due"] < BASELINE for items in own.values() for o in items if o["id"] in attested)
    got = await pages(queue, "/v1/obligations", status="due_soon,overdue", due_from=DUE_FROM, due_to=DUE_TO,
                      page_size=7, min_sequence=queue.last)
    assert [(o["due"], o["company"], o["id"], o["status"]) for o in got] == expected
    assert len(got) > 7 * 5  # many pages
    assert all(o["company_name"].startswith("队列测试") for o in got)
    assert not attested & {o["id"] for o in got}  # the history before the baseline is nobody's work today
    history = await pages(queue, "/v1/obligations", status="before_tracking", page_size=500)
    assert {o["id"] for o in history} == attested

    # the other filters: repeatable company, rule and confidence lists; the company's own list takes them too
    two = [queue.companies[3], queue.companies[9]]
    notice = await pages(queue, "/v1/obligations", company=two, confidence="notice,advisory", page_size=500)
    want = sorted((o["due"], co, o["id"]) for co in two for o in own[co] if o["confidence"] in ("notice", "advisory"))
    assert [(o["due"], o["company"], o["id"]) for o in notice] == want and want
    filings = await pages(queue, "/v1/obligations", rule="change-filing", status="overdue", page_size=500)
    assert {o["company"] for o in filings} == {co for co, items in own.items() for o in items
                                               if o["rule"] == "change-filing" and o["status"] == "overdue"}
    assert all(o["rule"] == "change-filing" and o["status"] == "overdue" for o in filings) and filings
    co = queue.companies[0]
    mine = await pages(queue, f"/v1/companies/{co}/obligations", status="due_soon", due_from=DUE_FROM,
                       due_to=DUE_TO, page_size=500)
    assert [o["id"] for o in mine] == [o["id"] for o in own[co]
                                       if o["status"] == "due_soon" and DUE_FROM <= o["due"] <= DUE_TO]
    # another tenant's queue is its own
    _, key = stack.new_tenant("other")
    async with stack.client(key) as other:
        r = await other.get("/v1/obligations", params={"min_sequence": queue.last})
    assert r.status_code == 200 and r.json() == {"items": [], "next_page_token": None}


async def test_the_portfolio_is_ordered_by_the_next_statutory_deadline(queue):
    own = await per_company(queue)
    expected = {co: min((o["due"] for o in items if o["confidence"] in ("statutory", "notice")
                         and o["status"] in TO_DO and not o.get("informational")), default=None)
                for co, items in own.items()}
    rows = await pages(queue, "/v1/companies", page_size=9)
    assert {r["uscc"]: r["next_statutory_due"] for r in rows} == expected
    dues = [r["next_statutory_due"] for r in rows]
    assert dues == sorted(d for d in dues if d) + [None] * dues.count(None)
    assert [r["uscc"] for r in rows] != sorted(queue.companies)  # not merely the USCC order
    by_name = await pages(queue, "/v1/companies", sort="-name", page_size=500)
    assert [r["name"] for r in by_name] == sorted((r["name"] for r in rows), reverse=True)
    worst = await pages(queue, "/v1/companies", sort="-overdue", page_size=11)
    assert [r["overdue"] for r in worst] == sorted((r["overdue"] for r in rows), reverse=True)
    risky = await pages(queue, "/v1/companies", risk="high,medium", page_size=500)
    assert {r["uscc"] for r in risky} == {r["uscc"] for r in rows if r["risk"] in ("high", "medium")} and risky
    assert (await queue.get("/v1/companies", params={"sort": "-risk", "risk": "none"})).json()["items"] == []


BAD = [  # (path, parameter, value) — each answers 422 naming the parameter, never an empty 200
    ("/v1/obligations", "status", "bogus"),
    ("/v1/obligations", "status", "overdue,Overdue"),
    ("/v1/obligations", "rule", "no-such-rule"),
    ("/v1/obligations", "confidence", "certain"),
    ("/v1/obligations", "due_from", "2026-13-01"),
    ("/v1/obligations", "due_to", "next week"),
    ("/v1/obligations", "company", "91310100000000000X"),
    ("/v1/companies/{co}/obligations", "status", "bogus"),
    ("/v1/companies/{co}/obligations", "rule", "bogus"),
    ("/v1/companies/{co}/obligations", "confidence", "bogus"),
    ("/v1/companies/{co}/obligations", "due_to", "2026-02-30"),
    ("/v1/companies", "risk", "purple"),
    ("/v1/companies", "severity", "high,severe"),
    ("/v1/companies", "sort", "colour"),
    ("/v1/companies/{co}/findings", "severity", "bogus"),
    ("/v1/companies/{co}/findings", "rule", "bogus"),
    ("/v1/companies/{co}/findings", "confidence", "bogus"),
    ("/v1/companies/{co}/timeline", "kind", "bogus"),
    ("/v1/companies/{co}/timeline", "status", "bogus"),
    ("/v1/companies/{co}/timeline", "date_from", "2026/11/05"),
    ("/v1/changes", "include", "everything"),
    ("/v1/changes", "after", "x1"),
]


@pytest.mark.parametrize(("path", "name", "value"), BAD)
async def test_an_unknown_filter_value_is_a_422_naming_the_parameter(queue, path, name, value):
    r = await queue.get(path.format(co=queue.companies[0]), params={name: value})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "invalid-request" and name in problem["detail"], problem
    assert [e["field"] for e in problem["errors"]] == [f"query.{name}"], problem
    assert all(e["reason_en"] and e["reason_zh"] for e in problem["errors"])


async def test_every_accepted_status_answers_200_before_tracking_included(queue):
    for status in ("scheduled", "open", "due_soon", "overdue", "fulfilled_on_time", "fulfilled_late", "waived",
                   "cancelled", "before_tracking"):
        r = await queue.get("/v1/obligations", params={"status": status})
        assert r.status_code == 200, (status, r.text)
        assert all(o["status"] == status for o in r.json()["items"])
    r = await queue.get("/v1/obligations", params={"due_from": "2026-12-01", "due_to": "2026-11-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.due_from"

"""``ledger timeline / findings / portfolio`` (tables and --json) and ``ledger demo`` against the live stack."""

from __future__ import annotations

import json

import pytest
from ledger_cli.demo import (
    DEMO_FACTS,
    HOLDER95,
    PENALISED,
    QIHANG,
    SHANGHAI,
    SHENZHEN,
    demo_batch,
    demo_facts,
)
from ledger_contracts import validate_fact
from ledger_kernel.clock import local_today


@pytest.fixture
async def demo_tenant(stack, ledger, tenant_key):
    _, key = tenant_key
    result = await ledger("demo", "--url", stack.url, "--key", key)
    assert result.exit_code == 0, result.output
    assert key not in result.output  # a key the caller gave is never echoed
    return key


async def test_demo_without_a_key_makes_a_tenant_and_shows_its_key_once(stack, ledger):
    result = await ledger("demo", "--url", stack.url)
    assert result.exit_code == 0, result.output
    assert "created demo tenant" in result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lk_") and result.output.count(key) == 1
    portfolio = json.loads((await ledger("portfolio", "--url", stack.url, "--key", key, "--json")).stdout)
    assert sorted(c["uscc"] for c in portfolio) == sorted({f["company"] for f in DEMO_FACTS})


def test_the_demo_facts_are_valid_and_cover_the_seed_cases():
    from gateway_harness import NOW
    from ledger_kernel.clock import FixedClock

    today = local_today(FixedClock(NOW))
    for fact in demo_batch():
        validate_fact(fact, today=today)
    assert len({f["company"] for f in DEMO_FACTS}) == 5
    keys = [f["idempotency_key"] for f in demo_batch()]
    assert len(set(keys)) == len(keys) == len(demo_facts()) and keys == [f["idempotency_key"] for f in demo_batch()]


async def test_demo_loads_five_companies_once(stack, ledger, demo_tenant):
    portfolio = json.loads((await ledger("portfolio", "--url", stack.url, "--key", demo_tenant, "--json")).stdout)
    assert len(portfolio) == 5
    by = {c["uscc"]: c for c in portfolio}
    assert by[QIHANG]["risk"] == "critical"
    assert by[SHANGHAI]["overdue"] >= 1
    assert by[SHENZHEN]["name"] == "深圳示范呼叫中心有限公司"
    again = await ledger("demo", "--url", stack.url, "--key", demo_tenant)
    assert again.exit_code == 0
    async with stack.client(demo_tenant) as client:
        feed = (await client.get("/v1/changes", params={"page_size": 500})).json()
    assert len(feed["items"]) == len(demo_facts())


async def test_the_demo_portfolio_shows_what_a_consultancy_acts_on(stack, ledger, demo_tenant):
    """Each demo client has an onboarding baseline: its first portfolio shows the few items to act on, not
    every quarterly check since 2021 (rules.md §5). Without baselines these were 8–41 overdue per company."""
    portfolio = json.loads((await ledger("portfolio", "--url", stack.url, "--key", demo_tenant, "--json")).stdout)
    overdue = {c["uscc"]: c["overdue"] for c in portfolio}
    # the 2024 annual report and its preparation (the Shanghai story); a change filing (Shenzhen); one
    # quarterly number fee each for the number holders; nothing for the penalised client, whose items are done
    assert overdue == {SHANGHAI: 2, SHENZHEN: 1, QIHANG: 1, HOLDER95: 1, PENALISED: 0}, overdue
    assert all(c["tracked_from"] for c in portfolio)
    async with stack.client(demo_tenant) as client:
        findings = {co: (await client.get(f"/v1/companies/{co}/findings", params={"open": "true"})).json()["items"]
                    for co in overdue}
    bad_list = {co for co, items in findings.items() if any(f["rule"] == "bad-list" for f in items)}
    assert bad_list == {SHANGHAI}  # only the annual report missed after the baseline


async def test_views_as_tables_and_json(stack, ledger, demo_tenant):
    run = dict(url=["--url", stack.url], key=["--key", demo_tenant])
    common = run["url"] + run["key"]
    timeline = json.loads((await ledger("timeline", SHANGHAI, *common, "--json")).stdout)
    assert [i["type"] for i in timeline if i["kind"] == "fact"][:2] == ["company.registered", "licence.issued"]
    assert any(i["kind"] == "deadline" and i["rule"] == "annual-report" for i in timeline)
    table = await ledger("timeline", SHANGHAI, *common)
    assert table.exit_code == 0 and "licence.issued" in table.stdout and "2022-03-15" in table.stdout
    findings = json.loads((await ledger("findings", QIHANG, *common, "--json", "--open")).stdout)
    assert "unlicensed-operation" in {f["rule"] for f in findings} and all(f["open"] for f in findings)
    assert "unlicensed-operation" in (await ledger("findings", QIHANG, *common)).stdout
    critical = json.loads((await ledger("portfolio", *common, "--severity", "critical", "--json")).stdout)
    assert QIHANG in {c["uscc"] for c in critical}
    assert all(c["open_findings"].get("critical") for c in critical)
    table = await ledger("portfolio", *common)
    assert all(uscc in table.stdout for uscc in (QIHANG, SHANGHAI, SHENZHEN, HOLDER95))
    earlier = json.loads((await ledger("portfolio", *common, "--json", "--as-of", "2020-01-01T09:00:00+08:00")).stdout)
    assert len(earlier) == 5
    missing = await ledger("timeline", "91110000100000000X", *common)
    assert missing.exit_code == 1 and "Not found" in missing.stderr
    bad = await ledger("portfolio", *common, "--as-of", "tomorrow")
    assert bad.exit_code != 0

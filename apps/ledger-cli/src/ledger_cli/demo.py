"""``ledger demo``: five companies drawn from the seed articles, loaded into a running stack over HTTP,
so a newcomer sees real timelines at once. Each company has an onboarding baseline
(company.tracking_started), as a real client would: the first portfolio shows what to act on.

The stories (shared/seeds): the 启航教育 seat-leasing case (a vendor's licence is not
yours); a Shanghai nationwide licensee that missed an annual report; a Shenzhen
provincial licensee whose legal representative changed; a company with a penalty
and its rectification; a 95-number holder whose revenue and carrier settlement
disagree. Every fact carries a derived idempotency key: running the demo twice
within the gateway's Idempotency-Key window (24 h by default, LEDGER_IDEMPOTENCY_TTL_HOURS) records nothing twice.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from ledger_contracts.formats import uscc_check_char
from ledger_contracts.rows import baseline_fact, row_key
from rich.console import Console

from ledger_cli.client import ApiError, Gateway, UrlOption, default_url, fail
from ledger_cli.settings import CliSettings
from ledger_cli.views import portfolio_table

console = Console(stderr=True)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


QIHANG = "91110108MA01QH2E3L"  # the seat-leasing scenario's company
SHANGHAI = _uscc("91310115MA1DEM001")
SHENZHEN = _uscc("91440300MA5DEM002")
PENALISED = _uscc("91330106MA2DEM003")
HOLDER95 = _uscc("91110105MA0DEM004")
VENDOR = "91110105MA00ABCD1G"


def _fact(fact_type: str, company: str, day: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": fact_type, "company": company, "effective_date": day, "data": data}


def _registered(company: str, day: str, name: str, province: str, capital: int, industry: str = "other"
                ) -> dict[str, Any]:
    return _fact("company.registered", company, day, {
        "name": name, "registered_capital": capital, "province": province, "industry": industry,
        "business_scope": ["呼叫中心业务", "信息技术咨询服务"]})


DEMO_FACTS: list[dict[str, Any]] = [
    # 1. 启航教育: leases seats from a licensed vendor but runs its own marketing calls (seed 000)
    _registered(QIHANG, "2026-01-05", "启航教育科技有限公司", "11", 2_000_000, "education"),
    _fact("outsourcing.arranged", QIHANG, "2026-02-01", {
        "mode": "seat_leasing", "vendor_uscc": VENDOR, "vendor_name": "某某通信服务有限公司",
        "vendor_licence_no": "B2-20190042", "vendor_licence_category": "B24",
        "vendor_licence_expires_on": "2029-05-01", "provinces_served": ["11"]}),
    _fact("workforce.seats_declared", QIHANG, "2026-02-01", {
        "declared_seats": 20, "system_registered_seats": 20, "overseas_seats": 0}),
    _fact("number.allocated", QIHANG, "2026-02-03", {
        "number": "4006001234", "kind": "400", "province": "11", "provider": "某运营商", "purpose": "电话营销"}),
    # 2. Shanghai nationwide licensee: the 2024 annual report never filed (seeds 002, 003)
    _registered(SHANGHAI, "2021-06-01", "上海示范客服外包有限公司", "31", 12_000_000),
    _fact("licence.issued", SHANGHAI, "2022-03-15", {
        "licence_no": "B2-20220316", "category": "B24", "scope": "nationwide", "provinces": [],
        "issued_on": "2022-03-15", "expires_on": "2027-03-14", "authority": "MIIT"}),
    _fact("licence.annual_report_submitted", SHANGHAI, "2023-03-20", {
        "licence_no": "B2-20220316", "year": 2022, "submitted_on": "2023-03-20"}),
    _fact("licence.annual_report_submitted", SHANGHAI, "2024-03-28", {
        "licence_no": "B2-20220316", "year": 2023, "submitted_on": "2024-03-28"}),
    _fact("licence.annual_report_submitted", SHANGHAI, "2026-03-20", {
        "licence_no": "B2-20220316", "year": 2025, "submitted_on": "2026-03-20"}),
    *(_fact("workforce.three_way_check_recorded", SHANGHAI, day, {
        "quarter": quarter, "actual_seats": 120, "system_registered_seats": 120, "insured_headcount": 118})
      for quarter, day in (("2025Q1", "2025-03-28"), ("2025Q2", "2025-06-27"), ("2025Q3", "2025-09-26"),
                           ("2025Q4", "2025-12-26"), ("2026Q1", "2026-03-27"), ("2026Q2", "2026-06-26"),
                           ("2026Q3", "2026-09-25"))),
    # 3. Shenzhen provincial licensee: a new legal representative, change filing due in 30 days (seed 001)
    _registered(SHENZHEN, "2020-01-10", "深圳示范呼叫中心有限公司", "44", 3_000_000),
    _fact("licence.issued", SHENZHEN, "2023-05-10", {
        "licence_no": "粤B2-20230511", "category": "B24", "scope": "provincial", "provinces": ["44"],
        "issued_on": "2023-05-10", "expires_on": "2028-05-09", "authority": "广东省通信管理局"}),
    _fact("company.registration_changed", SHENZHEN, "2026-09-25", {
        "field": "legal_representative", "old": "person-001", "new": "person-002"}),
    # 4. A penalty with rectification ordered; the report is in, acceptance pending (seeds 003, 004)
    _registered(PENALISED, "2019-08-01", "杭州示范信息服务有限公司", "33", 10_000_000),
    _fact("licence.issued", PENALISED, "2021-09-01", {
        "licence_no": "B2-20210901", "category": "B24", "scope": "nationwide", "provinces": [],
        "issued_on": "2021-09-01", "expires_on": "2026-08-31", "authority": "MIIT"}),
    _fact("licence.renewal_applied", PENALISED, "2026-04-20", {"licence_no": "B2-20210901",
                                                              "applied_on": "2026-04-20"}),
    _fact("licence.renewed", PENALISED, "2026-06-30", {"licence_no": "B2-20210901",
                                                      "new_expires_on": "2031-08-31"}),
    _fact("penalty.imposed", PENALISED, "2026-08-03", {
        "decision_no": "浙通管罚〔2026〕15号", "authority": "浙江省通信管理局", "decided_on": "2026-08-03",
        "received_on": "2026-08-05", "legal_basis": "通信短信息和语音呼叫服务管理规定第十九条", "fine": 30000,
        "orders_rectification": True, "rectification_due": "2026-09-30",
        "description": "未经用户同意拨打商业性电话"}),
    _fact("penalty.paid", PENALISED, "2026-08-20", {"decision_no": "浙通管罚〔2026〕15号", "amount": "30000.00"}),
    _fact("penalty.rectification_submitted", PENALISED, "2026-09-25", {
        "decision_no": "浙通管罚〔2026〕15号", "report_ref": "RECT-2026-15"}),
    # 5. A 95-number holder whose revenue and carrier settlement disagree (seed 004)
    _registered(HOLDER95, "2018-03-01", "北京示范客户服务有限公司", "11", 50_000_000, "finance"),
    _fact("licence.issued", HOLDER95, "2023-01-16", {
        "licence_no": "B2-20230116", "category": "B24", "scope": "nationwide", "provinces": [],
        "issued_on": "2023-01-16", "expires_on": "2028-01-15", "authority": "MIIT"}),
    _fact("number.allocated", HOLDER95, "2023-03-01", {
        "number": "95123", "kind": "95", "province": "11", "provider": "中国联通", "purpose": "客户服务"}),
    _fact("number.filed", HOLDER95, "2023-03-10", {"number": "95123"}),
    _fact("number.activated", HOLDER95, "2023-03-15", {"number": "95123"}),
    _fact("traffic.period_reported", HOLDER95, "2026-10-10", {
        "month": "2026-09", "calls_total": 412000, "outbound_calls": 52000, "outbound_marketing_calls": 0,
        "calls_outside_hours": 0, "marketing_calls_on_rest_days": 0, "complaints": 12,
        "recordings_retained_days": 180, "consent_records": True, "revenue_95": "1860000.00",
        "carrier_settlement_95": "1420000.00"}),
]


# The onboarding baselines (company.tracking_started): when the consultancy took each client on, what
# came before is attested, as for a real client (rules.md §5). The Shanghai client was taken on at the
# start of 2025, so its unfiled 2024 annual report is still the ledger's to judge: the story it tells.
BASELINES: dict[str, str] = {QIHANG: "2026-10-01", SHANGHAI: "2025-01-01", SHENZHEN: "2026-10-01",
                             PENALISED: "2026-10-01", HOLDER95: "2026-10-01"}


def demo_facts() -> list[dict[str, Any]]:
    """The baselines first, so no batch is judged without them, then the stories."""
    return [*(baseline_fact(co, day, "demo consultancy onboarding review 演示顾问入职审查")
              for co, day in BASELINES.items()), *DEMO_FACTS]


def demo_batch() -> list[dict[str, Any]]:
    """The demo facts with their idempotency keys, ready for POST /v1/facts:batch."""
    return [{**fact, "idempotency_key": "demo-" + row_key(fact)} for fact in demo_facts()]


def demo(url: str | None = UrlOption,
         key: str | None = typer.Option(None, "--key", help="API key; default $LEDGER_API_KEY, else a new demo "
                                                              "tenant is created and its key printed.")) -> None:
    """Load five example companies (from the seed cases) into the running stack and show the portfolio.
    加载五家示例企业并显示企业组合。"""
    key = key or CliSettings.from_env().revealed_api_key()
    created = not key
    if created:
        from ledger_gateway.admin import create_tenant
        from ledger_kernel.settings import Settings

        tenant, issued = create_tenant(Settings.from_env().database_url, "Demo 演示租户")
        key = issued.key
        console.print(f"created demo tenant 已创建演示租户 {tenant.id}; its API key is on the last line")
    try:
        with Gateway(url or default_url(), key) as gw:
            body = "\n".join(json.dumps(f, ensure_ascii=False) for f in demo_batch()).encode("utf-8")
            answer = gw.post_batch(body)
            refused = [r for r in answer["results"] if not r["ok"]]
            for r in refused:
                console.print(f"[red]refused[/red] #{r['index']} {demo_facts()[r['index']]['type']}: "
                              f"{(r.get('problem') or {}).get('detail')}")
            last = max((r["event"]["ledger_sequence"] for r in answer["results"] if r["ok"]), default=0)
            page = gw.get("/v1/companies", min_sequence=last or None, page_size=50)
    except ApiError as exc:
        raise fail(exc) from None
    Console().print(portfolio_table(page["items"]))
    console.print(f"{answer['accepted']} facts recorded 条事实已记录, {answer['refused']} refused. Try 试试: "
                  f"ledger timeline {SHANGHAI} --key …")
    if created:  # shown once, as `ledger tenant create` does; a key the caller gave is never echoed
        typer.echo(key)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

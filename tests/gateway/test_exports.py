"""Exports a back office hands its clients: ``format=csv`` (UTF-8 with BOM, for Excel) and ``format=xlsx`` on the
portfolio and a company's obligations — the whole filtered list, every page, with Chinese and English headers —
and bounded memory for 10,000 rows."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ledger_bench.facts import uscc
from ledger_gateway.exports import COMPANY_COLUMNS, OBLIGATION_COLUMNS, csv_chunks, xlsx_file
from openpyxl import load_workbook
from test_reads import NATIONWIDE, SEAT_LEASING, SHANGHAI, record

AT = NATIONWIDE["expect"]["as_of"]
HERE = Path(__file__).resolve().parent
BOM = b"\xef\xbb\xbf"


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(BOM), body[:20]
    return list(csv.DictReader(io.StringIO(body[len(BOM):].decode("utf-8"))))


async def every_page(api, path: str, **params: Any) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = (await api.get(path, params={**params, **({"page_token": token} if token else {})})).json()
        items += page["items"]
        token = page["next_page_token"]
        if not token:
            return items


def registered(index: int) -> dict[str, Any]:
    return {"type": "company.registered", "company": uscc(index), "effective_date": "2021-06-01",
            "data": {"name": f"某客服外包有限公司{index}", "registered_capital": 12_000_000, "province": "31",
                     "industry": "other", "business_scope": ["呼叫中心业务"]}}


async def test_portfolio_csv_is_every_page_with_a_bom_and_bilingual_headers(api):
    last = await record(api, [registered(i) for i in range(520)] + NATIONWIDE["facts"])  # more than a page of 500
    at = {"as_of": AT, "min_sequence": last}
    listed = await every_page(api, "/v1/companies", page_size=500, **at)
    assert len(listed) == 521
    r = await api.get("/v1/companies", params={**at, "format": "csv", "page_size": 7})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="companies-2026-11-23.csv"'), disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "企业组合-companies-2026-11-23.csv"
    rows = csv_rows(r.content)
    assert list(rows[0]) == [c.header for c in COMPANY_COLUMNS]
    assert "统一社会信用代码 USCC" in rows[0] and "下一到期日 Next due" in rows[0]
    assert [(x["统一社会信用代码 USCC"], x["企业名称 Name"], x["风险 Risk"], x["逾期 Overdue"],
             x["下一到期日 Next due"]) for x in rows] == \
        [(c["uscc"], c["name"], c["risk"], str(c["overdue"]), c["next_due"] or "") for c in listed]
    assert {x["企业名称 Name"] for x in rows} >= {"某客服外包有限公司519", "上海某客服外包有限公司"}
    # filters apply to the file as to the list
    overdue = csv_rows((await api.get("/v1/companies", params={**at, "overdue": "true", "format": "csv"})).content)
    assert [x["统一社会信用代码 USCC"] for x in overdue] == [SHANGHAI]


async def test_obligations_as_xlsx_and_csv_match_the_json_list(api):
    last = await record(api, NATIONWIDE["facts"])
    at = {"as_of": AT, "min_sequence": last}
    path = f"/v1/companies/{SHANGHAI}/obligations"
    listed = await every_page(api, path, page_size=2, **at)
    assert len(listed) >= 6

    r = await api.get(path, params={**at, "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="obligations-{SHANGHAI}-2026-11-23.xlsx"' in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = table[0]
    assert header == [c.header for c in OBLIGATION_COLUMNS] and "到期日 Due" in header
    got = [dict(zip(header, row, strict=True)) for row in table[1:]]
    assert [(x["编号 Id"], x["企业 Company"], x["到期日 Due"], x["状态 Status"], x["规则 Rule"]) for x in got] == \
        [(o["id"], SHANGHAI, o["due"], o["status"], o["rule"]) for o in listed]
    renewal = next(x for x in got if x["规则 Rule"] == "renewal")
    assert renewal["到期日 Due"] == "2026-12-14" and renewal["状态 Status"] == "due_soon"
    assert " / " in renewal["义务 Obligation"] and any("\u4e00" <= ch <= "\u9fff" for ch in renewal["义务 Obligation"])

    text = csv_rows((await api.get(path, params={**at, "format": "csv", "status": "overdue"})).content)
    assert [(x["编号 Id"], x["状态 Status"]) for x in text] == \
        [(o["id"], o["status"]) for o in listed if o["status"] == "overdue"]


async def test_an_unknown_format_is_422_and_another_tenants_company_404(stack, api):
    last = await record(api, SEAT_LEASING["facts"] + NATIONWIDE["facts"])
    bad = await api.get("/v1/companies", params={"format": "pdf"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format", bad.text
    bad = await api.get(f"/v1/companies/{SHANGHAI}/obligations", params={"format": "XLSX"})
    assert bad.status_code == 422
    page = await api.get(f"/v1/companies/{SHANGHAI}/obligations", params={"format": "json", "page_size": 1,
                                                                                 "min_sequence": last})
    assert page.status_code == 200 and len(page.json()["items"]) == 1 and page.json()["next_page_token"]
    _, other_key = stack.new_tenant("other")
    async with stack.client(other_key) as other:
        for fmt in ("csv", "xlsx"):
            r = await other.get(f"/v1/companies/{SHANGHAI}/obligations", params={"format": fmt})
            assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text
        empty = await other.get("/v1/companies", params={"format": "csv"})
        assert empty.status_code == 200 and csv_rows(empty.content) == []  # the header, no other tenant's rows


async def test_a_cell_that_looks_like_a_formula_stays_text(tmp_path: Path):
    rows = [{"uscc": "91310115MA1K4B8N68", "name": '=HYPERLINK("http://example.invalid","点我")', "risk": "-1",
             "overdue": -2}]

    async def listed() -> AsyncIterator[dict[str, Any]]:
        for row in rows:
            yield row

    body = b"".join([chunk async for chunk in csv_chunks(listed(), COMPANY_COLUMNS)])
    line = csv_rows(body)[0]
    assert line["企业名称 Name"] == "'" + rows[0]["name"] and line["风险 Risk"] == "'-1" and line["逾期 Overdue"] == "-2"
    path = await xlsx_file(listed(), COMPANY_COLUMNS, "企业组合")
    try:
        cells = list(load_workbook(path).worksheets[0].iter_rows(min_row=2))[0]
        assert cells[1].value == "'" + rows[0]["name"] and cells[1].data_type == "s"
        assert cells[4].value == -2 and cells[4].data_type == "n"
    finally:
        os.unlink(path)


MEASURE = """
import asyncio, json, os, sys, tracemalloc
from ledger_gateway.exports import OBLIGATION_COLUMNS, csv_chunks, xlsx_file
from test_exports import big_row


async def generated(count):
    for index in range(count):
        yield big_row(index)


async def main(rows):
    tracemalloc.start()
    os.unlink(await xlsx_file(generated(10), OBLIGATION_COLUMNS, "warm-up"))  # openpyxl's one-off set-up
    base = tracemalloc.get_traced_memory()[0]
    held = [big_row(i) for i in range(rows)]
    held_once = tracemalloc.get_traced_memory()[0] - base  # what holding the rows once costs
    del held
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    size = lines = 0
    async for chunk in csv_chunks(generated(rows), OBLIGATION_COLUMNS):
        size += len(chunk)
        lines += chunk.count(b"\\r\\n")
    csv_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    path = await xlsx_file(generated(rows), OBLIGATION_COLUMNS, "合规义务")
    xlsx_peak = tracemalloc.get_traced_memory()[1] - base
    print(json.dumps({"held_once": held_once, "csv_peak": csv_peak, "csv_size": size, "csv_lines": lines,
                      "xlsx_peak": xlsx_peak, "xlsx": path}))


asyncio.run(main(int(sys.argv[1])))
"""


def big_row(index: int) -> dict[str, Any]:
    """An obligation row of about 1 KB (unique id and about, the repeated texts of a real list)."""
    return {"company": uscc(index % 50), "id": f"annual-report/B2-{index:08d}/{2000 + index % 30}",
            "rule": "annual-report", "about": f"B2-{index:08d}", "year": 2000 + index % 30, "due": "2027-03-31",
            "title": {"zh": "电信业务经营许可年报" * 8, "en": "Annual report on the telecom business licence" * 4},
            "status": "scheduled", "source": "《电信业务经营许可管理办法》第二十九条" * 4, "confidence": "statutory"}


def test_ten_thousand_rows_export_in_bounded_memory():
    """Measured in a process of its own (tracemalloc), so the live stack's allocations do not count."""
    rows = 10_000
    run = subprocess.run([sys.executable, "-c", MEASURE, str(rows)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)])})
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    try:
        sheet = load_workbook(got["xlsx"], read_only=True).worksheets[0]
        assert sum(1 for _ in sheet.iter_rows()) == rows + 1
    finally:
        os.unlink(got["xlsx"])
    print(f"\n10,000 rows: held at once {got['held_once'] / 1e6:.1f} MB; CSV {got['csv_size'] / 1e6:.1f} MB written "
          f"with a peak of {got['csv_peak'] / 1e6:.2f} MB; XLSX peak {got['xlsx_peak'] / 1e6:.2f} MB")
    assert got["csv_lines"] == rows + 1 and got["csv_size"] > 5_000_000
    assert got["held_once"] > 5_000_000
    assert got["csv_peak"] < got["held_once"] / 3, got
    assert got["xlsx_peak"] < got["held_once"] / 3, got

"""``ledger add`` (one fact from the command line), ``ledger import --template TYPE`` (a header that imports),
the three ways a back office writes a day, and refused rows that name their line in the source file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from ledger_contracts.rows import argument_value, iso_day, template_header
from test_import import SH, SZ, read_csv, read_ndjson

QD = "91370200MA3C5QTA7B"
NAMES = {SH: "上海某客服外包有限公司", SZ: "深圳某呼叫中心有限公司", QD: "青岛某呼叫服务有限公司"}


async def events_of(stack, key: str, company: str, at_least: int = 0) -> list[dict]:
    async with stack.client(key) as client:
        r = await client.get(f"/v1/companies/{company}/events", params={"min_sequence": at_least, "page_size": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.parametrize("text", ["2026-11-05", "2026/11/5", "2026年11月5日", " 2026 年 11 月 05 日 ", "2026.11.05"])
def test_the_three_ways_to_write_a_day(text):
    assert iso_day(text) == "2026-11-05"


def test_a_day_that_is_not_one_is_left_for_the_contract_to_refuse():
    assert iso_day("2026/2/30") == "2026/2/30" and iso_day("next friday") == "next friday"


def test_add_arguments_are_typed_by_the_contract():
    assert argument_value("company.registered", "registered_capital", "12000000") == 12000000
    assert argument_value("company.registered", "province", "31") == "31"  # a code, not a number
    assert argument_value("company.registered", "business_scope", '["呼叫中心业务", "信息技术咨询"]') == \
        ["呼叫中心业务", "信息技术咨询"]
    assert argument_value("company.capabilities_declared", "ai_outbound", "false") is False
    assert argument_value("licence.issued", "expires_on", "2027年3月14日") == "2027-03-14"
    assert argument_value("licence.issued", "unknown_field", "3.5") == 3.5


async def test_ledger_add_records_one_fact_once(stack, ledger, tenant_key):
    _, key = tenant_key
    args = ["add", "company.registered", "--company", SH, "--date", "2021年6月1日", f"name={NAMES[SH]}",
            "registered_capital=12000000", "province=31", "industry=other", 'business_scope=["呼叫中心业务"]',
            "--url", stack.url, "--key", key]
    first = await ledger(*args, "--json")
    assert first.exit_code == 0, first.output
    event = json.loads(first.stdout)
    assert event["type"] == "company.registered" and event["replayed"] is False
    again = await ledger(*args)
    assert again.exit_code == 0 and "already recorded 已存在" in again.stdout, again.output
    recorded = await events_of(stack, key, SH, event["ledger_sequence"])
    assert len(recorded) == 1
    assert recorded[0]["effectivedate"] == "2021-06-01"
    assert recorded[0]["data"]["name"] == NAMES[SH] and recorded[0]["data"]["registered_capital"] == 12000000
    assert recorded[0]["data"]["business_scope"] == ["呼叫中心业务"]


async def test_ledger_add_prints_a_refusal_in_both_languages(stack, ledger, tenant_key):
    _, key = tenant_key
    refused = await ledger("add", "licence.issued", "--company", SZ, "--date", "2023/5/10", "licence_no=粤B2-20230510",
                           "category=B24", "scope=provincial", "provinces=44", "issued_on=2023/5/10",
                           "expires_on=2020年5月9日", "authority=广东省通信管理局", "--url", stack.url, "--key", key)
    assert refused.exit_code == 1
    assert "data.expires_on" in refused.stderr and "事实内容无效" in refused.stderr, refused.stderr
    assert "The fact is not valid" in refused.stderr
    unknown = await ledger("add", "licence.borrowed", "--company", SZ, "--url", stack.url, "--key", key)
    assert unknown.exit_code == 2 and "未知的事实类型" in unknown.stderr and "licence.issued" in unknown.stderr
    malformed = await ledger("add", "licence.issued", "--company", SZ, "scope", "--url", stack.url, "--key", key)
    assert malformed.exit_code == 2 and "键=值" in malformed.stderr


async def test_a_template_round_trips_through_import_with_each_way_to_write_a_day(stack, ledger, tenant_key,
                                                                                 tmp_path: Path):
    _, key = tenant_key
    path = tmp_path / "companies.csv"
    made = await ledger("import", "--template", "company.registered", str(path))
    assert made.exit_code == 0, made.output
    header = read_csv_header(path)
    assert header == template_header("company.registered")
    assert header[:3] == ["type", "company", "effective_date"] and "data.registered_capital" in header
    stdout = await ledger("import", "--template", "company.registered")
    assert stdout.stdout.strip() == ",".join(header)
    assert (await ledger("import", "--template", "company.registered", str(path))).exit_code == 2  # no overwrite

    days = {SH: "2021-06-01", SZ: "2020/1/10", QD: "2019年3月8日"}
    with path.open("a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        for company, day in days.items():
            writer.writerow({"type": "company.registered", "company": company, "effective_date": day,
                             "data.name": NAMES[company], "data.registered_capital": "3,000,000",
                             "data.province": company[2:4], "data.industry": "other",
                             "data.business_scope": "呼叫中心业务"})
    result = await ledger("import", str(path), "--url", stack.url, "--key", key, "--json")
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["accepted"], summary["refused"]) == (3, 3, 0), result.output
    for company, want in ((SH, "2021-06-01"), (SZ, "2020-01-10"), (QD, "2019-03-08")):
        recorded = await events_of(stack, key, company, summary["last_ledger_sequence"])
        assert [(e["effectivedate"], e["data"]["name"]) for e in recorded] == [(want, NAMES[company])]

    licences = tmp_path / "licences.csv"
    assert (await ledger("import", "--template", "licence.issued", str(licences))).exit_code == 0
    with licences.open("a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, fieldnames=read_csv_header(licences)).writerow(
            {"type": "licence.issued", "company": SH, "effective_date": "2022/3/15", "data.licence_no": "B2-20220315",
             "data.category": "B24", "data.scope": "nationwide", "data.issued_on": "2022年3月15日",
             "data.expires_on": "2027/3/14", "data.authority": "MIIT"})
    summary = json.loads((await ledger("import", str(licences), "--url", stack.url, "--key", key, "--json")).stdout)
    assert summary["accepted"] == 1, summary
    issued = [e for e in await events_of(stack, key, SH, summary["last_ledger_sequence"])
              if e["type"] == "licence.issued"]
    assert issued[0]["data"]["issued_on"] == "2022-03-15" and issued[0]["data"]["expires_on"] == "2027-03-14"


def read_csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


async def test_refused_rows_name_their_line_in_the_source_file(stack, ledger, tenant_key, tmp_path: Path):
    _, key = tenant_key
    good = ("company.registered", SH, "2021-06-01", "上海某客服外包有限公司", "12000000", "31", "other", "呼叫中心业务")
    lines = [
        "type,company,effective_date,data.name,data.registered_capital,data.province,data.industry,"
        "data.business_scope",                                                                     # line 1
        ",".join(good),                                                                             # line 2
        "licence.borrowed,91440300MA5G7C1P90,2022-01-01,,,,,",                                       # line 3: refused
        "",                                                                                         # line 4: blank
        'company.registered,91310115MA1K4B8N60,2021-06-01,"两行的\n名称",1,31,other,x',               # lines 5-6
        "company.registered,91440300MA5G7C1P90,2020/1/10,深圳某呼叫中心有限公司,3000000,44,other,呼叫中心业务",  # 7
        "company.registered,91440300MA5G7C1P90,2020/2/30,深圳某呼叫中心有限公司,3000000,44,other,呼叫中心业务",  # 8
    ]
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = json.loads((await ledger("import", str(source), "--url", stack.url, "--key", key, "--json")).stdout)
    assert (summary["rows"], summary["accepted"], summary["refused"]) == (5, 2, 3), summary
    refused = read_csv(summary["refused_file"])
    assert [(r["line"], r["company"]) for r in refused] == [
        ("3", "91440300MA5G7C1P90"), ("5", "91310115MA1K4B8N60"), ("8", "91440300MA5G7C1P90")]
    assert "unknown fact type" in refused[0]["error"] and "effective_date" in refused[2]["error"]
    assert list(refused[0])[-2:] == ["line", "error"]
    # fed back as it is, the refused file's own line numbers are given (the old ones are not kept twice)
    again = json.loads((await ledger("import", summary["refused_file"], "--url", stack.url, "--key", key,
                                     "--json")).stdout)
    rerefused = read_csv(again["refused_file"])
    assert [r["line"] for r in rerefused] == ["2", "3", "5"] and list(rerefused[0]).count("line") == 1

    ndjson = tmp_path / "mixed.ndjson"
    ndjson.write_text("\n".join([json.dumps({"type": "x.y", "company": SH}), "", "{broken"]) + "\n",
                      encoding="utf-8")
    summary = json.loads((await ledger("import", str(ndjson), "--url", stack.url, "--key", key, "--json")).stdout)
    assert [line["_source_line"] for line in read_ndjson(summary["refused_file"])] == [1, 3]

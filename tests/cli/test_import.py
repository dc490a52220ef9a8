"""``ledger import``: CSV and NDJSON through the batch path; refused rows to a file; re-runs duplicate nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ledger_contracts.rows import cell_value, csv_fact, parse_rows, row_key

SH = "91310115MA1K4B8N68"
SZ = "91440300MA5G7C1P90"
HEADER = ["type", "company", "effective_date", "idempotency_key", "data", "data.name", "data.registered_capital",
          "data.province", "data.industry", "data.business_scope", "data.licence_no", "data.category",
          "data.scope", "data.provinces", "data.issued_on", "data.expires_on", "data.authority", "note"]
GOOD = [
    {"type": "company.registered", "company": SH, "effective_date": "2021-06-01", "data.name": "上海某客服外包有限公司",
     "data.registered_capital": "12,000,000", "data.province": "31", "data.industry": "other",
     "data.business_scope": "呼叫中心业务;信息技术咨询服务", "note": "ignored column"},
    {"type": "licence.issued", "company": SH, "effective_date": "2022-03-15", "data.licence_no": "B2-20220315",
     "data.category": "B24", "data.scope": "nationwide", "data.provinces": "", "data.issued_on": "2022-03-15",
     "data.expires_on": "2027-03-14", "data.authority": "MIIT"},
    {"type": "company.registered", "company": SZ, "effective_date": "2020-01-10", "idempotency_key": "crm-7",
     "data": json.dumps({"name": "深圳某呼叫中心有限公司", "registered_capital": 3000000, "province": "44",
                         "industry": "other", "business_scope": ["呼叫中心业务"]}, ensure_ascii=False)},
    {"type": "company.capabilities_declared", "company": SZ, "effective_date": "2020-02-01",
     "data": '{"ai_outbound": false, "algorithm_filing_no": null, "cross_border": false, '
             '"data_export_filing_no": null}'},
]
BAD = [
    {"type": "company.registered", "company": "91310115MA1K4B8N60", "effective_date": "2021-06-01",
     "data.name": "校验位错误", "data.registered_capital": "1", "data.province": "31", "data.industry": "other",
     "data.business_scope": "x"},
    {"type": "licence.borrowed", "company": SH, "effective_date": "2022-01-01"},
    {"type": "licence.issued", "company": SZ, "effective_date": "2023-05-10", "data.licence_no": "粤B2-20230510",
     "data.category": "B24", "data.scope": "provincial", "data.provinces": "44", "data.issued_on": "2023-05-10",
     "data.expires_on": "2020-05-09", "data.authority": "广东省通信管理局"},
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def rewrite_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_ndjson(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def write_ndjson(path: str | Path, items: list) -> None:
    Path(path).write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")


async def facts_recorded(stack, key: str, at_least: int = 0) -> int:
    async with stack.client(key) as client:
        feed = (await client.get("/v1/changes", params={"page_size": 500, "min_sequence": at_least})).json()
    return len(feed["items"])


def test_cells_are_typed_by_the_contract():
    assert cell_value("company.registered", "business_scope", "a; b;") == ["a", "b"]
    assert cell_value("company.registered", "registered_capital", "12,000,000") == 12000000
    assert cell_value("company.capabilities_declared", "ai_outbound", "是") is True
    assert cell_value("licence.issued", "provinces", "44;31") == ["44", "31"]
    assert cell_value("licence.annual_report_submitted", "year", "2025") == 2025
    fact = csv_fact({"type": "number.fee_paid", "company": SH, "effective_date": "", "data.number": "400-600-1234",
                     "data.quarter": "2026Q1", "error": "an old reason"})
    assert fact["data"] == {"number": "400-600-1234", "quarter": "2026Q1"} and "effective_date" not in fact
    assert fact["idempotency_key"] == row_key(fact) == row_key(dict(fact))


def test_a_row_naming_a_key_twice_is_refused_not_guessed():
    """Two effective dates in one row: the importer used to keep the last one."""
    line = ('{"type": "company.registered", "company": "' + SH + '", "effective_date": "2020-01-10", '
            '"effective_date": "2019-01-10", "data": {}}')
    csv_text = ('type,company,effective_date,data\n'
                'company.registered,' + SH + ',2020-01-10,"{""name"": ""a"", ""name"": ""b""}"\n')
    for text, fmt in ((line + "\n", "ndjson"), (csv_text, "csv")):
        _, _, rows = parse_rows(text, fmt)
        assert len(rows) == 1 and rows[0].error is not None, (fmt, rows)
        assert "appears twice" in rows[0].error, rows[0].error


async def test_csv_import_refused_rows_and_a_rerun(stack, ledger, tenant_key, tmp_path):
    _, key = tenant_key
    source = write_csv(tmp_path / "facts.csv", GOOD[:2] + [BAD[0]] + GOOD[2:] + BAD[1:])
    first = await ledger("import", str(source), "--url", stack.url, "--key", key, "--json")
    assert first.exit_code == 1, first.output
    summary = json.loads(first.stdout)
    assert (summary["rows"], summary["accepted"], summary["already_recorded"], summary["refused"]) == (7, 4, 0, 3)
    refused = read_csv(summary["refused_file"])
    assert [r["type"] for r in refused] == ["company.registered", "licence.borrowed", "licence.issued"]
    assert "company" in refused[0]["error"] and "校验" in refused[0]["error"] + "check"
    assert "unknown fact type" in refused[1]["error"]
    assert "data.expires_on" in refused[2]["error"]
    assert await facts_recorded(stack, key, summary["last_ledger_sequence"]) == 4

    again = json.loads((await ledger("import", str(source), "--url", stack.url, "--key", key, "--json")).stdout)
    assert (again["accepted"], again["already_recorded"], again["refused"]) == (0, 4, 3)
    assert await facts_recorded(stack, key) == 4

    # the back office fixes the refused file and feeds it back as it is
    fixed = Path(summary["refused_file"])
    rows = read_csv(fixed)
    rows[0]["company"] = "91310115MA1K4B8N7B"  # a third company: SH is registered already (a second is 409)
    rows[0]["data.name"] = "上海某客服外包有限公司（更正）"
    rows[1]["type"] = "licence.annual_report_submitted"
    rows[1].update({"data.licence_no": "B2-20220315"})
    rows[2]["data.expires_on"] = "2028-05-09"
    rewrite_csv(fixed, rows)
    third = await ledger("import", str(fixed), "--url", stack.url, "--key", key, "--json")
    result = json.loads(third.stdout)
    assert result["accepted"] == 2 and result["refused"] == 1  # the annual report still lacks year/submitted_on
    table = await ledger("import", str(source), "--url", stack.url, "--key", key)
    assert "already recorded" in table.stdout and "refused" in table.stderr


async def test_ndjson_import_with_a_broken_line(stack, ledger, tenant_key, tmp_path):
    _, key = tenant_key
    good = {"type": "company.registered", "company": SZ, "effective_date": "2020-01-10",
            "data": {"name": "深圳某呼叫中心有限公司", "registered_capital": 3000000, "province": "44",
                     "industry": "other", "business_scope": ["呼叫中心业务"]}}
    path = tmp_path / "facts.ndjson"
    write_ndjson(path, [good])
    with path.open("a", encoding="utf-8") as f:
        f.write("{oops\n" + json.dumps({**good, "type": "x.y"}) + "\n")
    summary = json.loads((await ledger("import", str(path), "--url", stack.url, "--key", key, "--json")).stdout)
    assert (summary["accepted"], summary["refused"]) == (1, 2)
    lines = read_ndjson(summary["refused_file"])
    assert "not JSON" in lines[0]["_error"] and lines[1]["type"] == "x.y" and lines[1]["_error"]
    lines[1]["type"] = "company.registered"
    write_ndjson(summary["refused_file"], [lines[1]])
    rerun = json.loads((await ledger("import", summary["refused_file"], "--url", stack.url, "--key", key,
                                     "--json")).stdout)
    assert (rerun["accepted"], rerun["already_recorded"], rerun["refused"]) == (0, 1, 0)  # the same fact as line 1


async def test_import_without_a_key_or_gateway_says_why(stack, ledger, tmp_path):
    path = write_csv(tmp_path / "f.csv", GOOD[:1])
    no_key = await ledger("import", str(path), "--url", stack.url)
    assert no_key.exit_code != 0 and "LEDGER_API_KEY" in no_key.output
    down = await ledger("import", str(path), "--url", "http://127.0.0.1:9", "--key", "lk_x")
    assert down.exit_code == 1 and "unreachable" in down.stderr

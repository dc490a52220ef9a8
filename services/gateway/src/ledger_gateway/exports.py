"""Lists as files a back office hands on: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX.

An export is the whole filtered set, not one page, yet never held in memory at once: rows
are fetched from the projector a page at a time and written out as they come — CSV straight
into the response, XLSX into openpyxl's write-only workbook in a temporary file that is then
streamed and deleted. ``export_response`` takes any async iterator of row dicts and a column
spec, so every list (the portfolio, one company's obligations, the tenant's obligations) is
one call.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import Query
from ledger_kernel.clock import SHANGHAI
from openpyxl import Workbook
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from ledger_gateway.context import GatewayState

ExportFormat = Literal["csv", "xlsx"]
ListFormat = Literal["json", "csv", "xlsx"]  # what a list route's `format` takes (json: the usual page)
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BOM = "\ufeff"
PAGE = 500  # the projector's largest page
BATCH = 200  # CSV rows per chunk sent to the client
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column: its bilingual header and how a row's cell is read (a key, or a function of the row)."""

    zh: str
    en: str
    key: str
    read: Callable[[dict[str, Any]], Any] | None = None

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"

    def cell(self, row: dict[str, Any]) -> str | int | float | None:
        value = self.read(row) if self.read else row.get(self.key)
        if value is None or isinstance(value, int | float):
            return value  # bool is an int: exported as True/False, which both readers keep
        if isinstance(value, dict) and ("zh" in value or "en" in value):
            return as_text(" / ".join(str(value[k]) for k in ("zh", "en") if value.get(k)))
        if isinstance(value, dict):
            return as_text("; ".join(f"{k} {v}" for k, v in value.items() if v))
        if isinstance(value, list):
            return as_text("; ".join(str(v) for v in value))
        return as_text(str(value))


def as_text(value: str) -> str:
    """Text a spreadsheet keeps as text: a cell starting like a formula (``=``, ``+``, ``-``, ``@``) gets a
    leading apostrophe, so a name typed as ``=HYPERLINK(…)`` is never run when the file is opened."""
    return "'" + value if value[:1] in FORMULA_START else value


def _credit(field: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: (row.get("credit") or {}).get(field)


COMPANY_COLUMNS: tuple[Column, ...] = (
    Column("统一社会信用代码", "USCC", "uscc"),
    Column("企业名称", "Name", "name"),
    Column("风险", "Risk", "risk"),
    Column("未解决发现", "Open findings", "open_findings"),
    Column("逾期", "Overdue", "overdue"),
    Column("即将到期", "Due soon", "due_soon"),
    Column("下一到期日", "Next due", "next_due"),
    Column("信用估算", "Credit estimate", "credit", _credit("score")),
    Column("信用等级", "Credit band", "credit_band", _credit("band")),
)

OBLIGATION_COLUMNS: tuple[Column, ...] = (
    Column("企业", "Company", "company"),
    Column("义务", "Obligation", "title"),
    Column("对象", "About", "about"),
    Column("年度", "Year", "year"),
    Column("季度", "Quarter", "quarter"),
    Column("开始日", "Window opens", "window_opens"),
    Column("到期日", "Due", "due"),
    Column("状态", "Status", "status"),
    Column("履行日", "Fulfilled on", "fulfilled_on"),
    Column("规则", "Rule", "rule"),
    Column("依据", "Source", "source"),
    Column("可信度", "Confidence", "confidence"),
    Column("编号", "Id", "id"),
)


async def projector_rows(gw: GatewayState, payload: dict[str, Any],
                         extra: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Every item of a paged ``query.projector`` list, one page in memory at a time (``extra`` is
    merged into each item, e.g. the company of a per-company list)."""
    token = None
    while True:
        reply = await gw.bus.query("query.projector", {**payload, "page_size": PAGE, "page_token": token})
        result = reply["result"]
        for item in result["items"]:
            yield {**item, **extra} if extra else item
        token = result.get("next_page_token")
        if not token:
            return


async def primed(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """The same rows, with the first fetched now: a refusal (404, 422) answers as a problem before
    any byte of the file is sent."""
    try:
        first = await anext(rows)
    except StopAsyncIteration:
        first = None

    async def rest() -> AsyncIterator[dict[str, Any]]:
        if first is not None:
            yield first
            async for row in rows:
                yield row

    return rest()


def disposition(filename: str, kind: str = "attachment") -> str:
    """``attachment`` (or ``inline``) with an ASCII fallback and the real name as RFC 5987 ``filename*``."""
    fallback = "".join(c if c.isalnum() or c in ".-" else "_" for c in filename if c.isascii()).strip("-_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def csv_chunks(rows: AsyncIterator[dict[str, Any]], columns: Sequence[Column]) -> AsyncIterator[bytes]:
    """The CSV as UTF-8 bytes: a BOM and the header first, then rows in small batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([c.header for c in columns])
    count = 0
    async for row in rows:
        writer.writerow([c.cell(row) for c in columns])
        count += 1
        if count % BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


async def xlsx_file(rows: AsyncIterator[dict[str, Any]], columns: Sequence[Column], sheet: str) -> str:
    """The rows in a write-only workbook saved to a temporary file (the caller deletes it)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append([c.header for c in columns])
    batch: list[list[Any]] = []

    def flush(lines: list[list[Any]]) -> None:
        for line in lines:
            ws.append(line)

    async for row in rows:
        batch.append([c.cell(row) for c in columns])
        if len(batch) == PAGE:
            await run_in_threadpool(flush, batch)
            batch = []
    fd, path = tempfile.mkstemp(prefix="ledger-export-", suffix=".xlsx")
    os.close(fd)
    try:
        await run_in_threadpool(flush, batch)
        await run_in_threadpool(book.save, path)
    except BaseException:
        os.unlink(path)
        raise
    return path


async def export_response(fmt: ExportFormat, rows: AsyncIterator[dict[str, Any]], columns: Sequence[Column],
                          filename: str, sheet: str = "export") -> Response:
    """The rows as a CSV or XLSX download named ``filename``.csv/.xlsx."""
    rows = await primed(rows)
    filename = f"{filename}.{fmt}"
    headers = {"Content-Disposition": disposition(filename), "Cache-Control": "private, no-store"}
    if fmt == "csv":
        return StreamingResponse(csv_chunks(rows, columns), media_type=MEDIA["csv"], headers=headers)
    path = await xlsx_file(rows, columns, sheet)
    return FileResponse(path, media_type=MEDIA["xlsx"], headers=headers, background=BackgroundTask(os.unlink, path))


Answer = Callable[[GatewayState, dict[str, Any]], Awaitable[Response]]


def as_file(fmt: ListFormat | None, columns: Sequence[Column], title_zh: str, stem: str, *,
            extra: dict[str, Any] | None = None) -> Answer | None:
    """What a list route answers with ``format=csv|xlsx`` (None: the usual JSON page): given the
    projector query the route built, every page of it as one file, named e.g.
    ``合规义务-obligations-<USCC>-2026-11-23.xlsx`` (the date the list was evaluated at)."""
    if fmt is None or fmt == "json":
        return None
    file_format: ExportFormat = fmt

    async def answer(gw: GatewayState, payload: dict[str, Any]) -> Response:
        at = payload.get("as_of")
        day = (datetime.fromisoformat(at) if at else gw.clock.now()).astimezone(SHANGHAI).date().isoformat()
        name = "-".join(part for part in (title_zh, stem, payload.get("company"), day) if part)
        return await export_response(file_format, projector_rows(gw, payload, extra), columns, name, title_zh)

    return answer


FormatQuery = Query(None, alias="format", description="`csv` or `xlsx`: the whole filtered list (every page) as a "
                                                      "file, with Chinese and English headers (CSV in UTF-8 with a "
                                                      "BOM, for Excel); `json` (default): one page. "
                                                      "导出为 CSV 或 Excel 文件。")
FILE_CONTENT = {"text/csv": {"schema": {"type": "string"}},
                MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}

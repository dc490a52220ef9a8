"""The console's import (批量导入): a back office's CSV (or NDJSON) in, each row recorded or refused.

The rows are read exactly as ``ledger import`` reads them (``ledger_contracts.rows``) and recorded through
the gateway's own batch path, so every fact is judged as on ``POST /v1/facts:batch``, with the row's
idempotency key (re-uploading a file records nothing twice). With a baseline date, each company of the
file that has none gets ``company.tracking_started`` first. The refused rows, with their line numbers,
can be downloaded for a short while to fix and upload again.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from ledger_contracts.rows import Row, RowError, baseline_fact, decode, iso_day, parse_rows, refused_text
from starlette.datastructures import UploadFile

from ledger_gateway.console import data
from ledger_gateway.console.pages import MAX_UPLOAD, forbidden, page, posted_form, user_of
from ledger_gateway.console.sessions import ConsoleUser
from ledger_gateway.context import state_of
from ledger_gateway.exports import disposition
from ledger_gateway.facts_api import run_batch
from ledger_gateway.problems import ProblemError

router = APIRouter(include_in_schema=False)
TRACKING = "company.tracking_started"
KEEP_SECONDS = 1800  # how long a refused-rows file can be downloaded
KEEP_FILES = 200  # refused-rows files kept in this process at most (oldest dropped first)
CHUNK = 1000


class RefusedFiles:
    """Refused-rows files waiting to be downloaded: bounded in number and age, each tied to its tenant."""

    def __init__(self) -> None:
        self._files: OrderedDict[str, tuple[str, float, str, str, bytes]] = OrderedDict()

    def keep(self, tenant: str, name: str, media: str, body: bytes) -> str:
        token = secrets.token_urlsafe(18)
        self._files[token] = (tenant, time.monotonic(), name, media, body)
        while len(self._files) > KEEP_FILES:
            self._files.popitem(last=False)
        return token

    def take(self, tenant: str, token: str) -> tuple[str, str, bytes] | None:
        found = self._files.get(token)
        if found is None or found[0] != tenant or time.monotonic() - found[1] > KEEP_SECONDS:
            return None
        return found[2], found[3], found[4]


REFUSED = RefusedFiles()


def _show(request: Request, user: ConsoleUser, status: int = 200, **extra: Any) -> HTMLResponse:
    return page(request, "import.html", {"user": user, "result": None, "problem": None, **extra}, status)


@router.get("/app/import")
async def import_form(request: Request) -> HTMLResponse:
    return _show(request, await user_of(request))


async def _untracked(request: Request, user: ConsoleUser, rows: list[Row]) -> list[str]:
    """Companies of the file with no baseline in the file and none recorded."""
    in_file = {r.fact["company"] for r in rows if r.fact and r.fact.get("type") == TRACKING}
    out = []
    for company in dict.fromkeys(r.fact["company"] for r in rows if r.fact and isinstance(r.fact.get("company"), str)):
        if company in in_file:
            continue
        try:
            summary = await data.ask(state_of(request), user.tenant, "company", company=company)
        except ProblemError as exc:
            if exc.kind != "not-found":
                raise
            summary = {}
        if not summary.get("tracked_from"):
            out.append(company)
    return out


@router.post("/app/import")
async def import_file(request: Request) -> Response:
    user, form = await posted_form(request)
    if not user.may("write"):
        return forbidden(request, "该密钥没有写入权限。", "This key has no write scope.")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _show(request, user, 422, problem=("请选择要导入的文件。", "Choose a file to import."))
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return _show(request, user, 413, problem=(f"文件超过 {MAX_UPLOAD // 1024 // 1024} MB。",
                                                  f"The file is larger than {MAX_UPLOAD // 1024 // 1024} MB."))
    tracked_from: date | None = None
    if form.get("tracked_from"):
        try:
            tracked_from = date.fromisoformat(iso_day(str(form.get("tracked_from"))))
        except ValueError:
            return _show(request, user, 422, problem=("建账基准日无效。", "The baseline date is not a date."))
    fmt = "ndjson" if upload.filename.lower().endswith((".ndjson", ".jsonl", ".json")) else "csv"
    try:
        fmt, header, rows = parse_rows(decode(raw), fmt, upload.filename)
    except (RowError, UnicodeDecodeError) as exc:
        return _show(request, user, 422, problem=(f"无法读取文件：{exc}", f"The file cannot be read: {exc}"))
    gw = state_of(request)
    who = user.principal
    tracking: list[str] = []
    if tracked_from is not None:
        attested = str(form.get("attested_by") or "onboarding review 入职审查")[:200]
        day = tracked_from.isoformat()
        facts = [{**baseline_fact(co, day, attested, "recorded by the console's import"),
                  "idempotency_key": f"tracking-{co}-{day}"} for co in await _untracked(request, user, rows)]
        if facts:
            answer = await run_batch(gw, who, facts, "console-import")
            tracking = [f["company"] for f, r in zip(facts, answer["results"], strict=True) if r["ok"]]
    to_send = [r for r in rows if r.fact is not None]
    accepted = replayed = 0
    for start in range(0, len(to_send), CHUNK):
        part = to_send[start:start + CHUNK]
        answer = await run_batch(gw, who, [r.fact for r in part], "console-import")
        for row, result in zip(part, answer["results"], strict=True):
            if result["ok"]:
                replayed += bool(result.get("replayed"))
                accepted += not result.get("replayed")
            else:
                problem = result.get("problem") or {}
                fields = "; ".join(f"{e.get('field')}: {e.get('reason_en') or e.get('code')}"
                                   for e in problem.get("errors") or [])
                row.error = f"{result.get('status')} {problem.get('code', '')}: {fields or problem.get('detail', '')}"
    refused = [r for r in rows if r.error]
    token = None
    if refused:
        stem = upload.filename.rsplit(".", 1)[0][:80] or "import"
        body = refused_text(fmt, header, refused).encode("utf-8")
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        token = REFUSED.keep(user.tenant, f"{stem}.refused.{fmt}", media, body)
    return _show(request, user, result={
        "file": upload.filename, "rows": len(rows), "accepted": accepted, "replayed": replayed,
        "refused": refused, "token": token, "fmt": fmt, "tracking": tracking})


@router.get("/app/import/refused/{token}")
async def refused_rows(request: Request, token: str) -> Response:
    user = await user_of(request)
    found = REFUSED.take(user.tenant, token)
    if found is None:
        return page(request, "error.html", {"status": 404, "user": user, "zh": "该文件已过期或不存在。",
                                            "en": "This file has expired or does not exist."}, 404)
    name, media, body = found
    return Response(body, media_type=media, headers={"Content-Disposition": disposition(name),
                                                     "Cache-Control": "private, no-store"})

"""Reads: the tenant's portfolio, one company's summary, obligations, findings, credit, timeline, events,
and the change feed — each a ``query.projector`` request scoped to the caller's tenant.

``min_sequence`` waits (a few seconds at most) until the projection has applied that
LEDGER sequence, so a client reads its own writes; ``Ledger-Applied-Sequence`` says
how far it got either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ledger_gateway import exports
from ledger_gateway.auth import reader
from ledger_gateway.bounds import check_instant
from ledger_gateway.context import GatewayState, state_of
from ledger_gateway.models import (
    ChangePage,
    CompanyPage,
    CompanySummary,
    Credit,
    EventPage,
    FindingPage,
    ObligationPage,
    TimelinePage,
)
from ledger_gateway.openapi_docs import problem_responses
from ledger_gateway.problems import ProblemError
from ledger_gateway.tenancy import Principal

router = APIRouter(prefix="/v1", tags=["reads"])
PROJECTOR = "query.projector"
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")

READ_HEADERS = {
    "Ledger-Applied-Sequence": {"description": "The LEDGER sequence the read model had applied when answering.",
                                "schema": {"type": "string"}},
    "Ledger-Min-Sequence-Reached": {"description": "With min_sequence: `true` if the projection reached it in "
                                                   "time, else `false` (the answer is then older).",
                                    "schema": {"type": "string"}},
    "ETag": {"description": "Entity tag of this answer (send as If-None-Match for a 304).",
             "schema": {"type": "string"}},
}
READ_ERRORS = problem_responses(401, 403, 404, 422, 503)
LIST_ERRORS = problem_responses(401, 403, 422, 503)


def _ok(model: type, description: str, files: bool = False) -> dict[int | str, dict[str, Any]]:
    content = {"content": exports.FILE_CONTENT} if files else {}
    return {200: {"model": model, "description": description, "headers": READ_HEADERS, **content},
            304: {"description": "Not modified (If-None-Match matched)."}}


AsOf = Query(None, description="Evaluate statuses at this instant (ISO 8601; a time without offset is "
                               "Asia/Shanghai). Default: now.")
MinSequence = Query(None, ge=0, le=2**53, description="Wait briefly until the projection has applied this LEDGER "
                                                     "sequence (the `ledger_sequence` a write answered).")
PageSize = Query(50, ge=1, le=500, description="Items per page.")
PageToken = Query(None, max_length=500, description="`next_page_token` of the previous page.")
UsccPath = Path(..., description="The company's 统一社会信用代码 (18 characters).", max_length=64)


def _instant(value: datetime | None) -> str | None:
    """``as_of`` as a UTC instant; outside 1900–2100 (Shanghai days) a 422 naming ``query.as_of``."""
    return check_instant("as_of", value)


async def _wait_for(gw: GatewayState, tenant: str, min_sequence: int) -> tuple[int, bool]:
    """Poll the projector's status until it has applied ``min_sequence`` or the wait is over."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gw.read_wait_seconds
    delay = 0.02
    while True:
        status = await gw.bus.query(PROJECTOR, {"op": "status", "tenant": tenant})
        applied = int((status.get("result") or {}).get("applied_sequence") or status.get("applied_sequence") or 0)
        if applied >= min_sequence:
            return applied, True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return applied, False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 0.25)


def named_in_query(exc: ProblemError, request: Request) -> None:
    """A refused parameter named as the request spells it: ``query.status``, as FastAPI's own checks do."""
    for err in exc.extra.get("errors") or []:
        if isinstance(err, dict) and err.get("field") in request.query_params:
            err["field"] = f"query.{err['field']}"


def listed(values: list[str] | None) -> list[str] | None:
    """A repeatable parameter whose values may also be comma-separated (``company=A&company=B,C``)."""
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()] or None


async def read(request: Request, who: Principal, op: str, *, company: str | None = None,
               as_of: datetime | None = None, min_sequence: int | None = None,
               export: exports.Answer | None = None, **params: Any) -> Response:
    """One projector query, answered as JSON with the applied-sequence header and an ETag (or, with
    ``export``, every page of it as a file)."""
    gw = state_of(request)
    if company is not None and not USCC.match(company):
        raise ProblemError("not-found", "no such company for this tenant 未找到该企业")
    at = _instant(as_of)  # judged before any wait
    reached: bool | None = None
    if min_sequence:
        _, reached = await _wait_for(gw, who.tenant, min_sequence)
    payload: dict[str, Any] = {"op": op, "tenant": who.tenant, "as_of": at}
    if company is not None:
        payload["company"] = company
    payload.update({k: v for k, v in params.items() if v is not None})
    try:
        if export is not None:
            return await export(gw, payload)
        reply = await gw.bus.query(PROJECTOR, payload)
    except ProblemError as exc:
        named_in_query(exc, request)
        raise
    result = reply.get("result")
    if not isinstance(result, dict):
        raise ProblemError("internal-error")
    body = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Ledger-Applied-Sequence": str(reply.get("applied_sequence", 0)), "ETag": etag}
    if reached is not None:
        headers["Ledger-Min-Sequence-Reached"] = "true" if reached else "false"
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/companies", summary="The tenant's portfolio", response_model=CompanyPage,
            responses={**_ok(CompanyPage, "One page of the tenant's companies.", files=True), **LIST_ERRORS})
async def portfolio(
    request: Request, who: Principal = Depends(reader),
    risk: str | None = Query(None, max_length=200, description="Only these risk bands, comma-separated: "
                                                                "critical, high, medium, low, none."),
    overdue: bool | None = Query(None, description="Only companies with (true) or without (false) overdue obligations."),
    severity: str | None = Query(None, max_length=200, description="Only companies with an open finding of one of "
                                 "these severities, comma-separated: critical, high, medium, advisory, info."),
    sort: str = Query("next_statutory_due", max_length=40, description="Order: `next_statutory_due` (soonest "
                      "statutory or notice deadline first; the default), `name`, `risk` (critical first), `overdue` "
                      "(fewest first) or `uscc`; prefix `-` to reverse. Companies without a value come last."),
    page_size: int = PageSize, page_token: str | None = PageToken,
    as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence,
    fmt: exports.ListFormat | None = exports.FormatQuery,
) -> Response:
    """uscc, name, risk, open findings by severity, overdue count, next due, next statutory due, credit
    estimate. An unknown risk, severity or sort is a 422 naming the parameter. 企业组合。"""
    return await read(request, who, "portfolio", as_of=as_of, min_sequence=min_sequence, risk=risk,
                      export=exports.as_file(fmt, exports.COMPANY_COLUMNS, "企业组合", "companies"),
                      overdue=overdue, severity=severity, sort=sort, page_size=page_size, page_token=page_token)


@router.get("/companies/{uscc}", summary="A company's current summary", response_model=CompanySummary,
            responses={**_ok(CompanySummary, "The company's summary."), **READ_ERRORS})
async def company(request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
                  as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence) -> Response:
    """The company's summary: risk, open findings, overdue count, next due, credit. 企业概况。"""
    return await read(request, who, "company", company=uscc, as_of=as_of, min_sequence=min_sequence)


Statuses = Query(None, max_length=400, description="Only these statuses, comma-separated: scheduled, open, "
                  "due_soon, overdue, fulfilled_on_time, fulfilled_late, waived, cancelled, before_tracking.")
Rules = Query(None, max_length=1000, description="Only these rules (rule ids of docs/rules.md), comma-separated.")
Confidences = Query(None, max_length=200, description="Only these confidences, comma-separated: statutory, "
                    "notice, advisory, estimate.")
DueFrom = Query(None, max_length=40, description="Only obligations due on or after this date (YYYY-MM-DD).")
DueTo = Query(None, max_length=40, description="Only obligations due on or before this date (YYYY-MM-DD).")


@router.get("/obligations", summary="Every obligation of the tenant (the work queue)", response_model=ObligationPage,
            responses={**_ok(ObligationPage, "One page of obligations, by due date then company.", files=True),
                       **LIST_ERRORS})
async def all_obligations(
    request: Request, who: Principal = Depends(reader),
    company: list[str] | None = Query(None, description="Only these companies (USCC; repeat the parameter)."),
    status: str | None = Statuses, rule: str | None = Rules, confidence: str | None = Confidences,
    due_from: str | None = DueFrom, due_to: str | None = DueTo,
    page_size: int = PageSize, page_token: str | None = PageToken,
    as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence,
    fmt: exports.ListFormat | None = exports.FormatQuery,
) -> Response:
    """Obligations across the tenant's companies with their statuses at `as_of`, sorted by due date, then
    company. An unknown status, rule or confidence, or a malformed date, is a 422 naming the parameter.
    工作队列：全部企业的合规义务。"""
    return await read(request, who, "due", as_of=as_of, min_sequence=min_sequence,
                      export=exports.as_file(fmt, exports.OBLIGATION_COLUMNS, "合规义务", "obligations"),
                      companies=listed(company), status=status, rule=rule, confidence=confidence,
                      due_from=due_from, due_to=due_to, page_size=page_size, page_token=page_token)


@router.get("/companies/{uscc}/obligations", summary="The company's obligations", response_model=ObligationPage,
            responses={**_ok(ObligationPage, "One page of obligations.", files=True), **READ_ERRORS})
async def obligations(
    request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
    status: str | None = Statuses, rule: str | None = Rules, confidence: str | None = Confidences,
    due_from: str | None = DueFrom, due_to: str | None = DueTo,
    page_size: int = PageSize, page_token: str | None = PageToken,
    as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence,
    fmt: exports.ListFormat | None = exports.FormatQuery,
) -> Response:
    """Obligations with due dates (Asia/Shanghai) and statuses at `as_of`; the same filters as
    `/v1/obligations`. 合规义务。"""
    return await read(request, who, "obligations", company=uscc, as_of=as_of, min_sequence=min_sequence,
                      export=exports.as_file(fmt, exports.OBLIGATION_COLUMNS, "合规义务", "obligations",
                                             extra={"company": uscc}),
                      status=status, rule=rule, confidence=confidence, due_from=due_from, due_to=due_to,
                      page_size=page_size, page_token=page_token)


@router.get("/companies/{uscc}/findings", summary="The company's findings", response_model=FindingPage,
            responses={**_ok(FindingPage, "One page of findings."), **READ_ERRORS})
async def findings(
    request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
    open: bool | None = Query(None, description="Only open (true) or resolved (false) findings."),  # noqa: A002
    severity: str | None = Query(None, max_length=200, description="Only these severities, comma-separated: "
                                 "critical, high, medium, advisory, info."),
    rule: str | None = Rules, confidence: str | None = Confidences,
    page_size: int = PageSize, page_token: str | None = PageToken,
    as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence,
) -> Response:
    """Findings (non-compliance the rules found), with severity, evidence and source. An unknown severity,
    rule or confidence is a 422 naming the parameter. 风险发现。"""
    return await read(request, who, "findings", company=uscc, as_of=as_of, min_sequence=min_sequence,
                      open=open, severity=severity, rule=rule, confidence=confidence, page_size=page_size,
                      page_token=page_token)


@router.get("/companies/{uscc}/credit", summary="The company's credit estimate", response_model=Credit,
            responses={**_ok(Credit, "The credit-score estimate."), **READ_ERRORS})
async def credit(request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
                 as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence) -> Response:
    """Score (or null), band, coverage in months, components; always labelled `estimate`. 信用估算。"""
    return await read(request, who, "credit", company=uscc, as_of=as_of, min_sequence=min_sequence)


@router.get("/companies/{uscc}/timeline", summary="The company's timeline", response_model=TimelinePage,
            responses={**_ok(TimelinePage, "One page of the timeline."), **READ_ERRORS})
async def timeline(request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
                   kind: str | None = Query(None, max_length=100, description="Only these kinds, comma-separated: "
                                            "fact, deadline, finding."),
                   status: str | None = Statuses,
                   date_from: str | None = Query(None, max_length=40, description="From this date (YYYY-MM-DD)."),
                   date_to: str | None = Query(None, max_length=40, description="Up to this date (YYYY-MM-DD)."),
                   page_size: int = PageSize, page_token: str | None = PageToken,
                   as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence) -> Response:
    """Facts, deadlines and findings in date order (`status` keeps the deadlines of those statuses). An
    unknown kind or status, or a malformed date, is a 422 naming the parameter. 合规时间线。"""
    return await read(request, who, "timeline", company=uscc, as_of=as_of, min_sequence=min_sequence,
                      kind=kind, status=status, date_from=date_from, date_to=date_to, page_size=page_size,
                      page_token=page_token)


@router.get("/companies/{uscc}/events", summary="The company's ledger events (audit)", response_model=EventPage,
            responses={**_ok(EventPage, "One page of CloudEvents from LEDGER."), **READ_ERRORS})
async def events(request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
                 page_size: int = PageSize, page_token: str | None = PageToken,
                 as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence) -> Response:
    """Every event recorded about the company, as CloudEvents with their hash chain. 审计事件。"""
    return await read(request, who, "events", company=uscc, as_of=as_of, min_sequence=min_sequence,
                      page_size=page_size, page_token=page_token)


@router.get("/changes", summary="The tenant's change feed", response_model=ChangePage,
            responses={**_ok(ChangePage, "Changes after the cursor."), **LIST_ERRORS})
async def changes(request: Request, who: Principal = Depends(reader),
                  after: str | None = Query(None, max_length=200, description="`next_cursor` of the previous call."),
                  include: str | None = Query(None, max_length=40, description="`state`: also the derived changes "
                                              "(obligation.status_changed, finding.opened, finding.resolved, "
                                              "company.risk_changed)."),
                  page_size: int = PageSize, min_sequence: int | None = MinSequence) -> Response:
    """Which company changed, what, and a cursor to continue from (back-office sync); with `include=state`
    also the states that changed, each with its before and after values and instant. A cursor beyond the
    end of the feed is a 422 `cursor-ahead`. 变更流。"""
    return await read(request, who, "changes", min_sequence=min_sequence, after=after, include=include,
                      page_size=page_size)

"""``GET /v1/companies/{uscc}/report.pdf``: the compliance report a back office sends its client.

It gathers what the reads answer at ``as_of`` (summary, open findings, obligations, credit,
the licence facts) from the projector, scoped to the caller's tenant like every read, and
renders them with ``report_pdf``.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from ledger_kernel.clock import SHANGHAI
from starlette.concurrency import run_in_threadpool

from ledger_gateway import report_pdf
from ledger_gateway.auth import reader
from ledger_gateway.context import GatewayState, state_of
from ledger_gateway.exports import disposition, projector_rows
from ledger_gateway.openapi_docs import problem_responses
from ledger_gateway.problems import ProblemError
from ledger_gateway.reads_api import PROJECTOR, USCC, AsOf, MinSequence, UsccPath, _instant, _wait_for
from ledger_gateway.tenancy import Principal

router = APIRouter(prefix="/v1", tags=["reads"])


def year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


async def gather(gw: GatewayState, tenant: str, company: str, at: datetime) -> report_pdf.ReportData:
    """Everything the report shows, fetched side by side (the summary first: it answers 404)."""
    base = {"tenant": tenant, "company": company, "as_of": _instant(at)}

    async def one(op: str) -> dict[str, Any]:
        return (await gw.bus.query(PROJECTOR, {**base, "op": op}))["result"]

    async def every(op: str, **params: Any) -> list[dict[str, Any]]:
        return [row async for row in projector_rows(gw, {**base, "op": op, **params})]

    async def licence_events() -> list[dict[str, Any]]:
        return [e async for e in projector_rows(gw, {**base, "op": "events"})
                if str(e.get("type", "")).startswith("licence.")]

    summary = await one("company")
    credit, findings, obligations, events = await asyncio.gather(
        one("credit"), every("findings", open=True), every("obligations"), licence_events())
    today = at.astimezone(SHANGHAI).date()
    horizon = year_later(today).isoformat()
    overdue = [o for o in obligations if o.get("status") == "overdue"]
    upcoming = [o for o in obligations if o.get("status") != "overdue" and o.get("due")
                and today.isoformat() <= o["due"] <= horizon]
    return report_pdf.ReportData(summary=summary, as_of=today, generated_at=gw.clock.now().astimezone(SHANGHAI),
                                 findings=findings, overdue=overdue, upcoming=upcoming, credit=credit,
                                 licences=report_pdf.licences_from(events, today))


@router.get("/companies/{uscc}/report.pdf", summary="The company's compliance report (PDF)",
            response_class=Response,
            responses={200: {"description": "A bilingual A4 report: summary, open findings with evidence, overdue "
                                            "obligations and those due in the next 12 months, the credit estimate "
                                            "with its components — each item with rule, source and confidence.",
                             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                       **problem_responses(401, 403, 404, 422, 503)})
async def report(request: Request, uscc: str = UsccPath, who: Principal = Depends(reader),
                 as_of: datetime | None = AsOf, min_sequence: int | None = MinSequence) -> Response:
    """A printable compliance report for one company at `as_of` (default now). 企业合规报告（PDF）。"""
    gw = state_of(request)
    if not USCC.match(uscc):
        raise ProblemError("not-found", "no such company for this tenant 未找到该企业")
    if min_sequence:
        await _wait_for(gw, who.tenant, min_sequence)
    return await report_response(gw, who.tenant, uscc, as_of)


async def report_response(gw: GatewayState, tenant: str, uscc: str, as_of: datetime | None) -> Response:
    """The PDF for one company of the tenant (the API's route and the console's link both answer with it)."""
    at = as_of or gw.clock.now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    data = await gather(gw, tenant, uscc, at)
    body = await run_in_threadpool(report_pdf.render, data)
    name = f"合规报告-report-{uscc}-{data.as_of.isoformat()}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": disposition(name, "inline"), "Cache-Control": "private, no-store"})

"""What the console shows, read through the same ``query.projector`` operations as the HTTP API.

Every read is scoped to the session's tenant exactly as ``/v1`` reads are: another tenant's company is
the projector's ``not_found``, which the pages answer with 404.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Any

from ledger_kernel.clock import SHANGHAI

from ledger_gateway.context import GatewayState

PROJECTOR = "query.projector"
MAX_ITEMS = 5_000  # a page never lists more than this many rows of one kind


def end_of_day(day: date) -> str:
    """The instant a day ends in Asia/Shanghai, as the projector's ``as_of`` (the company as it stood that day)."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(UTC).isoformat()


async def ask(gw: GatewayState, tenant: str, op: str, **params: Any) -> dict[str, Any]:
    payload = {"op": op, "tenant": tenant, **{k: v for k, v in params.items() if v is not None}}
    return (await gw.bus.query(PROJECTOR, payload))["result"]


async def every(gw: GatewayState, tenant: str, op: str, **params: Any) -> list[dict[str, Any]]:
    """All pages of a list operation (bounded by ``MAX_ITEMS``)."""
    items: list[dict[str, Any]] = []
    token = None
    while len(items) < MAX_ITEMS:
        page = await ask(gw, tenant, op, page_size=500, page_token=token, **params)
        items += page["items"]
        token = page.get("next_page_token")
        if not token:
            break
    return items[:MAX_ITEMS]


async def company_page(gw: GatewayState, tenant: str, company: str, as_of: str | None) -> dict[str, Any]:
    """Summary, obligations, findings, credit and recorded facts of one company at ``as_of`` (asked side by side)."""
    summary = await ask(gw, tenant, "company", company=company, as_of=as_of)  # first: 404 before anything else
    obligations, findings, credit, facts = await asyncio.gather(
        every(gw, tenant, "obligations", company=company, as_of=as_of),
        every(gw, tenant, "findings", company=company, as_of=as_of),
        ask(gw, tenant, "credit", company=company, as_of=as_of),
        every(gw, tenant, "timeline", company=company, as_of=as_of, kind="fact"))
    return {"summary": summary, "obligations": obligations, "findings": findings, "credit": credit, "facts": facts}


async def work_queue(gw: GatewayState, tenant: str, **filters: Any) -> list[dict[str, Any]]:
    """Obligations across the tenant's companies, filtered in the projector (the ``due`` op behind
    ``GET /v1/obligations``), each with its ``company`` and ``company_name``, by due date then company."""
    return await every(gw, tenant, "due", **filters)

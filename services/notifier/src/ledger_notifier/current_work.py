"""What is due now, asked of the projector (``query.projector``), for a new subscription's catch-up.

The projector owns the read model; the notifier asks it as the gateway does, never reads its
tables. Companies come from the tenant's portfolio (or the subscription's list), and only those
whose summary counts something overdue or due soon are asked for their obligations.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nats.aio.client import Client

from ledger_notifier.digests import CURRENT

PROJECTOR = "query.projector"
MAX_COMPANIES = 5000  # as a subscription's company list
PAGE = 500


class ProjectorUnavailable(Exception):
    """The projector did not answer as expected; the catch-up is tried again later."""


async def _query(nc: Client, request: dict[str, Any], wait: float) -> dict[str, Any] | None:
    """The query's result; None for a 404 (a company the tenant does not have)."""
    try:
        msg = await nc.request(PROJECTOR, json.dumps(request).encode(), timeout=wait)
        reply = json.loads(msg.data)
    except Exception as exc:  # no responders, timeout, a closed connection: all mean "later"
        raise ProjectorUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if reply.get("ok") is True:
        return reply["result"]
    if reply.get("status") == 404:
        return None
    raise ProjectorUnavailable(f"the projector answered {reply.get('status')} {reply.get('code')}")


async def _companies(nc: Client, tenant: str, wait: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while len(out) < MAX_COMPANIES:
        page = await _query(nc, {"op": "portfolio", "tenant": tenant, "page_size": PAGE, "page_token": token},
                            wait)
        out += page["items"] if page else []
        token = page.get("next_page_token") if page else None
        if not token:
            break
    return out


async def due_now(nc: Client, tenant: str, companies: list[str], *, wait: float = 10.0,
                  concurrency: int = 8) -> list[dict[str, Any]]:
    """Every obligation of the tenant's ``companies`` (``["*"]``: all) overdue, due today or due soon
    now, each with ``company`` and ``company_name``."""
    if companies == ["*"]:
        summaries = [c for c in await _companies(nc, tenant, wait) if c.get("overdue") or c.get("due_soon")]
    else:
        summaries = [{"uscc": c} for c in companies]
    semaphore = asyncio.Semaphore(concurrency)

    async def of(summary: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        name = summary.get("name")
        async with semaphore:
            while True:
                page = await _query(nc, {"op": "obligations", "tenant": tenant, "company": summary["uscc"],
                                         "page_size": PAGE, "page_token": token}, wait)
                if page is None:
                    return []
                items += [{**o, "company": summary["uscc"], "company_name": name}
                          for o in page["items"] if o.get("status") in CURRENT]
                token = page.get("next_page_token")
                if not token:
                    break
            if items and name is None:
                company = await _query(nc, {"op": "company", "tenant": tenant, "company": summary["uscc"]}, wait)
                name = (company or {}).get("name")
                items = [{**o, "company_name": name} for o in items]
        return items

    chunks = await asyncio.gather(*(of(s) for s in summaries[:MAX_COMPANIES]))
    return [o for chunk in chunks for o in chunk]

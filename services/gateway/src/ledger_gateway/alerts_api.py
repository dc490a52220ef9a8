"""Subscriptions, deliveries, replay (the notifier's, over ``cmd.notifier``/``query.notifier``) and the
tokenised iCalendar feed ``GET /v1/feeds/{token}.ics`` (obligations from the projector, rendered by
the gateway's pure ``ics.render_feed``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from ledger_contracts.errors import FormatError
from ledger_contracts.formats import validate_uscc
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ledger_gateway import feeds
from ledger_gateway.auth import admin, reader, writer
from ledger_gateway.context import GatewayState, state_of
from ledger_gateway.ics import render_feed
from ledger_gateway.idempotency import KEY_PATTERN
from ledger_gateway.openapi_docs import problem_responses
from ledger_gateway.problems import ProblemError, from_service
from ledger_gateway.reads_api import PROJECTOR
from ledger_gateway.tenancy import Principal

router = APIRouter(prefix="/v1", tags=["alerts"])
NOTIFIER_CODES = {"invalid_subscription": "invalid-subscription", "invalid_settings": "invalid-request", "subscription_inactive": "subscription-inactive",
                  "idempotency_key_reused": "idempotency-key-reused", "not_found": "not-found",
                  "malformed_request": "invalid-request", "unavailable": "unavailable",
                  "deadline_exceeded": "unavailable"}
FEED_ITEMS = 50_000  # a feed is for planning; a portfolio beyond this belongs in the API
FEED_LIMITED = 200  # companies named on one feed (each is checked to be the tenant's)
IdPath = Path(..., max_length=100)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(description="webhook | email | nats", json_schema_extra={"enum": ["webhook", "email", "nats"]})
    target: str | list[str] = Field(description="An https URL, a subject suffix, or for e-mail one address or a "
                                                "list of up to 50 (one message to all of them).")
    companies: list[str] | str = Field("*", description='USCCs, or "*" for all the tenant\'s companies.')
    types: list[str] | None = Field(None, description="Alert types (default all).")
    min_severity: str | None = Field(None, description="The lowest alert severity to send: info, low, medium, high, critical (`advisory` = `low`). 最低提醒级别。")
    catch_up: bool = Field(False, description="Also send, once, one digest of what is overdue or due soon now "
                                              "(`subscription.catch_up`). 补发当前待办。")
    delivery: str = Field("immediate", description="`immediate`: each alert as it comes; `daily`: one digest a day "
                                                   "at the tenant's hour (`subscription.daily_digest`, see "
                                                   "/v1/alert-settings). 即时或每日汇总。",
                          json_schema_extra={"enum": ["immediate", "daily"]})


class Subscription(Open):
    id: str
    channel: str
    target: str | list[str]
    companies: Any = None
    types: Any = None
    min_severity: str | None = None
    delivery: str | None = None
    catch_up: str | None = Field(None, description="pending | sent | nothing_due (null: not asked for).")
    state: str | None = None
    created_at: str | None = None


class SubscriptionCreated(Subscription):
    secret: str | None = Field(None, description="Webhook signing secret `whsec_…` — shown only this once.")


class SubscriptionPage(BaseModel):
    items: list[Subscription]
    next_page_token: str | None = None


class Delivery(Open):
    id: str
    subscription_id: str
    status: str
    attempts: int | None = None
    log: list[dict[str, Any]] | None = None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_page_token: str | None = None


class FeedTokenView(BaseModel):
    id: str
    label: str
    companies: list[str] | None = Field(None, description="The companies the feed shows (null: all of them).")
    created_at: str
    revoked_at: str | None = None


class FeedTokenCreated(FeedTokenView):
    token: str = Field(description="The feed's secret token — shown only this once.")
    url: str = Field(description="The iCalendar feed (subscribe to it in a calendar app).")
    webcal_url: str


class FeedTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field("", max_length=200)
    companies: list[str] | None = Field(None, min_length=1, max_length=FEED_LIMITED,
                                        description="Limit the feed to these of the tenant's companies (USCCs); "
                                                    "default all. 仅包含这些企业。")


async def notifier(gw: GatewayState, subject: str, payload: dict[str, Any]) -> tuple[int, Any]:
    reply = await gw.bus.request(subject, payload, gw.bus.query_timeout, deadline=subject.startswith("cmd."))
    if reply.get("ok") is True:
        return int(reply.get("status") or 200), reply.get("result")
    kind = NOTIFIER_CODES.get(str(reply.get("code")), "internal-error")
    errors = [e for e in reply.get("errors") or [] if isinstance(e, dict)] or None
    raise ProblemError(kind, str(reply.get("detail")) if kind != "internal-error" else None, errors=errors)


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated,
             responses={200: {"model": SubscriptionCreated, "description": "The same Idempotency-Key again."},
                        **problem_responses(400, 401, 403, 413, 422, 503)})
async def create_subscription(request: Request, body: SubscriptionRequest = Body(...),
                              who: Principal = Depends(writer),
                              idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200,
                                                                   pattern=KEY_PATTERN)
                              ) -> JSONResponse:
    """Subscribe a webhook, an e-mail address or a NATS subject to the tenant's alerts; a webhook's signing
    secret is in this answer only. 订阅提醒。"""
    raw = body.model_dump(exclude_none=True, exclude_defaults=True)
    raw.setdefault("channel", body.channel)
    raw.setdefault("target", body.target)
    status, result = await notifier(state_of(request), "cmd.notifier", {
        "op": "subscription.create", "tenant": who.tenant, "subscription": raw,
        "command_id": idempotency_key or str(uuid.uuid4())})
    return JSONResponse(result, status_code=status)


@router.get("/subscriptions", response_model=SubscriptionPage, responses=problem_responses(401, 403, 422, 503))
async def list_subscriptions(request: Request, who: Principal = Depends(reader),
                             page_size: int = Query(50, ge=1, le=500),
                             page_token: str | None = Query(None, max_length=500)) -> JSONResponse:
    """The tenant's subscriptions (never their secrets). 订阅列表。"""
    _, result = await notifier(state_of(request), "query.notifier", {
        "op": "subscription.list", "tenant": who.tenant, "page_size": page_size, "page_token": page_token})
    return JSONResponse(result)


@router.get("/subscriptions/{id}", response_model=Subscription, responses=problem_responses(401, 403, 404, 503))
async def get_subscription(request: Request, id: str = IdPath, who: Principal = Depends(reader)) -> JSONResponse:  # noqa: A002
    """One subscription. 订阅详情。"""
    _, result = await notifier(state_of(request), "query.notifier",
                               {"op": "subscription.get", "tenant": who.tenant, "id": id})
    return JSONResponse(result)


@router.delete("/subscriptions/{id}", responses={200: {"description": "Deleted."},
                                                 **problem_responses(401, 403, 404, 503)})
async def delete_subscription(request: Request, id: str = IdPath, who: Principal = Depends(writer)) -> JSONResponse:  # noqa: A002
    """Stop a subscription; pending deliveries are cancelled. 删除订阅。"""
    _, result = await notifier(state_of(request), "cmd.notifier",
                               {"op": "subscription.delete", "tenant": who.tenant, "id": id})
    return JSONResponse(result)


@router.get("/subscriptions/{id}/deliveries", response_model=DeliveryPage,
            responses=problem_responses(401, 403, 404, 422, 503))
async def deliveries(request: Request, id: str = IdPath, who: Principal = Depends(reader),  # noqa: A002
                     status: str | None = Query(None, description="pending | succeeded | failed | cancelled",
                                                max_length=20),
                     page_size: int = Query(50, ge=1, le=500),
                     page_token: str | None = Query(None, max_length=500)) -> JSONResponse:
    """The delivery log of a subscription: every attempt, its outcome and latency. 投递记录。"""
    _, result = await notifier(state_of(request), "query.notifier", {
        "op": "deliveries", "tenant": who.tenant, "subscription_id": id, "status": status,
        "page_size": page_size, "page_token": page_token})
    return JSONResponse(result)


@router.get("/deliveries/{id}", response_model=Delivery, responses=problem_responses(401, 403, 404, 503))
async def get_delivery(request: Request, id: str = IdPath, who: Principal = Depends(reader)) -> JSONResponse:  # noqa: A002
    """One delivery with its attempts. 投递详情。"""
    _, result = await notifier(state_of(request), "query.notifier",
                               {"op": "delivery.get", "tenant": who.tenant, "id": id})
    return JSONResponse(result)


@router.post("/deliveries/{id}/replay", status_code=202, response_model=Delivery,
             responses=problem_responses(401, 403, 404, 409, 413, 503))
async def replay(request: Request, id: str = IdPath, who: Principal = Depends(writer)) -> JSONResponse:  # noqa: A002
    """Send a delivery again (same webhook-id, so receivers can de-duplicate). 重新投递。"""
    status, result = await notifier(state_of(request), "cmd.notifier",
                                    {"op": "delivery.replay", "tenant": who.tenant, "id": id})
    return JSONResponse(result, status_code=status)


class AlertSettings(BaseModel):
    digest_hour: int = Field(description="The local hour (Asia/Shanghai, 0–23) daily digests go out; default 9.")
    time_zone: str = "Asia/Shanghai"
    changed_at: str | None = None


class AlertSettingsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digest_hour: int = Field(ge=0, le=23, strict=True, description="0–23, Asia/Shanghai. 每日汇总发送时间（北京时间整点）。")


@router.get("/alert-settings", response_model=AlertSettings, responses=problem_responses(401, 403, 503))
async def get_alert_settings(request: Request, who: Principal = Depends(reader)) -> JSONResponse:
    """The tenant's delivery settings: when daily digests go out. 提醒设置。"""
    _, result = await notifier(state_of(request), "query.notifier", {"op": "settings.get", "tenant": who.tenant})
    return JSONResponse(result)


@router.put("/alert-settings", response_model=AlertSettings, responses=problem_responses(400, 401, 403, 422, 503))
async def set_alert_settings(request: Request, body: AlertSettingsRequest = Body(...),
                             who: Principal = Depends(admin)) -> JSONResponse:
    """Set when the tenant's daily digests go out (a whole hour, Asia/Shanghai). 设置每日汇总时间。"""
    _, result = await notifier(state_of(request), "cmd.notifier", {
        "op": "settings.set", "tenant": who.tenant, "settings": body.model_dump()})
    return JSONResponse(result)


# --- calendar feeds -------------------------------------------------------------------------------

def _feed_urls(gw: GatewayState, token: str) -> dict[str, str]:
    """From the configured public URL (LEDGER_PUBLIC_URL), never from the request's Host header: a hostile
    Host would otherwise make us hand out a link to someone else's server."""
    url = f"{gw.public_url}/v1/feeds/{token}.ics"
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


async def _tenant_companies(gw: GatewayState, tenant: str, companies: list[str]) -> list[str]:
    """The companies, each checked to be the tenant's: 422 naming every one that is not (another tenant's
    company and one nobody recorded get the same answer, so nothing leaks)."""
    errors: list[dict[str, str]] = []
    checked: dict[str, int] = {}  # USCC -> its place in the request
    for i, value in enumerate(companies):
        try:
            uscc = validate_uscc(value)
        except FormatError as exc:
            errors.append({"field": f"body.companies.{i}", "code": exc.code, "reason_en": exc.reason_en,
                           "reason_zh": exc.reason_zh})
            continue
        checked.setdefault(uscc, i)
    semaphore = asyncio.Semaphore(16)

    async def known(uscc: str) -> bool:
        async with semaphore:
            reply = await gw.bus.request(PROJECTOR, {"op": "company", "tenant": tenant, "company": uscc},
                                         gw.bus.query_timeout)
        if reply.get("ok") is True:
            return True
        if reply.get("status") == 404:
            return False
        raise from_service(reply)

    found = await asyncio.gather(*(known(c) for c in checked)) if not errors else []
    for (uscc, i), ok in zip(checked.items(), found, strict=False):
        if not ok:
            errors.append({"field": f"body.companies.{i}", "code": "unknown_company",
                           "reason_en": f"{uscc} is not a company of this tenant",
                           "reason_zh": f"{uscc} 不是该租户的企业"})
    if errors:
        raise ProblemError("invalid-request", "; ".join(e["reason_en"] for e in errors), errors=errors)
    return list(checked)


@router.post("/feeds", status_code=201, response_model=FeedTokenCreated,
             responses=problem_responses(400, 401, 403, 413, 422, 503))
async def create_feed(request: Request, body: FeedTokenRequest = Body(default_factory=FeedTokenRequest),
                      who: Principal = Depends(admin)) -> JSONResponse:
    """A new calendar-feed URL for the tenant's obligations — all companies, or those in ``companies``
    (read-only, revocable). 创建日历订阅地址。"""
    gw = state_of(request)
    companies = await _tenant_companies(gw, who.tenant, body.companies) if body.companies is not None else None
    row, token = await run_in_threadpool(feeds.create_feed_token, gw.engine, who.tenant, body.label, companies)
    return JSONResponse({**row, "token": token, **_feed_urls(gw, token)}, status_code=201)


@router.get("/feeds", response_model=list[FeedTokenView], responses=problem_responses(401, 403))
async def list_feeds(request: Request, who: Principal = Depends(admin)) -> JSONResponse:
    """The tenant's feed tokens (ids and state — never the tokens). 日历订阅列表。"""
    return JSONResponse(await run_in_threadpool(feeds.list_feed_tokens, state_of(request).engine, who.tenant))


@router.delete("/feeds/{id}", response_model=FeedTokenView, responses=problem_responses(401, 403, 404))
async def revoke_feed(request: Request, id: str = IdPath, who: Principal = Depends(admin)) -> JSONResponse:  # noqa: A002
    """Revoke a feed token: its URL stops working at once. 吊销日历订阅地址。"""
    row = await run_in_threadpool(feeds.revoke_feed_token, state_of(request).engine, who.tenant, id)
    if row is None:
        raise ProblemError("not-found", "no such feed token for this tenant 未找到该日历订阅")
    return JSONResponse(row)


async def _tenant_obligations(gw: GatewayState, tenant: str, only: list[str] | None = None) -> list[dict[str, Any]]:
    """The feed's obligations, from the tenant's work queue (the ``due`` op behind ``GET /v1/obligations``),
    a page at a time, at most ``FEED_ITEMS``."""
    items: list[dict[str, Any]] = []
    token = None
    while len(items) < FEED_ITEMS:
        page = (await gw.bus.query(PROJECTOR, {"op": "due", "tenant": tenant, "companies": only, "page_size": 500,
                                               "page_token": token}))["result"]
        items += page["items"]
        token = page.get("next_page_token")
        if not token:
            break
    return items[:FEED_ITEMS]


@router.get("/feeds/{token}.ics", name="calendar_feed", tags=["alerts"], response_class=Response,
            responses={200: {"description": "An iCalendar (RFC 5545) feed: one all-day VEVENT per obligation.",
                             "content": {"text/calendar": {"schema": {"type": "string"}}}},
                       **problem_responses(404, 503)})
async def calendar_feed(request: Request, token: str = Path(..., max_length=100)) -> Response:
    """The tenant's obligations as a calendar (no header needed: the token is the credential). 日历订阅。"""
    gw = state_of(request)
    owner = await run_in_threadpool(feeds.resolve, gw.engine, token)
    if owner is None:
        raise ProblemError("not-found", "no such feed (unknown or revoked token) 日历订阅不存在或已吊销")
    obligations = await _tenant_obligations(gw, owner.tenant, owner.companies)
    body = render_feed(obligations, tenant_name=owner.tenant_name, now=gw.clock.now())
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=3600"})

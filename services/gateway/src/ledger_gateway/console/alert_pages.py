"""Console pages for alerts (提醒订阅): subscriptions, their deliveries and replay, calendar feeds.

The notifier does the work, through the same ``cmd.notifier`` / ``query.notifier`` requests as
``/v1/subscriptions``; a write needs a key with the write scope (a calendar feed: admin), as on the API.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger_gateway import feeds
from ledger_gateway.alerts_api import _feed_urls, notifier
from ledger_gateway.console.pages import forbidden, page, posted_form, user_of
from ledger_gateway.console.sessions import ConsoleUser
from ledger_gateway.context import state_of
from ledger_gateway.problems import ProblemError

router = APIRouter(include_in_schema=False)
ALERT_TYPES = ("obligation.due_soon", "obligation.due_today", "obligation.overdue", "company.backlog",
               "finding.opened", "finding.resolved", "credit.below_threshold")
SEVERITIES = ("info", "low", "medium", "high", "critical")


async def _subscriptions(request: Request, user: ConsoleUser) -> list[dict[str, Any]]:
    _, result = await notifier(state_of(request), "query.notifier",
                               {"op": "subscription.list", "tenant": user.tenant, "page_size": 500})
    return list(result.get("items") or [])


async def _show(request: Request, user: ConsoleUser, status: int = 200, **extra: Any) -> HTMLResponse:
    gw = state_of(request)
    listed = await run_in_threadpool(feeds.list_feed_tokens, gw.engine, user.tenant) if user.may("admin") else None
    return page(request, "subscriptions.html", {
        "user": user, "subscriptions": await _subscriptions(request, user), "feeds": listed,
        "types": ALERT_TYPES, "severities": SEVERITIES, "created": None, "feed": None, "errors": None,
        "form": {}, **extra}, status)


@router.get("/app/subscriptions")
async def subscriptions(request: Request) -> HTMLResponse:
    return await _show(request, await user_of(request))


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").replace("，", "\n").splitlines() if part.strip()]


@router.post("/app/subscriptions")
async def create_subscription(request: Request) -> Response:
    user, form = await posted_form(request)
    if not user.may("write"):
        return forbidden(request, "该密钥没有写入权限。", "This key has no write scope.")
    channel = str(form.get("channel") or "")
    targets = _lines(str(form.get("target") or ""))
    companies = _lines(str(form.get("companies") or "")) or ["*"]
    spec: dict[str, Any] = {
        "channel": channel, "target": targets if channel == "email" and len(targets) > 1 else (targets or [""])[0],
        "companies": "*" if companies == ["*"] else companies, "delivery": str(form.get("delivery") or "immediate"),
    }
    types = [t for t in form.getlist("types") if t]
    if types:
        spec["types"] = types
    if form.get("min_severity"):
        spec["min_severity"] = str(form.get("min_severity"))
    if form.get("catch_up"):
        spec["catch_up"] = True
    try:
        _, created = await notifier(state_of(request), "cmd.notifier", {
            "op": "subscription.create", "tenant": user.tenant, "subscription": spec,
            "command_id": str(uuid.uuid4())})
    except ProblemError as exc:
        if exc.kind not in ("invalid-subscription", "invalid-request"):
            raise
        errors = exc.extra.get("errors") or [{"field": "", "reason_zh": exc.detail or "", "reason_en": exc.detail or ""}]
        return await _show(request, user, 422, errors=errors, form=dict(form))
    return await _show(request, user, 201, created=created)


@router.post("/app/feeds")
async def create_feed(request: Request) -> Response:
    user, form = await posted_form(request)
    if not user.may("admin"):
        return forbidden(request, "创建日历订阅需要管理员密钥。", "A calendar feed needs an admin key.")
    gw = state_of(request)
    label = str(form.get("label") or "")[:200]
    row, token = await run_in_threadpool(feeds.create_feed_token, gw.engine, user.tenant, label, None)
    return await _show(request, user, 201, feed={**row, **_feed_urls(gw, token)})


@router.get("/app/subscriptions/{sub_id}")
async def subscription(request: Request, sub_id: str) -> HTMLResponse:
    user = await user_of(request)
    gw = state_of(request)
    try:
        _, sub = await notifier(gw, "query.notifier", {"op": "subscription.get", "tenant": user.tenant, "id": sub_id})
        _, log = await notifier(gw, "query.notifier", {"op": "deliveries", "tenant": user.tenant,
                                                       "subscription_id": sub_id, "page_size": 200})
    except ProblemError as exc:
        if exc.kind != "not-found":
            raise
        return page(request, "error.html", {"status": 404, "user": user, "zh": "未找到该订阅。",
                                            "en": "No such subscription for this tenant."}, 404)
    return page(request, "subscription.html", {"user": user, "sub": sub, "deliveries": log.get("items") or [],
                                               "replayed": request.query_params.get("replayed")})


@router.post("/app/deliveries/{delivery_id}/replay")
async def replay(request: Request, delivery_id: str) -> Response:
    user, _ = await posted_form(request)
    if not user.may("write"):
        return forbidden(request, "该密钥没有写入权限。", "This key has no write scope.")
    gw = state_of(request)
    try:
        _, done = await notifier(gw, "cmd.notifier", {"op": "delivery.replay", "tenant": user.tenant, "id": delivery_id})
    except ProblemError as exc:
        if exc.kind == "not-found":
            return page(request, "error.html", {"status": 404, "user": user, "zh": "未找到该投递。",
                                                "en": "No such delivery for this tenant."}, 404)
        if exc.kind == "subscription-inactive":
            return page(request, "error.html", {"status": 409, "user": user, "zh": "订阅已停用，无法重新投递。",
                                                "en": "The subscription is disabled: nothing to replay to."}, 409)
        raise
    return RedirectResponse(f"/app/subscriptions/{done['subscription_id']}?replayed={delivery_id}", status_code=303)

"""The notifier's request/reply operations (``cmd.notifier`` and ``query.notifier``).

A request is a JSON object ``{"op", "tenant", …}``; the reply is ``{"ok": true, "status",
"result"}`` or a problem ``{"ok": false, "status", "code", "title", "detail", "errors"}``
whose status the gateway uses as its HTTP status. Garbage gets a 400, never silence.
Everything is tenant-scoped: another tenant's subscription or delivery is 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from ledger_kernel.clock import Clock
from ledger_kernel.subjects import TOKEN

from ledger_notifier.config import NotifierConfig
from ledger_notifier.records import IdempotencyMismatch, Inactive, NotFound, Records
from ledger_notifier.sealed_secrets import SealedSecretError
from ledger_notifier.subscriptions import check_webhook_target, field_error, parse_spec

log = logging.getLogger(__name__)

COMMANDS = ("subscription.create", "subscription.delete", "delivery.replay", "settings.set")
QUERIES = ("subscription.get", "subscription.list", "deliveries", "delivery.get", "status", "settings.get")
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled", "held", "digested")
SETTINGS_FIELDS = {"digest_hour"}


def problem(status: int, code: str, title: str, detail: str, errors: list | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "status": status, "code": code, "title": title, "detail": detail}
    if errors:
        out["errors"] = errors
    return out


def ok(result: Any, status: int = 200) -> dict[str, Any]:
    return {"ok": True, "status": status, "result": result}


def not_found(what: str) -> dict[str, Any]:
    return problem(404, "not_found", "Not found 未找到", f"no such {what} for this tenant 该租户下不存在此{what}")


class Operations:
    def __init__(self, records: Records, config: NotifierConfig, clock: Clock,
                 on_change: Callable[[], None] | None = None) -> None:
        self.records = records
        self.config = config
        self.clock = clock
        self.on_change = on_change or (lambda: None)

    async def handle_raw(self, raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
        try:
            request = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            return problem(400, "malformed_request", "Malformed request 请求格式错误", "the request is not JSON")
        return await self.handle(request, allowed)

    async def handle(self, request: Any, allowed: tuple[str, ...] = COMMANDS + QUERIES) -> dict[str, Any]:
        if not isinstance(request, dict):
            return problem(400, "malformed_request", "Malformed request 请求格式错误", "the request must be a JSON object")
        op = request.get("op")
        if op not in allowed:
            return problem(400, "unknown_op", "Unknown operation 未知操作",
                           f"op must be one of {', '.join(allowed)}")
        tenant = request.get("tenant")
        if not isinstance(tenant, str) or not TOKEN.match(tenant):
            return problem(400, "malformed_request", "Malformed request 请求格式错误",
                           "tenant is required and must match [A-Za-z0-9_-]+")
        try:
            return await getattr(self, "op_" + op.replace(".", "_"))(tenant, request)
        except NotFound:
            return not_found("subscription" if op.startswith("subscription") or op == "deliveries" else "delivery")
        except ValueError as exc:  # a bad page token or page size
            return problem(400, "malformed_request", "Malformed request 请求格式错误", str(exc))
        except Exception:
            log.exception("notifier op %s failed", op, extra={"tenant": tenant})
            return problem(503, "unavailable", "Unavailable 暂不可用", "the notifier could not complete the request")

    @staticmethod
    def _id(request: dict[str, Any], key: str = "id") -> str:
        value = request.get(key)
        if not isinstance(value, str) or not value or len(value) > 100:
            raise NotFound(value)
        return value

    @staticmethod
    def _page(request: dict[str, Any]) -> tuple[int, str | None]:
        size = request.get("page_size", 50)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 500:
            raise ValueError("page_size must be an integer from 1 to 500")
        token = request.get("page_token")
        if token is not None and not isinstance(token, str):
            raise ValueError("page_token must be a string")
        return size, token

    # --- commands ---------------------------------------------------------------------------

    async def op_subscription_create(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        spec, errors = parse_spec(request.get("subscription"))
        command_id = request.get("command_id")
        if command_id is not None and (not isinstance(command_id, str) or not 0 < len(command_id) <= 200):
            errors.append(field_error("command_id", "invalid_command_id", "command_id must be a string of 1–200 "
                                      "characters", "command_id 必须是 1–200 个字符的字符串"))
        if spec is not None and spec.channel == "webhook" and not errors:
            errors = await check_webhook_target(spec.target, allow_loopback=self.config.allow_loopback,
                                                allow_networks=self.config.allow_networks)
        if errors or spec is None:  # parse_spec gives a spec or its errors
            return problem(422, "invalid_subscription", "Invalid subscription 订阅无效",
                           "; ".join(e["reason_en"] for e in errors), errors)
        try:
            created = await asyncio.to_thread(self.records.create_subscription, tenant, spec, self.clock.now(),
                                              command_id)
        except IdempotencyMismatch:
            return problem(422, "idempotency_key_reused", "Idempotency key reused 幂等键已被使用",
                           "the command id was used before for a different subscription")
        except SealedSecretError as exc:  # a replay whose stored secret does not open with the keys configured
            log.error("subscription replay for %s: cannot open the signing secret (%s)", tenant, exc)
            return problem(503, "unavailable", "Unavailable 暂不可用",
                           "the subscription's signing secret cannot be opened with the keys configured "
                           "订阅的签名密钥无法用当前配置的密钥解密")
        result = dict(created.view)
        if created.secret is not None:
            result["secret"] = created.secret  # shown to the creator only; never logged, never listed
        return ok(result, 200 if created.replayed else 201)

    async def op_subscription_delete(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        result = await asyncio.to_thread(self.records.delete_subscription, tenant, self._id(request),
                                         self.clock.now())
        return ok(result)

    async def op_delivery_replay(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await asyncio.to_thread(self.records.replay, tenant, self._id(request), self.clock.now())
        except Inactive as exc:
            return problem(409, "subscription_inactive", "Subscription inactive 订阅已停用",
                           f"the delivery's subscription is {exc}; it cannot be replayed")
        self.on_change()
        return ok(result, 202)

    async def op_settings_set(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        """The tenant's delivery settings: ``digest_hour`` (0–23, Asia/Shanghai) for daily digests."""
        body = request.get("settings")
        errors: list[dict[str, str]] = []
        if not isinstance(body, dict):
            errors.append(field_error("", "not_an_object", "the settings must be a JSON object", "设置必须是 JSON 对象"))
        else:
            for extra in sorted(set(body) - SETTINGS_FIELDS):
                errors.append(field_error(extra, "unknown_field", f"unknown field {extra!r}", f"未知字段 {extra!r}"))
            hour = body.get("digest_hour")
            if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
                errors.append(field_error("digest_hour", "invalid_hour",
                                          "digest_hour must be a whole hour from 0 to 23 (Asia/Shanghai)",
                                          "digest_hour 必须是 0–23 的整点（北京时间）"))
        if errors or not isinstance(body, dict):  # not an object is one of the errors
            return problem(422, "invalid_settings", "Invalid settings 设置无效",
                           "; ".join(e["reason_en"] for e in errors), errors)
        result = await asyncio.to_thread(self.records.set_tenant_settings, tenant, body["digest_hour"],
                                         self.clock.now())
        self.on_change()
        return ok(result)

    # --- queries ----------------------------------------------------------------------------

    async def op_settings_get(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        return ok(await asyncio.to_thread(self.records.tenant_settings, tenant))

    async def op_subscription_get(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        return ok(await asyncio.to_thread(self.records.get_subscription, tenant, self._id(request)))

    async def op_subscription_list(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        size, token = self._page(request)
        return ok(await asyncio.to_thread(self.records.list_subscriptions, tenant, size, token))

    async def op_deliveries(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        size, token = self._page(request)
        status = request.get("status")
        if status is not None and status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        return ok(await asyncio.to_thread(self.records.list_deliveries, tenant,
                                          self._id(request, "subscription_id"), size, token, status))

    async def op_delivery_get(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        return ok(await asyncio.to_thread(self.records.get_delivery, tenant, self._id(request)))

    async def op_status(self, tenant: str, request: dict[str, Any]) -> dict[str, Any]:
        return ok({"deliveries": await asyncio.to_thread(self.records.counts, tenant)})

"""The gateway's handle on the notifier: one coroutine per operation, over NATS request/reply.

Each returns the reply dict unchanged (``{"ok": true, "status", "result"}`` or a problem
with ``status`` — use it as the HTTP status). Nothing here knows HTTP.
"""

from __future__ import annotations

import json
from typing import Any

from nats.aio.client import Client

COMMAND = "cmd.notifier"
QUERY = "query.notifier"


class NotifierClient:
    def __init__(self, nc: Client, *, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout

    async def _request(self, subject: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict:
        body = {k: v for k, v in body.items() if v is not None}
        reply = await self.nc.request(subject, json.dumps(body, ensure_ascii=False).encode(), timeout=self.timeout,
                                      headers=headers)
        return json.loads(reply.data)

    async def create_subscription(self, tenant: str, subscription: dict[str, Any], *,
                                  command_id: str | None = None, headers: dict[str, str] | None = None) -> dict:
        """``POST /v1/subscriptions`` — 201 with ``result.id`` and, for a webhook, ``result.secret`` (once)."""
        return await self._request(COMMAND, {"op": "subscription.create", "tenant": tenant,
                                             "subscription": subscription, "command_id": command_id}, headers)

    async def get_subscription(self, tenant: str, subscription_id: str) -> dict:
        """``GET /v1/subscriptions/{id}``."""
        return await self._request(QUERY, {"op": "subscription.get", "tenant": tenant, "id": subscription_id})

    async def list_subscriptions(self, tenant: str, *, page_size: int = 50, page_token: str | None = None) -> dict:
        return await self._request(QUERY, {"op": "subscription.list", "tenant": tenant, "page_size": page_size,
                                           "page_token": page_token})

    async def delete_subscription(self, tenant: str, subscription_id: str) -> dict:
        """``DELETE /v1/subscriptions/{id}`` — 200 ``{"id", "deleted": true}`` (answer 204 over HTTP if you like)."""
        return await self._request(COMMAND, {"op": "subscription.delete", "tenant": tenant, "id": subscription_id})

    async def list_deliveries(self, tenant: str, subscription_id: str, *, page_size: int = 50,
                              page_token: str | None = None, status: str | None = None) -> dict:
        """``GET /v1/subscriptions/{id}/deliveries`` — each with its attempt log."""
        return await self._request(QUERY, {"op": "deliveries", "tenant": tenant, "subscription_id": subscription_id,
                                           "page_size": page_size, "page_token": page_token, "status": status})

    async def get_delivery(self, tenant: str, delivery_id: str) -> dict:
        return await self._request(QUERY, {"op": "delivery.get", "tenant": tenant, "id": delivery_id})

    async def replay_delivery(self, tenant: str, delivery_id: str) -> dict:
        """``POST /v1/deliveries/{id}/replay`` — 202 with the delivery, due now."""
        return await self._request(COMMAND, {"op": "delivery.replay", "tenant": tenant, "id": delivery_id})

    async def get_settings(self, tenant: str) -> dict:
        """``GET /v1/alert-settings`` — ``{"digest_hour", "time_zone", "changed_at"}``."""
        return await self._request(QUERY, {"op": "settings.get", "tenant": tenant})

    async def set_settings(self, tenant: str, settings: dict[str, Any]) -> dict:
        """``PUT /v1/alert-settings`` — ``{"digest_hour": 0-23}``: when daily digests go out (Asia/Shanghai)."""
        return await self._request(COMMAND, {"op": "settings.set", "tenant": tenant, "settings": settings})

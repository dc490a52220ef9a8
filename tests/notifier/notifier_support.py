"""Helpers for the notifier tests: a real webhook receiver verifying with ``standardwebhooks``,
alerts shaped like the projector's, and polling. Fixtures live in conftest.py."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from ledger_kernel.canonical import canonical_json
from ledger_kernel.envelope import CONTENT_TYPE
from ledger_kernel.runtime import Mounted
from ledger_kernel.subjects import alert_subject
from ledger_notifier.client import NotifierClient
from ledger_notifier.config import NotifierConfig
from ledger_notifier.service import build
from standardwebhooks import Webhook, WebhookVerificationError

COMPANY = "91310115MA1K4B8N68"
OTHER_COMPANY = "91110108MA01ABCD2H"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any
    at: float
    status: int = 0


@dataclass
class Receiver:
    """An HTTP endpoint per path; each answers from its script (then 200) and verifies every request."""

    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, *responses: int | tuple[int, dict[str, str]]) -> None:
        for r in responses:
            self.scripts[path].append(r if isinstance(r, tuple) else (r, {}))

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        secret = self.secrets.get(path)
        verified, payload = False, None
        if secret:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        delay = self.delays.get(path)
        if delay:
            time.sleep(delay)
        with self.lock:
            script = self.scripts.get(path)
            answer = script.pop(0) if script else (200, {})
            self.received.append(Received(path, headers, body, verified, payload, time.monotonic(), answer[0]))
            return answer


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (the crash test): nothing arrived
                self.close_connection = True
                return
            status, extra = receiver.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:  # noqa: ANN001
            pass  # a sender killed mid-request resets the connection: expected in the crash test

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False  # keep-alive connections from the notifier must not hold up teardown
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


@pytest.fixture
def receiver():  # noqa: ANN201
    """A local webhook receiver (the notifier tests' and the projector's alert tests')."""
    r, server = start_receiver()
    yield r
    server.shutdown()
    server.server_close()


def make_alert(tenant: str, kind: str = "obligation.due_soon", *, company: str = COMPANY, step: str = "d14",
               obligation_id: str | None = None, severity: str | None = None, **extra: Any) -> dict[str, Any]:
    """An alert shaped like the projector's: deterministic id from the obligation and reminder step."""
    obligation_id = obligation_id or f"ob-{secrets.token_hex(4)}"
    data: dict[str, Any] = {
        "tenant": tenant, "company": company, "company_name": "上海某客服外包有限公司",
        "rule": {"id": "renewal", "source": "电信业务经营许可管理办法 (Order 42) Art. 27", "confidence": "statutory"},
        "message_zh": "许可证 B2-20220315 须在 2026-12-14 前提交续期申请。",
        "message_en": "Licence B2-20220315: apply for renewal by 2026-12-14.",
    }
    if kind.startswith("obligation."):
        data["obligation"] = {"id": obligation_id, "rule": "renewal", "title": {"zh": "许可证续期申请",
                              "en": "Licence renewal application"}, "about": "B2-20220315", "due": "2026-12-14",
                              "status": "due_soon"}
    elif kind.startswith("finding."):
        data["finding"] = {"id": obligation_id, "rule": "number-without-licence", "severity": severity or "high",
                           "message": {"zh": "号码无许可证", "en": "Number without a licence"}}
    if severity:
        data["severity"] = severity
    data.update(extra)
    alert_id = f"{tenant}.{obligation_id}.{step}"
    return {"specversion": "1.0", "id": alert_id, "source": "urn:ledger:projector", "type": kind,
            "subject": obligation_id, "time": "2026-11-23T01:00:00.000000Z", "datacontenttype": "application/json",
            "tenant": tenant, "company": company, "data": data}


async def publish_alert(nc, alert: dict[str, Any]) -> None:  # noqa: ANN001
    js = nc.jetstream()
    kind = alert["type"].replace(".", "_")
    await js.publish(alert_subject(alert["tenant"], alert["company"], kind), canonical_json(alert),
                     headers={"Nats-Msg-Id": alert["id"], "Content-Type": CONTENT_TYPE})


def config_for(tenant: str, **overrides: Any) -> NotifierConfig:
    base = dict(allow_loopback=True, webhook_timeout=3.0, concurrency=8, consumer=f"notifier-{tenant}",
                subject_filter=f"alerts.{tenant}.>", poll_seconds=0.05, lease_margin=1.0)
    base.update(overrides)
    return NotifierConfig(**base)


async def eventually(check, within: float = 30.0, interval: float = 0.05):  # noqa: ANN001, ANN201
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value {last!r})")


def webhook_sub(url: str, **extra: Any) -> dict[str, Any]:
    return {"channel": "webhook", "target": url, "companies": "*", **extra}


async def subscribe(notifier, tenant: str, receiver: Receiver, path: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN001
    reply = await notifier.client.create_subscription(tenant, webhook_sub(receiver.url(path), **extra))
    assert reply["ok"], reply
    receiver.secrets[path] = reply["result"]["secret"]
    return reply["result"]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@asynccontextmanager
async def running_notifier(settings, clock, tenant: str, **overrides: Any):  # noqa: ANN001, ANN201
    """A notifier mounted in this process; ``.client`` talks to it over NATS like the gateway does."""
    service = build(config_for(tenant, **overrides))
    async with Mounted([service], settings, clock=clock, name=f"notifier-test-{tenant}") as mounted:
        service.client = NotifierClient(mounted.broker.connection)
        service.settings = settings
        yield service


async def deliveries(notifier, tenant: str, subscription_id: str) -> list[dict[str, Any]]:  # noqa: ANN001
    reply = await notifier.client.list_deliveries(tenant, subscription_id, page_size=500)
    assert reply["ok"], reply
    return reply["result"]["items"]

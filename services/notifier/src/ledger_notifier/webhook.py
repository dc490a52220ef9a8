"""Webhook delivery to the Standard Webhooks spec: signing and one HTTP attempt.

``webhook-id`` is the alert id on every attempt (receivers de-duplicate on it);
``webhook-timestamp`` is the wall-clock send time, because receivers check it against
their own clock (±5 min) — the retry *schedule* runs on the injectable clock instead.
The request goes to an address checked just before (see :mod:`ledger_notifier.targets`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from ledger_kernel.telemetry import inject_headers

from ledger_notifier.schedule import retry_after
from ledger_notifier.targets import IPNetwork, TargetRefused, checked_addresses, parse_target

SECRET_PREFIX = "whsec_"
USER_AGENT = "compliance-ledger-notifier/0.1"
THROTTLED = {429, 502, 503, 504}


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the secret's decoded bytes."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def signed_headers(secret: str, msg_id: str, wall_now: datetime, body: bytes) -> dict[str, str]:
    timestamp = int(wall_now.timestamp())
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body)}


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``retry``: try again later; ``disable``: the endpoint said 410 Gone."""

    succeeded: bool
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    retry: bool = True
    disable: bool = False
    asked_wait: timedelta | None = None


def _pinned_url(scheme: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, path: str) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{scheme}://{host}:{port}{path}"


async def post(client: httpx.AsyncClient, url: str, secret: str, msg_id: str, payload: dict, *,
               now: datetime, wall_now: datetime, allow_loopback: bool, request_timeout: float,
               allow_networks: tuple[IPNetwork, ...] = ()) -> Outcome:
    """One signed POST. Never raises for network trouble: the outcome says what happened."""
    body = body_bytes(payload)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = parse_target(url)
        addresses = await checked_addresses(target, allow_loopback=allow_loopback,  # again: DNS rebinding
                                            allow_networks=allow_networks)
    except TargetRefused as exc:
        return Outcome(False, error=f"{exc.code}: {exc.reason_en}", retry=exc.code == "target_unresolvable",
                       latency_ms=elapsed())
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and target.port == default_port:
        host_header = f"[{target.host}]"
    elif ":" in target.host:
        host_header = f"[{target.host}]:{target.port}"
    headers = inject_headers({"content-type": "application/json", "user-agent": USER_AGENT, "host": host_header,
                              **signed_headers(secret, msg_id, wall_now, body)})  # + traceparent: the delivery
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        response = await client.post(_pinned_url(target.scheme, addresses[0], target.port, target.path),
                                     content=body, headers=headers, extensions=extensions, timeout=request_timeout)
    except httpx.TimeoutException:
        return Outcome(False, error=f"timeout after {request_timeout:g}s", latency_ms=elapsed())
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500], latency_ms=elapsed())
    code = response.status_code
    latency = elapsed()
    if 200 <= code < 300:
        return Outcome(True, status_code=code, latency_ms=latency, retry=False)
    if code == 410:
        return Outcome(False, status_code=code, latency_ms=latency, error="410 Gone: endpoint disabled",
                       retry=False, disable=True)
    asked = retry_after(response.headers.get("retry-after"), now) if code in THROTTLED or \
        "retry-after" in response.headers else None
    return Outcome(False, status_code=code, latency_ms=latency, error=f"HTTP {code}", asked_wait=asked)

"""The gateway's own settings from the environment (the kernel's Settings cover NATS, HTTP and the database).

``LEDGER_IDEMPOTENCY_TTL_HOURS``  how long an Idempotency-Key is remembered from its first use (24, like
                                  Stripe); whole hours, 1-8760. After it the key is forgotten and a request
                                  with it is a new request. Published in the OpenAPI document and
                                  docs/http-api.md.
``LEDGER_PUBLIC_URL``             the gateway's address as users reach it (``https://ledger.example.com``, or
                                  with a path prefix behind a proxy): links the gateway hands out, such as a
                                  calendar feed's URL, are built from it — never from a request's Host
                                  header. Default ``http://<LEDGER_HTTP_HOST>:<LEDGER_HTTP_PORT>``
                                  (``localhost`` when listening on every address).
``LEDGER_MAX_BODY_BYTES``         the largest request body (1 MiB): one fact, a subscription, anything
                                  but a batch. Larger is 413 before the body is parsed or the key checked.
``LEDGER_MAX_BATCH_BODY_BYTES``   the largest ``POST /v1/facts:batch`` body (16 MiB).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL, SettingsError, idempotency_ttl

from ledger_gateway.bounds import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES

PURGE_INTERVAL_SECONDS = 300.0  # how often expired records are swept (each sweep deletes in bounded batches)
BODY_LIMIT_RANGE = (1024, 1 << 30)  # a limit below 1 KiB refuses real facts; above 1 GiB bounds nothing


def body_limit(env: Mapping[str, str], name: str, default: int) -> int:
    """A byte count from the environment (digits only), within ``BODY_LIMIT_RANGE``."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    low, high = BODY_LIMIT_RANGE
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise SettingsError(f"{name} must be a number of bytes from {low} to {high}, got {raw!r} "
                            f"{name} 必须是 {low} 到 {high} 之间的字节数")
    return int(raw)


def public_url(value: str | None) -> str | None:
    """``LEDGER_PUBLIC_URL`` checked: an absolute http(s) URL without credentials, query or fragment."""
    if not value:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError as exc:
        raise SettingsError(f"LEDGER_PUBLIC_URL is not a URL ({exc})") from exc
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None
            or parts.password is not None or parts.query or parts.fragment
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)):
        raise SettingsError(f"LEDGER_PUBLIC_URL must be an absolute http(s) URL without credentials, query or "
                            f"fragment, e.g. https://ledger.example.com; got {value[:100]!r}")
    return value.rstrip("/")


def default_public_url(host: str, port: int) -> str:
    """Where a user on this machine reaches the gateway when no public URL is configured."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class GatewayConfig:
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL
    purge_interval: float = PURGE_INTERVAL_SECONDS
    public_url: str | None = None  # None: default_public_url of the listening address
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch_body_bytes: int = MAX_BATCH_BODY_BYTES

    def __post_init__(self) -> None:
        if self.idempotency_ttl <= timedelta(0):
            raise SettingsError("the idempotency retention window must be positive")
        if self.purge_interval <= 0:
            raise SettingsError("the purge interval must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        return cls(idempotency_ttl=idempotency_ttl(env.get("LEDGER_IDEMPOTENCY_TTL_HOURS")),
                   public_url=public_url(env.get("LEDGER_PUBLIC_URL")),
                   max_body_bytes=body_limit(env, "LEDGER_MAX_BODY_BYTES", MAX_BODY_BYTES),
                   max_batch_body_bytes=body_limit(env, "LEDGER_MAX_BATCH_BODY_BYTES", MAX_BATCH_BODY_BYTES))


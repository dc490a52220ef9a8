"""The gateway's own settings: :class:`GatewaySettings` extends the kernel's (NATS, HTTP, the database).

The variables, their constraints and defaults are the fields below; docs/operations.md lists them
(generated). ``LEDGER_PUBLIC_URL`` is the gateway's address as users reach it: links the gateway hands
out, such as a calendar feed's URL, are built from it — never from a request's Host header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from ledger_kernel.settings import (
    DEFAULT_IDEMPOTENCY_TTL,
    Expect,
    IdempotencyHours,
    Settings,
    SettingsError,
    Whole,
    idempotency_ttl,
)
from pydantic import AfterValidator, Field

from ledger_gateway.bounds import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES

PURGE_INTERVAL_SECONDS = 300.0  # how often expired records are swept (each sweep deletes in bounded batches)
BODY_LIMIT_RANGE = (1024, 1 << 30)  # a limit below 1 KiB refuses real facts; above 1 GiB bounds nothing


BodyLimit = Annotated[int, Whole, Field(ge=BODY_LIMIT_RANGE[0], le=BODY_LIMIT_RANGE[1]),
                      Expect(f"a number of bytes, {BODY_LIMIT_RANGE[0]}-{BODY_LIMIT_RANGE[1]}")]


def checked_public_url(value: str | None) -> str | None:
    """``LEDGER_PUBLIC_URL`` checked: an absolute http(s) URL without credentials, query or fragment."""
    if not value:
        return None
    value = value.strip()
    parts = urlsplit(value)
    parts.port  # noqa: B018  (a bad port raises ValueError here)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None
            or parts.password is not None or parts.query or parts.fragment
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)):
        raise ValueError("not an absolute http(s) URL without credentials, query or fragment")
    return value.rstrip("/")


class GatewaySettings(Settings):
    process: ClassVar[str] = "gateway"

    idempotency_ttl_hours: IdempotencyHours = Field(
        24, description="how long an Idempotency-Key is remembered from its first use (like Stripe); after it "
                        "the key is forgotten and a request with it is a new request. Shared with the notifier "
                        "(subscriptions), so every key of the API expires alike")
    public_url: Annotated[str | None, AfterValidator(checked_public_url),
                          Expect("an absolute http(s) URL, no credentials, query or fragment")] = Field(
        None, description="the gateway's address as users reach it (e.g. https://ledger.example.com, or with a "
                          "path prefix behind a proxy); links handed out start with it. Default "
                          "http://<LEDGER_HTTP_HOST>:<LEDGER_HTTP_PORT> (localhost when listening on every address)")
    max_body_bytes: BodyLimit = Field(
        MAX_BODY_BYTES, description="the largest request body (a fact, a subscription, anything but a batch); "
                                    "larger is 413 before the body is parsed or the key checked")
    max_batch_body_bytes: BodyLimit = Field(MAX_BATCH_BODY_BYTES,
                                            description="the largest POST /v1/facts:batch body")


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
        return cls.of(GatewaySettings.from_env(env))

    @classmethod
    def of(cls, settings: GatewaySettings) -> GatewayConfig:
        return cls(idempotency_ttl=idempotency_ttl(settings.idempotency_ttl_hours), public_url=settings.public_url,
                   max_body_bytes=settings.max_body_bytes, max_batch_body_bytes=settings.max_batch_body_bytes)


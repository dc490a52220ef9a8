"""The gateway's own settings from the environment (the kernel's Settings cover NATS, HTTP and the database).

``LEDGER_IDEMPOTENCY_TTL_HOURS``  how long an Idempotency-Key is remembered from its first use (24, like
                                  Stripe); whole hours, 1-8760. After it the key is forgotten and a request
                                  with it is a new request. Published in the OpenAPI document and
                                  docs/http-api.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ledger_kernel.settings import SettingsError

DEFAULT_IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_TTL_HOURS = 8760  # a year: longer is a table that never shrinks, which is what this bounds
PURGE_INTERVAL_SECONDS = 300.0  # how often expired records are swept (each sweep deletes in bounded batches)


@dataclass(frozen=True)
class GatewayConfig:
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL
    purge_interval: float = PURGE_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if self.idempotency_ttl <= timedelta(0):
            raise SettingsError("the idempotency retention window must be positive")
        if self.purge_interval <= 0:
            raise SettingsError("the purge interval must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        return cls(idempotency_ttl=_ttl(env.get("LEDGER_IDEMPOTENCY_TTL_HOURS")))


def _ttl(raw: str | None) -> timedelta:
    if raw is None or not raw.strip():
        return DEFAULT_IDEMPOTENCY_TTL
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_IDEMPOTENCY_TTL_HOURS:
        raise SettingsError(f"LEDGER_IDEMPOTENCY_TTL_HOURS must be whole hours from 1 to "
                            f"{MAX_IDEMPOTENCY_TTL_HOURS}, got {raw!r}")
    return timedelta(hours=int(text))

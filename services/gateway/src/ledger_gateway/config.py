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

from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL, SettingsError, idempotency_ttl

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
        return cls(idempotency_ttl=idempotency_ttl(env.get("LEDGER_IDEMPOTENCY_TTL_HOURS")))


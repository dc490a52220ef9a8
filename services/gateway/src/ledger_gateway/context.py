"""What every request handler needs: the bus, the database, the clock, the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from ledger_kernel.clock import Clock, SystemClock
from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL, Settings
from sqlalchemy import Engine

from ledger_gateway.bounds import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES
from ledger_gateway.bus import Bus


@dataclass
class GatewayState:
    bus: Bus
    engine: Engine
    settings: Settings
    clock: Clock = SystemClock()
    read_wait_seconds: float = 5.0  # how long a read waits for min_sequence
    batch_lanes: int = 4  # cmd.<service> batches in flight per service and request
    batch_limit: int = 10_000
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL  # how long an Idempotency-Key is remembered
    public_url: str = "http://localhost:8000"  # links handed out start with it (LEDGER_PUBLIC_URL)
    max_body_bytes: int = MAX_BODY_BYTES  # a request body's limit (413 beyond), ledger_gateway.bounds
    max_batch_body_bytes: int = MAX_BATCH_BODY_BYTES  # the limit of a POST /v1/facts:batch body


def state_of(request: Request) -> GatewayState:
    return request.app.state.gateway

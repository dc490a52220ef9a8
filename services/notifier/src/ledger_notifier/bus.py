"""The NATS channel: republish an alert to ``notify.{tenant}.{suffix}`` for systems on the bus."""

from __future__ import annotations

import time

from ledger_kernel.canonical import canonical_json
from ledger_kernel.envelope import CONTENT_TYPE
from ledger_kernel.telemetry import inject_headers
from nats.aio.client import Client

from ledger_notifier.webhook import Outcome

PREFIX = "notify"


def notify_subject(tenant: str, suffix: str) -> str:
    return f"{PREFIX}.{tenant}.{suffix}"


async def republish(nc: Client, tenant: str, suffix: str, event: dict, *, flush_timeout: float = 5.0) -> Outcome:
    """The alert's CloudEvent, unchanged, with its id as ``Nats-Msg-Id`` (a JetStream stream there de-duplicates)."""
    started = time.monotonic()
    try:
        await nc.publish(notify_subject(tenant, suffix), canonical_json(event),
                         headers=inject_headers({"Nats-Msg-Id": event["id"], "Content-Type": CONTENT_TYPE}))
        await nc.flush(timeout=flush_timeout)  # type: ignore[arg-type]  # typed int; any float waits as long
    except Exception as exc:  # any bus trouble is a failed attempt, retried on the schedule
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500],
                       latency_ms=int((time.monotonic() - started) * 1000))
    return Outcome(True, latency_ms=int((time.monotonic() - started) * 1000), retry=False)

"""The expiry sweep of Idempotency-Key records: without it the table grows with every keyed write.

Expired records are already ignored by the write path (a key past its window is reserved afresh);
the sweep only reclaims the space, in bounded batches with a pause between them, so it never holds
the table for long. Every gateway process sweeps: deletes are idempotent, and on PostgreSQL two
sweeps skip each other's rows.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ledger_kernel.clock import Clock
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ledger_gateway import idempotency
from ledger_gateway.metrics import METRICS

log = logging.getLogger(__name__)
MAX_BATCHES_PER_SWEEP = 100  # 100,000 rows a sweep at most; the rest waits for the next one


async def sweep(engine: Engine, clock: Clock, ttl: timedelta, *, batch: int = idempotency.PURGE_BATCH,
                max_batches: int = MAX_BATCHES_PER_SWEEP, pause: float = 0.05) -> int:
    """Delete expired records, ``batch`` rows per statement, until none is left or ``max_batches`` ran."""
    removed = 0
    for _ in range(max_batches):
        n = await run_in_threadpool(idempotency.purge_expired, engine, now=clock.now(), ttl=ttl, limit=batch)
        removed += n
        if n < batch:
            break
        await asyncio.sleep(pause)  # let waiting writers in between batches
    if removed:
        METRICS.purged(removed)
        log.info("removed %d expired idempotency records", removed)
    return removed


async def keep_sweeping(engine: Engine, clock: Clock, ttl: timedelta, interval: float) -> None:
    """Sweep now and then every ``interval`` seconds until cancelled; a failed sweep waits for the next."""
    while True:
        try:
            await sweep(engine, clock, ttl)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be restarting: the records keep until the next sweep
            log.exception("the idempotency expiry sweep failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)

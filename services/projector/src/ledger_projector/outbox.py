"""Publishing after commit: alerts to ALERTS (the outbox) and summaries to the KV bucket.

Alerts were recorded as unpublished in the transaction that decided them. Here they
are published with their id as ``Nats-Msg-Id`` and then marked published; anything
left unpublished by a crash is published again on the next start (ALERTS
de-duplicates by id for 24 hours, so the rare double publish is harmless); what a failed
publish left is published again by :meth:`Outbox.retrying`, whether or not the clock ticks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from ledger_kernel.clock import Clock
from ledger_kernel.envelope import CONTENT_TYPE
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue
from sqlalchemy.engine import Engine

from ledger_projector import measures
from ledger_projector.tables import TableSet
from ledger_projector.tracing import alert_headers

log = logging.getLogger(__name__)
WINDOW = 256  # publishes in flight at once


async def in_windows(items: list[Any], send: Any, what: str) -> list[Any]:
    """Send ``items`` a window at a time (one connection keeps them in order), each acknowledged on
    its own; the items acknowledged, in order, up to the first window with a failure (NATS away:
    the rest stay pending and are retried)."""
    done: list[Any] = []
    for i in range(0, len(items), WINDOW):
        window = items[i:i + WINDOW]
        acks = await asyncio.gather(*(send(item) for item in window), return_exceptions=True)
        done += [item for item, ack in zip(window, acks, strict=True) if not isinstance(ack, BaseException)]
        errors = [ack for ack in acks if isinstance(ack, BaseException)]
        if errors:
            log.warning("publishing %s failed for %d of %d: %s", what, len(items) - len(done), len(items), errors[0])
            break
    return done


class Outbox:
    def __init__(self, engine: Engine, tables: TableSet, js: JetStreamContext, kv: KeyValue | None,
                 clock: Clock) -> None:
        self.engine = engine
        self.tables = tables
        self.js = js
        self.kv = kv
        self.clock = clock
        self.published = 0
        self.left = asyncio.Event()  # set when a publish or a summary put left something for later

    async def publish(self, rows: list[dict[str, Any]]) -> int:
        """Publish these outbox rows and mark them published; a failure leaves them for later."""
        done = await in_windows(rows, self._publish_one, "alerts")
        if len(done) < len(rows):
            self.left.set()
        for row in done:
            measures.published(row["type"])
            log.info("alert %s published", row["type"], extra={"alert_id": row["alert_id"]})
        if done:
            await asyncio.to_thread(self._mark, [row["alert_id"] for row in done], self.clock.now())
            self.published += len(done)
        return len(done)

    async def _publish_one(self, row: dict[str, Any]) -> Any:
        body = json.dumps(row["event"], ensure_ascii=False, separators=(",", ":")).encode()
        return await self.js.publish(row["subject"], body, timeout=5.0,
                                     headers={"Nats-Msg-Id": row["alert_id"], "Content-Type": CONTENT_TYPE,
                                              **alert_headers(row["event"])})

    def _mark(self, ids: list[str], at: datetime) -> None:
        t = self.tables.alerts
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.alert_id == sa.bindparam("i"))
                         .values(published=True, published_at=at), [{"i": i} for i in ids])

    def unpublished(self, limit: int = 1000) -> list[dict[str, Any]]:
        t = self.tables.alerts
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(t).where(t.c.published.is_(False)).order_by(t.c.decided_at, t.c.alert_id).limit(limit))
                .mappings()]

    def count_unpublished(self) -> int:
        """How many decided alerts wait to be published: a count on the index, for ``status`` (polled often)."""
        t = self.tables.alerts
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.published.is_(False))).scalar_one()

    async def flush(self) -> int:
        """Publish whatever a crash or an outage left unpublished."""
        total = 0
        while True:
            rows = await asyncio.to_thread(self.unpublished)
            if not rows:
                return total
            n = await self.publish(rows)
            total += n
            if n < len(rows):
                return total

    async def retrying(self, stopping: Callable[[], bool], again: Callable[[], Awaitable[Any]],
                       first: float = 0.5, most: float = 30.0) -> None:
        """Run ``again`` (publish what is left) after each shortfall, backing off from ``first`` to
        ``most`` seconds while it keeps failing. Without it a window that failed (NATS away, a publish
        timed out) waited for the clock's next tick, or, with ticks off, for the next start."""
        delay = first
        while not stopping():
            await self.left.wait()
            self.left.clear()
            await asyncio.sleep(delay)
            try:
                await again()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing what was left failed; trying again in %.1f s", delay)
                self.left.set()
            delay = min(delay * 2, most) if self.left.is_set() else first

    async def put_summaries(self, summaries: dict[str, dict[str, Any]]) -> None:
        if self.kv is None or not summaries:
            return
        kv = self.kv

        async def put(item: tuple[str, dict[str, Any]]) -> Any:
            return await kv.put(item[0], json.dumps(item[1], ensure_ascii=False, separators=(",", ":")).encode())

        done = [key for key, _ in await in_windows(list(summaries.items()), put, "summaries")]
        if len(done) < len(summaries):
            self.left.set()
        if done:
            await asyncio.to_thread(self._mark_summaries, done)

    def _mark_summaries(self, keys: list[str]) -> None:
        t = self.tables.company_watch
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.company_key == sa.bindparam("k")).values(summary_pending=False),
                         [{"k": k} for k in keys])

    def pending_summaries(self, limit: int = 1000) -> list[str]:
        t = self.tables.company_watch
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.c.company_key).where(t.c.summary_pending.is_(True))
                                     .order_by(t.c.company_key).limit(limit)).scalars())

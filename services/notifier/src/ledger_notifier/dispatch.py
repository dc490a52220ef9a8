"""Delivering from the table: due deliveries are leased, attempted in their own tasks, and logged.

The schedule runs on the injectable clock (``now``), so a test fast-forwards a FixedClock
and the next pass picks the retry up. Each delivery is its own task under a semaphore:
a slow or failing endpoint holds one slot, never the queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC

import httpx
from ledger_kernel.clock import Clock, SystemClock
from nats.aio.client import Client

from ledger_notifier import bus, mail, measures, tracing, webhook
from ledger_notifier.alerts import AlertError, parse_alert
from ledger_notifier.config import NotifierConfig
from ledger_notifier.records import Job, Records
from ledger_notifier.schedule import next_attempt
from ledger_notifier.webhook import Outcome

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, records: Records, config: NotifierConfig, clock: Clock, nc: Client, *,
                 wall: Clock | None = None) -> None:
        self.records = records
        self.config = config
        self.clock = clock
        self.wall = wall or SystemClock()
        self.nc = nc
        self.wake = asyncio.Event()
        self.in_flight: dict[str, asyncio.Task] = {}
        self.stopping = False
        self.http = httpx.AsyncClient(trust_env=False, follow_redirects=False,
                                      limits=httpx.Limits(max_connections=config.concurrency * 2))

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                log.exception("delivery pass failed; trying again")
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.config.poll_seconds)
            except TimeoutError:
                pass
            self.wake.clear()

    async def pass_once(self) -> int:
        free = self.config.concurrency - len(self.in_flight)
        jobs = await asyncio.to_thread(self.records.claim_due, self.clock.now(), time.time(),
                                       self.config.lease_seconds, free, set(self.in_flight))
        for job in jobs:
            task = asyncio.create_task(self.attempt(job), name=f"delivery {job.delivery_id}")
            self.in_flight[job.delivery_id] = task
            task.add_done_callback(lambda _t, i=job.delivery_id: self._done(i))
        return len(jobs)

    def _done(self, delivery_id: str) -> None:
        self.in_flight.pop(delivery_id, None)
        self.wake.set()  # a slot is free

    async def attempt(self, job: Job) -> str:
        try:
            alert = parse_alert(job.alert_event)
        except AlertError as exc:  # cannot happen for stored alerts, but never loop on one
            outcome = Outcome(False, error=f"stored alert unreadable: {exc}", retry=False)
        else:
            with tracing.delivering(job, alert) as span:
                outcome = await self.send(job, alert)
                tracing.settle(span, outcome)
        measures.attempted(job.channel, outcome)
        now = self.clock.now()
        next_at = None
        if not outcome.succeeded and outcome.retry:
            next_at = next_attempt(job.step + 1, now, asked=outcome.asked_wait)
        status = await asyncio.to_thread(self.records.record_attempt, job, outcome, now, next_at)
        log.info("delivery %s attempt %d: %s", job.delivery_id, job.attempts + 1, status,
                 extra={"alert_id": job.alert_event.get("id")})
        return status

    async def send(self, job: Job, alert) -> Outcome:  # noqa: ANN001
        wall_now = self.wall.now().astimezone(UTC)
        if job.channel == "webhook":
            if job.secret_error:  # retried on the schedule: a key may be configured meanwhile
                return Outcome(False, error=job.secret_error)
            return await webhook.post(self.http, job.target, job.secret or "", alert.id, alert.webhook_payload(),
                                      now=self.clock.now(), wall_now=wall_now,
                                      allow_loopback=self.config.allow_loopback,
                                      allow_networks=self.config.allow_networks,
                                      request_timeout=self.config.webhook_timeout)
        if job.channel == "email":
            return await mail.send(self.config.smtp, alert, job.target, wall_now)
        if job.channel == "nats":
            return await bus.republish(self.nc, alert.tenant, job.target, alert.event)
        return Outcome(False, error=f"unknown channel {job.channel}", retry=False)

    async def close(self, grace: float = 5.0) -> None:
        """Let attempts in flight finish briefly; the rest give their lease back and go next time."""
        tasks = list(self.in_flight.values())
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            for delivery_id in [i for i, t in list(self.in_flight.items()) if t in pending]:
                try:
                    await asyncio.to_thread(self.records.release, delivery_id)
                except Exception:
                    log.exception("could not release %s", delivery_id)
        await self.http.aclose()

"""Delivering from the table: due deliveries are leased, attempted in their own tasks, and logged.

The schedule runs on the injectable clock (``now``), so a test fast-forwards a FixedClock
and the next pass picks the retry up. Each delivery is its own task under a semaphore:
a slow or failing endpoint holds one slot, never the queue.

Each pass also makes the digests that are due: a new subscription's catch-up (what is due now,
asked of the projector) and the daily digests whose tenant's hour has come. Both become
ordinary deliveries, so they are retried and logged like alerts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import UTC

import httpx
from ledger_kernel.clock import Clock, SystemClock
from nats.aio.client import Client

from ledger_notifier import bus, current_work, digests, mail, measures, tracing, webhook
from ledger_notifier.alerts import Alert, AlertError, parse_alert, severity_rank
from ledger_notifier.config import NotifierConfig
from ledger_notifier.records import Job, PendingCatchUp, Records
from ledger_notifier.schedule import next_attempt
from ledger_notifier.webhook import Outcome

log = logging.getLogger(__name__)


CATCH_UP_RETRY = 30.0  # seconds before asking a projector that did not answer again


def stored_alert(event: dict) -> Alert:
    """An alert taken in from ALERTS, or a digest of our own."""
    return digests.as_alert(event) if event.get("type") in digests.DIGEST_TYPES else parse_alert(event)


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
        self.catch_up_after: dict[str, float] = {}  # subscription id -> monotonic time to try again
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
        await self.make_digests()
        free = self.config.concurrency - len(self.in_flight)
        jobs = await asyncio.to_thread(self.records.claim_due, self.clock.now(), time.time(),
                                       self.config.lease_seconds, free, set(self.in_flight))
        for job in jobs:
            task = asyncio.create_task(self.attempt(job), name=f"delivery {job.delivery_id}")
            self.in_flight[job.delivery_id] = task
            task.add_done_callback(functools.partial(self._done, job.delivery_id))
        return len(jobs)

    async def make_digests(self) -> int:
        """Catch-ups of new subscriptions, then the daily digests due by now; returns digests made."""
        made = 0
        for pending in await asyncio.to_thread(self.records.pending_catch_ups):
            if self.catch_up_after.get(pending.subscription_id, 0.0) > time.monotonic():
                continue
            try:
                made += await self.catch_up(pending)
            except current_work.ProjectorUnavailable as exc:  # kept pending: tried again in a while
                log.warning("catch-up for %s waits: %s", pending.subscription_id, exc)
                self.catch_up_after[pending.subscription_id] = time.monotonic() + CATCH_UP_RETRY
        made += await asyncio.to_thread(self.records.compose_daily_digests, self.clock.now())
        return made

    async def catch_up(self, pending: PendingCatchUp) -> int:
        """What is due now for the subscription's companies, as one digest (none when nothing is due)."""
        items = await current_work.due_now(self.nc, pending.tenant, pending.companies)
        if pending.types is not None:  # the subscription's alert types say which of them it wants
            items = [o for o in items if f"obligation.{o['status']}" in pending.types]
        floor = severity_rank(pending.min_severity)  # and its min_severity, as for each alert
        items = [o for o in items if severity_rank(digests.item_severity(o)) >= floor]
        now = self.clock.now()
        event = digests.catch_up_event(pending.tenant, pending.subscription_id, items, now)
        made = await asyncio.to_thread(self.records.record_catch_up, pending.subscription_id, event, now)
        self.catch_up_after.pop(pending.subscription_id, None)
        return int(made and event is not None)

    def _done(self, delivery_id: str, _task: asyncio.Task[str]) -> None:
        self.in_flight.pop(delivery_id, None)
        self.wake.set()  # a slot is free

    async def attempt(self, job: Job) -> str:
        try:
            alert = stored_alert(job.alert_event)
        except (AlertError, KeyError, TypeError) as exc:  # cannot happen for stored alerts, but never loop on one
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

    async def send(self, job: Job, alert: Alert) -> Outcome:
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
            return await mail.send(self.config.smtp, alert, list(job.recipients or (job.target,)), wall_now)
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

"""Taking alerts in from ALERTS with a durable pull consumer.

A batch is matched and its deliveries recorded in one transaction; only then are the
JetStream messages acked. A crash before the ack redelivers them, and recording them
again changes nothing (the alert row, and the unique (alert, subscription) key).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import nats.errors
from ledger_kernel.clock import Clock
from ledger_kernel.streams import ALERTS
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from ledger_notifier.alerts import Alert, AlertError, parse_alert
from ledger_notifier.config import NotifierConfig
from ledger_notifier.records import Records

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, records: Records, config: NotifierConfig, clock: Clock, nc: Client,
                 on_new: Callable[[], None]) -> None:
        self.records = records
        self.config = config
        self.clock = clock
        self.nc = nc
        self.on_new = on_new
        self.stopping = False

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        js = self.nc.jetstream()
        return await js.pull_subscribe(
            self.config.subject_filter, durable=self.config.consumer, stream=ALERTS,
            config=ConsumerConfig(durable_name=self.config.consumer, ack_policy=AckPolicy.EXPLICIT,
                                  deliver_policy=DeliverPolicy.ALL, ack_wait=self.config.ack_wait, max_deliver=-1,
                                  max_ack_pending=10_000, filter_subject=self.config.subject_filter))

    async def run(self) -> None:
        sub = None
        while not self.stopping:
            try:
                if sub is None:
                    sub = await self.subscribe()
                try:
                    msgs = await sub.fetch(self.config.fetch_batch, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):  # nothing new within the second
                    continue
                await self.handle(msgs)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                log.exception("taking alerts in failed; trying again")
                sub = None
                await asyncio.sleep(1.0)

    async def handle(self, msgs: list) -> int:
        batch: list[tuple[Alert, int]] = []
        poison: set[int] = set()
        for msg in msgs:
            try:
                batch.append((parse_alert(msg.data, msg.subject), msg.metadata.sequence.stream))
            except AlertError as exc:
                log.error("unusable message on %s (stream seq %s): %s", msg.subject, msg.metadata.sequence.stream,
                          exc, extra={"subject": msg.subject})
                poison.add(id(msg))
        created = await asyncio.to_thread(self.records.take_in, batch, self.clock.now()) if batch else 0
        # Recorded: now, and only now, the messages may go.
        for msg in msgs:
            if id(msg) in poison:
                await msg.term()
            else:
                await msg.ack()
        if created:
            self.on_new()
        return created

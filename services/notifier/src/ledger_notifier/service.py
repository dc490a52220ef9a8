"""The notifier as a service: request/reply ops on the broker, the ALERTS intake and the dispatcher.

``build()`` returns it; ``python -m ledger_notifier`` runs it alone, ``ledger up`` mounts it
with the others.
"""

from __future__ import annotations

import asyncio
import logging

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage
from ledger_kernel.clock import Clock
from ledger_kernel.connection import connect
from ledger_kernel.deadline import past_deadline
from ledger_kernel.runtime import ServiceContext
from nats.aio.client import Client
from sqlalchemy.engine import Engine

from ledger_notifier.config import NotifierConfig
from ledger_notifier.database import make_engine, migrate
from ledger_notifier.dispatch import Dispatcher
from ledger_notifier.intake import Intake
from ledger_notifier.ops import COMMANDS, QUERIES, Operations, problem
from ledger_notifier.records import Records
from ledger_notifier.sealed_secrets import SecretBox
from ledger_notifier.sealing_keys import secret_box

log = logging.getLogger(__name__)


class NotifierService:
    name = "notifier"

    def __init__(self, config: NotifierConfig | None = None, *, wall: Clock | None = None,
                 box: SecretBox | None = None) -> None:
        self.config = config
        self.wall = wall
        self.box = box
        self.router = NatsRouter()
        self.ops: Operations | None = None
        self.dispatcher: Dispatcher | None = None
        self.records: Records | None = None
        self.tasks: list[asyncio.Task] = []
        self.engine: Engine | None = None
        self.intake: Intake | None = None
        self.intake_nc: Client | None = None

        @self.router.subscriber("cmd.notifier", queue="notifier", title="cmd.notifier",
                                description="Subscriptions: create, delete; deliveries: replay.")
        async def command(msg: NatsMessage) -> dict:
            if past_deadline(msg.headers):  # buffered through an outage: the gateway has answered 503
                return problem(503, "deadline_exceeded", "Past its deadline 已过截止时间",
                               "the request arrived after its requester stopped waiting; nothing was done")
            return await self._answer(msg.body, COMMANDS)

        @self.router.subscriber("query.notifier", queue="notifier", title="query.notifier",
                                description="Subscriptions and their delivery log.")
        async def query(msg: NatsMessage) -> dict:
            return await self._answer(msg.body, QUERIES)

    async def _answer(self, raw: bytes, allowed: tuple[str, ...]) -> dict:
        if self.ops is None:
            return problem(503, "unavailable", "Unavailable 暂不可用", "the notifier is starting")
        return await self.ops.handle_raw(raw, allowed)

    async def start(self, ctx: ServiceContext) -> None:
        config = self.config or NotifierConfig.from_env()
        self.config = config
        self.box = self.box or secret_box(config, ctx.settings)  # before any I/O: a bad key stops the start
        self.engine = engine = make_engine(ctx.settings.database_url)
        await asyncio.to_thread(migrate, engine)
        self.records = Records(engine, self.box, idempotency_ttl=config.idempotency_ttl)
        resealed = await asyncio.to_thread(self.records.reseal_secrets)
        if resealed.sealed:
            log.info("sealed %d webhook secrets under key %s", resealed.sealed, self.box.current_id,
                     extra={"service": self.name})
        for sub_id, why in sorted(resealed.unopened.items()):
            log.error("subscription %s: cannot open its signing secret (%s); its webhooks fail until the key "
                      "is configured", sub_id, why, extra={"service": self.name})
        self.dispatcher = Dispatcher(self.records, config, ctx.clock, ctx.nc, wall=self.wall)
        # The intake pulls on a connection of its own: closing the broker's connection drains every
        # subscription on it, and a pull subscription's leftovers would hold that up for 30 s.
        self.intake_nc = intake_nc = await connect(ctx.settings.effective_nats_url, "notifier-intake")
        intake = Intake(self.records, config, ctx.clock, intake_nc, on_new=self.dispatcher.wake.set)
        self.ops = Operations(self.records, config, ctx.clock, on_change=self.dispatcher.wake.set)
        self.intake = intake
        self.tasks = [asyncio.create_task(intake.run(), name="notifier intake"),
                      asyncio.create_task(self.dispatcher.run(), name="notifier dispatch")]
        log.info("notifier started (consumer %s on %s)", config.consumer, config.subject_filter,
                 extra={"service": self.name})

    async def stop(self) -> None:
        # Flags first: a cancelled NATS fetch may surface as "connection closed", not as CancelledError.
        if self.intake is not None:
            self.intake.stopping = True
        if self.dispatcher is not None:
            self.dispatcher.stopping = True
            self.dispatcher.wake.set()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5.0)
        self.tasks = []
        if self.intake_nc is not None:
            await self.intake_nc.close()
            self.intake_nc = None
        if self.dispatcher is not None:
            await self.dispatcher.close()
        if self.engine is not None:
            self.engine.dispose()
        self.ops = None


def build(config: NotifierConfig | None = None, *, wall: Clock | None = None,
          box: SecretBox | None = None) -> NotifierService:
    return NotifierService(config, wall=wall, box=box)

"""Running services: each alone in its own process, or several mounted on one broker.

A service is a faststream ``NatsRouter`` plus start/stop hooks; the runtime owns the
broker, the NATS connection, the clock and the settings, and hands them over in a
:class:`ServiceContext`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from faststream.nats import NatsBroker, NatsRouter, NatsUserPassword
from nats.aio.client import Client

from ledger_kernel.clock import Clock, clock_from_setting
from ledger_kernel.connection import split_servers
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import check_server

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    settings: Settings
    broker: NatsBroker
    clock: Clock

    @property
    def nc(self) -> Client:
        return self.broker.connection

    def ledger(self) -> LedgerStore:
        return LedgerStore(self.nc, "LEDGER")


class Service(Protocol):
    name: str
    router: NatsRouter

    async def start(self, ctx: ServiceContext) -> None: ...

    async def stop(self) -> None: ...


def make_broker(settings: Settings, name: str) -> NatsBroker:
    servers, credentials = split_servers(settings.effective_nats_url)
    security = NatsUserPassword(credentials["user"], credentials["password"]) if credentials else None
    return NatsBroker(servers, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.25,  # type: ignore[arg-type]  # typed int; nats-py sleeps any float
                      logger=None, graceful_timeout=10.0, security=security)


class Mounted:
    """Services on one broker. ``async with Mounted(...)`` starts and stops them in order."""

    def __init__(self, services: Sequence[Service], settings: Settings, *, clock: Clock | None = None,
                 name: str = "ledger") -> None:
        self.services = list(services)
        self.settings = settings
        self.broker = make_broker(settings, name)
        self.clock = clock or clock_from_setting(settings.clock)
        for s in self.services:
            self.broker.include_router(s.router)
        self.ctx = ServiceContext(settings, self.broker, self.clock)

    async def __aenter__(self) -> Mounted:
        await self.broker.connect()
        check_server(self.broker.connection)
        for s in self.services:
            await s.start(self.ctx)
        await self.broker.start()
        # SUB lines are written, not yet processed: one PING/PONG round trip makes the server
        # hold every subscription before anyone is told this stack is ready (else "no responders").
        await self.broker.connection.flush(timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Services first (the gateway stops taking requests and finishes the ones in flight),
        # then the broker, so nothing in flight loses its connection half-way.
        for s in reversed(self.services):
            try:
                await s.stop()
            except Exception:  # stopping must not hide the original error
                log.exception("stopping %s failed", s.name)
        await self.broker.stop()


async def serve_forever(services: Sequence[Service], settings: Settings, name: str) -> None:
    """Run until SIGINT/SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Mounted(services, settings, name=name):
        log.info("%s ready", name, extra={"service": name})
        await stop.wait()

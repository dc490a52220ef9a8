"""The gateway as a kernel ``Service``: uvicorn serving the app on LEDGER_HTTP_HOST:LEDGER_HTTP_PORT.

The host defaults to 127.0.0.1 (this machine only); compose sets 0.0.0.0 inside its container.

It answers no NATS subject itself (an empty router); it is a client of the services.
The runtime owns the signals, so uvicorn's own signal capture is switched off. Beside the server
it runs the expiry sweep of Idempotency-Key records (``ledger_gateway.retention``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from faststream.nats import NatsRouter
from ledger_kernel.runtime import ServiceContext
from starlette.concurrency import run_in_threadpool

from ledger_gateway import retention
from ledger_gateway.app import create_app
from ledger_gateway.bus import Bus
from ledger_gateway.config import GatewayConfig, default_public_url
from ledger_gateway.context import GatewayState
from ledger_gateway.database import migrate

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the runtime (serve_forever / ledger up) handles SIGINT/SIGTERM
        yield


class GatewayService:
    name = "gateway"

    def __init__(self, *, host: str | None = None, port: int | None = None,
                 config: GatewayConfig | None = None) -> None:
        self.router = NatsRouter()
        self.host = host
        self.port = port
        self.config = config or GatewayConfig()
        self.server: _Server | None = None
        self.task: asyncio.Task | None = None
        self.sweeper: asyncio.Task | None = None
        self.state: GatewayState | None = None

    async def start(self, ctx: ServiceContext) -> None:
        engine = await run_in_threadpool(migrate, ctx.settings.database_url)
        port = self.port or ctx.settings.http_port
        host = self.host or ctx.settings.http_host
        self.state = GatewayState(bus=Bus(ctx.nc), engine=engine, settings=ctx.settings, clock=ctx.clock,
                                  idempotency_ttl=self.config.idempotency_ttl,
                                  public_url=self.config.public_url or default_public_url(host, port),
                                  max_body_bytes=self.config.max_body_bytes,
                                  max_batch_body_bytes=self.config.max_batch_body_bytes)
        config = uvicorn.Config(create_app(self.state), host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off", server_header=False,
                                timeout_graceful_shutdown=10)
        self.server = _Server(config)
        self.task = asyncio.create_task(self.server.serve(), name="gateway-http")
        while not self.server.started:
            if self.task.done():
                exc = self.task.exception() if not self.task.cancelled() else None
                raise RuntimeError(f"the gateway could not listen on {host}:{port} ({exc!r}); "
                                   f"set LEDGER_HTTP_PORT to a free port 网关端口被占用")
            await asyncio.sleep(0.01)
        log.info("gateway listening on http://%s:%s", host, port)
        self.sweeper = asyncio.create_task(
            retention.keep_sweeping(engine, ctx.clock, self.config.idempotency_ttl, self.config.purge_interval),
            name="gateway-idempotency-sweep")

    async def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            await asyncio.gather(self.sweeper, return_exceptions=True)
            self.sweeper = None
        if self.server is None or self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 15)
        except (TimeoutError, asyncio.CancelledError, SystemExit):
            self.task.cancel()
        except BaseException:
            log.exception("the gateway stopped with an error")
        self.server = self.task = None


def build() -> GatewayService:
    """The gateway configured from the environment (``ledger_gateway.config``)."""
    return GatewayService(config=GatewayConfig.from_env())

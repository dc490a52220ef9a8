"""``python -m ledger_<service>``: one domain service alone in its own process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ledger_kernel.connection import connect
from ledger_kernel.runtime import Service, serve_forever
from ledger_kernel.settings import Settings
from ledger_kernel.streams import ALERTS, LEDGER, provision
from ledger_kernel.telemetry import setup_logging, setup_telemetry
from nats.js.errors import NotFoundError

from ledger_domain.settings import CommandSettings

log = logging.getLogger(__name__)


class StreamsMissing(RuntimeError):
    """A production service found LEDGER or ALERTS unprovisioned."""


async def _provisioned(settings: Settings, name: str) -> None:
    """Make sure the streams exist before serving, so a service started alone can append at once.

    Outside production the service provisions them (idempotent). In production the ops job
    provisions them and the services' NATS users may only read stream info
    (infra/nats/accounts.conf), so the service only checks, and refuses to start saying why.
    """
    nc = await connect(settings.effective_nats_url, f"{name}-provision")
    try:
        if settings.environment != "production":
            await provision(nc, settings.replicas)
            return
        js = nc.jetstream()
        for stream in (LEDGER, ALERTS):
            try:
                await js.stream_info(stream)
            except NotFoundError:
                raise StreamsMissing(f"stream {stream} does not exist: run the provisioning job first "
                                     f"(流 {stream} 不存在，请先运行初始化任务)") from None
    finally:
        await nc.close()


def run(build: Callable[[], Service], name: str) -> None:
    settings = CommandSettings.at_start(f"ledger_{name}", service=name)
    setup_logging()
    setup_telemetry(name)
    asyncio.run(_provisioned(settings, name))
    try:
        asyncio.run(serve_forever([build()], settings, name))
    except KeyboardInterrupt:
        pass

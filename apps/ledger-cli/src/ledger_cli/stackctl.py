"""Reaching the stack's NATS: the running one, or a temporary embedded server on the same store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, port_free
from ledger_kernel.settings import Settings
from nats.aio.client import Client


@asynccontextmanager
async def stack_nats(settings: Settings, name: str) -> AsyncIterator[Client]:
    """Connect to the stack's server; if the embedded one is not running, start it for the duration."""
    server = None
    if settings.embedded and port_free(settings.nats_port):
        server = EmbeddedNats(settings.home, settings.nats_port, server_name="ledger-embedded")
        server.start()
    try:
        nc = await connect(settings.effective_nats_url, name, max_reconnect_attempts=3)
        try:
            yield nc
        finally:
            await nc.close()
    finally:
        if server is not None:
            server.stop()

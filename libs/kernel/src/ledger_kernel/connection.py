"""Connecting to NATS with the behaviour every service wants: reconnect forever, say why.

The transport of every process that talks to NATS (``runtime`` and the store's callers connect through
it), so this is where nats-py's header parser is replaced by :mod:`ledger_kernel.headers` (a replay
parses seven headers per event): once, when the transport is first imported, never by a pure import
of ``ledger_kernel``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

import nats
from nats.aio.client import Client

from ledger_kernel import headers

log = logging.getLogger(__name__)
headers.install()


def split_servers(url: str) -> tuple[list[str], dict[str, str]]:
    """``nats://user:pw@a:4222,nats://b:4222`` → the server list, and the credentials as connect
    options so they apply to every node of a cluster, also to nodes the client learns of later."""
    servers: list[str] = []
    credentials: dict[str, str] = {}
    for part in (p.strip() for p in url.split(",")):
        if not part:
            continue
        parsed = urlsplit(part if "://" in part else f"nats://{part}")
        if parsed.username and not credentials:
            credentials = {"user": unquote(parsed.username), "password": unquote(parsed.password or "")}
        servers.append(f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 4222}")
    if not servers:
        raise ValueError("no NATS server URL given")
    return servers, credentials


async def connect(url: str, name: str, **options: Any) -> Client:
    client: Client | None = None

    async def disconnected() -> None:
        if client is not None and not client.is_closed:
            log.warning("nats disconnected", extra={"service": name})

    async def reconnected() -> None:
        log.info("nats reconnected", extra={"service": name})

    async def error(exc: Exception) -> None:
        log.warning("nats error: %s", exc, extra={"service": name})

    defaults = dict(name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.25, connect_timeout=5,
                    disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error,
                    allow_reconnect=True)
    servers, credentials = split_servers(url)
    defaults.update(credentials)
    defaults.update(options)
    client = await nats.connect(servers, **defaults)
    return client

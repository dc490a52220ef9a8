"""Fault-test helpers: the real services mounted on a server of the test's own, and realistic facts.

Every fault test owns its nats-server (``fresh_nats``), because it kills, fills or pollutes it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats.errors
import pytest
from ledger_bench import facts as F
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats
from ledger_kernel.runtime import Mounted
from ledger_kernel.services import ServiceKind, named, of_kind
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_kernel.verify import verify_ledger
from nats.aio.client import Client

DOMAIN = tuple(spec.name for spec in of_kind(ServiceKind.domain))  # the installed domain services


def build(*names: str) -> list[Any]:
    return [named(name).build() for name in names]


async def provisioned_client(server: EmbeddedNats, name: str = "fault-test") -> Client:
    nc = await connect(server.url, name)
    await provision(nc)
    return nc


@asynccontextmanager
async def mounted(settings: Any, clock: Any, *names: str) -> AsyncIterator[Mounted]:
    async with Mounted(build(*names), settings, clock=clock, name="fault-" + "-".join(names)) as m:
        yield m


async def record(nc: Client, tenant: str, fact: dict[str, Any], command_id: str | None = None,
                 wait: float = 10.0) -> dict[str, Any]:
    body = json.dumps(F.request(tenant, fact, command_id or str(uuid.uuid4()))).encode()
    subject = f"cmd.{F.owner(fact['type'])}"
    deadline = asyncio.get_running_loop().time() + wait
    while True:  # a service reconnecting under load briefly has no subscription: retry like a real client
        try:
            msg = await nc.request(subject, body, timeout=wait)
            return json.loads(msg.data)
        except nats.errors.NoRespondersError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def tenant_events(nc: Client, tenant: str) -> list[tuple[int, dict[str, Any]]]:
    """Every event of ``tenant`` in LEDGER: (stream sequence, event)."""
    return [(m.stream_seq, m.event()) for m in await LedgerStore(nc).read_all(f"ledger.{tenant}.>")]


async def assert_intact(nc: Client) -> int:
    report = await verify_ledger(LedgerStore(nc))
    assert report.intact, [b.__dict__ for b in report.breaks]
    return report.events


@pytest.fixture
def facts_for():
    """Realistic facts for ``companies`` companies, ``per`` each (valid USCCs, valid payloads)."""

    def make(companies: int, per: int, first: int = 0) -> list[list[dict[str, Any]]]:
        return [F.company_facts(i, per) for i in range(first, first + companies)]

    return make

"""The whole stack in the test process: a nats-server of its own, the five domain services, the
projector, the notifier and the gateway (uvicorn on a free port), mounted on one broker — real parts only.

Shared by tests/gateway and tests/cli (which puts this directory on sys.path).
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ledger_gateway.service import GatewayService
from ledger_gateway.tenancy import create_key, create_tenant
from ledger_kernel.clock import FixedClock
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.runtime import Mounted
from ledger_kernel.services import ServiceKind, of_kind
from ledger_kernel.settings import Settings
from ledger_kernel.streams import provision
from sqlalchemy import Engine

DOMAIN = tuple(spec.name for spec in of_kind(ServiceKind.domain))  # the installed domain services
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def domain_services() -> list:
    """The real services; a test session without them is skipped, saying which is missing."""
    built = []
    for name in (*DOMAIN, "projector"):
        try:
            module = importlib.import_module(f"ledger_{name}.service")
        except ModuleNotFoundError as exc:
            pytest.skip(f"ledger_{name}.service is not there yet ({exc.name}): the gateway tests need every service")
        built.append(module.build())
    try:
        from ledger_notifier.config import NotifierConfig
        from ledger_notifier.service import build as notifier
    except ModuleNotFoundError as exc:
        pytest.skip(f"ledger_notifier is not there yet ({exc.name})")
    built.append(notifier(NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "1"})))
    return built


@dataclass
class LiveStack:
    url: str
    settings: Settings
    gateway: GatewayService
    nats_url: str
    nats: EmbeddedNats | None = None  # the stack's own server, for tests that kill it
    mounted: Mounted | None = None  # its services and context: a test may restart one

    async def restart(self, name: str) -> Any:
        """Stop and start one service, as a restart of its process would (its database stays)."""
        assert self.mounted is not None
        [service] = [s for s in self.mounted.services if s.name == name]
        await service.stop()
        await service.start(self.mounted.ctx)
        return service
    services: list = field(default_factory=list)

    def service(self, name: str):
        """The mounted service called ``name`` (e.g. the projector, to tick its scheduler)."""
        return next(s for s in self.services if getattr(s, "name", None) == name)

    @property
    def engine(self) -> Engine:
        assert self.gateway.state is not None
        return self.gateway.state.engine

    def new_tenant(self, name: str = "test") -> tuple[str, str]:
        """A fresh tenant and its admin key (so tests never see each other's companies)."""
        tenant, issued = create_tenant(self.engine, f"{name}-{secrets.token_hex(3)}")
        return tenant.id, issued.key

    def key(self, tenant: str, scopes: str) -> str:
        return create_key(self.engine, tenant, scopes).key

    def client(self, key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60)


async def run_stack(home: Path, clock: FixedClock | None = None) -> AsyncIterator[LiveStack]:
    """The stack on a clock of its own (a test that moves time passes one; the default stands at NOW)."""
    server = EmbeddedNats(home=home / "nats-home", port=free_port(), server_name=f"gw-{secrets.token_hex(3)}")
    server.start()
    try:
        nc = await connect(server.url, "gateway-tests-provision")
        await provision(nc)
        await nc.close()
        settings = Settings.from_env({"LEDGER_HOME": str(home / "home"), "LEDGER_ENV": "test",
                                      "LEDGER_NATS_URL": server.url, "LEDGER_HTTP_PORT": str(free_port())})
        gateway = GatewayService()
        services = [*domain_services(), gateway]
        async with Mounted(services, settings, clock=clock or FixedClock(NOW), name="gateway-tests") as mounted:
            yield LiveStack(f"http://127.0.0.1:{settings.http_port}", settings, gateway, server.url, server, mounted,
                            services)
    finally:
        server.stop()

"""One live stack per test session (see gateway_harness); a fresh tenant per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_harness import LiveStack, run_stack


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveStack]:
    async for live in run_stack(tmp_path_factory.mktemp("gateway-stack")):
        yield live


@pytest.fixture
async def api(stack: LiveStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client holding a fresh tenant's admin key (``api.tenant`` is the tenant id)."""
    tenant, key = stack.new_tenant()
    async with stack.client(key) as client:
        client.tenant = tenant  # type: ignore[attr-defined]
        client.key = key  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def demo_tenant(stack: LiveStack) -> tuple[str, str]:
    """A fresh tenant holding `ledger demo`'s five companies (projected), and its admin key."""
    from ledger_cli.demo import demo_batch

    tenant, key = stack.new_tenant("demo")
    async with stack.client(key) as api:
        r = await api.post("/v1/facts:batch", json=demo_batch())
        assert r.status_code == 200 and r.json()["refused"] == 0, r.text
        last = max(x["event"]["ledger_sequence"] for x in r.json()["results"])
        assert (await api.get("/v1/companies", params={"min_sequence": last})).status_code == 200
    return tenant, key

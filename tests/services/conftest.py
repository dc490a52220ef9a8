"""The five domain services mounted on one broker against the session's nats-server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ledger_kernel.clock import FixedClock
from ledger_kernel.embedded import EmbeddedNats
from ledger_kernel.runtime import Mounted

sys.path.insert(0, str(Path(__file__).parent))

from services_support import SERVICES, STACK_INSTANT, build, stack_settings  # noqa: E402


# 09:00 in Shanghai on 2026-11-23: after every example date, and fixed so no test depends on today.
@pytest.fixture(scope="session")
async def services_stack(provisioned: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mounted]:
    """All five services in one process, as the embedded default mounts them."""
    settings = stack_settings(provisioned, tmp_path_factory.mktemp("services"))
    async with Mounted([build(name) for name in SERVICES], settings, clock=FixedClock(STACK_INSTANT),
                       name="services-test") as mounted:
        yield mounted


@pytest.fixture
def service_of(services_stack: Mounted):
    """The mounted service of a name (to call ``handle`` in-process or read its counters)."""
    by_name = {s.name: s for s in services_stack.services}
    return by_name.__getitem__

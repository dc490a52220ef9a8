"""Notifier fixtures: a real webhook receiver, and a running notifier on the session's
nats-server with its own SQLite file (helpers in notifier_support.py)."""

from __future__ import annotations

import pytest
from notifier_support import running_notifier, start_receiver


@pytest.fixture
def receiver():
    r, server = start_receiver()
    yield r
    server.shutdown()
    server.server_close()


@pytest.fixture
async def notifier(provisioned, settings_for, clock, tenant):  # noqa: ANN001
    """A running notifier (in this process) on the session server, with loopback targets admitted."""
    async with running_notifier(settings_for(provisioned), clock, tenant) as service:
        yield service

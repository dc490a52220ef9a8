"""cmd.notifier honours Ledger-Deadline: a command delivered after the gateway stopped waiting (buffered by
nats-py through an outage) does nothing, so a 503 never leaves a subscription behind the client's back."""

from __future__ import annotations

import time

import pytest
from ledger_kernel import deadline as deadlines


@pytest.mark.parametrize("header", [deadlines.stamp(0.0, now=time.time() - 60), "not an instant"],
                         ids=["passed", "unreadable"])
async def test_a_command_past_its_deadline_creates_nothing(notifier, tenant, header):
    sub = {"channel": "nats", "target": "erp.alerts"}
    late = await notifier.client.create_subscription(tenant, sub, command_id="late-1",
                                                     headers={deadlines.HEADER: header})
    assert (late["ok"], late["status"], late["code"]) == (False, 503, "deadline_exceeded"), late
    assert (await notifier.client.list_subscriptions(tenant))["result"]["items"] == []
    in_time = await notifier.client.create_subscription(tenant, sub, command_id="late-1",
                                                        headers={deadlines.HEADER: deadlines.stamp(30.0)})
    assert in_time["status"] == 201, in_time
    assert len((await notifier.client.list_subscriptions(tenant))["result"]["items"]) == 1

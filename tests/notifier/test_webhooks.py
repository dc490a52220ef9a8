"""Webhooks end to end: a real HTTP receiver in this process verifies every request with the
``standardwebhooks`` package; the retry schedule is fast-forwarded on the FixedClock."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from datetime import datetime, timedelta

from notifier_support import (
    COMPANY,
    OTHER_COMPANY,
    deliveries,
    eventually,
    make_alert,
    publish_alert,
    subscribe,
)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_delivery_is_signed_to_the_standard_and_verifies(notifier, receiver, tenant, nc):
    sub = await subscribe(notifier, tenant, receiver, "/hook")
    assert sub["secret"].startswith("whsec_") and len(base64.b64decode(sub["secret"][6:])) == 32
    alert = make_alert(tenant)
    await publish_alert(nc, alert)
    [got] = await eventually(lambda: receiver.at("/hook"))
    assert got.verified, "standardwebhooks.Webhook(secret).verify refused our signature"
    assert got.headers["webhook-id"] == alert["id"]
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"] == "application/json"
    assert got.payload == {"type": "obligation.due_soon", "timestamp": alert["time"], "data": alert["data"]}
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    assert d["status"] == "succeeded" and d["attempts"] == 1 and d["alert_id"] == alert["id"]
    [entry] = d["log"]
    assert entry["outcome"] == "succeeded" and entry["status_code"] == 200
    assert isinstance(entry["latency_ms"], int) and entry["latency_ms"] >= 0 and entry["error"] is None


async def _settled(notifier, tenant, sub_id, n=1):  # noqa: ANN001
    items = await deliveries(notifier, tenant, sub_id)
    return items if len(items) == n and all(i["status"] != "pending" for i in items) else None


async def _pending_after(notifier, tenant, sub_id, attempts):  # noqa: ANN001
    items = await deliveries(notifier, tenant, sub_id)
    return items[0] if items and items[0]["attempts"] == attempts and items[0]["status"] == "pending" else None


async def test_retries_after_500_keep_the_same_webhook_id_on_the_schedule(notifier, receiver, tenant, nc, clock):
    sub = await subscribe(notifier, tenant, receiver, "/flaky")
    receiver.script("/flaky", 500, 500)
    alert = make_alert(tenant)
    await publish_alert(nc, alert)
    d = await eventually(lambda: _pending_after(notifier, tenant, sub["id"], 1))
    first_at = clock.now()
    # attempt 2 waits 5 s (+ up to 10% jitter, never less)
    assert first_at + timedelta(seconds=5) <= at(d["next_attempt_at"]) <= first_at + timedelta(seconds=5.5)
    await asyncio.sleep(0.3)
    assert len(receiver.at("/flaky")) == 1, "retried before its time"
    clock.advance(timedelta(seconds=6))
    d = await eventually(lambda: _pending_after(notifier, tenant, sub["id"], 2))
    # attempt 3 waits 5 minutes
    assert clock.now() + timedelta(minutes=5) <= at(d["next_attempt_at"]) <= clock.now() + timedelta(minutes=5.5)
    clock.advance(timedelta(minutes=4))
    await asyncio.sleep(0.3)
    assert len(receiver.at("/flaky")) == 2
    clock.advance(timedelta(minutes=2))
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    got = receiver.at("/flaky")
    assert [g.headers["webhook-id"] for g in got] == [alert["id"]] * 3
    assert all(g.verified for g in got)
    assert d["status"] == "succeeded" and d["attempts"] == 3
    assert [(e["outcome"], e["status_code"]) for e in d["log"]] == [("retry", 500), ("retry", 500),
                                                                   ("succeeded", 200)]
    assert d["log"][0]["error"] == "HTTP 500"


async def test_410_gone_disables_the_subscription(notifier, receiver, tenant, nc):
    sub = await subscribe(notifier, tenant, receiver, "/gone")
    receiver.script("/gone", 410)
    first = make_alert(tenant)
    await publish_alert(nc, first)
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    assert d["status"] == "failed" and d["log"][0]["outcome"] == "disabled" and d["last_status_code"] == 410
    got = await notifier.client.get_subscription(tenant, sub["id"])
    assert got["result"]["state"] == "disabled" and "410" in got["result"]["state_reason"]
    await publish_alert(nc, make_alert(tenant))
    await asyncio.sleep(0.5)
    assert len(receiver.at("/gone")) == 1
    assert len(await deliveries(notifier, tenant, sub["id"])) == 1, "a disabled subscription still matched"
    replay = await notifier.client.replay_delivery(tenant, d["id"])
    assert replay["status"] == 409 and replay["code"] == "subscription_inactive"


async def test_retry_after_is_honoured(notifier, receiver, tenant, nc, clock):
    sub = await subscribe(notifier, tenant, receiver, "/busy")
    receiver.script("/busy", (503, {"Retry-After": "3600"}))
    await publish_alert(nc, make_alert(tenant))
    d = await eventually(lambda: _pending_after(notifier, tenant, sub["id"], 1))
    assert at(d["next_attempt_at"]) >= clock.now() + timedelta(hours=1)
    clock.advance(timedelta(minutes=30))  # well past the 5 s the schedule alone would wait
    await asyncio.sleep(0.4)
    assert len(receiver.at("/busy")) == 1
    clock.advance(timedelta(minutes=31))
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    assert d["status"] == "succeeded" and len(receiver.at("/busy")) == 2


async def test_a_slow_or_failing_endpoint_does_not_hold_up_others(notifier, receiver, tenant, nc):
    await subscribe(notifier, tenant, receiver, "/slow")
    await subscribe(notifier, tenant, receiver, "/broken")
    healthy = await subscribe(notifier, tenant, receiver, "/healthy")
    receiver.delays["/slow"] = 2.0
    receiver.script("/broken", *([500] * 5))
    alerts = [make_alert(tenant) for _ in range(5)]
    for alert in alerts:
        await publish_alert(nc, alert)
    got = await eventually(lambda: len(receiver.at("/healthy")) == 5 and receiver.at("/healthy"))
    assert {g.headers["webhook-id"] for g in got} == {a["id"] for a in alerts}
    slow = await eventually(lambda: receiver.at("/slow"))
    # every healthy delivery was answered before the slow endpoint answered its first request (2 s each):
    # the healthy ones never queued behind it (a property of order, not of how fast this host is)
    assert max(g.at for g in got) < min(s.at for s in slow)
    items = await eventually(lambda: _settled(notifier, tenant, healthy["id"], 5))
    assert all(i["status"] == "succeeded" for i in items)


async def test_manual_replay_sends_again_with_the_same_webhook_id(notifier, receiver, tenant, nc):
    sub = await subscribe(notifier, tenant, receiver, "/replay")
    alert = make_alert(tenant, "finding.opened", severity="high")
    await publish_alert(nc, alert)
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    reply = await notifier.client.replay_delivery(tenant, d["id"])
    assert reply["ok"] and reply["status"] == 202 and reply["result"]["status"] == "pending"
    await eventually(lambda: len(receiver.at("/replay")) == 2)
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    got = receiver.at("/replay")
    assert [g.headers["webhook-id"] for g in got] == [alert["id"], alert["id"]] and all(g.verified for g in got)
    assert d["replays"] == 1 and [e["replay"] for e in d["log"]] == [False, True]
    other = await notifier.client.replay_delivery("tsomeoneelse", d["id"])
    assert other["status"] == 404


async def test_subscriptions_receive_only_what_they_asked_for(notifier, receiver, tenant, nc):
    everything = await subscribe(notifier, tenant, receiver, "/all")
    one_company = await subscribe(notifier, tenant, receiver, "/other", companies=[OTHER_COMPANY])
    findings = await subscribe(notifier, tenant, receiver, "/findings", types=["finding.opened"])
    severe = await subscribe(notifier, tenant, receiver, "/severe", min_severity="high")
    sent = {
        "due_soon": make_alert(tenant, "obligation.due_soon"),  # medium by default
        "overdue_other": make_alert(tenant, "obligation.overdue", company=OTHER_COMPANY),  # high
        "finding_medium": make_alert(tenant, "finding.opened", severity="medium"),
        "finding_critical": make_alert(tenant, "finding.opened", severity="critical", company=OTHER_COMPANY),
    }
    for alert in sent.values():
        await publish_alert(nc, alert)
    # Each subscription is delivered on its own: wait for every one's expected count (a loaded host may
    # deliver /other well after /all), then a moment more so that a wrongly admitted extra would show.
    expected_counts = {"/all": 4, "/other": 2, "/findings": 2, "/severe": 2}
    await eventually(lambda: all(len(receiver.at(p)) >= n for p, n in expected_counts.items()))
    await asyncio.sleep(0.5)

    def ids(path: str) -> set[str]:
        return {g.headers["webhook-id"] for g in receiver.at(path)}

    assert ids("/all") == {a["id"] for a in sent.values()}
    assert ids("/other") == {sent["overdue_other"]["id"], sent["finding_critical"]["id"]}
    assert ids("/findings") == {sent["finding_medium"]["id"], sent["finding_critical"]["id"]}
    assert ids("/severe") == {sent["overdue_other"]["id"], sent["finding_critical"]["id"]}
    assert all(g.payload["data"]["company"] in (COMPANY, OTHER_COMPANY) for g in receiver.received)
    for sub, n in ((everything, 4), (one_company, 2), (findings, 2), (severe, 2)):
        assert len(await deliveries(notifier, tenant, sub["id"])) == n


async def test_a_redelivered_alert_is_delivered_once(notifier, receiver, tenant, nc):
    sub = await subscribe(notifier, tenant, receiver, "/once")
    alert = make_alert(tenant)
    await publish_alert(nc, alert)
    # the same alert again under another message id: JetStream cannot de-duplicate it, we must
    js = nc.jetstream()
    from ledger_kernel.canonical import canonical_json
    await js.publish(f"alerts.{tenant}.{COMPANY}.obligation_due_soon", canonical_json(alert),
                     headers={"Nats-Msg-Id": alert["id"] + "-again"})
    await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    await asyncio.sleep(0.4)
    assert len(receiver.at("/once")) == 1
    assert len(await deliveries(notifier, tenant, sub["id"])) == 1


async def test_the_address_is_checked_again_at_delivery_time(notifier, receiver, tenant, nc):
    """DNS rebinding: a target admitted at creation is refused if it now points somewhere forbidden."""
    sub = await subscribe(notifier, tenant, receiver, "/rebound")
    notifier.dispatcher.config = dataclasses.replace(notifier.dispatcher.config, allow_loopback=False)
    await publish_alert(nc, make_alert(tenant))
    [d] = await eventually(lambda: _settled(notifier, tenant, sub["id"]))
    assert d["status"] == "failed" and d["log"][0]["error"].startswith("target_loopback")
    await asyncio.sleep(0.2)
    assert receiver.at("/rebound") == []

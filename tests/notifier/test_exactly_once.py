"""Exactly once across crashes: ``python -m ledger_notifier`` is SIGKILLed at random moments while
alerts flow, restarted, and in the end every alert is delivered successfully once per subscriber.

What "once" means over HTTP: the notifier records exactly one successful delivery per
(alert, subscription), and the receiver — de-duplicating on ``webhook-id`` as the Standard
Webhooks spec intends — sees each alert exactly once. A kill in the few milliseconds between
an endpoint's 2xx and our commit can make the endpoint see the same webhook-id twice; the
test counts those repeats and bounds them (at most the deliveries in flight per kill).
Marked slow: each restart of a fresh interpreter costs several seconds of imports on CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest
from ledger_kernel.connection import connect
from notifier_support import make_alert, publish_alert

ALERTS = 120
KILLS = 3
CONCURRENCY = 8


class NotifierProcess:
    def __init__(self, env: dict[str, str], log_path) -> None:  # noqa: ANN001
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ledger_notifier"], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.output()
        self.proc.kill()  # SIGKILL: no goodbye, no flush
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


async def ready(nc, tenant: str, proc: NotifierProcess, within: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.proc.poll() is None, proc.output()
        try:
            reply = await nc.request("query.notifier", json.dumps({"op": "status", "tenant": tenant}).encode(),
                                     timeout=0.5)
            if json.loads(reply.data).get("ok"):
                return
        except Exception:  # noqa: BLE001  (no responders / timeout while it starts)
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("notifier not ready:\n" + proc.output())


@pytest.mark.slow
async def test_kill_at_random_points_and_every_alert_is_delivered_once(provisioned, receiver, tenant, tmp_path):
    rng = random.Random(int(os.environ.get("LEDGER_TEST_SEED", "0")) or None)
    db = tmp_path / "notifier.db"
    env = {**os.environ, "LEDGER_NATS_URL": provisioned.url, "LEDGER_HOME": str(tmp_path / "home"),
           "LEDGER_DATABASE_URL": f"sqlite:///{db}", "LEDGER_ENV": "test", "LEDGER_WEBHOOK_ALLOW_LOOPBACK": "1",
           "LEDGER_WEBHOOK_TIMEOUT": "2", "LEDGER_NOTIFIER_LEASE_MARGIN": "1", "LEDGER_NOTIFIER_POLL": "0.05",
           "LEDGER_NOTIFIER_CONCURRENCY": str(CONCURRENCY), "LEDGER_NOTIFIER_CONSUMER": f"notifier-{tenant}",
           "LEDGER_NOTIFIER_FILTER": f"alerts.{tenant}.>", "LEDGER_LOG_LEVEL": "WARNING",
           "LEDGER_NOTIFIER_ACK_WAIT": "3"}
    env.pop("LEDGER_CLOCK", None)
    proc = NotifierProcess(env, tmp_path / "notifier.log")
    nc = await connect(provisioned.url, "test-exactly-once")
    bus_ids: list[str] = []

    async def on_bus(msg) -> None:  # noqa: ANN001
        bus_ids.append(msg.headers["Nats-Msg-Id"])

    await nc.subscribe(f"notify.{tenant}.erp", cb=on_bus)
    try:
        started = time.monotonic()
        proc.start()
        await ready(nc, tenant, proc)
        print(f"\nfirst start ready in {time.monotonic() - started:.1f}s")
        subs = {}
        for path in ("/a", "/b"):
            reply = json.loads((await nc.request("cmd.notifier", json.dumps({
                "op": "subscription.create", "tenant": tenant,
                "subscription": {"channel": "webhook", "target": receiver.url(path)}}).encode(), timeout=5)).data)
            assert reply["status"] == 201, reply
            receiver.secrets[path] = reply["result"]["secret"]
            subs[path] = reply["result"]["id"]
        reply = json.loads((await nc.request("cmd.notifier", json.dumps({
            "op": "subscription.create", "tenant": tenant,
            "subscription": {"channel": "nats", "target": "erp"}}).encode(), timeout=5)).data)
        assert reply["status"] == 201
        receiver.script("/b", *([500] * 6))  # some retries in the mix, across the kills

        alerts = [make_alert(tenant, step=f"s{i}") for i in range(ALERTS)]

        async def publish_all() -> None:
            for alert in alerts:
                await publish_alert(nc, alert)
                await asyncio.sleep(rng.uniform(0.0, 0.04))

        publisher = asyncio.create_task(publish_all())
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            proc.kill()
            restarted = time.monotonic()
            proc.start()
            await ready(nc, tenant, proc)
            print(f"restart ready in {time.monotonic() - restarted:.1f}s")
        await publisher
        print(f"published at {time.monotonic() - started:.1f}s")

        expected = {"succeeded": 3 * ALERTS}

        async def settled() -> bool:
            reply = await nc.request("query.notifier", json.dumps({"op": "status", "tenant": tenant}).encode(),
                                     timeout=5)
            return json.loads(reply.data)["result"]["deliveries"] == expected

        deadline = time.monotonic() + 60
        while not await settled():
            assert time.monotonic() < deadline, proc.output()
            await asyncio.sleep(0.2)
        print(f"settled at {time.monotonic() - started:.1f}s")
        proc.stop()  # SIGTERM: a clean stop
        assert proc.proc.returncode == 0, proc.output()
    finally:
        proc.stop()
        await nc.close()

    alert_ids = {a["id"] for a in alerts}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT alert_id, subscription_id, status FROM notifier_deliveries").fetchall()
        wins = conn.execute("SELECT delivery_id, count(*) FROM notifier_attempts WHERE outcome = 'succeeded' "
                            "GROUP BY delivery_id").fetchall()
    assert len(rows) == 3 * ALERTS and len({(a, s) for a, s, _ in rows}) == 3 * ALERTS
    assert {a for a, _, _ in rows} == alert_ids and {st for _, _, st in rows} == {"succeeded"}
    assert len(wins) == 3 * ALERTS and {n for _, n in wins} == {1}, "a delivery recorded two successes"

    repeats = 0
    for path in ("/a", "/b"):
        got = receiver.at(path)
        assert all(g.verified for g in got)
        ok = Counter(g.headers["webhook-id"] for g in got if 200 <= g.status < 300)
        assert set(ok) == alert_ids, f"{path}: missing {len(alert_ids - set(ok))}"
        repeats += sum(n - 1 for n in ok.values())
    bus = Counter(bus_ids)
    assert set(bus) == alert_ids
    repeats += sum(n - 1 for n in bus.values())
    print(f"\n{ALERTS} alerts x 3 subscribers, {KILLS} SIGKILLs: {repeats} receiver-side repeats "
          f"(same webhook-id / Nats-Msg-Id, de-duplicable)")
    assert repeats <= KILLS * CONCURRENCY  # only what was in flight at each kill

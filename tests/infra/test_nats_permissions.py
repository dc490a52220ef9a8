"""The accounts in infra/nats/accounts.conf: each service user can do its job and nothing else.

One three-node cluster (cluster-local.conf) serves every test here. A refused publish or
subscription must come back as the server's permission error, and must change nothing.
"""

from __future__ import annotations

import asyncio
import json

import nats
import pytest
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import ALERTS, LEDGER
from local_cluster import LocalCluster
from nats.js.api import ConsumerConfig
from nats.js.errors import ServiceUnavailableError


@pytest.fixture(scope="module")
def cluster(provisioned_cluster: LocalCluster) -> LocalCluster:
    return provisioned_cluster


class Client:
    """A connection as one user, keeping the asynchronous errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: nats.NATS | None = None

    async def open(self, cluster: LocalCluster, user: str, node: str = "ledger-2") -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        self.nc = await nats.connect(cluster.url(node, user), error_cb=on_error, allow_reconnect=False)
        return self

    async def refused(self, what: str) -> str:
        """Wait for the server's error; nats-py lower-cases it, subject included."""
        for _ in range(40):
            if any(what.lower() in e.lower() for e in self.errors):
                return what
            await asyncio.sleep(0.025)
        raise AssertionError(f"no permission error {what!r}; got {self.errors}")


async def as_user(cluster: LocalCluster, user: str, node: str = "ledger-2") -> Client:
    return await Client().open(cluster, user, node)


async def request_across_nodes(nc, subject: str, payload: bytes):
    """A request to a responder on another node: its interest reaches this node asynchronously."""
    for _ in range(40):
        try:
            return await nc.request(subject, payload, timeout=5)
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nobody answered {subject}")


async def ledger_last_seq(cluster: LocalCluster) -> int:
    admin = await nats.connect(cluster.url("ledger-3", "admin"))
    try:
        return (await admin.jetstream().stream_info(LEDGER)).state.last_seq
    finally:
        await admin.close()


PUBLISH_REFUSED = [
    ("licences", "cmd.numbers"),                  # another service's commands
    ("numbers", "cmd.licences"),
    ("licences", "alerts.t1.c1.deadline"),        # only the projector raises alerts
    ("licences", "ledger.t1.c1.workforce.w1"),    # another service's aggregate type
    ("personnel", "ledger.t1.c1.licence.B2-1"),
    ("notifier", "checkpoints.ledger"),           # only the projector signs checkpoints
    ("gateway", "notify.t1.webhook"),             # only the notifier notifies
    ("licences", "$JS.API.STREAM.DELETE.LEDGER"),
    ("projector", "ledger.t1.c1.licence.x"),      # the projector writes only its own system facts
    ("projector", "cmd.licences"),
    ("notifier", "ledger.t1.c1.licence.x"),
    ("gateway", "ledger.t1.c1.licence.x"),        # facts enter only through their service
    ("gateway", "$JS.API.STREAM.PURGE.LEDGER"),
    ("reader", "ledger.t1.c1.licence.x"),         # external consumers are read-only
    ("reader", "cmd.licences"),
    ("reader", "$JS.API.STREAM.DELETE.LEDGER"),
    ("reader", "$JS.API.CONSUMER.CREATE.LEDGER"),
]


@pytest.mark.parametrize(("user", "subject"), PUBLISH_REFUSED)
async def test_publish_outside_a_users_subjects_is_refused_and_changes_nothing(cluster, user, subject):
    before = await ledger_last_seq(cluster)
    watcher = await as_user(cluster, "admin", node="ledger-1")
    seen = await watcher.nc.subscribe(subject)
    await watcher.nc.flush()
    client = await as_user(cluster, user)
    try:
        await client.nc.publish(subject, json.dumps({"tenant": "t1"}).encode(), headers={"Nats-Msg-Id": "x"})
        await client.nc.flush()
        assert await client.refused(f'permissions violation for publish to "{subject}"')
        with pytest.raises(nats.errors.TimeoutError):
            await seen.next_msg(timeout=0.2)
        assert await ledger_last_seq(cluster) == before
    finally:
        await client.nc.close()
        await watcher.nc.close()


SUBSCRIBE_REFUSED = [
    ("licences", "cmd.numbers"),
    ("notifier", "cmd.licences"),
    ("gateway", "cmd.licences"),
    ("reader", "cmd.>"),
]


@pytest.mark.parametrize(("user", "subject"), SUBSCRIBE_REFUSED)
async def test_subscribing_to_another_services_commands_is_refused(cluster, user, subject):
    client = await as_user(cluster, user)
    try:
        await client.nc.subscribe(subject)
        await client.nc.flush()
        assert await client.refused(f'permissions violation for subscription to "{subject}"')
    finally:
        await client.nc.close()


async def fetch_when_led(sub, within: float = 20.0) -> list:
    """A new replicated consumer answers 503 until its leader is elected: retry, as a real client does."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await sub.fetch(1, timeout=5)
        except ServiceUnavailableError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_each_service_user_can_do_its_job(cluster, tenant):
    """The gateway asks, licences answers and appends, the projector reads and alerts, the notifier consumes."""
    subject = f"ledger.{tenant}.91310115MA1K4B8N68.licence.B2-1"
    licences = await as_user(cluster, "licences", node="ledger-1")
    gateway = await as_user(cluster, "gateway", node="ledger-3")
    projector = await as_user(cluster, "projector")
    notifier = await as_user(cluster, "notifier", node="ledger-3")
    try:
        store = LedgerStore(licences.nc)

        async def answer(msg) -> None:  # a domain service: append, reply with the sequence
            appended = await store.append(subject, msg.data, msg_id=f"{tenant}-1", expected_last_subject_seq=0)
            await msg.respond(json.dumps({"ok": True, "ledger_sequence": appended.stream_seq}).encode())

        await licences.nc.subscribe("cmd.licences", queue="licences", cb=answer)
        await licences.nc.flush()
        reply = json.loads((await request_across_nodes(gateway.nc, "cmd.licences", b'{"fact": 1}')).data)
        assert reply["ok"] is True
        stored = await LedgerStore(projector.nc).read_all(subject)
        assert [(m.stream_seq, m.data) for m in stored] == [(reply["ledger_sequence"], b'{"fact": 1}')]

        pjs = projector.nc.jetstream()
        ack = await pjs.publish(f"alerts.{tenant}.91310115MA1K4B8N68.deadline", b'{"alert": 1}',
                                headers={"Nats-Msg-Id": f"{tenant}-alert-1"})
        assert ack.stream == ALERTS
        kv = await pjs.create_key_value(bucket="company_summaries", replicas=3)
        await kv.put(f"{tenant}.91310115MA1K4B8N68", b'{"risk": "low"}')
        summaries = await gateway.nc.jetstream().key_value("company_summaries")
        assert (await summaries.get(f"{tenant}.91310115MA1K4B8N68")).value == b'{"risk": "low"}'

        sub = await notifier.nc.jetstream().pull_subscribe(
            f"alerts.{tenant}.>", durable=f"notifier-{tenant}", stream=ALERTS,
            config=ConsumerConfig(filter_subject=f"alerts.{tenant}.>"))
        [alert] = await fetch_when_led(sub)
        assert alert.data == b'{"alert": 1}'
        await alert.ack_sync()
        for c in (licences, gateway, projector, notifier):
            assert c.errors == [], c.errors
    finally:
        for c in (licences, gateway, projector, notifier):
            await c.nc.close()


async def test_readers_see_the_ledger_through_imports_only(cluster, tenant):
    """Batched direct get, last-by-subject, stream info and the live feed work; nothing else exists for them."""
    subject = f"ledger.{tenant}.91310115MA1K4B8N68.licence.B2-2"
    writer = await as_user(cluster, "licences", node="ledger-1")
    reader = await as_user(cluster, "reader", node="ledger-3")
    follower = await as_user(cluster, "reader", node="ledger-1")  # the live feed, where it is published
    try:
        live = await follower.nc.subscribe(f"ledger.{tenant}.>")
        await follower.nc.flush()
        await asyncio.sleep(1.0)  # the import's interest settles across routes (flush answers for the local server only)
        first = await LedgerStore(writer.nc).append(subject, b'{"n": 1}', msg_id=f"{tenant}-r1",
                                                    expected_last_subject_seq=0)
        second = await LedgerStore(writer.nc).append(subject, b'{"n": 2}', msg_id=f"{tenant}-r2",
                                                     expected_last_subject_seq=first.stream_seq)
        got = {(m.subject, m.data) for m in [await live.next_msg(timeout=10), await live.next_msg(timeout=10)]}
        assert got == {(subject, b'{"n": 1}'), (subject, b'{"n": 2}')}

        for _ in range(50):  # a direct get may be answered by a replica a moment behind the leader
            stored = await LedgerStore(reader.nc).read_all(f"ledger.{tenant}.>")
            if len(stored) == 2:
                break
            await asyncio.sleep(0.05)
        assert [(m.stream_seq, m.msg_id) for m in stored] == [(first.stream_seq, f"{tenant}-r1"),
                                                              (second.stream_seq, f"{tenant}-r2")]
        last = None
        for _ in range(50):  # a replica that is catching up stops answering direct gets for a moment
            try:
                last = await reader.nc.jetstream().get_last_msg(LEDGER, subject, direct=True)
            except ServiceUnavailableError:
                last = None
            if last is not None and last.seq == second.stream_seq:
                break
            await asyncio.sleep(0.05)
        assert last is not None
        assert (last.seq, last.data) == (second.stream_seq, b'{"n": 2}')
        info = await reader.nc.jetstream(prefix="JS.ledger.API").stream_info(LEDGER)
        assert info.state.last_seq >= second.stream_seq
        assert reader.errors == [] and follower.errors == []
    finally:
        for c in (writer, reader, follower):
            await c.nc.close()

"""The embedded bus is closed: no anonymous client, and each user may publish only what its job needs.

Every refusal must be the server's permission error and must change nothing (LEDGER's last sequence,
the streams themselves). Users connect with ``server.url_as(user)``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import stat

import nats
import pytest
from ledger_kernel.bus_access import AGGREGATE_TYPES, SERVICES, USERS
from ledger_kernel.embedded import EmbeddedNats
from ledger_kernel.services import ServiceKind, discover, of_kind
from ledger_kernel.streams import ALERTS, LEDGER
from nats.js.errors import NotFoundError


class Client:
    """A connection as one user, keeping the asynchronous errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: nats.NATS | None = None

    async def open(self, url: str) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        self.nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False)
        return self

    async def refused(self, what: str) -> None:
        for _ in range(400):
            if any(what.lower() in e.lower() for e in self.errors):
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"no permission error {what!r}; got {self.errors}")


async def refusal_at_connect(url: str) -> str:
    """Why the server refuses a client. A refused client may see only a reset (the server closed while it
    still wrote CONNECT) and then tries again, until it reads the server's reason."""
    for _ in range(40):
        try:
            nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5)
        except ConnectionError:
            await asyncio.sleep(0.05)
            continue
        except nats.errors.Error as exc:
            return str(exc)
        await nc.close()
        raise AssertionError(f"{url.split('@')[0]}… connected")
    raise AssertionError("the connection was only ever reset, never refused with a reason")


async def test_an_anonymous_client_is_refused(provisioned: EmbeddedNats):
    assert "Authorization Violation" in await refusal_at_connect(provisioned.anonymous_url)
    guessed = provisioned.anonymous_url.replace("nats://", "nats://licences:guess@")  # nor a guessed password
    assert "Authorization Violation" in await refusal_at_connect(guessed)


def test_keys_are_the_owners_alone(provisioned: EmbeddedNats):
    keys = provisioned.home / "keys"
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(keys / "nats").st_mode) == 0o700
    files = sorted((keys / "nats").glob("*.password"))
    assert {f.stem for f in files} == {u.name for u in USERS}
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(os.stat(provisioned.home / "nats-server.conf").st_mode) == 0o600
    assert len({f.read_text() for f in files}) == len(files)  # one password each


OTHERS = [u.name for u in SERVICES]
PUBLISH_REFUSED = [
    ("licences", "ledger.t1.c1.workforce.w1"),     # personnel's aggregate type
    ("personnel", "ledger.t1.c1.licence.B2-1"),    # licences' aggregate type
    ("numbers", "ledger.t1.c1.penalty.p1"),
    ("premises", "ledger._system._calendar.calendar.2026"),  # system facts are the projector's
    ("gateway", "ledger.t1.c1.licence.B2-1"),      # facts enter only through their service
    ("notifier", "ledger.t1.c1.licence.B2-1"),
    ("projector", "ledger.t1.c1.licence.B2-1"),    # the projector writes only system facts
    ("cli", "ledger.t1.c1.licence.B2-1"),
    ("licences", "cmd.personnel"),                 # another service's commands
    *[(u, "alerts.t1.c1.deadline") for u in OTHERS if u != "projector"] + [("cli", "alerts.t1.c1.deadline")],
    *[(u, "notify.t1.webhook") for u in OTHERS if u != "notifier"] + [("cli", "notify.t1.webhook")],
    *[(u, "checkpoints.ledger") for u in OTHERS if u != "projector"] + [("cli", "checkpoints.ledger")],
]


@pytest.mark.parametrize(("user", "subject"), PUBLISH_REFUSED)
async def test_a_publish_outside_a_users_subjects_is_refused(provisioned: EmbeddedNats, nc, user, subject):
    before = (await nc.jetstream().stream_info(LEDGER)).state.last_seq
    seen = await nc.subscribe(subject)  # the admin watches: nothing may arrive
    await nc.flush()
    client = await Client().open(provisioned.url_as(user))
    try:
        await client.nc.publish(subject, json.dumps({"forged": True}).encode())
        await client.nc.flush()
        await client.refused(f'permissions violation for publish to "{subject}"')
        with pytest.raises(nats.errors.TimeoutError):
            await seen.next_msg(timeout=0.3)
        assert (await nc.jetstream().stream_info(LEDGER)).state.last_seq == before
    finally:
        await client.nc.close()
        await seen.unsubscribe()


@pytest.mark.parametrize("user", [*OTHERS, "cli", "stack"])
@pytest.mark.parametrize("action", ["DELETE", "PURGE"])
async def test_no_service_may_delete_or_purge_a_stream(provisioned: EmbeddedNats, nc, user, action):
    client = await Client().open(provisioned.url_as(user))
    try:
        for stream in (LEDGER, ALERTS):
            subject = f"$JS.API.STREAM.{action}.{stream}"
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                await client.nc.request(subject, b"{}", timeout=0.5)
            await client.refused(f'permissions violation for publish to "{subject}"')
        for stream in (LEDGER, ALERTS):  # both still there
            assert (await nc.jetstream().stream_info(stream)).config.name == stream
    finally:
        await client.nc.close()


@pytest.mark.parametrize("user", [*OTHERS, "cli"])
async def test_no_service_may_create_a_stream(provisioned: EmbeddedNats, nc, user):
    client = await Client().open(provisioned.url_as(user))
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await client.nc.request("$JS.API.STREAM.CREATE.SHADOW",
                                    json.dumps({"name": "SHADOW", "subjects": ["shadow.>"]}).encode(), timeout=0.5)
        await client.refused('permissions violation for publish to "$js.api.stream.create.shadow"')
        with pytest.raises(NotFoundError):
            await nc.jetstream().stream_info("SHADOW")
    finally:
        await client.nc.close()


async def test_a_service_may_append_its_own_aggregate_type(provisioned: EmbeddedNats, nc, tenant):
    """The other side of the refusals: licences appends a licence, the projector raises an alert."""
    licences = await Client().open(provisioned.url_as("licences"))
    projector = await Client().open(provisioned.url_as("projector"))
    try:
        ack = await licences.nc.jetstream().publish(f"ledger.{tenant}.c1.licence.B2-1", b"{}")
        assert ack.stream == LEDGER and ack.seq > 0
        alert = await projector.nc.jetstream().publish(f"alerts.{tenant}.c1.deadline", b"{}")
        assert alert.stream == ALERTS
        assert licences.errors == [] and projector.errors == []
    finally:
        await licences.nc.close()
        await projector.nc.close()


def test_every_aggregate_type_belongs_to_the_service_that_owns_it():
    """A domain service's spec declares exactly the aggregates it folds, and bus_access grants exactly those."""
    domain = of_kind(ServiceKind.domain)
    assert set(AGGREGATE_TYPES) == {spec.name for spec in domain} and domain
    for spec in domain:
        module = importlib.import_module(f"{spec.module}.aggregates")
        owned = {a.aggregate_type for a in module.AGGREGATES.values()}
        assert owned == set(spec.aggregates) == set(AGGREGATE_TYPES[spec.name]), spec.name


def test_every_installed_service_is_one_bus_user_of_its_own_name():
    assert [u.name for u in SERVICES] == [spec.name for spec in discover()]
    assert {u.name for u in USERS} >= {"admin", "cli", "stack", *(spec.name for spec in discover())}

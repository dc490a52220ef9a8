"""``ledger stream-credentials create``: a read-only consumer of one tenant's ledger, against the running server.

The credentials file is used as a consumer would use it with nats-py (docs/operations.md, "Security
model"): a pull consumer named like the credential, replies under its own inbox prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import nats
import pytest
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.streams import LEDGER, provision
from typer.testing import CliRunner


@pytest.fixture
async def running(tmp_path: Path):
    """A `ledger up`-like embedded server on LEDGER_HOME, with the streams, and the CLI's environment."""
    home = tmp_path / "home"
    server = EmbeddedNats(home, free_port())
    server.start()
    admin = await connect(server.url, "test-admin")
    await provision(admin)
    env = {"LEDGER_HOME": str(home), "LEDGER_NATS_PORT": str(server.port), "LEDGER_NATS_URL": "",
           "LEDGER_DATABASE_URL": f"sqlite:///{home / 'ledger.db'}", "COLUMNS": "220"}
    try:
        yield server, admin, env
    finally:
        await admin.close()
        server.stop()


async def ledger(env: dict[str, str], *args: str):
    from ledger_cli.main import app

    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env, catch_exceptions=False)


async def new_tenant(env: dict[str, str], name: str) -> str:
    result = await ledger(env, "tenant", "create", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["tenant"]


class Reader:
    def __init__(self, creds: dict) -> None:
        self.creds = creds
        self.errors: list[str] = []

    async def open(self) -> nats.NATS:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        self.nc = await nats.connect(self.creds["url"], inbox_prefix=self.creds["inbox_prefix"],
                                     error_cb=on_error, allow_reconnect=False)
        return self.nc

    async def refused(self, what: str) -> None:
        for _ in range(400):
            if any(what.lower() in e for e in self.errors):
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"no permission error {what!r}; got {self.errors}")


async def test_stream_credentials_read_their_tenant_only_and_write_nothing(running):
    server, admin, env = running
    mine, other = await new_tenant(env, "Reader Co"), await new_tenant(env, "Other Co")
    js = admin.jetstream()
    for tenant in (mine, other):
        await js.publish(f"ledger.{tenant}.c1.licence.B2-1", json.dumps({"tenant": tenant}).encode())

    result = await ledger(env, "stream-credentials", "create", "--tenant", mine)
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    creds = json.loads(await asyncio.to_thread(path.read_text))
    assert creds["subjects"] == f"ledger.{mine}.>" and creds["stream"] == LEDGER

    reader = Reader(creds)
    nc = await reader.open()
    try:
        # a durable pull consumer filtered to its tenant: the whole history of that tenant, nothing else
        sub = await nc.jetstream().pull_subscribe(creds["subjects"], durable=creds["consumer"], stream=LEDGER,
                                                  inbox_prefix=(creds["inbox_prefix"] + ".").encode())
        msgs = await sub.fetch(10, timeout=10)
        assert [json.loads(m.data)["tenant"] for m in msgs] == [mine]
        await msgs[0].ack()
        # the live feed of its tenant, not another's
        await nc.subscribe(f"ledger.{other}.>")
        await nc.flush()
        await reader.refused(f'permissions violation for subscription to "ledger.{other}.>"')

        # a consumer on another tenant's facts is refused
        before = (await js.stream_info(LEDGER)).state.last_seq
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.request(f"$JS.API.CONSUMER.CREATE.LEDGER.{creds['consumer']}.ledger.{other}.>", b"{}",
                             timeout=0.5)
        await reader.refused(f'permissions violation for publish to "$js.api.consumer.create.ledger.'
                             f'{creds["consumer"]}.ledger.{other}.>"'.lower())
        # and it writes nothing: no fact, no command, no alert, no notification, no stream change
        for subject in (f"ledger.{mine}.c1.licence.B2-1", "cmd.licences", f"alerts.{mine}.c1.deadline",
                        f"notify.{mine}.x", "$JS.API.STREAM.DELETE.LEDGER", "$JS.API.STREAM.PURGE.LEDGER"):
            await nc.publish(subject, b"{}")
            await nc.flush()
            await reader.refused(f'permissions violation for publish to "{subject}"'.lower())
        assert (await js.stream_info(LEDGER)).state.last_seq == before
    finally:
        await nc.close()

    revoked = await ledger(env, "stream-credentials", "revoke", creds["user"])
    assert revoked.exit_code == 0, revoked.output
    for _ in range(100):  # the reload is asynchronous
        try:
            again = await nats.connect(creds["url"], allow_reconnect=False, max_reconnect_attempts=0)
        except nats.errors.Error as exc:
            assert "authorization violation" in str(exc).lower()
            break
        except ConnectionError:
            # the server refused and closed before the client read why (a reset while it wrote CONNECT):
            # try again until the refusal is read as such
            await asyncio.sleep(0.1)
            continue
        await again.close()
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("revoked credentials still connect")


async def test_stream_credentials_for_an_unknown_tenant_are_refused(running):
    _, _, env = running
    result = await ledger(env, "stream-credentials", "create", "--tenant", "tnosuchtenant")
    assert result.exit_code == 2
    assert "no tenant" in result.output
    assert not (Path(env["LEDGER_HOME"]) / "keys" / "nats" / "readers").exists()

"""A server older than 2.11 is refused, saying why; settings keep two stacks apart."""

from __future__ import annotations

import asyncio
import json
import socket

import nats
import pytest
from ledger_kernel.settings import Settings, SettingsError
from ledger_kernel.streams import ServerTooOld, check_server, parse_version, provision


async def _old_server(version: str, jetstream: bool = True):
    """A protocol-level NATS peer announcing an old version: enough for a client to connect."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info = {"server_id": "OLD", "version": version, "proto": 1, "max_payload": 1048576,
                "headers": True, "jetstream": jetstream}
        writer.write(f"INFO {json.dumps(info)}\r\n".encode())
        await writer.drain()
        try:
            while line := await reader.readline():
                if line.startswith(b"PING"):
                    writer.write(b"PONG\r\n")
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("version", ["2.9.25", "2.10.22"])
async def test_old_server_is_refused_with_the_reason(version):
    server = await _old_server(version)
    port = server.sockets[0].getsockname()[1]
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        with pytest.raises(ServerTooOld) as info:
            await provision(nc)
        message = str(info.value)
        assert version in message and "2.11" in message and "过旧" in message
    finally:
        await nc.close()
        server.close()


async def test_server_without_jetstream_is_refused():
    server = await _old_server("2.12.0", jetstream=False)
    port = server.sockets[0].getsockname()[1]
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        with pytest.raises(ServerTooOld, match="JetStream"):
            check_server(nc)
    finally:
        await nc.close()
        server.close()


async def test_the_machines_own_old_nats_is_refused_if_present():
    """This machine may run a NATS 2.9 on 4222: the ledger must refuse it, not misbehave on it."""
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=0.5) as s:
            info = json.loads(s.recv(4096).split(b" ", 1)[1])
    except (OSError, ValueError, IndexError):
        pytest.skip("no NATS server on 127.0.0.1:4222 to try")
    if parse_version(info["version"]) >= (2, 11, 0):
        pytest.skip(f"the NATS on 4222 is {info['version']}, not an old one")
    nc = await nats.connect("nats://127.0.0.1:4222", allow_reconnect=False)
    try:
        with pytest.raises(ServerTooOld, match=info["version"]):
            await provision(nc)
    finally:
        await nc.close()


async def test_provision_is_idempotent_and_accepts_the_wheel_server(nc):
    await provision(nc)
    await provision(nc)
    assert check_server(nc) >= (2, 11, 0)


def test_settings_defaults_and_overrides(tmp_path):
    s = Settings.from_env({"LEDGER_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.embedded and s.nats_port == 4333 and s.http_port == 8000
    assert s.database_url == f"sqlite:///{tmp_path / 'ledger.db'}"
    assert s.effective_nats_url == "nats://127.0.0.1:4333"
    other = Settings.from_env({"LEDGER_HOME": str(tmp_path / "b"), "LEDGER_NATS_PORT": "4444",
                               "LEDGER_HTTP_PORT": "8081", "LEDGER_DATABASE_URL": "postgresql://x/y"})
    assert (other.nats_port, other.http_port, other.database_url) == (4444, 8081, "postgresql://x/y")
    assert Settings.from_env({"LEDGER_NATS_URL": "nats://h:1"}).embedded is False


@pytest.mark.parametrize("env,needle", [
    ({"LEDGER_NATS_PORT": "abc"}, "LEDGER_NATS_PORT must be a TCP port.*got .abc."),
    ({"LEDGER_HTTP_PORT": "70000"}, "TCP port"),
    ({"LEDGER_ENV": "production", "LEDGER_CLOCK": "2026-01-01T00:00:00+08:00"}, "refused"),
    ({"LEDGER_REPLICAS": "2"}, "REPLICAS"),
])
def test_bad_settings_say_why(env, needle):
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env(env)


def test_cluster_urls_share_their_credentials():
    from ledger_kernel.connection import split_servers

    servers, creds = split_servers("nats://svc:p%40ss@n1:4222, nats://n2:4223,n3")
    assert servers == ["nats://n1:4222", "nats://n2:4223", "nats://n3:4222"]
    assert creds == {"user": "svc", "password": "p@ss"}
    assert split_servers("nats://127.0.0.1:4333") == (["nats://127.0.0.1:4333"], {})

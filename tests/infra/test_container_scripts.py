"""The scripts every image carries (infra/container/): the provision job and the readiness probe.

Run as subprocesses with the service's own environment, against the local three-node
cluster and a real HTTP server, exactly as docker-compose.yml runs them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nats
import pytest
from ledger_kernel.streams import ALERTS, LEDGER
from local_cluster import REPO

SCRIPTS = REPO / "infra" / "container"


async def run(script: str, *args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPTS / script), *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return proc.returncode, out.decode()


async def test_provision_creates_three_replica_streams_once_and_checks_them_after(local_cluster):
    env = {"LEDGER_NATS_URL": local_cluster.url("ledger-2", "admin"), "LEDGER_REPLICAS": "3", "LEDGER_ENV": "production"}
    # straight after start-up: the job itself waits for the cluster's meta leader
    code, out = await run("provision.py", env=env)
    assert code == 0, out
    assert "LEDGER: replicas=3" in out and "ALERTS: replicas=3" in out and "KV_company_summaries: replicas=3" in out
    nc = await nats.connect(local_cluster.url("ledger-3", "admin"))
    try:
        for name in (LEDGER, ALERTS):
            info = await nc.jetstream().stream_info(name)
            assert info.config.num_replicas == 3 and info.config.deny_delete and info.config.deny_purge
        summaries = await nc.jetstream().stream_info("KV_company_summaries")
        assert summaries.config.num_replicas == 3 and summaries.config.max_msgs_per_subject == 1
    finally:
        await nc.close()
    code, out = await run("provision.py", env=env)  # a second run checks, changes nothing
    assert code == 0, out


async def test_provision_gives_up_saying_why(local_cluster):
    env = {"LEDGER_NATS_URL": local_cluster.url("ledger-1", "admin").replace("pw-", "wrong-"),
           "LEDGER_REPLICAS": "3", "LEDGER_PROVISION_TIMEOUT": "2"}
    code, out = await run("provision.py", env=env)
    assert code == 1
    assert "provision gave up after 2s" in out
    assert "wrong-" not in out  # no password in the output


@pytest.mark.parametrize(("reply", "ready"), [
    (b'{"ok": false, "status": 400, "code": "malformed_request"}', True),  # a structured refusal is an answer
    (b'{"ok": true}', True),
    (b"garbage", False),
    (None, False),  # nobody answers
])
async def test_probe_asks_the_service_as_the_containers_own_user(provisioned_cluster, reply, ready):
    local_cluster = provisioned_cluster
    service = await nats.connect(local_cluster.url("ledger-1", "licences"))
    try:
        if reply is not None:
            async def answer(msg):
                await msg.respond(reply)

            await service.subscribe("cmd.licences", queue="licences", cb=answer)
            await service.flush()
        env = {"LEDGER_NATS_URL": local_cluster.url("ledger-2", "licences"), "LEDGER_PROBE_TIMEOUT": "1"}
        code, out = await run("probe.py", "request", "cmd.licences", env=env)
        assert (code == 0) is ready, out
        if not ready:
            assert out.startswith("not ready: ")
    finally:
        await service.close()


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(json.dumps({"status": "ok"}).encode())

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("path", "ready"), [("/healthz", True), ("/nothing", False)])
async def test_probe_checks_the_gateways_health_over_http(path, ready):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, out = await run("probe.py", "http", f"http://127.0.0.1:{server.server_port}{path}", env={})
        assert (code == 0) is ready, out
    finally:
        server.shutdown()
        server.server_close()
    code, out = await run("probe.py", "http", f"http://127.0.0.1:{server.server_port}/healthz", env={})
    assert code == 1 and "failed" in out  # nothing listens any more

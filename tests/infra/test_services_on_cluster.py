"""The real services, each as its own process and its own NATS user, on the three-node cluster.

This is the compose deployment without Docker: ``python -m ledger_<name>`` with the
environment docker-compose.yml gives it (LEDGER_NATS_URL with the service's user,
LEDGER_REPLICAS=3), readiness by the containers' probe, then facts through the gateway's
HTTP API and the read model back. It fails if the accounts in infra/nats/accounts.conf
keep a service from doing its job.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ledger_kernel.embedded import free_port
from local_cluster import REPO, LocalCluster

pytestmark = pytest.mark.slow

SERVICES = ("licences", "projector", "notifier", "gateway")
USCC = "91310115MA1K4B8N68"
FACTS = [
    {"type": "company.registered", "company": USCC, "effective_date": "2021-06-01",
     "data": {"name": "上海某客服外包有限公司", "registered_capital": 12000000, "province": "31",
              "industry": "other", "business_scope": ["呼叫中心业务"]}},
    {"type": "licence.issued", "company": USCC, "effective_date": "2022-03-15",
     "data": {"licence_no": "B2-20220315", "category": "B24", "scope": "nationwide", "provinces": [],
              "issued_on": "2022-03-15", "expires_on": "2027-03-14", "authority": "MIIT"}},
]


def service_env(cluster: LocalCluster, home: Path, service: str, node: str, http_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "OTEL_"))}
    return {**env, "LEDGER_NATS_URL": cluster.url(node, service), "LEDGER_REPLICAS": "3", "LEDGER_ENV": "test",
            "LEDGER_HOME": str(home / service), "LEDGER_HTTP_PORT": str(http_port),
            "LEDGER_DATABASE_URL": f"sqlite:///{home / service / 'state.db'}"}


def spawn(service: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``python -m ledger_<service>``, as its container runs it."""
    Path(env["LEDGER_HOME"]).mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", f"ledger_{service}"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


async def probe(env: dict[str, str], *args: str) -> bool:
    proc = await asyncio.create_subprocess_exec(sys.executable, str(REPO / "infra/container/probe.py"), *args,
                                                env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    return await proc.wait() == 0


async def test_services_do_their_jobs_as_their_own_nats_users(provisioned_cluster, tmp_path):
    cluster = provisioned_cluster
    http_port = free_port()
    procs: dict[str, subprocess.Popen] = {}
    envs: dict[str, dict[str, str]] = {}
    for i, service in enumerate(SERVICES):
        envs[service] = service_env(cluster, tmp_path, service, cluster.nodes[i % 3].name, http_port)
    # an operator creates a tenant in the gateway's database (`ledger tenant create`, the ops image in compose)
    from ledger_gateway.database import migrate
    from ledger_gateway.tenancy import create_tenant

    Path(envs["gateway"]["LEDGER_HOME"]).mkdir(parents=True)  # noqa: ASYNC240 (before anything runs)
    _, issued = await asyncio.to_thread(create_tenant, migrate(envs["gateway"]["LEDGER_DATABASE_URL"]), "Infra test")
    key = issued.key
    try:
        for service, env in envs.items():
            procs[service] = spawn(service, env, tmp_path / f"{service}.log")
        checks = {"licences": ("request", "cmd.licences"), "projector": ("request", "query.projector", '{"op": "status"}'),
                  "notifier": ("request", "query.notifier", "{}"),
                  "gateway": ("http", f"http://127.0.0.1:{http_port}/healthz")}
        started = time.monotonic()
        deadline = started + 40
        for service, check in checks.items():
            while not await probe(envs[service], *check):
                assert procs[service].poll() is None, \
                    f"{service} exited: {(tmp_path / f'{service}.log').read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"{service} never became ready"
                await asyncio.sleep(0.3)
            print(f"{service} ready after {time.monotonic() - started:.1f}s")

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}",
                                     headers={"Authorization": f"Bearer {key}"}, timeout=15) as http:
            sequences = []
            for n, fact in enumerate(FACTS):
                answer = await http.post("/v1/facts", json=fact, headers={"Idempotency-Key": f"infra-{n}"})
                assert answer.status_code == 201, answer.text
                sequences.append(int(answer.headers["Ledger-Sequence"]))
            summary = await http.get(f"/v1/companies/{USCC}", params={"min_sequence": max(sequences)})
            assert summary.status_code == 200, summary.text
            assert summary.json()["uscc"] == USCC
        print(f"facts recorded and read back after {time.monotonic() - started:.1f}s")
        for service, proc in procs.items():
            log = (tmp_path / f"{service}.log").read_text(errors="replace").lower()
            assert "permissions violation" not in log, f"{service}: {log[-3000:]}"
            assert proc.poll() is None, f"{service} died"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

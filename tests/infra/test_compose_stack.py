"""The whole compose stack, brought up for real with testcontainers (needs a Docker engine).

Builds every image, waits for every health check (start order included), then checks
that the cluster holds LEDGER with three replicas, the gateways answer over HTTP, and the
trace viewer runs. Skipped, saying why, where no Docker engine is reachable.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import nats
import pytest
from ledger_kernel.embedded import free_port
from ledger_kernel.streams import ALERTS, LEDGER
from local_cluster import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def docker_engine() -> tuple[bool, str]:
    """The same question as tests/conftest.py's docker_available(): can a client ping an engine?"""
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # no engine: the client cannot even connect
        return False, f"no Docker engine reachable ({type(exc).__name__}); the compose bring-up needs one"
    try:
        subprocess.run(["docker", "compose", "version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False, "the docker compose plugin is not installed; the compose bring-up needs it"
    return True, ""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    ok, why = docker_engine()
    if not ok:
        print(f"\nSKIP compose bring-up: {why}")
        pytest.skip(why)
    from testcontainers.compose import DockerCompose

    env_file = Path(tmp_path_factory.mktemp("compose")) / "stack.env"
    secrets = subprocess.run(["sh", str(REPO / "infra/compose-env.sh")], capture_output=True, text=True,
                             check=True).stdout
    ports = {name: free_port() for name in ("LEDGER_NATS_HOST_PORT", "LEDGER_NATS_MONITOR_PORT", "LEDGER_HTTP_PORT_1",
                                            "LEDGER_HTTP_PORT_2", "LEDGER_PROMETHEUS_PORT", "LEDGER_TRACES_UI_PORT")}
    env_file.write_text(secrets + "".join(f"{k}={v}\n" for k, v in ports.items()))
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    compose = DockerCompose(REPO, compose_file_name="docker-compose.yml", env_file=str(env_file),
                            build=True, wait=True)
    with compose:
        yield compose, values


def test_every_container_is_up_and_healthy(stack):
    compose, _ = stack
    containers = compose.get_containers(include_all=True)
    by_service: dict[str, list] = {}
    for c in containers:
        by_service.setdefault(c.Service, []).append(c)
    for service in ("licences", "numbers", "personnel", "premises", "penalties"):
        assert len(by_service[service]) == 2, f"{service}: {len(by_service[service])} instances"
    for service, found in by_service.items():
        for c in found:
            if service == "provision":
                assert c.State == "exited" and c.ExitCode == 0, (c.Name, c.State, c.ExitCode)
            else:
                assert c.State == "running", (c.Name, c.State)
                assert c.Health in ("", "healthy"), (c.Name, c.Health)


async def test_ledger_has_three_replicas_on_the_cluster(stack):
    _, env = stack
    nc = await nats.connect(f"nats://admin:{env['NATS_PW_ADMIN']}@127.0.0.1:{env['LEDGER_NATS_HOST_PORT']}")
    try:
        for name in (LEDGER, ALERTS):
            info = await nc.jetstream().stream_info(name)
            assert info.config.num_replicas == 3
            assert info.cluster.leader in {"nats-1", "nats-2", "nats-3"}
            assert all(p.current for p in info.cluster.replicas)
    finally:
        await nc.close()


def test_gateways_and_trace_viewer_answer(stack):
    _, env = stack
    for port in (env["LEDGER_HTTP_PORT_1"], env["LEDGER_HTTP_PORT_2"]):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200 and json.load(response)["status"] == "ok"
    with urllib.request.urlopen(f"http://127.0.0.1:{env['LEDGER_TRACES_UI_PORT']}/api/services", timeout=10) as r:
        assert r.status == 200

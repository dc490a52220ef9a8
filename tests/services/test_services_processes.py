"""Each service runs as its own process (``python -m ledger_<service>``) and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import pytest
from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.examples import example_fact
from ledger_kernel.connection import connect
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from services_support import SERVICES, request


def first_type_of(service: str) -> str:
    return next(t for t, spec in CATALOGUE.items() if spec.owner.value == service)


async def run_alone(names: tuple[str, ...], server, tenant, tmp_path) -> None:
    """Start each service as ``python -m ledger_<name>``, record one fact through it, SIGTERM it: exit 0.

    ``server`` is a fresh nats-server without streams: the service provisions LEDGER itself, and no
    mounted service of the test session can answer in its place.
    """
    nc = await connect(server.url, "process-test")
    env = {**os.environ, "LEDGER_NATS_URL": server.url, "LEDGER_ENV": "test", "LEDGER_HOME": str(tmp_path),
           "LEDGER_CLOCK": "2026-11-23T09:00:00+08:00", "LEDGER_LOG_LEVEL": "WARNING"}
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in names}  # noqa: ASYNC230, SIM115 (closed below)
    procs = {name: await asyncio.create_subprocess_exec(sys.executable, "-m", f"ledger_{name}", env=env,
                                                        stdout=logs[name], stderr=logs[name])
             for name in names}

    def log_of(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")[-2000:]

    try:
        for name, proc in procs.items():
            fact = example_fact(first_type_of(name))
            deadline = time.monotonic() + 90
            while True:
                assert proc.returncode is None, log_of(name)
                try:
                    msg = await nc.request(f"cmd.{name}", request(tenant, fact, f"proc-{name}"), timeout=5)
                    break
                except (NoRespondersError, NatsTimeout):
                    assert time.monotonic() < deadline, f"{name} did not answer within 90 s: {log_of(name)}"
                    await asyncio.sleep(0.2)
            reply = json.loads(msg.data)
            assert reply["ok"] is True and reply["type"] == fact["type"], reply
            assert reply["aggregate"].startswith(f"ledger.{tenant}.")
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        codes = {name: await asyncio.wait_for(proc.wait(), 30) for name, proc in procs.items()}
        for handle in logs.values():
            handle.close()
        await nc.close()
    assert codes == dict.fromkeys(names, 0), {n: log_of(n) for n in names}


async def test_the_licences_service_runs_alone_in_its_own_process(fresh_nats, tenant, tmp_path):
    await run_alone(("licences",), fresh_nats, tenant, tmp_path)


@pytest.mark.slow
async def test_the_other_services_run_alone_in_their_own_processes(fresh_nats, tenant, tmp_path):
    """Slow only because four interpreters import faststream and pydantic at once on a small machine."""
    await run_alone(tuple(s for s in SERVICES if s != "licences"), fresh_nats, tenant, tmp_path)


async def test_in_production_a_service_refuses_to_start_without_provisioned_streams(fresh_nats, tmp_path):
    """Production services may not create streams (infra/nats/accounts.conf): they check and say why."""
    env = {**os.environ, "LEDGER_NATS_URL": fresh_nats.url, "LEDGER_ENV": "production",
           "LEDGER_HOME": str(tmp_path)}
    env.pop("LEDGER_CLOCK", None)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ledger_penalties", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode != 0
    text = out.decode(errors="replace")
    assert "stream LEDGER does not exist" in text and "流 LEDGER 不存在" in text
    nc = await connect(fresh_nats.url, "check")
    try:
        assert (await nc.jetstream().account_info()).streams == 0  # nothing was created
    finally:
        await nc.close()

"""Every scenario (tests/scenarios and the projector's own tests/projector/scenarios) end to end: facts in through
the domain services over NATS ``cmd.<service>``, answers out through ``query.projector``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import pytest_asyncio
from ledger_kernel.runtime import Mounted
from ledger_projector.service import ProjectorService

from projector.ledger_facts import CommandRecorder
from projector.scenario_runner import as_of, check, load, scenario_files

SERVICES = ("licences", "numbers", "personnel", "premises", "penalties")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def domain_stack(provisioned, tmp_path_factory):
    from datetime import UTC, datetime

    from ledger_kernel.clock import FixedClock
    from ledger_kernel.settings import Settings

    home = tmp_path_factory.mktemp("scenarios")
    settings = Settings.from_env({"LEDGER_HOME": str(home), "LEDGER_ENV": "test", "LEDGER_NATS_URL": provisioned.url})
    clock = FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    services = [importlib.import_module(f"ledger_{name}.service").build() for name in SERVICES]
    projector = ProjectorService(tick_interval=0, alert_settle=0, poll_interval=0.02)
    async with Mounted([*services, projector], settings, clock=clock) as mounted:
        yield mounted, projector, clock


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_scenario(path: Path, domain_stack, tenant):
    mounted, projector, clock = domain_stack
    scenario = load(path)
    clock.set(as_of(scenario))
    recorder = CommandRecorder(mounted.broker.connection)
    last = 0
    for fact in scenario["facts"]:
        last = await recorder.record(tenant, fact)
    assert await projector.wait_for(last, 30), f"projector did not reach {last}"
    problems = await check(mounted.broker.connection, tenant, scenario)
    assert not problems, f"{scenario['name']}:\n" + "\n".join(problems)

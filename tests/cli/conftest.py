"""The CLI against a live stack (the gateway tests' harness): commands run in a worker thread, so the
stack keeps serving on the test's event loop while a command waits for its answer."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from gateway_harness import LiveStack, run_stack  # noqa: E402
from typer.testing import CliRunner  # noqa: E402


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveStack]:
    async for live in run_stack(tmp_path_factory.mktemp("cli-stack")):
        yield live


@pytest.fixture
def ledger(stack: LiveStack):
    """Run ``ledger ARGS`` in a thread against the live stack's database; returns the click Result."""
    from ledger_cli.main import app

    env = {"LEDGER_DATABASE_URL": stack.settings.database_url, "LEDGER_HOME": str(stack.settings.home),
           "LEDGER_HTTP_PORT": str(stack.settings.http_port), "COLUMNS": "220", "LEDGER_API_KEY": ""}

    async def run(*args: str, **extra_env: str):
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, app, list(args), env={**env, **extra_env},
                                       catch_exceptions=False)

    return run


@pytest.fixture
def tenant_key(stack: LiveStack) -> tuple[str, str]:
    return stack.new_tenant("cli")

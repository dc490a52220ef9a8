"""``ledger up``: the embedded stack — nats-server from the wheel, streams, every installed service.

The services are the installed packages' ``ledger.services`` entry points (``ledger_kernel.services``),
started in their kind's order (domain services, projector, notifier, gateway).

Services run as separate processes by default (as they would in production), each as its own
bus user (``ledger_kernel.bus_access``), supervised: a crashed service is restarted with a backoff
while the others keep serving (``ledger_cli.supervisor``); a crash-looping one stops the stack.
``--single-process`` runs them all in this process. Ctrl-C stops everything cleanly; the data
stays under LEDGER_HOME for the next ``ledger up``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import typer
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, EmbeddedServerError
from ledger_kernel.runtime import Mounted
from ledger_kernel.services import discover
from ledger_kernel.settings import Settings, SettingsError
from ledger_kernel.streams import provision
from ledger_kernel.supervision import SUPERVISION_FILE
from ledger_kernel.telemetry import setup_logging
from rich.console import Console

from ledger_cli.supervisor import Command, CrashLoop, Supervisor

console = Console(stderr=True)


async def prepare(settings: Settings) -> None:
    """Streams exist with their append-only settings (refuses a server older than 2.11).

    The only place the admin credential is used: no service may create, delete or purge a stream.
    """
    url = settings.embedded_url_as("admin") if settings.embedded else settings.effective_nats_url
    nc = await connect(url, "ledger-up", max_reconnect_attempts=5)
    try:
        await provision(nc, settings.replicas)
    finally:
        await nc.close()


async def _single_process(settings: Settings, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # one connection for every service: the "stack" user, the union of the services' rights
    shared = settings.model_copy(update={"nats_user": "stack"})
    async with Mounted([spec.build() for spec in discover()], shared, name="ledger"):
        _announce(settings)
        await stop.wait()


def _announce(settings: Settings) -> None:
    console.print(f"[green]ledger is up[/green] 已启动 — gateway http://127.0.0.1:{settings.http_port}  "
                  f"(NATS {settings.display_nats_url}, data {settings.home})")
    console.print("Get an API key 获取密钥:  .venv/bin/ledger tenant create \"My company\"   "
                  "(the key is on the last line)")
    console.print("Stop with Ctrl-C 按 Ctrl-C 停止.")


def service_env(settings: Settings, name: str | None = None) -> dict[str, str]:
    """A service's environment: its own bus user on the embedded server (an external URL passes as given)."""
    env = {**os.environ, "LEDGER_HOME": str(settings.home)}
    if settings.embedded:
        env.pop("LEDGER_NATS_URL", None)
        env["LEDGER_NATS_PORT"] = str(settings.nats_port)
        if name is not None:
            env["LEDGER_NATS_USER"] = name
    return env


def _multi_process(settings: Settings) -> int:
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    run = settings.home / "run"
    run.mkdir(exist_ok=True)
    status = run / "supervision.json"
    commands = {spec.name: Command([sys.executable, "-m", spec.module],
                                   {**service_env(settings, spec.name), SUPERVISION_FILE: str(status)})
                for spec in discover()}
    supervisor = Supervisor(commands, logs, status, say=lambda line: console.print(f"[yellow]{line}[/yellow]"))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor.start()
    _announce(settings)
    console.print(f"logs 日志: {logs}")
    code = 0
    try:
        while not stopping:
            supervisor.check()
            time.sleep(0.2)
    except CrashLoop as exc:
        console.print(f"[red]ledger up: {exc}[/red]")
        code = 1
    finally:
        supervisor.stop()
    return code


def _writable_home(home: Path) -> None:
    """LEDGER_HOME must exist and take writes; say which path when it does not."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OSError(f"LEDGER_HOME {home} is not writable ({exc.strerror}): is it read-only? "
                      f"数据目录 {home} 不可写（只读？）") from None


def up(single_process: bool = typer.Option(False, "--single-process", help="Run every service in this process.")
       ) -> None:
    """Start the embedded stack: nats-server, streams, migrations, every service. 启动本地全套服务。"""
    setup_logging()
    try:
        settings = Settings.from_env()
        _writable_home(settings.home)
        server = None
        if settings.embedded:
            server = EmbeddedNats(settings.home, settings.nats_port)
            server.start()
    except (SettingsError, EmbeddedServerError, OSError) as exc:
        console.print(f"[red]ledger up: {exc}[/red]")
        raise typer.Exit(1) from None
    code = 0
    try:
        asyncio.run(prepare(settings))
        if single_process:
            try:
                asyncio.run(_single_process(settings))
            except KeyboardInterrupt:
                pass
        else:
            code = _multi_process(settings)
    finally:
        if server is not None:
            server.stop()
        console.print("stopped 已停止")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("up")(up)

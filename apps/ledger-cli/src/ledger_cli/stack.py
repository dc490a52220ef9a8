"""``ledger up``: the embedded stack — nats-server from the wheel, streams, every installed service.

The services are the installed packages' ``ledger.services`` entry points (``ledger_kernel.services``),
started in their kind's order (domain services, projector, notifier, gateway).

Services run as separate processes by default (as they would in production), each as its own
bus user (``ledger_kernel.bus_access``), supervised: a crashed service is restarted with a backoff
while the others keep serving (``ledger_cli.supervisor``); a crash-looping one stops the stack.
``--single-process`` runs them all in this process. Ctrl-C stops everything cleanly; the data
stays under LEDGER_HOME for the next ``ledger up``.

``--projector-workers W`` (W > 1) runs W projector processes in the partitioned mode: they share the P
partitions of LEDGER_P (``LEDGER_PROJECTOR_PARTITIONS``, 16 when unset) through leases. ``ledger up``
makes LEDGER_P with the admin credential first (replacing one made with another P: it is a copy).
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
from ledger_kernel.partitions import ensure_partition_stream
from ledger_kernel.runtime import Mounted
from ledger_kernel.services import discover
from ledger_kernel.settings import Settings, SettingsError
from ledger_kernel.streams import provision
from ledger_kernel.supervision import SUPERVISION_FILE
from ledger_kernel.telemetry import setup_logging
from rich.console import Console

from ledger_cli.supervisor import Command, CrashLoop, Supervisor

console = Console(stderr=True)
DEFAULT_PARTITIONS = 16  # fixed, not derived from W: changing P means a new LEDGER_P and a backfill
PARTITIONS_ENV = "LEDGER_PROJECTOR_PARTITIONS"


def partition_count(workers: int) -> int:
    """P for ``workers`` projector workers: ``LEDGER_PROJECTOR_PARTITIONS`` as the projector reads it, else 16
    (0 when one projector runs alone and no P is set: the single-process mode, as without the option)."""
    from ledger_projector.admin import ProjectorSettings

    configured = ProjectorSettings.from_env().projector_partitions
    if configured:
        return configured
    return DEFAULT_PARTITIONS if workers > 1 else 0


async def prepare(settings: Settings, partitions: int = 0) -> None:
    """Streams exist with their append-only settings (refuses a server older than 2.11), and LEDGER_P when
    the projector runs partitioned (no worker runs yet, so one made with another P is replaced).

    The only place the admin credential is used: no service may create, delete or purge a stream.
    """
    url = settings.embedded_url_as("admin") if settings.embedded else settings.effective_nats_url
    nc = await connect(url, "ledger-up", max_reconnect_attempts=5)
    try:
        await provision(nc, settings.replicas)
        if partitions:
            await ensure_partition_stream(nc, partitions, settings.replicas, replace=True)
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


def service_commands(settings: Settings, status: Path, workers: int = 1,
                     partitions: int = 0) -> dict[str, Command]:
    """Each service's command; the projector as ``workers`` processes (``projector-1`` …) when partitioned,
    each the ``projector`` bus user."""
    commands: dict[str, Command] = {}
    for spec in discover():
        env = {**service_env(settings, spec.name), SUPERVISION_FILE: str(status)}
        if spec.name == "projector" and partitions:
            env[PARTITIONS_ENV] = str(partitions)
            for i in range(1, workers + 1):
                commands[f"projector-{i}"] = Command([sys.executable, "-m", spec.module], env)
            continue
        commands[spec.name] = Command([sys.executable, "-m", spec.module], env)
    return commands


def _multi_process(settings: Settings, workers: int = 1, partitions: int = 0) -> int:
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    run = settings.home / "run"
    run.mkdir(exist_ok=True)
    status = run / "supervision.json"
    commands = service_commands(settings, status, workers, partitions)
    supervisor = Supervisor(commands, logs, status, say=lambda line: console.print(f"[yellow]{line}[/yellow]"))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor.start()
    _announce(settings)
    if partitions:
        console.print(f"projector: {workers} workers over {partitions} partitions 投影进程 {workers} 个，分区 {partitions} 个")
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


def up(single_process: bool = typer.Option(False, "--single-process", help="Run every service in this process."),
       projector_workers: int = typer.Option(
           1, "--projector-workers", min=1, max=64,
           help="Projector processes sharing the partitions of LEDGER_P (LEDGER_PROJECTOR_PARTITIONS, default 16). "
                "投影进程数。")) -> None:
    """Start the embedded stack: nats-server, streams, migrations, every service. 启动本地全套服务。"""
    setup_logging()
    if single_process and projector_workers > 1:
        console.print("[red]ledger up: --projector-workers runs separate processes; leave out --single-process. "
                      "多个投影进程不能与 --single-process 同用。[/red]")
        raise typer.Exit(2)
    try:
        partitions = partition_count(projector_workers)
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
        asyncio.run(prepare(settings, 0 if single_process else partitions))
        if single_process:
            try:
                asyncio.run(_single_process(settings))
            except KeyboardInterrupt:
                pass
        else:
            code = _multi_process(settings, projector_workers, partitions)
    finally:
        if server is not None:
            server.stop()
        console.print("stopped 已停止")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("up")(up)

"""``ledger up``: the embedded stack — nats-server from the wheel, streams, every service.

Services run as separate processes by default (as they would in production), or
all in this process with ``--single-process``. Ctrl-C stops everything cleanly; the
data stays under LEDGER_HOME for the next ``ledger up``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time

import typer
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, EmbeddedServerError
from ledger_kernel.runtime import Mounted
from ledger_kernel.settings import Settings, SettingsError
from ledger_kernel.streams import provision
from ledger_kernel.telemetry import setup_logging
from rich.console import Console

SERVICES = ("licences", "numbers", "personnel", "premises", "penalties", "projector", "notifier", "gateway")
console = Console(stderr=True)


def build_services(names=SERVICES) -> list:
    return [importlib.import_module(f"ledger_{name}.service").build() for name in names]


async def prepare(settings: Settings) -> None:
    """Streams exist with their append-only settings (refuses a server older than 2.11)."""
    nc = await connect(settings.effective_nats_url, "ledger-up", max_reconnect_attempts=5)
    try:
        await provision(nc, settings.replicas)
    finally:
        await nc.close()


async def _single_process(settings: Settings, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Mounted(build_services(), settings, name="ledger"):
        _announce(settings)
        await stop.wait()


def _announce(settings: Settings) -> None:
    console.print(f"[green]ledger is up[/green] 已启动 — gateway http://127.0.0.1:{settings.http_port}  "
                  f"(NATS {settings.effective_nats_url}, data {settings.home})")
    console.print("Get an API key 获取密钥:  .venv/bin/ledger tenant create \"My company\"   "
                  "(the key is on the last line)")
    console.print("Stop with Ctrl-C 按 Ctrl-C 停止.")


def _multi_process(settings: Settings) -> int:
    env = {**os.environ, "LEDGER_NATS_URL": settings.effective_nats_url, "LEDGER_HOME": str(settings.home)}
    procs: dict[str, subprocess.Popen] = {}
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name in SERVICES:
        out = open(logs / f"{name}.log", "ab")
        procs[name] = subprocess.Popen([sys.executable, "-m", f"ledger_{name}"], env=env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    _announce(settings)
    console.print(f"logs 日志: {logs}")
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                console.print(f"[red]{name} exited with {proc.returncode}[/red]; see {logs / (name + '.log')}")
                stopping, code = True, 1
        time.sleep(0.2)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


def _writable_home(home) -> None:
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

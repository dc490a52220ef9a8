"""``ledger stream-credentials …``: read-only bus credentials for systems that consume the ledger.

A credential reads one tenant's facts (``ledger.<tenant>.>``: the live feed, and one consumer on
LEDGER named like the credential), or every tenant's for an operator, and can publish nothing
into ``ledger.>``, ``cmd.*`` or ALERTS (``ledger_kernel.bus_access.stream_reader``). The embedded
server re-reads its users at once; the password is written only to the credentials file (0600).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import typer
from ledger_gateway.admin import tenant_exists
from ledger_kernel.bus_access import stream_reader
from ledger_kernel.bus_keys import keys_dir, new_password, readers, save_reader, url_for, write_private
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats
from ledger_kernel.settings import Settings
from rich.console import Console

app = typer.Typer(help="Read-only credentials for the event stream. 只读事件流凭据。", no_args_is_help=True)
console = Console(stderr=True)


def _embedded(settings: Settings) -> None:
    if not settings.embedded:
        typer.secho("stream-credentials manages the embedded server's users; with LEDGER_NATS_URL set (compose) "
                    "use the READERS account's `reader` user of infra/nats/accounts.conf. "
                    "外部 NATS 请使用 accounts.conf 中的 reader 用户。", err=True, fg="red")
        raise typer.Exit(2)


async def _accepted(url: str, name: str, within: float = 15.0) -> bool:
    """The running server took the new user once a connection as it succeeds (a reload is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            nc = await connect(url, "stream-credentials-check", allow_reconnect=False, max_reconnect_attempts=0,
                               inbox_prefix=f"_INBOX.{name}")
            await nc.close()
            return True
        except Exception:  # refused until the reload is done; anything else shows after the deadline
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.2)


@app.command("create")
def create(tenant: str | None = typer.Option(None, "--tenant", help="The tenant whose facts it may read; "
                                                                    "omit for every tenant (operators)."),
           out: Path | None = typer.Option(None, "--out", help="Where to write the credentials file "
                                                               "(default LEDGER_HOME/keys/<name>.json).")) -> None:
    """Create read-only stream credentials; prints the credentials file's path. 创建只读凭据。"""
    settings = Settings.from_env()
    _embedded(settings)
    if tenant is not None and not tenant_exists(settings.database_url, tenant):
        typer.secho(f"no tenant {tenant!r} 租户不存在", err=True, fg="red")
        raise typer.Exit(2)
    name = f"stream-{secrets.token_hex(4)}"
    reader, password = stream_reader(name, tenant), new_password()
    save_reader(settings.home, reader, tenant, password)
    server = EmbeddedNats.of_home(settings.home, settings.nats_port)
    running = server.reload()
    url = url_for(f"127.0.0.1:{settings.nats_port}", name, password)
    scope = f"ledger.{tenant}.>" if tenant else "ledger.>"
    path = out or keys_dir(settings.home).parent / f"{name}.json"
    write_private(path, json.dumps({
        "url": url, "user": name, "password": password, "tenant": tenant, "subjects": scope, "stream": "LEDGER",
        "consumer": name, "inbox_prefix": f"_INBOX.{name}"}, indent=2) + "\n")
    if running and not asyncio.run(_accepted(url, name)):
        typer.secho("the running server did not accept the new user; restart `ledger up`", err=True, fg="red")
        raise typer.Exit(1)
    console.print(f"stream credentials 只读凭据 [bold]{name}[/bold] for "
                  f"{'tenant ' + tenant if tenant else 'every tenant 全部租户'} ({scope}); file 0600:")
    typer.echo(str(path))


@app.command("list")
def list_credentials() -> None:
    """The stream credentials that exist (no passwords). 列出凭据。"""
    for reader, _ in readers(Settings.from_env().home):
        typer.echo(f"{reader.name}\t{reader.role}")


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The credential's name (stream-…).")) -> None:
    """Remove stream credentials; the running server refuses them from now on. 吊销凭据。"""
    settings = Settings.from_env()
    _embedded(settings)
    path = keys_dir(settings.home) / "readers" / f"{name}.json"
    if not path.is_file():
        typer.secho(f"no stream credentials {name!r} 凭据不存在", err=True, fg="red")
        raise typer.Exit(2)
    path.unlink()
    EmbeddedNats.of_home(settings.home, settings.nats_port).reload()
    console.print(f"revoked 已吊销 {name}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="stream-credentials")

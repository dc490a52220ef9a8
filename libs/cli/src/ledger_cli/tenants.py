"""``ledger tenant …`` and ``ledger key …``: an operator tool writing the gateway's tables directly.

The key itself is printed once, on the last line, and never stored.
"""

from __future__ import annotations

import json

import typer
from ledger_gateway.database import migrate
from ledger_gateway.tenancy import (
    SCOPES,
    TenancyError,
    create_key,
    create_tenant,
    list_keys,
    list_tenants,
    revoke_key,
)
from ledger_kernel.settings import Settings
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

tenant_app = typer.Typer(help="Tenants (each sees only its own companies). 租户。", no_args_is_help=True)
key_app = typer.Typer(help="API keys (stored hashed; scopes read, write, admin). API 密钥。", no_args_is_help=True)
console = Console(stderr=True)


def _engine() -> Engine:
    return migrate(Settings.from_env().database_url)


@tenant_app.command("create")
def tenant_create(name: str = typer.Argument(..., help="The tenant's name (a company or a consultancy)."),
                  as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead.")) -> None:
    """Create a tenant and its first (admin) API key; the key is on the LAST line. 创建租户。"""
    try:
        tenant, issued = create_tenant(_engine(), name)
    except TenancyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({"tenant": tenant.id, "name": tenant.name, "key_id": issued.key_id,
                               "scopes": list(issued.scopes), "key": issued.key}, ensure_ascii=False))
        return
    console.print(f"tenant 租户 [bold]{tenant.id}[/bold] ({tenant.name}) created; admin key id {issued.key_id}")
    console.print("The key is shown only now: keep it safe. 密钥仅显示一次，请妥善保存。")
    typer.echo(issued.key)


@tenant_app.command("list")
def tenant_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every tenant. 列出租户。"""
    tenants = list_tenants(_engine())
    if as_json:
        typer.echo(json.dumps([{"tenant": t.id, "name": t.name, "created_at": t.created_at.isoformat()}
                               for t in tenants], ensure_ascii=False))
        return
    table = Table("tenant", "name 名称", "created 创建时间", title="tenants 租户")
    for t in tenants:
        table.add_row(t.id, t.name, t.created_at.isoformat(timespec="seconds"))
    Console().print(table)


@key_app.command("create")
def key_create(tenant: str = typer.Argument(..., help="Tenant id (tXXXXXXXXXX)."),
               scope: list[str] = typer.Option(["read", "write"], "--scope", "-s",
                                               help=f"Scopes: {', '.join(SCOPES)} (repeatable)."),
               label: str = typer.Option("", "--label", help="What the key is for."),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Create an API key for a tenant; the key is on the LAST line. 创建密钥。"""
    try:
        issued = create_key(_engine(), tenant, [s for item in scope for s in item.split(",")], label=label)
    except TenancyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({"tenant": issued.tenant, "key_id": issued.key_id, "scopes": list(issued.scopes),
                               "key": issued.key}))
        return
    console.print(f"key id {issued.key_id} for {issued.tenant}, scopes {', '.join(issued.scopes)}")
    typer.echo(issued.key)


@key_app.command("revoke")
def key_revoke(key_id: str = typer.Argument(..., help="The key id (or the key itself).")) -> None:
    """Revoke a key at once. 吊销密钥。"""
    if not revoke_key(_engine(), key_id):
        typer.secho(f"no key {key_id} 未找到该密钥", err=True, fg="red")
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id} 已吊销")


@key_app.command("list")
def key_list(tenant: str | None = typer.Option(None, "--tenant"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Keys (ids, scopes, state — never the keys). 列出密钥。"""
    keys = list_keys(_engine(), tenant)
    rows = [{"key_id": k.id, "tenant": k.tenant_id, "scopes": k.scopes, "label": k.label,
             "created_at": k.created_at.isoformat(), "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
            for k in keys]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("key id", "tenant", "scopes", "label", "state 状态", title="API keys 密钥")
    for r in rows:
        table.add_row(r["key_id"], r["tenant"], r["scopes"], r["label"],
                      "[red]revoked 已吊销[/red]" if r["revoked_at"] else "[green]active 有效[/green]")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(key_app, name="key")

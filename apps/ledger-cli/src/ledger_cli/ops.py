"""Operator commands that walk the ledger itself: ``ledger verify`` and the checkpoint signing key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from ledger_kernel import checkpoint_keys
from ledger_kernel.checkpoints import key_id_of
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from ledger_kernel.verify import Report, verify_ledger
from rich.console import Console
from rich.table import Table

from ledger_cli.stackctl import stack_nats

key_app = typer.Typer(help="The key that signs checkpoints of LEDGER. 检查点签名密钥。", no_args_is_help=True)


async def _verify(settings: Settings, keys: dict[str, Any], require_checkpoint: bool) -> Report:
    async with stack_nats(settings, "ledger-verify") as nc:
        return await verify_ledger(LedgerStore(nc), keys=keys, require_checkpoint=require_checkpoint)


def _trusted_keys(settings: Settings, files: list[Path]) -> dict[str, Any]:
    """The keys given (an auditor's), else the stack's keyring plus the key it signs with now."""
    if files:
        keys: dict[str, Any] = {}
        for path in files:
            keys.update(checkpoint_keys.read_public_keys(path))
        return keys
    keys = checkpoint_keys.local_keyring(settings.home)
    try:
        if checkpoint_keys.configured(settings):
            public = checkpoint_keys.signer_for(settings).public_key()
            keys[key_id_of(public)] = public
    except checkpoint_keys.CheckpointKeyError:
        pass
    return keys


def _parked(settings: Settings) -> Any:
    from ledger_projector.admin import parked_report

    try:
        return parked_report(settings.database_url)
    except Exception:  # no read model reachable: verify is about LEDGER, the parked list is extra
        return None


def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
           public_key: list[Path] = typer.Option(  # noqa: B008
               [], "--public-key", exists=True, dir_okay=False,
               help="Trust only the checkpoint keys in this PEM file (one key or a keyring; repeatable): an "
                    "auditor's check of a copy. 仅信任该公钥文件中的密钥。")) -> None:
    """Check every aggregate's hash chain and sequence in LEDGER against the signed checkpoints; exit 1 on
    any break. 校验账本哈希链与签名检查点。"""
    settings = Settings.from_env()
    try:
        keys = _trusted_keys(settings, public_key)
    except checkpoint_keys.CheckpointKeyError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(2) from None
    report = asyncio.run(_verify(settings, keys, require_checkpoint=bool(public_key)))
    parked = _parked(settings)
    c = report.checkpoints
    if as_json:
        typer.echo(json.dumps({
            "intact": report.intact, "events": report.events, "aggregates": report.aggregates,
            "last_sequence": report.last_sequence,
            "breaks": [b.__dict__ for b in report.breaks],
            "checkpoints": c.__dict__,
            "parked": None if parked is None else {"total": parked.total, "chain": parked.chain,
                                                   "recent": parked.recent}}, ensure_ascii=False, default=str))
    else:
        console = Console()
        if c.latest_sequence is None:
            console.print(f"[yellow]no checkpoint[/yellow] 无签名检查点 ({c.read} read, none trusted): "
                          "a lost tail or a re-chained stream cannot be seen")
        else:
            console.print(f"latest checkpoint 最新检查点: sequence {c.latest_sequence}, key {c.latest_key_id}, "
                          f"{c.latest_signed_at}; {c.trusted} of {c.read} trusted"
                          + ("" if c.signatures_checked else " [yellow](signatures not checked: no key)[/yellow]")
                          + (f"; {c.uncovered} events after it not yet signed" if c.uncovered else ""))
        if parked is not None and parked.total:
            console.print(f"[yellow]{parked.total} event(s) parked by the projector[/yellow] 投影器搁置的事件 "
                          f"({parked.chain} for a broken chain); latest: "
                          + ", ".join(f"{p['ledger_sequence']} ({p['reason'][:80]})" for p in parked.recent[:5]))
        if report.intact:
            console.print(f"[green]ledger intact[/green] 账本完整: {report.events} events in "
                          f"{report.aggregates} aggregates, last sequence {report.last_sequence}")
        else:
            table = Table("stream seq", "subject", "kind", "detail", title="breaks 断链")
            for b in report.breaks:
                table.add_row(str(b.stream_seq), b.subject, b.kind, b.detail)
            console.print(table)
            console.print(f"[red]ledger NOT intact[/red] 账本被篡改: {len(report.breaks)} break(s) "
                          f"among {report.events} events")
    raise typer.Exit(0 if report.intact else 1)


def _public_pem(settings: Settings) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization

    public = checkpoint_keys.signer_for(settings).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key_id_of(public), pem.decode("ascii")


@key_app.command("create")
def key_create() -> None:
    """Make the signing key under LEDGER_HOME/keys if there is none (the private key stays there, 0600)."""
    settings = Settings.from_env()
    key_id = checkpoint_keys.create(settings.home)
    typer.echo(f"checkpoint key {key_id}; public key for auditors: {settings.home / checkpoint_keys.PUBLIC}; "
               f"every key so far: {settings.home / checkpoint_keys.KEYRING}")


@key_app.command("rotate")
def key_rotate() -> None:
    """A new signing key for new checkpoints; the old public key stays in the keyring. 轮换签名密钥。"""
    settings = Settings.from_env()
    old, new = checkpoint_keys.rotate(settings.home)
    typer.echo(f"checkpoint key {old or '(none)'} → {new}; restart the projector to sign with it; give auditors "
               f"{settings.home / checkpoint_keys.KEYRING}")


@key_app.command("show")
def key_show() -> None:
    """The key id and public key (PEM) the projector signs with: what an auditor needs. 显示公钥。"""
    try:
        settings = Settings.from_env()
        if not checkpoint_keys.configured(settings):
            raise checkpoint_keys.CheckpointKeyError(
                f"no checkpoint key: set {checkpoint_keys.ENV_KEY} or run `ledger checkpoint-key create` 尚无检查点签名密钥")
        key_id, pem = _public_pem(settings)
    except checkpoint_keys.CheckpointKeyError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(2) from None
    typer.echo(f"# key id {key_id}")
    typer.echo(pem, nl=False)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.add_typer(key_app, name="checkpoint-key")

"""Operator commands that walk the ledger itself: ``ledger verify``."""

from __future__ import annotations

import asyncio
import json

import typer
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from ledger_kernel.verify import verify_ledger
from rich.console import Console
from rich.table import Table

from ledger_cli.stackctl import stack_nats


async def _verify(settings: Settings):
    async with stack_nats(settings, "ledger-verify") as nc:
        return await verify_ledger(LedgerStore(nc))


def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable report.")) -> None:
    """Check every aggregate's hash chain and sequence in LEDGER; exit 1 on any break. 校验账本哈希链。"""
    report = asyncio.run(_verify(Settings.from_env()))
    if as_json:
        typer.echo(json.dumps({
            "intact": report.intact, "events": report.events, "aggregates": report.aggregates,
            "last_sequence": report.last_sequence,
            "breaks": [b.__dict__ for b in report.breaks]}, ensure_ascii=False))
    else:
        console = Console()
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


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)

"""``ledger rebuild``, ``ledger calendar load FILE`` and ``ledger rules set TENANT FILE``: the projector's
operator functions, wired to the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from ledger_kernel.settings import Settings
from rich.console import Console

console = Console(stderr=True)
calendar_app = typer.Typer(help="Official holiday schedules (调休). 节假日安排。", no_args_is_help=True)
rules_app = typer.Typer(help="A tenant's rule-pack parameters: reminder ladders, thresholds, the overdue backlog "
                             "digest. 租户规则参数。", no_args_is_help=True)


def _unreachable(exc: Exception) -> typer.Exit:
    typer.secho(f"cannot reach the stack's NATS ({type(exc).__name__}: {exc}); is `ledger up` running? "
                "无法连接，请先运行 ledger up", err=True, fg="red")
    return typer.Exit(1)


def rebuild(check: bool = typer.Option(False, "--check", help="Also compare the read model's digest before "
                                                                "and after (they must match)."),
            workers: int = typer.Option(1, "--workers", "-w", help="Worker processes replaying LEDGER at once "
                                                                   "(companies split among them). 并行进程数。"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """Replay LEDGER into fresh read-model tables and swap them in. 重建读模型。"""
    from ledger_projector.admin import RebuildFailed, check_workers, read_model_digest, tune_collector
    from ledger_projector.admin import rebuild as run_rebuild

    from ledger_cli.rebuild_bar import RebuildBar

    try:
        check_workers(workers)
    except ValueError as exc:
        typer.secho(f"refused 拒绝: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    settings = Settings.from_env()
    tune_collector()  # this process projects (a one-worker rebuild evaluates here)
    try:
        before = asyncio.run(read_model_digest(settings)) if check else None
        with RebuildBar(console, show=console.is_terminal and not as_json) as bar:
            report = asyncio.run(run_rebuild(settings, workers=workers, progress=bar))
    except RebuildFailed as exc:
        typer.secho(f"rebuild failed, nothing swapped in 重建失败，读模型未改动: {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    except (OSError, TimeoutError) as exc:
        raise _unreachable(exc) from None
    same = None if before is None else before == report.digest
    out = {"events": report.events, "applied_sequence": report.applied_sequence, "companies": report.companies,
           "parked": report.parked, "workers": report.workers, "seconds": round(report.seconds, 3),
           "events_per_second": round(report.events_per_second, 1), "digest": report.digest, "digest_matches": same}
    if as_json:
        typer.echo(json.dumps(out))
    else:
        console.print(f"rebuilt 已重建: {report.events} events, {report.companies} companies, "
                      f"{report.parked} parked, {report.workers} worker(s), {report.seconds:.2f}s "
                      f"({report.events_per_second:.0f} events/s)")
        if same is not None:
            console.print("[green]digest unchanged 摘要一致[/green]" if same else
                          "[red]digest changed: the live read model had drifted 摘要不一致[/red]")
    raise typer.Exit(0 if same in (None, True) else 1)


@calendar_app.command("load")
def calendar_load(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                              help="JSON {year, holidays, workdays, source?}")) -> None:
    """Record a year's official holiday schedule on LEDGER; deadlines are recomputed. 加载年度节假日安排。"""
    from ledger_projector.admin import load_calendar

    try:
        loaded = asyncio.run(load_calendar(Settings.from_env(), file))
    except ValueError as exc:
        typer.secho(f"refused 拒绝: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (OSError, TimeoutError) as exc:
        raise _unreachable(exc) from None
    state = "already loaded 已存在" if loaded.duplicate else "recorded 已记录"
    typer.echo(f"{loaded.year}: {loaded.holidays} holidays, {loaded.workdays} make-up workdays — {state} "
               f"(ledger sequence {loaded.ledger_sequence})")


@rules_app.command("set")
def rules_set(tenant: str = typer.Argument(..., help="The tenant id."),
              file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                          help='JSON overrides, e.g. {"alerts": {"backlog_threshold": 5}}')) -> None:
    """Record a tenant's rule-pack overrides on LEDGER (they replace the previous ones). 设置租户规则参数。"""
    from ledger_projector.admin import set_rule_overrides

    try:
        overrides = json.loads(file.read_text(encoding="utf-8"))
        recorded = asyncio.run(set_rule_overrides(Settings.from_env(), tenant, overrides))
    except ValueError as exc:  # not JSON, a bad tenant id, or a parameter the rule pack refuses
        typer.secho(f"refused 拒绝: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (OSError, TimeoutError) as exc:
        raise _unreachable(exc) from None
    state = "unchanged 未变" if recorded.duplicate else "recorded 已记录"
    typer.echo(f"{tenant}: rule overrides {state} (ledger sequence {recorded.ledger_sequence})")


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild)
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(rules_app, name="rules")

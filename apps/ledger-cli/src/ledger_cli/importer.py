"""``ledger import FILE``: a back office's CSV or NDJSON through the gateway's batch path.

With ``--tracked-from DATE`` each company of the file without an onboarding baseline gets one
(company.tracking_started) first. Rows go in chunks to ``POST /v1/facts:batch``; each row carries an idempotency key
(explicit or derived from its content), so importing the same file again
within the gateway's Idempotency-Key window (24 h by default, LEDGER_IDEMPOTENCY_TTL_HOURS) records nothing twice. Refused rows land in ``<file>.refused.<ext>`` with their reasons.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import date
from pathlib import Path

import typer
from ledger_contracts.errors import FormatError
from ledger_contracts.formats import validate_uscc
from ledger_contracts.rows import (
    Row,
    RowError,
    baseline_fact,
    chunks,
    iso_day,
    read_rows,
    template_header,
    write_refused,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger_cli.client import ApiError, Gateway, KeyOption, UrlOption, describe, fail

TRACKING = "company.tracking_started"
DEFAULT_ATTESTER = "onboarding review 入职审查"

console = Console(stderr=True)


def refused_path(path: Path, fmt: str) -> Path:
    return path.with_name(f"{path.stem}.refused.{'ndjson' if fmt == 'ndjson' else 'csv'}")


def untracked(gateway: Gateway, rows: list[Row]) -> list[str]:
    """Companies of the file with no onboarding baseline: none in the file, none recorded before."""
    companies = sorted({r.fact["company"] for r in rows if r.fact is not None and isinstance(r.fact.get("company"), str)})
    in_file = {r.fact["company"] for r in rows if r.fact is not None and r.fact.get("type") == TRACKING}
    out = []
    for company in companies:
        if company in in_file:
            continue
        try:
            validate_uscc(company)
        except FormatError:
            continue  # not a USCC: its rows will be refused, and it goes into no URL
        try:
            summary = gateway.get(f"/v1/companies/{company}")
        except ApiError as exc:
            if exc.status == 404:  # nothing recorded about it yet
                out.append(company)
                continue
            raise
        if not summary.get("tracked_from"):
            out.append(company)
    return out


def baselines(gateway: Gateway, rows: list[Row], tracked_from: date, attested_by: str) -> list[dict]:
    """The company.tracking_started facts to record before the file's rows (so no batch of them is judged
    without its baseline: the backlog before it is attested history, not a burst of overdue alerts)."""
    day = tracked_from.isoformat()
    return [{**baseline_fact(co, day, attested_by, "recorded by ledger import --tracked-from"),
             "idempotency_key": f"tracking-{co}-{day}"} for co in untracked(gateway, rows)]


def import_file(gateway: Gateway, path: Path, *, chunk: int = 1000, fmt: str | None = None,
                refused_to: Path | None = None, show_progress: bool = True, tracked_from: date | None = None,
                attested_by: str = DEFAULT_ATTESTER) -> dict:
    """Import one file; returns the summary (also used by ``ledger demo`` and the tests)."""
    fmt, header, rows = read_rows(path, fmt)
    to_send = [r for r in rows if r.fact is not None]
    new = replayed = 0
    tracking: list[str] = []
    if tracked_from is not None:
        facts = baselines(gateway, rows, tracked_from, attested_by)
        if facts:
            body = "\n".join(json.dumps(f, ensure_ascii=False) for f in facts).encode("utf-8")
            for fact, result in zip(facts, gateway.post_batch(body)["results"], strict=True):
                if not result["ok"]:
                    raise ApiError(result.get("status") or 422, {
                        **(result.get("problem") or {}),
                        "title": f"baseline for {fact['company']} refused / 建账基准日记录被拒"})
                tracking.append(fact["company"])
    started = time.perf_counter()
    with Progress(TextColumn("[bold]import 导入[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not show_progress) as progress:
        task = progress.add_task("rows", total=len(rows))
        progress.advance(task, len(rows) - len(to_send))
        for part in chunks(to_send, chunk):
            body = "\n".join(json.dumps(r.fact, ensure_ascii=False) for r in part).encode("utf-8")
            answer = gateway.post_batch(body)
            for row, result in zip(part, answer["results"], strict=True):
                if result["ok"]:
                    row.extra = result["event"]
                    if result.get("replayed"):
                        replayed += 1
                    else:
                        new += 1
                else:
                    row.error = describe(result.get("problem") or {}, result.get("status"))
            progress.advance(task, len(part))
    seconds = time.perf_counter() - started
    refused = [r for r in rows if r.error]
    out = None
    if refused:
        out = refused_to or refused_path(path, fmt)
        write_refused(out, fmt, header, refused)
    return {"file": str(path), "rows": len(rows), "accepted": new, "already_recorded": replayed,
            "refused": len(refused), "refused_file": str(out) if out else None, "seconds": round(seconds, 3),
            "tracking_started": tracking,
            "last_ledger_sequence": max((r.extra.get("ledger_sequence") or 0 for r in rows if r.extra), default=0)}


def write_template(fact_type: str, path: Path | None) -> None:
    """The CSV header for one fact type, to fill in and import: to ``path`` (never over an existing file;
    with a BOM, so Excel reads the Chinese typed into it) or to standard output."""
    header = template_header(fact_type)
    if path is None:
        csv.writer(sys.stdout, lineterminator="\n").writerow(header)
        return
    if path.exists():
        raise RowError(f"{path} exists: the template is written only to a new file 文件已存在，模板只写入新文件")
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerow(header)
    console.print(f"template 模板 {fact_type}: [bold]{path}[/bold] — one row per fact 每行一条事实")


def import_command(
    file: Path | None = typer.Argument(None, dir_okay=False,
                                       help="CSV (type, company, effective_date, data.<field> …) or NDJSON facts "
                                            "(with --template: where to write the header)."),
    template: str | None = typer.Option(None, "--template", metavar="TYPE",
                                        help="Write the CSV header for this fact type (to FILE or standard output) "
                                             "instead of importing. 输出该事实类型的 CSV 表头模板。"),
    url: str | None = UrlOption, key: str | None = KeyOption,
    chunk: int = typer.Option(1000, "--chunk", min=1, max=10_000, help="Facts per request."),
    fmt: str | None = typer.Option(None, "--format", help="csv or ndjson (default: from the file name)."),
    refused: Path | None = typer.Option(None, "--refused", help="Where to write refused rows "
                                                                "(default FILE.refused.csv/.ndjson)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    tracked_from: str | None = typer.Option(
        None, "--tracked-from", metavar="DATE",
        help="Onboarding baseline: record company.tracking_started on DATE for each company of the file that has "
             "none, before its rows, so obligations due earlier with nothing recorded are before_tracking, not "
             "overdue. 建账基准日。"),
    attested_by: str = typer.Option(DEFAULT_ATTESTER, "--attested-by",
                                    help="Who attests the history before the baseline (a role, no personal name)."),
) -> None:
    """Import facts from CSV or NDJSON through the gateway; refused rows go to a file to fix and re-run.
    Re-running a file within 24 h (the Idempotency-Key window) records nothing twice. 批量导入事实；被拒行写入文件，修改后可重新导入。"""
    if fmt not in (None, "csv", "ndjson"):
        raise typer.BadParameter("--format is csv or ndjson")
    baseline = None
    if tracked_from is not None:
        try:
            baseline = date.fromisoformat(iso_day(tracked_from))
        except ValueError:
            raise typer.BadParameter(f"--tracked-from must be a day (2026-11-05, 2026/11/5 or 2026年11月5日), "
                                     f"got {tracked_from[:32]!r} "
                                     "建账基准日须为日期，如 2026-11-05、2026/11/5 或 2026年11月5日") from None
    try:
        if template is not None:
            write_template(template, file)
            return
        if file is None or not file.is_file():
            raise typer.BadParameter(f"give a file to import 请提供要导入的文件 ({file or 'none given'})")
        with Gateway(url, key) as gateway:
            summary = import_file(gateway, file, chunk=chunk, fmt=fmt, refused_to=refused,
                                  show_progress=not as_json, tracked_from=baseline, attested_by=attested_by)
    except RowError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(2) from None
    except ApiError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        table = Table("rows 行数", "accepted 新记录", "already recorded 已存在", "refused 被拒", "seconds 秒",
                      title=f"import 导入 {file.name}")
        table.add_row(str(summary["rows"]), f"[green]{summary['accepted']}[/green]",
                      str(summary["already_recorded"]),
                      f"[red]{summary['refused']}[/red]" if summary["refused"] else "0", str(summary["seconds"]))
        Console().print(table)
        if summary["tracking_started"]:
            console.print(f"onboarding baseline 建账基准日 {tracked_from} recorded for "
                          f"{len(summary['tracking_started'])} company(ies) 家企业")
        if summary["refused_file"]:
            console.print(f"refused rows with reasons 被拒行及原因: [bold]{summary['refused_file']}[/bold] — "
                          "fix them and import that file again 修改后重新导入该文件")
    raise typer.Exit(1 if summary["refused"] else 0)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)

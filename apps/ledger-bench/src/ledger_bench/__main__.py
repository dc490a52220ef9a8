"""``make bench``: how fast the ledger is, each figure beside a raw baseline from the same run.

    python -m ledger_bench            # full sizes (a few minutes on two cores)
    python -m ledger_bench --quick    # make bench QUICK=1: well under a minute
    python -m ledger_bench --tiny     # seconds; what the smoke test runs

It starts its own nats-server (from the wheel, free port, temporary store) and its own
databases (a temporary SQLite file; a fresh schema in PostgreSQL's ``test`` database at
127.0.0.1:5432 when one answers), prints a table and writes ``var/bench/latest.json``:
a list of rows ``{name, value, unit, baseline_name, baseline_value, ratio, note}`` where
``ratio = value / baseline_value`` (throughput: the share of raw speed kept; latency and
durations: how many times the raw figure). Timings are never asserted anywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import platform
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, JustifyMethod
from rich.table import Table

from ledger_bench.env import BenchEnv
from ledger_bench.stages import PRESETS, STAGES, Row, Sizes, State

console = Console()


def machine() -> dict[str, str]:
    """Where the figures came from."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    from ledger_kernel.embedded import nats_server_binary

    try:
        nats = subprocess.run([str(nats_server_binary()), "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception as exc:  # the table still prints without it
        nats = f"unknown ({type(exc).__name__})"
    import os

    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "nats_server": nats, "platform": platform.platform(), "date": datetime.now(UTC).isoformat(timespec="seconds")}


def write(out: Path, rows: list[Row]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False) + "\n")


async def run(sizes: Sizes, stages: list[str], keep: bool, out: Path | None = None) -> list[Row]:
    # SIGTERM (a timeout, Ctrl-C from make) cancels the run, so the finally below stops every child
    task = asyncio.current_task()
    assert task is not None  # asyncio.run runs this coroutine as a task
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    env = await BenchEnv(keep=keep).start()
    st = State(env, sizes)
    rows: list[Row] = []
    try:
        from ledger_bench.stages import prepare

        await prepare(st)
        for name in stages:
            started = time.perf_counter()
            got = await STAGES[name](st)
            rows.extend(got)
            console.log(f"{name}: {time.perf_counter() - started:.1f} s")
            if out is not None:  # a run cut short keeps what it measured
                write(out, rows)
    finally:
        await env.stop()
        if keep:
            console.log(f"kept {env.home}")
    return rows


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def show(rows: list[Row], title: str) -> None:
    table = Table(title=title, show_lines=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("measure", "left"), ("value", "right"), ("unit", "left"), ("baseline", "left"), ("baseline value", "right"),
        ("ratio", "right"))
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(r.name, fmt(r.value), r.unit, r.baseline_name, fmt(r.baseline_value),
                      "—" if r.ratio is None else f"{r.ratio:.2f}")
    console.print(table)
    for r in rows:
        if r.note:
            console.print(f"[dim]• {r.name}: {r.note}[/dim]")


def main(
    quick: bool = typer.Option(False, "--quick", help="Small sizes (make bench QUICK=1): under a minute."),
    tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes: seconds (the smoke test)."),
    out: Path = typer.Option(Path("var/bench/latest.json"), "--out", help="Where to write the JSON rows."),
    only: str = typer.Option("", "--only", help=f"Comma-separated stages among {', '.join(STAGES)}."),
    keep: bool = typer.Option(False, "--keep", help="Keep the temporary directory (logs, databases)."),
    append: int | None = typer.Option(None, help="Facts sent by one client through cmd.<service>."),
    append_concurrent: int | None = typer.Option(None, help="Facts sent by the concurrent clients together."),
    clients: int | None = typer.Option(None, help="Concurrent clients."),
    projection: int | None = typer.Option(None, help="Events projected per database."),
    rebuild: int | None = typer.Option(None, help="Events in LEDGER when the rebuild runs."),
    bulk: int | None = typer.Option(None, help="Facts imported through POST /v1/facts:batch."),
    bulk_chunk: int | None = typer.Option(None, help="Facts per batch request."),
    latency: int | None = typer.Option(None, help="Single facts sent through POST /v1/facts."),
    rate: float | None = typer.Option(None, help="Single facts per second."),
    timeline_events: int | None = typer.Option(None, help="Events of the company whose timeline is read."),
    timeline_queries: int | None = typer.Option(None, help="Timeline reads."),
    obligations: int | None = typer.Option(None, help="Obligations the scheduler searches."),
) -> None:
    """Measure the ledger beside raw JetStream and raw SQL. 性能基准。"""
    preset = "tiny" if tiny else "quick" if quick else "full"
    overrides: dict[str, Any] = {k: v for k, v in dict(
        append_single=append, append_concurrent=append_concurrent, clients=clients, projection=projection,
        rebuild=rebuild, bulk=bulk, bulk_chunk=bulk_chunk, latency=latency, rate=rate,
        timeline_events=timeline_events, timeline_queries=timeline_queries, obligations=obligations).items()
        if v is not None}
    sizes = dataclasses.replace(PRESETS[preset], **overrides)
    stages = [s.strip() for s in only.split(",") if s.strip()] or list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise typer.BadParameter(f"unknown stage(s) {', '.join(unknown)}; choose among {', '.join(STAGES)}")
    from ledger_projector.admin import tune_collector

    tune_collector()  # stages project in this process: as a projector's process does (baselines alike)
    started = time.perf_counter()
    rows = asyncio.run(run(sizes, stages, keep, out))
    where = machine()
    show(rows, f"ledger bench ({preset}) — {where['nproc']} × {where['cpu']}, {where['memory']}, "
               f"Python {where['python']}, {where['nats_server']}, {time.perf_counter() - started:.0f} s")
    write(out, rows)
    out.with_name(out.stem + ".meta.json").write_text(json.dumps(
        {"preset": preset, "sizes": dataclasses.asdict(sizes), "machine": where,
         "seconds": round(time.perf_counter() - started, 1)}, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written {out}")


def cli() -> None:
    typer.run(main)


if __name__ == "__main__":
    cli()

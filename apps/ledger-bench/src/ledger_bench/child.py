"""What the benchmark runs in child processes, so memory and CPU are the child's own.

``serve NAME…``        mount services on one broker until SIGTERM (the embedded default)
``rebuild [W]``        the projector's full rebuild of LEDGER into LEDGER_DATABASE_URL, with W workers (1)
``rawread``            the floor under a rebuild: read every LEDGER event and executemany it into one table

``rebuild`` and ``rawread`` print one JSON line: ``{"seconds", "events", "maxrss_mb"}``, where
``maxrss_mb`` is the child's own peak resident set (``VmHWM``, i.e. ru_maxrss since exec): with W > 1
the rebuild's coordinating process only, not its workers.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from ledger_kernel.settings import Settings


def _peak_mb() -> float:
    """This process's peak resident set. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would carry
    the parent's peak over from the fork, so it is only the fallback (and the cap)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def _serve(names: list[str]) -> None:
    from ledger_kernel.runtime import serve_forever
    from ledger_kernel.services import named
    from ledger_kernel.telemetry import setup_logging

    setup_logging()
    await serve_forever([named(n).build() for n in names], Settings.from_env(), name="bench-" + "-".join(names))


async def _rebuild(workers: int) -> dict:
    from ledger_bench import plug as bench_plug

    settings = Settings.from_env()
    started = time.perf_counter()
    events = await bench_plug.run_rebuild(settings, workers)
    return {"seconds": time.perf_counter() - started, "events": events, "maxrss_mb": _peak_mb()}


async def _rawread() -> dict:
    from ledger_kernel.connection import connect
    from ledger_kernel.store import LedgerStore

    from ledger_bench import raw as bench_raw

    settings = Settings.from_env()
    started = time.perf_counter()
    nc = await connect(settings.effective_nats_url, "bench-rawread")
    sink = bench_raw.FactSink(settings.database_url, table="bench_rawread")
    count = after = 0
    try:
        store = LedgerStore(nc)
        while True:
            msgs = await store.read_batch(after, 1000, subject_filter="ledger.>")
            if not msgs:
                break
            rows = [bench_raw.fact_row(m.stream_seq, m.subject, json.loads(m.data)) for m in msgs]
            sink.write(rows)
            count += len(rows)
            after = msgs[-1].stream_seq
    finally:
        sink.close()
        await nc.close()
    return {"seconds": time.perf_counter() - started, "events": count, "maxrss_mb": _peak_mb()}


def main(argv: list[str]) -> None:
    what, rest = argv[0], argv[1:]
    if what == "serve":
        asyncio.run(_serve(rest))
    elif what in ("rebuild", "rawread"):
        result = asyncio.run(_rebuild(int(rest[0]) if rest else 1) if what == "rebuild" else _rawread())
        print(json.dumps(result), flush=True)
    else:
        raise SystemExit(f"unknown child job {what!r}: serve | rebuild | rawread")


if __name__ == "__main__":
    main(sys.argv[1:])

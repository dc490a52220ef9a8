"""Bench stage: the partitioned projector with 1, 2 and 4 worker processes, and a worker killed mid-catch-up.

LEDGER gets the preset's projection facts (at least 5,000 events, so each worker has batches to share);
then 1, 2 and 4 projector processes in the partitioned mode (P = 8) project the whole of LEDGER into a fresh
read model each (PostgreSQL when reachable: the database several writers share; else SQLite), timed from
the first status answer to the low-water mark reaching LEDGER's last sequence. Each figure stands beside a
raw executemany of the same rows into the same database. Last, two workers start (batches of 50 events), one
is SIGKILLed once the low-water mark is a third of the way, and the row gives the seconds from the kill until the survivor has
caught up everything, beside the lease TTL (the least a takeover can take).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

PARTITIONS = 8
WORKERS = (1, 2, 4)
LEASE_TTL = 5.0
LEAST_EVENTS = 5000
KILL_BATCH = 50


async def stage_workers(st: Any) -> list[Any]:
    from ledger_bench import raw as bench_raw
    from ledger_bench.env import (
        PgSchema,
        postgres_base_url,
        postgres_reachable,
        projector_status,
        service_available,
        wait_applied,
    )
    from ledger_bench.stages import Row, guarded, projection_facts, raw_insert_rate, sealed, stop_projector

    pg_why = postgres_reachable()
    db = "PostgreSQL" if pg_why is None else "SQLite"
    rows = [Row(f"projection, {w} partitioned worker{'s' if w > 1 else ''} ({db})", None, "events/s",
                f"raw executemany of the same rows ({db})", None) for w in WORKERS]
    killed = Row("worker killed mid-catch-up: seconds until the others caught up", None, "s",
                 "lease TTL (the least a takeover waits)", LEASE_TTL)
    rows.append(killed)
    env = {"LEDGER_SCHEDULER_INTERVAL": "0", "LEDGER_PROJECTOR_PARTITIONS": str(PARTITIONS),
           "LEDGER_PROJECTOR_LEASE_TTL": str(LEASE_TTL)}
    schemas: list[Any] = []

    def fresh(tag: str) -> str:
        if pg_why is None:
            schema = PgSchema(postgres_base_url()).create()
            schemas.append(schema)
            return str(schema.url)
        return f"sqlite:///{st.env.home / f'workers-{tag}.db'}"

    async def applied() -> int:
        try:
            return int((await projector_status(st.env.nc)).get("applied_sequence", 0) or 0)
        except Exception:  # no worker answering yet
            return -1

    async def body() -> None:
        why = service_available("projector")
        if why:
            raise RuntimeError(why)
        # The projection stage's projector answers query.projector too, with its own read model's position:
        # the status polls below would time the wrong process.
        await stop_projector(st)
        js = st.env.nc.jetstream(timeout=30)
        items = sealed(st.tenant, projection_facts(st, max(st.sizes.projection, LEAST_EVENTS)))
        await bench_raw.fill_ledger(js, items)
        last = (await js.stream_info("LEDGER")).state.last_seq
        facts = [bench_raw.fact_row(i + 1, s, json.loads(p)) for i, (s, _, p) in enumerate(items)]

        baseline = await asyncio.to_thread(raw_insert_rate, fresh("raw"), facts)
        for row, w in zip(rows, WORKERS, strict=False):
            row.baseline_value = baseline
            url = fresh(f"w{w}")
            children = [st.env.spawn(("projector",), f"worker-{w}-{i}", LEDGER_DATABASE_URL=url, **env)
                        for i in range(w)]
            try:
                while (first := await applied()) < 0:
                    if not all(c.alive() for c in children):
                        raise RuntimeError(f"a worker exited: {children[0].tail()}")
                    await asyncio.sleep(0.05)
                t0 = time.monotonic()
                t1 = await wait_applied(st.env.nc, last, None)
                row.value = (last - first) / (t1 - t0) if t1 > t0 and first < last else None
                if first >= last:
                    row.note = f"the first answer came with all {last} events applied: nothing left to time"
                elif first > last // 2:
                    row.note = f"the first answer came at {first} of {last}: timed over the rest only"
            finally:
                for c in children:
                    c.stop()
        url = fresh("kill")
        # small batches, so the low-water mark moves in steps and the kill lands with work in hand
        children = [st.env.spawn(("projector",), f"worker-kill-{i}", LEDGER_DATABASE_URL=url,
                                 LEDGER_PROJECTOR_BATCH=str(KILL_BATCH), LEDGER_PROJECTOR_BATCH_MAX=str(KILL_BATCH),
                                 **env) for i in range(2)]
        try:
            while (at := await applied()) < last // 3:
                if not all(c.alive() for c in children):
                    raise RuntimeError(f"a worker exited: {children[0].tail()}")
                await asyncio.sleep(0.02)
            if at >= last:
                raise RuntimeError("caught up before the kill: nothing left to take over")
            victim = children[0].process
            assert victim is not None
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            t_kill = time.monotonic()
            t_done = await wait_applied(st.env.nc, last, children[1])
            killed.value = t_done - t_kill
            killed.note = (f"2 workers, P = {PARTITIONS}, batches of {KILL_BATCH}; killed at {at} of {last} events; "
                           "includes the survivor's own catch-up")
        finally:
            for c in children:
                c.stop()

    try:
        return await guarded(rows, body)
    finally:
        for schema in schemas:
            await asyncio.to_thread(schema.drop)

"""Bench stage: projection throughput as each company's history grows (10, 100 and 1,000 facts each).

The preset's projection size in events is projected three times, by companies of 10, 100 and
1,000 facts (a size that would make fewer than three companies is skipped, saying so),
through the projector's own batch path in this process (no NATS: it measures the evaluation
and the writes, not the bus), in batches small enough that each company recurs in many, on SQLite and on
PostgreSQL. Each figure stands beside a raw executemany of the same rows into a table of the same
shape, in the same batches. Flat figures across the three sizes mean the cost of an event does
not grow with the history of its company.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from ledger_kernel.store import StoredMessage

HISTORY_SIZES = (10, 100, 1000)  # facts per company
BATCH = 200  # events per batch: a live projector's batch under steady load, so each company recurs in many
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def ledger_messages(tenant: str, facts: list[dict[str, Any]]) -> list[StoredMessage]:
    """The facts sealed as a service would append them, numbered as LEDGER would store them."""
    from ledger_bench.facts import Sealer

    sealer = Sealer(tenant)
    out = []
    for seq, fact in enumerate(facts, start=1):
        subject, event_id, data = sealer.seal(fact)
        out.append(StoredMessage(seq, subject, data, event_id, None))
    return out


def raw_rate(url: str, messages: list[StoredMessage]) -> float:
    """Events/s of a plain executemany of the same rows, in the same batches."""
    import time

    from ledger_bench import raw as bench_raw

    rows = [bench_raw.fact_row(m.stream_seq, m.subject, json.loads(m.data)) for m in messages]
    sink = bench_raw.FactSink(url)
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        sink.write(rows[i:i + BATCH])
    seconds = time.perf_counter() - started
    sink.close()
    return len(rows) / seconds


async def stage_history(st: Any) -> list[Any]:
    from ledger_bench import facts as F
    from ledger_bench import plug as bench_plug
    from ledger_bench.env import PgSchema, postgres_base_url, postgres_reachable, service_available
    from ledger_bench.stages import Row, guarded

    events = st.sizes.projection
    rows = []
    for per in HISTORY_SIZES:
        for db in ("SQLite", "PostgreSQL"):
            rows.append(Row(f"projection, companies of {per:,} facts ({db})", None, "events/s",
                            f"raw executemany of the same rows ({db})", None))
    pg_why = postgres_reachable()

    async def body() -> None:
        why = service_available("projector")
        if why:
            raise RuntimeError(why)
        for k, per in enumerate(HISTORY_SIZES):
            companies = events // per
            if companies < 3:  # one or two companies would measure their own histories, not the stage
                for row in rows[2 * k:2 * k + 2]:
                    row.note = f"skipped: {events:,} events make fewer than 3 companies of {per:,} facts"
                continue
            facts = list(F.interleaved(companies, per, first=st.companies(companies)))
            msgs = ledger_messages(st.tenant, facts)
            lite, pg = rows[2 * k], rows[2 * k + 1]
            lite.note = pg.note = f"{len(msgs):,} events, {companies:,} companies, batches of {BATCH:,}"
            home = st.env.home
            lite.baseline_value = await asyncio.to_thread(raw_rate, f"sqlite:///{home / f'raw-history-{per}.db'}", msgs)
            seconds = await asyncio.to_thread(bench_plug.project_in_batches,
                                              f"sqlite:///{home / f'history-{per}.db'}", msgs, BATCH, NOW)
            lite.value = len(msgs) / seconds
            if pg_why is not None:
                pg.note = f"skipped: {pg_why}"
                continue
            for target in ("raw", "projector"):
                schema = PgSchema(postgres_base_url()).create()
                try:
                    if target == "raw":
                        pg.baseline_value = await asyncio.to_thread(raw_rate, schema.url, msgs)
                    else:
                        seconds = await asyncio.to_thread(bench_plug.project_in_batches, schema.url, msgs, BATCH,
                                                          NOW)
                        pg.value = len(msgs) / seconds
                finally:
                    await asyncio.to_thread(schema.drop)

    return await guarded(rows, body)

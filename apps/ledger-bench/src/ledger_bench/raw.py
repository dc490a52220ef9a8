"""Baselines: what JetStream and the database do on their own, with the same payloads and rows.

Every figure of ours is printed beside one of these, measured in the same run on the same
machine, so a reader sees the overhead of the ledger rather than the speed of the box.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nats.js.client import JetStreamContext

from ledger_bench.env import RAW_STREAM

if TYPE_CHECKING:
    import psycopg

Item = tuple[str, str, bytes]  # subject, msg id, payload

FACT_COLUMNS = ("ledger_sequence", "company_key", "tenant", "company", "event_id", "type", "aggregate_type",
                "aggregate_id", "effective_date", "recorded_at", "data")


def raw_subject(subject: str) -> str:
    """The same subject on the RAW stream (``ledger.t.c.a.i`` → ``raw.t.c.a.i``)."""
    return "raw." + subject.split(".", 1)[1]


async def publish_one(js: JetStreamContext, item: Item) -> None:
    subject, msg_id, payload = item
    await js.publish(raw_subject(subject), payload, headers={"Nats-Msg-Id": "raw-" + msg_id}, stream=RAW_STREAM)


async def publish_sequential(js: JetStreamContext, items: Sequence[Item]) -> tuple[float, list[float]]:
    """Acknowledged publishes one after another: (seconds, latency of each in ms)."""
    latencies = []
    started = time.perf_counter()
    for item in items:
        t = time.perf_counter()
        await publish_one(js, item)
        latencies.append((time.perf_counter() - t) * 1000)
    return time.perf_counter() - started, latencies


async def publish_concurrent(js: JetStreamContext, items: Sequence[Item], clients: int) -> float:
    """``clients`` tasks each publishing its share, waiting for every ack: seconds."""
    queue = list(reversed(items))

    async def client() -> None:
        while queue:
            await publish_one(js, queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


async def publish_paced(js: JetStreamContext, items: Sequence[Item], rate: float) -> list[float]:
    """One publish every 1/rate seconds (open loop): latency of each in ms."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int, item: Item) -> None:
        t = time.perf_counter()
        await publish_one(js, item)
        latencies.append((time.perf_counter() - t) * 1000)

    tasks = []
    for i, item in enumerate(items):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, item)))
    await asyncio.gather(*tasks)
    return latencies


async def fill_ledger(js: JetStreamContext, items: Sequence[Item], window: int = 512) -> int:
    """Append sealed events to LEDGER as fast as acks come back (a window of publishes in flight)."""
    last = 0
    for i in range(0, len(items), window):
        acks = await asyncio.gather(*(js.publish(s, p, headers={"Nats-Msg-Id": mid}, stream="LEDGER")
                                      for s, mid, p in items[i:i + window]))
        last = max(a.seq for a in acks)
    return last


# --- SQL --------------------------------------------------------------------------------------------


def fact_row(seq: int, subject: str, event: dict[str, Any]) -> tuple:
    _, tenant, company, aggregate_type, aggregate_id = subject.split(".")
    return (seq, f"{tenant}.{company}", tenant, company, event["id"], event["type"], aggregate_type, aggregate_id,
            event["effectivedate"], event["time"].replace("T", " ").rstrip("Z"),
            json.dumps(event["data"], ensure_ascii=False))


class FactSink:
    """A table shaped like the projector's facts table, written with plain executemany per batch."""

    def __init__(self, url: str, table: str = "bench_raw_facts") -> None:
        self.table = table
        self.postgres = url.startswith(("postgresql", "postgres"))
        self.conn: psycopg.Connection[tuple[Any, ...]] | sqlite3.Connection
        if self.postgres:
            import psycopg

            base, _, query = url.partition("?")
            base = base.replace("postgresql+psycopg://", "postgresql://").replace("postgresql+asyncpg://",
                                                                                   "postgresql://")
            options = None
            for part in query.split("&"):
                if part.startswith("options="):
                    options = part[len("options="):].replace("%3D", "=").replace("%20", " ")
            self.conn = psycopg.connect(base, options=options) if options else psycopg.connect(base)
            mark, json_type = "%s", "JSONB"
        else:
            path = url.split("///", 1)[1]
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            mark, json_type = "?", "JSON"
        cur = self.conn.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(
            f"CREATE TABLE {table} (ledger_sequence BIGINT PRIMARY KEY, company_key VARCHAR NOT NULL, "
            f"tenant VARCHAR NOT NULL, company VARCHAR NOT NULL, event_id VARCHAR NOT NULL, type VARCHAR NOT NULL, "
            f"aggregate_type VARCHAR NOT NULL, aggregate_id VARCHAR NOT NULL, effective_date DATE NOT NULL, "
            f"recorded_at TIMESTAMP NOT NULL, data {json_type} NOT NULL)")
        cur.execute(f"CREATE INDEX ix_{table}_company ON {table} (company_key, ledger_sequence)")
        if self.postgres:
            self.conn.commit()
        self.sql = f"INSERT INTO {table} ({', '.join(FACT_COLUMNS)}) VALUES ({', '.join([mark] * len(FACT_COLUMNS))})"

    def write(self, rows: Sequence[tuple]) -> None:
        """One transaction per batch, as the projector commits one per batch."""
        cur = self.conn.cursor()
        if self.postgres:
            cur.executemany(self.sql, rows)
            self.conn.commit()
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(self.sql, rows)
            cur.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]

"""Rebuild: replay LEDGER from sequence 1 into fresh tables, then swap them in.

The fresh tables fill while the live projector keeps serving; the swap copies them
over the live ones in one transaction and bumps the generation, so a running
projector notices, drops its caches and carries on from the rebuilt checkpoint.
Alerts already sent are kept (they are facts about the world, not about LEDGER),
so a rebuild never re-sends one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from ledger_kernel.connection import connect
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from sqlalchemy.engine import Connection, Engine

from ledger_projector import decoding
from ledger_projector import digest as digest_mod
from ledger_projector.database import make_engine, migrate
from ledger_projector.decoding import AppliedFact, Poison, SystemFact
from ledger_projector.entries import entry_params
from ledger_projector.projection import (
    CHECKPOINT,
    Projection,
    company_name,
    ensure_checkpoint,
    fact_row,
    load_rules_state,
    read_checkpoint,
    store_system_fact,
)
from ledger_projector.rulebook import Rulebook
from ledger_projector.tables import LIVE, TableSet, rebuild_tables

log = logging.getLogger(__name__)
SUFFIX = "__rebuild"
FACTS_PER_CHUNK = 50_000  # facts whose histories a rebuild holds at once while evaluating


@dataclass(frozen=True)
class RebuildReport:
    events: int
    applied_sequence: int
    companies: int
    parked: int
    seconds: float
    digest: str

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _fresh(engine: Engine) -> tuple[sa.MetaData, TableSet]:
    md, tables = rebuild_tables(SUFFIX)
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as conn:
        ensure_checkpoint(conn, tables)
    return md, tables


def _swap(engine: Engine, md: sa.MetaData, fresh: TableSet) -> None:
    """Copy the fresh tables over the live ones in one transaction; bump the generation."""
    with engine.begin() as conn:
        _, generation = read_checkpoint(conn, LIVE, lock=True)
        for live, new in zip(LIVE.derived(), fresh.derived(), strict=True):
            conn.execute(live.delete())
            cols = [c.name for c in live.columns]
            conn.execute(live.insert().from_select(cols, sa.select(*[new.c[c] for c in cols])))
        conn.execute(LIVE.checkpoint.update().where(LIVE.checkpoint.c.name == CHECKPOINT)
                     .values(generation=generation + 1))
    md.drop_all(engine)


class Loader:
    """A rebuild's two passes: every fact in big raw inserts first, then each company evaluated once.

    Evaluating once at the end gives the same rows as the live path, which re-evaluates a company
    whenever a batch touches it or a calendar year or tenant override changes: the last of those
    evaluations saw all its facts and the final rule state, as this one does. Only the companies'
    running totals stay in memory; facts stream through, and the second pass holds the histories of
    at most ``facts_per_chunk`` facts at a time (one bigger company alone), so memory stays flat
    however many companies, and however many facts each, the ledger holds.
    """

    def __init__(self, engine: Engine, tables: TableSet, *, chunk: int = 500,
                 facts_per_chunk: int = FACTS_PER_CHUNK) -> None:
        self.projection = Projection(engine, tables, Rulebook())
        self.engine, self.tables, self.chunk = engine, tables, chunk
        self.facts_per_chunk = facts_per_chunk
        self.companies: dict[str, dict] = {}

    def prepare(self) -> int:
        after = self.projection.prepare()
        if after:
            raise ValueError(f"a rebuild replays into fresh tables, these are at {after}")
        return after

    def load(self, messages: list) -> int:
        """Facts, parked messages and rule state of one read, in one transaction; the events seen."""
        decoded = [decoding.decode(m) for m in messages]
        t, p = self.tables, self.projection
        with self.engine.begin() as conn:
            decoded = p.guard.check(conn, decoded)  # the live path's link check: the same events parked
            facts = [d for d in decoded if isinstance(d, AppliedFact)]
            poisons = [d for d in decoded if isinstance(d, Poison)]
            p.bulk(conn, t.facts).run(conn, (fact_row(f) for f in facts))
            p.bulk(conn, t.parked).run(conn, (
                {"ledger_sequence": x.ledger_sequence, "subject": x.subject, "event_id": x.event_id,
                 "type": x.type, "reason": x.reason[:2000]} for x in poisons))
            for d in decoded:
                if isinstance(d, SystemFact):
                    store_system_fact(conn, self.tables, d)
        p.guard.committed()
        for f in facts:
            c = self.companies.get(f.company_key)
            if c is None:
                c = self.companies[f.company_key] = {
                    "company_key": f.company_key, "tenant": f.tenant, "company": f.company, "name": None,
                    "first_sequence": f.ledger_sequence, "facts": 0}
            c["last_sequence"] = f.ledger_sequence
            c["facts"] += 1
            name = company_name(f)
            if name:
                c["name"] = name
        for x in poisons:
            log.warning("parked ledger message %d: %s", x.ledger_sequence, x.reason,
                        extra={"ledger_sequence": x.ledger_sequence})
        return len(decoded)

    def finish(self, last: int) -> None:
        """The companies, each one's evaluation (a transaction per chunk), then the checkpoint."""
        t, p = self.tables, self.projection
        with self.engine.begin() as conn:
            load_rules_state(conn, t, p.rulebook)
            p.bulk(conn, t.companies).run(conn, self.companies.values())
        sizes = {key: c["facts"] for key, c in self.companies.items()}
        self.companies = {}
        for part in by_facts(sizes, self.chunk, self.facts_per_chunk):
            with self.engine.begin() as conn:
                obligations, findings, entries = _rows(p, conn, list(part))
                p.bulk(conn, t.obligations).run(conn, (), ready=obligations)
                p.bulk(conn, t.findings).run(conn, (), ready=findings)
                for insert, ready in entries:
                    insert.run(conn, (), ready=ready)
        with self.engine.begin() as conn:
            conn.execute(t.checkpoint.update().where(t.checkpoint.c.name == CHECKPOINT).values(applied_sequence=last))


def by_facts(sizes: dict[str, int], most: int, budget: int) -> list[list[str]]:
    """Company keys in sorted order, cut into runs of at most ``most`` companies and ``budget`` facts.

    A company with more facts than the budget gets a run of its own: it must be evaluated whole.
    """
    runs: list[list[str]] = []
    run: list[str] = []
    held = 0
    for key in sorted(sizes):
        if run and (len(run) >= most or held + sizes[key] > budget):
            runs.append(run)
            run, held = [], 0
        run.append(key)
        held += sizes[key]
    if run:
        runs.append(run)
    return runs


def _rows(p: Projection, conn: Connection, keys: list[str]) -> tuple[list, list, list]:
    """These companies' evaluations as ready DB-API parameters for the obligation and finding inserts,
    and the entries the reads read (:mod:`ledger_projector.entries`)."""
    views = p.evaluate(conn, keys)
    return (p.bulk(conn, p.tables.obligations).params(r for k in keys for r in views[k].obligation_rows),
            p.bulk(conn, p.tables.findings).params(r for k in keys for r in views[k].finding_rows),
            entry_params(conn, p.tables, views, keys, p.bulk))


async def replay(engine: Engine, store: LedgerStore, tables: TableSet, *, batch: int = 20000,
                 facts_per_chunk: int = FACTS_PER_CHUNK) -> tuple[int, int]:
    """Apply LEDGER into fresh ``tables`` until caught up; (events applied, last sequence)."""
    loader = Loader(engine, tables, facts_per_chunk=facts_per_chunk)
    after = await asyncio.to_thread(loader.prepare)
    events = 0
    next_read = asyncio.ensure_future(store.read_batch(after, batch))
    while True:
        msgs = await next_read
        if not msgs:
            break
        # read the next batch while this one is loaded
        next_read = asyncio.ensure_future(store.read_batch(msgs[-1].stream_seq, batch))
        events += await asyncio.to_thread(loader.load, msgs)
        after = msgs[-1].stream_seq
    await asyncio.to_thread(loader.finish, after)
    return events, after


async def rebuild(settings: Settings, *, batch: int = 20000, facts_per_chunk: int = FACTS_PER_CHUNK) -> RebuildReport:
    """Replay LEDGER from sequence 1 into fresh tables and swap them in (``ledger rebuild``)."""
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
    nc = await connect(settings.effective_nats_url, "projector-rebuild")
    try:
        await asyncio.to_thread(migrate, engine)
        with engine.begin() as conn:
            ensure_checkpoint(conn, LIVE)
        md, fresh = await asyncio.to_thread(_fresh, engine)
        store = LedgerStore(nc)
        events, last = await replay(engine, store, fresh, batch=batch, facts_per_chunk=facts_per_chunk)
        await asyncio.to_thread(_swap, engine, md, fresh)
        value = await asyncio.to_thread(digest_mod.digest, engine, LIVE)
        with engine.connect() as conn:
            companies = conn.execute(sa.select(sa.func.count()).select_from(LIVE.companies)).scalar() or 0
            parked = conn.execute(sa.select(sa.func.count()).select_from(LIVE.parked)).scalar() or 0
        return RebuildReport(events=events, applied_sequence=last, companies=companies, parked=parked,
                             seconds=time.perf_counter() - started, digest=value)
    finally:
        await nc.close()
        engine.dispose()


async def read_model_digest(settings: Settings) -> str:
    """The digest of the live read model (``ledger rebuild --check`` compares it with a rebuild)."""
    engine = make_engine(settings.database_url)
    try:
        await asyncio.to_thread(migrate, engine)
        return await asyncio.to_thread(digest_mod.digest, engine, LIVE)
    finally:
        engine.dispose()

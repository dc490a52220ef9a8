"""Rebuild: replay LEDGER from sequence 1 into fresh tables, then swap them in.

The fresh tables fill while the live projector keeps serving; the swap copies them
over the live ones in one transaction and bumps the generation, so a running
projector notices, drops its caches and carries on from the rebuilt checkpoint.
Alerts already sent are kept (they are facts about the world, not about LEDGER),
so a rebuild never re-sends one.

With ``workers`` W > 1 the companies are split into W shares by the live projector's partition
function and replayed by W processes at once (:mod:`ledger_projector.rebuild_workers`); the result is
the one-worker result, and nothing is swapped in unless every worker finished.
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
from sqlalchemy.engine import Engine

from ledger_projector import digest as digest_mod
from ledger_projector.database import make_engine, migrate
from ledger_projector.projection import CHECKPOINT, ensure_checkpoint, read_checkpoint
from ledger_projector.rebuild_loader import FACTS_PER_CHUNK, Loader
from ledger_projector.rebuild_workers import (
    SWAPPING,
    Crew,
    Progress,
    RebuildFailed,
    RebuildProgress,
    Share,
    store_share,
)
from ledger_projector.tables import LIVE, TableSet, rebuild_tables

__all__ = ["MAX_WORKERS", "Progress", "RebuildFailed", "RebuildProgress", "RebuildReport", "check_workers",
           "read_model_digest", "rebuild", "replay"]

log = logging.getLogger(__name__)
SUFFIX = "__rebuild"
MAX_WORKERS = 64  # processes one rebuild may start (each holds a NATS and a database connection)


@dataclass(frozen=True)
class RebuildReport:
    events: int
    applied_sequence: int
    companies: int
    parked: int
    seconds: float
    digest: str
    workers: int = 1

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def check_workers(workers: int) -> None:
    """Refuse a worker count outside 1 … MAX_WORKERS, before anything is touched."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be a whole number from 1 to {MAX_WORKERS}, not {workers!r} / "
                         f"工作进程数须为 1 到 {MAX_WORKERS} 之间的整数，收到 {workers!r}")


def _fresh(engine: Engine) -> tuple[sa.MetaData, TableSet]:
    md, tables = rebuild_tables(SUFFIX)
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as conn:
        ensure_checkpoint(conn, tables)
    return md, tables


def _checkpoint(engine: Engine, tables: TableSet, last: int) -> None:
    with engine.begin() as conn:
        conn.execute(tables.checkpoint.update().where(tables.checkpoint.c.name == CHECKPOINT)
                     .values(applied_sequence=last))


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


def _discard(engine: Engine, md: sa.MetaData) -> None:
    """Drop a failed rebuild's fresh tables (the live ones were never touched)."""
    try:
        md.drop_all(engine)
    except sa.exc.SQLAlchemyError as exc:  # they are dropped again by the next rebuild's _fresh
        log.warning("could not drop the failed rebuild's tables: %s", exc)


async def replay(engine: Engine, store: LedgerStore, tables: TableSet, *, batch: int = 20000,
                 facts_per_chunk: int = FACTS_PER_CHUNK) -> tuple[int, int]:
    """Apply LEDGER into fresh ``tables`` until caught up, in this process; (events applied, last sequence)."""
    loader = Loader(engine, tables, facts_per_chunk=facts_per_chunk)
    after = await asyncio.to_thread(loader.prepare)
    events, last = await store_share(loader, store, after, None, batch, _everything, _ignore_count)
    await asyncio.to_thread(loader.finish)
    await asyncio.to_thread(_checkpoint, engine, tables, last)
    return events, last


def _everything(_: str) -> bool:
    return True


def _ignore_count(_: int) -> None:
    pass


def _ignore(_: RebuildProgress) -> None:
    pass


async def rebuild(settings: Settings, *, workers: int = 1, progress: Progress = _ignore, batch: int = 20000,
                  facts_per_chunk: int = FACTS_PER_CHUNK) -> RebuildReport:
    """Replay LEDGER from sequence 1 into fresh tables with ``workers`` workers and swap them in
    (``ledger rebuild``); ``progress`` hears where it is (from a thread of its own).

    LEDGER is replayed up to its last sequence when the rebuild starts; a running projector applies
    what comes after from the swapped-in checkpoint. A worker that fails or dies raises
    :class:`RebuildFailed` and the fresh tables are dropped: the live read model is untouched.
    """
    check_workers(workers)
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
    nc = await connect(settings.effective_nats_url, "projector-rebuild")
    try:
        await asyncio.to_thread(migrate, engine)
        with engine.begin() as conn:
            ensure_checkpoint(conn, LIVE)
        store = LedgerStore(nc)
        state = (await store.js.stream_info(store.stream)).state
        upto, total = state.last_seq, state.messages
        md, fresh = await asyncio.to_thread(_fresh, engine)
        crew = Crew([Share(i, workers, upto, SUFFIX, settings.database_url, settings.effective_nats_url,
                           batch=batch, facts_per_chunk=facts_per_chunk) for i in range(workers)])
        try:
            try:
                crew.start()
                events = await asyncio.to_thread(crew.supervise, total, progress)
                await asyncio.to_thread(_checkpoint, engine, fresh, upto)
            except BaseException:
                crew.stop()
                await asyncio.to_thread(_discard, engine, md)
                raise
            progress(RebuildProgress(SWAPPING, 0, 1))
            await asyncio.to_thread(_swap, engine, md, fresh)  # while the finished workers exit
            progress(RebuildProgress(SWAPPING, 1, 1))
            value = await asyncio.to_thread(digest_mod.digest, engine, LIVE)
        finally:
            crew.stop()
        with engine.connect() as conn:
            companies = conn.execute(sa.select(sa.func.count()).select_from(LIVE.companies)).scalar() or 0
            parked = conn.execute(sa.select(sa.func.count()).select_from(LIVE.parked)).scalar() or 0
        return RebuildReport(events=events, applied_sequence=upto, companies=companies, parked=parked,
                             seconds=time.perf_counter() - started, digest=value, workers=workers)
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

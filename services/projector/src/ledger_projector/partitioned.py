"""The partitioned mode: W projector workers share the P partitions of ``LEDGER_P<P>`` by company.

Each worker claims partitions through leases (:mod:`ledger_projector.leases`) and works each one it
holds with its own :class:`PartitionProjection`: batches are read from the partition's subjects by
stream sequence (batched direct gets, as the single projector reads LEDGER) starting right after the
partition's checkpoint in the read model — written in the same transaction as the rows — so a new
owner never applies newer messages before older ones, and there is no consumer state to go stale.

Fencing: on acquiring a partition the worker bumps the partition row's ``epoch`` (waiting for any
commit of the previous owner in flight), and every batch and tick of that partition commits only if the
row still carries its epoch. A worker that lost its lease therefore cannot commit, however late it is.

System facts (calendar years, tenant rule overrides) concern companies of every partition, so every
partition applies them, in their place in LEDGER order: each partition reads its own subjects and the
system subjects (``p.*._system.>``) and merges them by sequence. Only the partition they hash to checks
their chain links and parks them if they are poison; the others store them newer-wins (the same row
for everyone) and re-evaluate only their own companies. The rule book is shared by a worker's
partitions, so a partition behind a system fact another partition of the same worker already applied
evaluates under it a little early; it re-evaluates when it reaches the fact, so the read model ends the
same (the digest tests prove it).

The read model's ``main`` checkpoint becomes the low-water mark: the LEDGER sequence up to which every
partition has applied everything (a caught-up partition counts as far as LEDGER_P's last message).
Queries read it as ``applied_sequence``; signed checkpoints are left to a single-process projector.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from ledger_kernel import partitions as kp
from ledger_kernel.clock import Clock
from ledger_kernel.store import LedgerStore, StoredMessage
from nats.js.client import JetStreamContext
from sqlalchemy.engine import Connection, Engine

from ledger_projector import decoding, tracing
from ledger_projector.decoding import CALENDAR_TYPE, SystemFact
from ledger_projector.histories import Histories
from ledger_projector.leases import RENEW_EVERY, Leases
from ledger_projector.outbox import Outbox
from ledger_projector.projection import (
    CHECKPOINT,
    BatchResult,
    Projection,
    Stale,
    load_rules_state,
    read_checkpoint,
    store_system_fact,
)
from ledger_projector.rulebook import Rulebook
from ledger_projector.scheduler import Scheduler
from ledger_projector.tables import PARTITIONS, TableSet

log = logging.getLogger(__name__)
SYSTEM_FILTER = f"{kp.PREFIX}.*.{decoding.SYSTEM_TENANT}.>"


class Fenced(Stale):
    """Another worker acquired the partition since: this one must not commit for it."""


def _row(partitions: int, partition: int) -> Any:
    t = PARTITIONS
    return sa.and_(t.c.partitions == partitions, t.c.partition == partition)


def acquire(engine: Engine, partitions: int, partition: int, owner: str,
            start: tuple[int, int] = (0, 0), generation: int = 0) -> tuple[int, int]:
    """Take a partition over in the read model: bump its epoch (after any commit of the previous owner
    in flight) and read where it stands; (epoch, LEDGER_P sequence to resume after).

    ``start`` (LEDGER_P and LEDGER sequences) is where the read model's ``main`` checkpoint stands. A partition
    seen for the first time starts there, and so does one whose row is stale: behind that checkpoint (a
    single projector applied on since; the workers alone never let ``main`` pass a partition) or from
    before a rebuild swap (``generation``)."""
    t = PARTITIONS
    with engine.begin() as conn:
        row = conn.execute(sa.select(t.c.covered_sequence, t.c.generation).where(_row(partitions, partition))
                           .with_for_update()).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.insert().values(partitions=partitions, partition=partition, stream_sequence=start[0],
                                                   ledger_sequence=start[1], covered_sequence=start[1], epoch=0,
                                                   owner=None, generation=generation))
            except sa.exc.IntegrityError:
                pass  # another worker created it at the same moment
        elif row.generation != generation or row.covered_sequence < start[1]:
            log.warning("partition %d stood at LEDGER %d (generation %d): starting it at the checkpoint, %d",
                        partition, row.covered_sequence, row.generation, start[1])
            conn.execute(t.update().where(_row(partitions, partition)).values(
                stream_sequence=start[0], ledger_sequence=start[1], covered_sequence=start[1], generation=generation))
        conn.execute(t.update().where(_row(partitions, partition)).values(epoch=t.c.epoch + 1, owner=owner))
        epoch, position = conn.execute(sa.select(t.c.epoch, t.c.stream_sequence)
                                       .where(_row(partitions, partition))).one()
    return int(epoch), int(position)


def low_water(conn: Connection, partitions: int) -> int:
    """The LEDGER sequence up to which every partition has applied everything (0 until all have rows)."""
    t = PARTITIONS
    n, lowest = conn.execute(sa.select(sa.func.count(), sa.func.min(t.c.covered_sequence))
                             .where(t.c.partitions == partitions)).one()
    return int(lowest or 0) if n == partitions else 0


def advance_main(engine: Engine, tables: TableSet, partitions: int) -> int:
    """Move the ``main`` checkpoint up to the low-water mark (never down); the applied sequence."""
    with engine.begin() as conn:
        mark = low_water(conn, partitions)
        t = tables.checkpoint
        conn.execute(t.update().where(t.c.name == CHECKPOINT, t.c.applied_sequence < mark)
                     .values(applied_sequence=mark))
        return read_checkpoint(conn, tables)[0]


def partitioned_ahead(engine: Engine, tables: TableSet) -> int:
    """The P of partitions that applied past the ``main`` checkpoint (0: none). A single projector would
    apply their facts again from the checkpoint, so it must carry on as a worker over the same partitions."""
    t = PARTITIONS
    with engine.connect() as conn:
        applied = read_checkpoint(conn, tables)[0]
        row = conn.execute(sa.select(t.c.partitions).where(t.c.ledger_sequence > applied)
                           .order_by(t.c.ledger_sequence.desc()).limit(1)).first()
    return int(row.partitions) if row else 0


def store_newer(conn: Connection, tables: TableSet, fact: SystemFact) -> str | None:
    """A system fact stored unless a later one for the same year or tenant already is (every partition
    applies it; one lagging behind must not put an older schedule back). The tenant it concerns, or None."""
    if fact.type == CALENDAR_TYPE:
        tc = tables.calendar_years
        year = int(fact.data["year"])
        newer = sa.select(tc.c.year).where(tc.c.year == year, tc.c.ledger_sequence >= fact.ledger_sequence)
        tenant = None
    else:
        tr = tables.tenant_rules
        tenant = str(fact.data["tenant"])
        newer = sa.select(tr.c.tenant).where(tr.c.tenant == tenant, tr.c.ledger_sequence >= fact.ledger_sequence)
    if conn.execute(newer).first() is None:
        store_system_fact(conn, tables, fact)
    return tenant


class PartitionProjection(Projection):
    """The projection of one partition: its checkpoint row, its fencing epoch, its companies."""

    def __init__(self, engine: Engine, tables: TableSet, rulebook: Rulebook, *, scheduler: Scheduler | None,
                 partitions: int, partition: int, history_facts: int, settle: bool = False) -> None:
        super().__init__(engine, tables, rulebook, scheduler=scheduler, settle=settle)
        self.partitions, self.partition = partitions, partition
        self.histories = Histories(history_facts)
        self.epoch = 0
        self.position = 0  # LEDGER_P sequence of the last applied message
        self.batch_end = 0  # … of the batch being applied
        self.foreign: set[int] = set()  # LEDGER sequences in the batch of system facts another partition owns
        self.covers = 0  # the LEDGER sequence the batch covers up to (its last message, whoever's)

    def mine(self, company_key: str) -> bool:
        tenant, _, company = company_key.partition(".")
        return kp.partition_of(tenant, company, self.partitions) == self.partition

    def _admit(self, decoded: list[decoding.Decoded]) -> list[decoding.Decoded]:
        out: list[decoding.Decoded] = []
        for d in decoded:
            if d.ledger_sequence not in self.foreign:
                out.append(d)
            elif isinstance(d, SystemFact):  # applied here too; its own partition checks its link
                out.append(dataclasses.replace(d, link=None))
            # anything else on a system subject of another partition is that partition's to park
        return out

    def _position(self, conn: Connection, *, lock: bool = False) -> tuple[int, int]:
        t = PARTITIONS
        q = sa.select(t.c.stream_sequence, t.c.epoch, t.c.generation).where(_row(self.partitions, self.partition))
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None or row.epoch != self.epoch:
            raise Fenced(f"partition {self.partition} is at epoch {row.epoch if row else None}, ours is {self.epoch}")
        generation = read_checkpoint(conn, self.tables)[1]
        if row.generation != generation:  # a rebuild was swapped in: its position is in the old tables
            raise Fenced(f"partition {self.partition} is from before the rebuild swap (generation {generation})")
        return int(row.stream_sequence), generation

    def _advance(self, conn: Connection, result: BatchResult) -> None:
        values: dict[str, Any] = {"stream_sequence": self.batch_end}
        if result.applied_sequence:
            values["ledger_sequence"] = result.applied_sequence
        if self.covers:
            values["covered_sequence"] = self.covers
        done = conn.execute(PARTITIONS.update().where(_row(self.partitions, self.partition),
                                                      PARTITIONS.c.epoch == self.epoch).values(**values))
        if done.rowcount != 1:
            raise Fenced(f"partition {self.partition} changed hands during the batch")

    def _apply_system(self, conn: Connection, fact: SystemFact) -> set[str]:
        t = self.tables
        tenant = store_newer(conn, t, fact)
        load_rules_state(conn, t, self.rulebook)
        q = sa.select(t.companies.c.company_key)
        if tenant is not None:
            q = q.where(t.companies.c.tenant == tenant)
        return {k for k in conn.execute(q).scalars() if self.mine(k)}

    def touched_by_tick(self, conn: Connection, now: datetime, name: str) -> list[str]:
        assert self.scheduler is not None
        keys = {*self.scheduler.due_companies(conn, self.tables, now, name),
                *self.scheduler.moved_companies(conn, self.tables, now, name)}
        return sorted(k for k in keys if self.mine(k))


def merged(own: Sequence[StoredMessage], system: Sequence[StoredMessage], want: int, head: int) -> list[StoredMessage]:
    """A partition's messages and the system facts in LEDGER_P order, up to where both reads are known
    complete: ``head`` (the stream's last sequence, read before them: a short read holds everything up to
    there, and a message appended between the two reads may be in one and not the other), and the last
    message of a read that came back full (it may have left out messages the other one went past)."""
    by_seq = {m.stream_seq: m for m in (*own, *system)}
    cut = head
    for part in (own, system):
        if len(part) >= want:
            cut = min(cut, part[-1].stream_seq)
    return [by_seq[s] for s in sorted(by_seq) if s <= cut]


def original(m: StoredMessage) -> StoredMessage:
    """A LEDGER_P message as LEDGER holds it: its LEDGER sequence and subject."""
    return StoredMessage(kp.source_sequence(m.source), kp.ledger_subject(m.subject), m.data, m.msg_id, m.timestamp)


class PartitionedFollower:
    """One worker of the partitioned mode: its leases, and a loop over the partitions it holds."""

    def __init__(self, *, engine: Engine, tables: TableSet, rulebook: Rulebook, scheduler: Scheduler,
                 js: JetStreamContext, store: LedgerStore, outbox: Outbox, clock: Clock, write: asyncio.Lock,
                 worker: str, partitions: int, lease_ttl: float, batch_size: int, history_facts: int,
                 on_touched: Callable[[Iterable[str], Mapping[str, str]], None] | None = None) -> None:
        self.engine, self.tables, self.rulebook, self.scheduler = engine, tables, rulebook, scheduler
        self.js, self.store, self.outbox, self.clock, self.write = js, store, outbox, clock, write
        self.worker, self.partitions, self.batch_size = worker, partitions, batch_size
        self.history_facts = max(1, history_facts // partitions) if history_facts else 0
        self.leases = Leases(js, worker, partitions, ttl=lease_ttl)
        self.owned: dict[int, PartitionProjection] = {}
        self.applied = 0
        self.advanced = asyncio.Event()  # set whenever the low-water mark may have moved
        self._head = (0, 0)  # LEDGER_P's last sequence and its LEDGER sequence, read before a round's reads
        self.on_touched = on_touched  # None: alerts are decided in each batch; else told the companies that changed

    async def start(self) -> None:
        await self.leases.open()
        self.applied = await asyncio.to_thread(advance_main, self.engine, self.tables, self.partitions)

    def _main(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return read_checkpoint(conn, self.tables)

    async def _source_at(self, position: int) -> int:
        raw = await self.store.js.get_msg(self.store.stream, seq=position, direct=True)
        return kp.source_sequence((raw.headers or {}).get("Nats-Stream-Source"))

    async def position_of(self, ledger_sequence: int, within: float = 120.0) -> int:
        """The LEDGER_P sequence of the message copied from LEDGER's ``ledger_sequence`` (the last one up to
        it), once LEDGER_P holds it: a binary search, as both streams are in the same order."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            last, source = await self._stream_head()
            if source >= ledger_sequence:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.store.stream} holds LEDGER up to {source}, the read model {ledger_sequence}")
            await asyncio.sleep(0.2)
        lo, hi = 1, min(last, ledger_sequence)  # a copy is never ahead of its original's sequence
        if await self._source_at(lo) > ledger_sequence:
            return 0
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if await self._source_at(mid) <= ledger_sequence:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # --- leases --------------------------------------------------------------------------------

    async def keep_leases(self, stopping: Any) -> None:
        while not stopping():
            try:
                changes = await self.leases.round()
                for p in changes.lost:
                    self.owned.pop(p, None)
                for p in changes.gained:
                    await self._take(p)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lease round failed")
            await asyncio.sleep(RENEW_EVERY)

    async def _take(self, partition: int) -> None:
        proj = PartitionProjection(self.engine, self.tables, self.rulebook, scheduler=self.scheduler,
                                   partitions=self.partitions, partition=partition, history_facts=self.history_facts,
                                   settle=self.on_touched is not None)
        # where the read model's checkpoint stands: a new or stale partition starts there
        applied, generation = await asyncio.to_thread(self._main)
        start = (await self.position_of(applied), applied) if applied else (0, 0)
        async with self.write:  # no batch of ours is between reading and committing
            proj.epoch, proj.position = await asyncio.to_thread(acquire, self.engine, self.partitions, partition,
                                                                self.worker, start, generation)
            proj.generation = generation
        self.owned[partition] = proj
        if self.on_touched is not None:  # alerts the previous owner deferred and did not decide
            self.on_touched(await asyncio.to_thread(self._deferred, proj), {})
        log.info("worker %s works partition %d from LEDGER_P sequence %d (epoch %d)", self.worker, partition,
                 proj.position, proj.epoch)
        await self.outbox.flush()  # what the previous owner decided and could not publish

    def _deferred(self, proj: PartitionProjection) -> list[str]:
        with self.engine.connect() as conn:
            return [k for k in self.scheduler.deferred_companies(conn, self.tables) if proj.mine(k)]

    async def _drop(self, partition: int) -> None:
        if self.owned.pop(partition, None) is not None:
            await self.leases.release(partition)

    async def stop(self) -> None:
        self.owned.clear()
        await self.leases.release_all()

    # --- batches -------------------------------------------------------------------------------

    async def round(self) -> int:
        """One batch for each partition held; the messages applied (0: all caught up)."""
        self._head = await self._stream_head()
        total = 0
        for partition in sorted(self.owned):
            if partition in self.owned and self.leases.owns(partition):
                total += await self.step(self.owned[partition])
            elif partition in self.owned:  # its deadline passed without a renewal
                await self._drop(partition)
        applied = await asyncio.to_thread(advance_main, self.engine, self.tables, self.partitions)
        if applied != self.applied:
            self.applied = applied
            self.advanced.set()
        return total

    async def _stream_head(self) -> tuple[int, int]:
        """LEDGER_P's last sequence and the LEDGER sequence of that message: a partition with nothing after
        its position when read after this has applied all of its messages up to here."""
        last = await self.store.last_sequence()
        if not last:
            return 0, 0
        raw = await self.store.js.get_msg(self.store.stream, seq=last, direct=True)
        return last, kp.source_sequence((raw.headers or {}).get("Nats-Stream-Source"))

    async def step(self, proj: PartitionProjection) -> int:
        after, n = proj.position, self.batch_size
        own = await self.store.read_batch(after, n, subject_filter=kp.partition_filter(proj.partition))
        system = await self.store.read_batch(after, n, subject_filter=SYSTEM_FILTER)
        head, covered = self._head
        batch = merged(own, system, n, head)
        if not batch:
            if covered and not own and not system:  # nothing at all after its position: caught up to the head
                await asyncio.to_thread(self._cover, proj, covered)
            return 0
        msgs = [original(m) for m in batch]
        proj.batch_end = batch[-1].stream_seq
        proj.covers = msgs[-1].stream_seq
        proj.foreign = {o.stream_seq for m, o in zip(batch, msgs, strict=True)
                        if not m.subject.startswith(f"{kp.PREFIX}.{proj.partition}.")}
        applying = tracing.Applying(msgs)
        async with self.write:
            if self.owned.get(proj.partition) is not proj:
                applying.end("dropped")
                return 0
            try:
                with tracing.deciding(applying.causes):
                    result = await asyncio.to_thread(proj.apply, msgs, after, self.clock.now())
            except Fenced as exc:
                applying.end("fenced")
                log.warning("worker %s: %s; dropping it", self.worker, exc)
                await self._drop(proj.partition)
                return 0
            except Stale as exc:  # a rebuild swap: caches are dropped, read again from the row
                applying.end("stale")
                log.info("partition %d: %s; re-reading", proj.partition, exc)
                return 0
            except BaseException as exc:
                applying.end(type(exc).__name__)
                raise
        applying.end()
        proj.position = proj.batch_end
        if self.on_touched is not None:
            self.on_touched(result.touched, applying.causes.by_company)
        await self.outbox.publish(result.alerts)
        await self.outbox.put_summaries(result.summaries)
        return len(msgs)

    def _cover(self, proj: PartitionProjection, covered: int) -> None:
        """Record that the partition holds nothing unapplied up to ``covered`` (if it still is ours)."""
        t = PARTITIONS
        with self.engine.begin() as conn:
            conn.execute(t.update().where(_row(self.partitions, proj.partition), t.c.epoch == proj.epoch,
                                          t.c.stream_sequence == proj.position, t.c.covered_sequence < covered)
                         .values(covered_sequence=covered))

    # --- the scheduler -------------------------------------------------------------------------

    def tick_sync(self, proj: PartitionProjection, now: datetime, unsettled: frozenset[str] | set[str] = frozenset(),
                  ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The scheduler's tick for one partition's companies, committed only under its epoch (the alerts of
        ``unsettled`` companies are left to :meth:`settle_sync`)."""
        name = f"p{self.partitions}.{proj.partition}"
        with self.engine.begin() as conn:
            proj._position(conn, lock=True)  # raises Fenced if the partition moved on
            keys = proj.touched_by_tick(conn, now, name)
            views = proj.evaluate(conn, keys)
            rows, summaries = self.scheduler.decide(conn, self.tables, views, now, waiting=unsettled)
            sequence = conn.execute(sa.select(PARTITIONS.c.ledger_sequence)
                                    .where(_row(self.partitions, proj.partition))).scalar() or 0
            self.scheduler.observe(conn, self.tables, views, summaries, now, sequence)
            self.scheduler.mark_tick(conn, self.tables, now, name)
        return rows, summaries

    async def tick(self, now: datetime, unsettled: frozenset[str] | set[str] = frozenset(),
                   ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        summaries: dict[str, dict[str, Any]] = {}
        for partition in sorted(self.owned):
            proj = self.owned.get(partition)
            if proj is None:
                continue
            async with self.write:
                try:
                    r, s = await asyncio.to_thread(self.tick_sync, proj, now, unsettled)
                except Fenced:
                    await self._drop(partition)
                    continue
            rows += r
            summaries.update(s)
        return rows, summaries

    # --- alerts once a company's facts settle ----------------------------------------------------

    def settle_sync(self, proj: PartitionProjection, keys: list[str], now: datetime,
                    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Decide the alerts of these settled companies of one partition, committed only under its epoch."""
        with self.engine.begin() as conn:
            proj._position(conn, lock=True)  # raises Fenced if the partition moved on
            return self.scheduler.decide(conn, self.tables, proj.evaluate(conn, keys), now)

    def _settle_owned(self, owned: dict[int, PartitionProjection], keys: list[str], now: datetime,
                      ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], set[str], list[int]]:
        rows: list[dict[str, Any]] = []
        summaries: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        fenced: list[int] = []
        for partition, proj in sorted(owned.items()):
            mine = [k for k in keys if proj.mine(k)]
            if not mine:
                continue
            try:
                r, s = self.settle_sync(proj, mine, now)
            except Fenced:
                fenced.append(partition)
                continue
            rows += r
            summaries.update(s)
            done.update(mine)
        held = [p for n, p in owned.items() if n not in fenced]
        done.update(k for k in keys if not any(p.mine(k) for p in held))
        return rows, summaries, done, fenced

    async def settle(self, keys: list[str], now: datetime,
                     ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], set[str]]:
        """Decide ``keys`` partition by partition (the caller holds the write lock); what was decided, and
        the keys done with here — decided, or of a partition this worker no longer holds (its next owner
        finds them flagged in the read model and decides them)."""
        rows, summaries, done, fenced = await asyncio.to_thread(self._settle_owned, dict(self.owned), keys, now)
        for partition in fenced:
            await self._drop(partition)
        return rows, summaries, done

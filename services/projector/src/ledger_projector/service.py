"""The projector service: follows LEDGER into the read model, answers ``query.projector``,
and runs the alert scheduler on the (injectable) clock.

Batch sizes, the scheduler's tick and the checkpoint interval come from
:class:`ledger_projector.settings.ProjectorSettings`. Batches grow while lagging (a full batch
doubles the next one, a short one goes back to the small size), so a backlog evaluates each touched
company once per big batch; a tick interval of 0 turns the loop off (tests then call
:meth:`ProjectorService.tick` after moving the clock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from faststream.nats import NatsMessage, NatsRouter
from ledger_kernel.chain import Tip, advance
from ledger_kernel.checkpoint_keys import signer_for
from ledger_kernel.partitions import ensure_partition_stream
from ledger_kernel.runtime import ServiceContext
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import KV_SUMMARIES
from ledger_kernel.subjects import company_filter
from nats.js.errors import BucketNotFoundError
from sqlalchemy.engine import Engine

from ledger_projector import measures, tracing
from ledger_projector.chain_guard import CHAIN_REASON, ChainGuard, Head
from ledger_projector.checkpointer import Checkpointer
from ledger_projector.database import make_engine, migrate
from ledger_projector.outbox import Outbox
from ledger_projector.partitioned import PartitionedFollower, partitioned_ahead
from ledger_projector.projection import Projection, Stale, facts_of
from ledger_projector.queries import (
    QueryError,
    Reader,
    bad,
    decode_token,
    encode_token,
    not_found,
    parse_request,
)
from ledger_projector.rulebook import Rulebook
from ledger_projector.scheduler import Scheduler
from ledger_projector.settings import ProjectorSettings
from ledger_projector.tables import LIVE

log = logging.getLogger(__name__)
SUBJECT = "query.projector"
QUEUE = "projector"


class ProjectorService:
    name = "projector"

    def __init__(self, *, batch_size: int | None = None, tick_interval: float | None = None,
                 poll_interval: float = 0.1, checkpoint_interval: float | None = None,
                 alert_settle: float | None = None, partitions: int | None = None, worker: str | None = None,
                 lease_ttl: float | None = None) -> None:
        configured = ProjectorSettings.from_env()
        # the partitioned mode (P > 0): this process is one worker of several sharing P partitions
        self.partitions = configured.projector_partitions if partitions is None else partitions
        self.lease_ttl = configured.projector_lease_ttl if lease_ttl is None else lease_ttl
        self.history_facts = configured.projector_history_facts
        self.worker = worker or worker_name()
        self.partitioned: PartitionedFollower | None = None
        self.batch_size = batch_size or configured.projector_batch
        self.batch_max = max(self.batch_size, configured.projector_batch_max)
        self._next_batch = self.batch_size
        self.tick_interval = tick_interval if tick_interval is not None else configured.scheduler_interval
        self.poll_interval = poll_interval
        self.alert_settle = alert_settle if alert_settle is not None else configured.projector_alert_settle
        self._unsettled: dict[str, float] = {}  # company key → loop time once its facts count as settled
        self._causes: dict[str, str] = {}  # … and the trace of its latest fact, which its alerts continue
        self.checkpoint_interval = (checkpoint_interval if checkpoint_interval is not None
                                    else configured.checkpoint_interval)
        self.router = NatsRouter()
        self.router.subscriber(SUBJECT, queue=QUEUE)(self._on_query)
        self.applied = 0
        self.parked = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._advanced = asyncio.Condition()
        self._write = asyncio.Lock()  # one writer at a time in this process (batches and ticks)
        self.engine: Engine | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self, ctx: ServiceContext) -> None:
        self._stopping = False
        self.ctx = ctx
        self.clock = ctx.clock
        self.engine = make_engine(ctx.settings.database_url)
        await asyncio.to_thread(migrate, self.engine)
        self.rulebook = Rulebook()
        self.scheduler = Scheduler(self.rulebook)
        self.projection = Projection(self.engine, LIVE, self.rulebook, scheduler=self.scheduler,
                                     settle=self.alert_settle > 0)
        self.reader = Reader(self.engine, LIVE, self.rulebook)
        self.applied = await asyncio.to_thread(self.projection.prepare)
        self.store: LedgerStore = ctx.ledger()
        signer = signer_for(ctx.settings)  # before anything runs: production without a key refuses to start
        await self._backfill_tips()
        js = ctx.nc.jetstream()
        self.checkpointer = Checkpointer(self.engine, LIVE, signer, js, self.clock,
                                         interval=self.checkpoint_interval)
        await self.checkpointer.start()
        try:
            kv = await js.key_value(KV_SUMMARIES)
        except BucketNotFoundError:
            kv = await js.create_key_value(bucket=KV_SUMMARIES, history=1,
                                           description="Each company's latest compliance summary")
        self.outbox = Outbox(self.engine, LIVE, js, kv, self.clock)
        await self.outbox.flush()  # what a crash left unpublished
        await self._flush_summaries()
        self.lag = measures.LagWatch(lambda: self.applied, self.store.last_sequence)
        self._unsettled, self._causes = {}, {}
        if self.alert_settle > 0:  # what a stop or a crash left undecided: decided once settled again
            with self.engine.connect() as conn:
                left = self.scheduler.deferred_companies(conn, LIVE)
            self._defer(left, {})
        self._tasks = [asyncio.create_task(self.lag.run(), name="projector-lag"),
                       asyncio.create_task(self.outbox.retrying(self._is_stopping, self._publish_left),
                                           name="projector-outbox")]
        if not self.partitions:
            self.partitions = await asyncio.to_thread(partitioned_ahead, self.engine, LIVE)
            if self.partitions:
                log.warning("partitioned workers left partitions ahead of the read model's checkpoint: this projector "
                            "carries on as a worker over their %d partitions (a rebuild returns to one projector)",
                            self.partitions)
        if self.partitions:
            stream = await ensure_partition_stream(ctx.nc, self.partitions, ctx.settings.replicas)
            self.partitioned = PartitionedFollower(
                engine=self.engine, tables=LIVE, rulebook=self.rulebook, scheduler=self.scheduler, js=js,
                store=LedgerStore(ctx.nc, stream), outbox=self.outbox, clock=self.clock, write=self._write,
                worker=self.worker, partitions=self.partitions, lease_ttl=self.lease_ttl,
                batch_size=self.batch_size, history_facts=self.history_facts,
                on_touched=self._defer if self.alert_settle > 0 else None)
            await self.partitioned.start()
            self.applied = self.partitioned.applied
            stopping = self._is_stopping
            self._tasks += [asyncio.create_task(self._follow_partitions(), name="projector-partitions"),
                            asyncio.create_task(self.partitioned.keep_leases(stopping), name="projector-leases")]
        else:
            self._tasks.append(asyncio.create_task(self._follow(), name="projector-follow"))
        if self.alert_settle > 0:
            self._tasks.append(asyncio.create_task(self._settling(), name="projector-settle"))
        if self.tick_interval > 0:
            self._tasks.append(asyncio.create_task(self._ticks(), name="projector-scheduler"))

    async def stop(self) -> None:
        self._stopping = True  # the loops also check this: a cancellation swallowed below must not keep them up
        if getattr(self, "lag", None) is not None:
            self.lag.close()
        pending = set(self._tasks)
        for _ in range(3):
            for task in pending:
                task.cancel()
            if not pending:
                break
            _, pending = await asyncio.wait(pending, timeout=5.0)
        for task in pending:
            log.error("projector task %s did not stop", task.get_name())
        self._tasks = []
        if getattr(self, "checkpointer", None) is not None and self.engine is not None:
            try:  # a clean stop signs what was applied, so the last events do not wait for the next start
                await asyncio.wait_for(self.checkpoint(), 15.0)  # a task that would not stop may hold the lock
            except Exception:
                log.exception("the checkpoint at stop failed")
        if self.partitioned is not None:
            try:  # the others may take its partitions at once instead of after the lease TTL
                await asyncio.wait_for(self.partitioned.stop(), 10.0)
            except Exception:
                log.exception("releasing the partition leases failed; they expire with their TTL")
        if self.engine is not None:
            self.engine.dispose()

    # --- following LEDGER -------------------------------------------------------------------------

    async def _follow(self) -> None:
        delay = self.poll_interval
        while not self._stopping:
            try:
                n = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projector batch failed; retrying")
                await asyncio.sleep(1.0)
                continue
            await self._checkpoint_if_due(caught_up=not n)
            if n:
                delay = self.poll_interval
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 1.0)

    def _is_stopping(self) -> bool:
        return self._stopping

    async def _follow_partitions(self) -> None:
        """The partitioned mode's loop: a batch per partition held, then the low-water mark."""
        assert self.partitioned is not None
        delay = self.poll_interval
        while not self._stopping:
            try:
                n = await self.partitioned.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("partitioned projector round failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if self.partitioned.applied != self.applied:
                self.applied = self.partitioned.applied
                async with self._advanced:
                    self._advanced.notify_all()
            if not n:  # only a settled read model can be signed: try when this worker is idle
                await self._checkpoint_if_due(caught_up=True)
            if n:
                delay = self.poll_interval
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 1.0)

    async def step(self) -> int:
        """Read and apply one batch; the number of messages it held (0: caught up)."""
        after = self.applied
        asked, self._next_batch = self._next_batch, self.batch_size  # back to small if this read fails
        msgs = await self._read(after, asked)
        # lagging (a full batch): read more next time; caught up: small batches, low latency
        if len(msgs) >= asked:
            self._next_batch = min(self.batch_max, asked * 2)
        if not msgs:
            return 0
        self.lag.saw(msgs[-1].stream_seq)
        applying = tracing.Applying(msgs)  # a span per traced event; its alerts continue that trace
        async with self._write:
            try:
                with tracing.deciding(applying.causes):
                    result = await asyncio.to_thread(self.projection.apply, msgs, after, self.clock.now())
            except Stale as exc:
                applying.end("stale")
                log.info("checkpoint moved (%s); re-reading", exc)
                self.applied = await asyncio.to_thread(self.projection.applied)
                self.reader.forget()
                return len(msgs)
            except BaseException as exc:
                applying.end(type(exc).__name__)
                raise
        applying.end()
        self.parked += result.parked
        measures.parked(result.parked)
        if self.alert_settle > 0:
            self._defer(result.touched, applying.causes.by_company)
        await self.outbox.publish(result.alerts)
        await self.outbox.put_summaries(result.summaries)
        self.applied = result.applied_sequence  # announced once its alerts and summaries are out
        async with self._advanced:
            self._advanced.notify_all()
        return len(msgs)

    async def _read(self, after: int, want: int) -> list[Any]:
        """Up to ``want`` messages after ``after``, as direct gets of at most the small batch size each
        (a big batch is applied in one transaction, but never asked of the server in one request)."""
        msgs: list[Any] = []
        while len(msgs) < want:
            n = min(self.batch_size, want - len(msgs))
            part = await self.store.read_batch(msgs[-1].stream_seq if msgs else after, n)
            msgs += part
            if len(part) < n:
                break
        return msgs

    async def catch_up(self, within: float = 30.0) -> int:
        """Apply until the read model holds the ledger's last sequence (for tests and the CLI)."""
        target = await self.store.last_sequence()
        deadline = asyncio.get_running_loop().time() + within
        while self.applied < target:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"projector at {self.applied}, ledger at {target}")
            async with self._advanced:
                try:
                    await asyncio.wait_for(self._advanced.wait(), 0.2)
                except TimeoutError:
                    pass
        return self.applied

    async def wait_for(self, sequence: int, within: float) -> bool:
        deadline = asyncio.get_running_loop().time() + within
        while self.applied < sequence:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            async with self._advanced:
                try:
                    await asyncio.wait_for(self._advanced.wait(), min(left, 0.2))
                except TimeoutError:
                    pass
        return True

    # --- integrity: the chain's tips and signed checkpoints ------------------------------------------

    async def checkpoint(self) -> Any:
        """Sign and publish a checkpoint of what is applied now (None: nothing new since the last one). In the
        partitioned mode, only the worker holding partition 0 signs, and only when every partition has
        settled at the applied sequence (the heads of the aggregates are then exactly LEDGER's there)."""
        if self.partitioned is not None:
            if not self.partitioned.leases.owns(0):
                return None
            return await self.checkpointer.sign(self._write, settled_only=True)
        return await self.checkpointer.sign(self._write)

    async def _checkpoint_if_due(self, *, caught_up: bool) -> None:
        if self.checkpointer.due(self.applied, caught_up=caught_up):
            try:
                await self.checkpoint()
            except asyncio.CancelledError:
                raise
            except Exception:  # NATS away: the next turn tries again; the chain tips are safe in the database
                log.exception("signing a checkpoint failed; will retry")

    async def _backfill_tips(self) -> None:
        """A read model from before ``projector_chain_tips`` existed: learn every aggregate's tip from LEDGER
        up to the applied sequence, so the next events are checked against them, not against genesis."""
        assert self.engine is not None
        t = LIVE.chain_tips
        with self.engine.connect() as conn:
            empty = conn.execute(sa.select(t.c.subject).limit(1)).first() is None
        if not self.applied or not empty:
            return
        heads: dict[str, Head] = {}
        after = 0
        while after < self.applied:
            msgs = await self.store.read_batch(after, self.batch_size)
            if not msgs:
                break
            for m in msgs:
                if m.stream_seq > self.applied:
                    break
                try:
                    event = m.event()
                except Exception:
                    continue
                head = heads.setdefault(m.subject, Head(Tip(), 0))
                advance(head.tip, event)
                head.ledger_sequence = m.stream_seq
            after = msgs[-1].stream_seq
        with self.engine.begin() as conn:
            ChainGuard.seed(conn, LIVE, heads)
        log.warning("learned the chain tips of %d aggregates up to ledger sequence %d", len(heads), self.applied)

    # --- alerts once a company's facts settle -----------------------------------------------------------

    def _defer(self, keys: Iterable[str], causes: Mapping[str, str]) -> None:
        """These companies just changed: their alerts wait until ``alert_settle`` seconds pass without more,
        and then continue the trace of the latest fact (``causes``: company key → its traceparent)."""
        due = asyncio.get_running_loop().time() + self.alert_settle
        for key in keys:
            self._unsettled[key] = due
            if key in causes:
                self._causes[key] = causes[key]

    async def _settling(self) -> None:
        while not self._stopping:
            await asyncio.sleep(min(0.25, self.alert_settle))
            try:
                await self.settle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deciding settled alerts failed; will retry")

    async def settle(self, *, everything: bool = False) -> int:
        """Decide the alerts of the companies whose facts are quiet (``everything``: of all that wait);
        the number of new alerts."""
        if not self._unsettled:
            return 0
        now = self.clock.now()
        async with self._write:  # a batch cannot slip in between choosing the companies and deciding them
            at = asyncio.get_running_loop().time()
            keys = sorted(k for k, due in self._unsettled.items() if everything or due <= at)
            if not keys:
                return 0
            causes = tracing.Causes({k: self._causes[k] for k in keys if k in self._causes})
            with tracing.deciding(causes):  # the alerts continue the trace of each company's latest fact
                if self.partitioned is not None:  # each partition's companies under its epoch
                    rows, summaries, done = await self.partitioned.settle(keys, now)
                else:
                    rows, summaries = await asyncio.to_thread(self._settle_sync, keys, now)
                    done = set(keys)
            for key in done:
                self._unsettled.pop(key, None)
                self._causes.pop(key, None)
        await self.outbox.publish(rows)
        await self.outbox.put_summaries(summaries)
        return len(rows)

    def _settle_sync(self, keys: list[str], now: datetime) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        assert self.engine is not None
        with self.engine.begin() as conn:
            views = self.projection.evaluate(conn, keys)
            return self.scheduler.decide(conn, LIVE, views, now)

    # --- the scheduler ------------------------------------------------------------------------------

    async def _ticks(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.tick_interval)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed")

    async def tick(self, now: datetime | None = None) -> int:
        """Decide the alerts that the passing of time made due; the number of new alerts."""
        now = now or self.clock.now()
        with tracing.ticking():  # the clock decided: a new trace, carried by the alerts
            if self.partitioned is not None:  # each partition held, under its epoch
                rows, summaries = await self.partitioned.tick(now, set(self._unsettled))
            else:
                async with self._write:
                    rows, summaries = await asyncio.to_thread(self._tick_sync, now, set(self._unsettled))
            await self.outbox.publish(rows)
        await self.outbox.flush()
        await self.outbox.put_summaries(summaries)
        await self._flush_summaries()
        return len(rows)

    def _tick_sync(self, now: datetime, unsettled: frozenset[str] | set[str] = frozenset(),
                   ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The clock's pass. The alerts of ``unsettled`` companies are left to :meth:`settle`, which decides
        them once their facts are quiet; the state changes the clock made are recorded for every company."""
        return self.projection.tick(now, unsettled)

    async def _publish_left(self) -> None:
        """What a failed publish left: the outbox's alerts, then the summaries still pending."""
        await self.outbox.flush()
        await self._flush_summaries()

    async def _flush_summaries(self) -> None:
        keys = await asyncio.to_thread(self.outbox.pending_summaries)
        if keys:
            summaries = await asyncio.to_thread(self._summaries, keys, self.clock.now())
            await self.outbox.put_summaries(summaries)

    def _summaries(self, keys: list[str], now: datetime) -> dict[str, dict[str, Any]]:
        assert self.engine is not None
        with self.engine.connect() as conn:
            facts = facts_of(conn, LIVE, keys)
        return {k: self.rulebook.evaluate(k, rows).summary(now) for k, rows in facts.items()}

    # --- queries ------------------------------------------------------------------------------------

    async def _on_query(self, body: Any, message: NatsMessage) -> dict[str, Any]:
        try:
            return await self.answer(message.body)
        except QueryError as exc:
            return exc.reply()
        except Exception as exc:  # never silence: a structured 500
            log.exception("query failed")
            return {"ok": False, "status": 500, "code": "internal", "title": "Internal error / 内部错误",
                    "detail": type(exc).__name__}

    async def answer(self, raw: bytes | dict[str, Any]) -> dict[str, Any]:
        req = parse_request(raw if isinstance(raw, bytes) else json.dumps(raw).encode())
        min_seq = req.get("min_sequence")  # checked by parse_request, as is wait_seconds
        if min_seq is not None:
            wait = req.get("wait_seconds")
            await self.wait_for(min_seq, 5.0 if wait is None else float(wait))
        applied = self.applied
        op = req["op"]
        if op == "status":
            result = await self._status()
        elif op == "events":
            result = await self._events(req)
        else:
            result = await asyncio.to_thread(self.reader.answer, req, self.clock.now())
        return {"ok": True, "applied_sequence": applied, "result": result}

    async def _status(self) -> dict[str, Any]:
        last = await self.store.last_sequence()
        parked, recent = await asyncio.to_thread(self.reader.parked)
        unpublished = await asyncio.to_thread(self.outbox.count_unpublished)
        chain_breaks = await asyncio.to_thread(self._chain_breaks)
        return {"applied_sequence": self.applied, "ledger_last_sequence": last, "lag": max(0, last - self.applied),
                "parked": parked, "parked_recent": recent, "alerts_unpublished": unpublished,
                "chain_breaks": chain_breaks, "checkpoint": self.checkpointer.describe(),
                **({"partitions": {"count": self.partitions, "worker": self.worker,
                                   "held": sorted(self.partitioned.owned)}} if self.partitioned is not None else {})}

    def _chain_breaks(self) -> int:
        """Parked events whose hash or link did not hold (``ledger verify`` names them too)."""
        assert self.engine is not None
        t = LIVE.parked
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t)
                                .where(t.c.reason.startswith(CHAIN_REASON))).scalar() or 0

    async def _events(self, req: dict[str, Any]) -> dict[str, Any]:
        tenant, company = req["tenant"], req["company"]
        if not await asyncio.to_thread(self.reader.company_exists, tenant, company):
            raise not_found(tenant, company, req.get("company_hint"))
        after = decode_token(req.get("page_token")) or 0
        if not isinstance(after, int) or after < 0:
            raise bad("page_token is not one we issued")
        size = req["page_size"]
        msgs = await self.store.read_batch(after, size + 1, subject_filter=company_filter(tenant, company))
        items = []
        for m in msgs[:size]:
            try:
                items.append(m.event())
            except Exception as exc:  # a poison event is shown as such, not hidden
                items.append({"ledger_sequence": m.stream_seq, "undecodable": str(exc)})
        more = len(msgs) > size
        return {"items": items, "next_page_token": encode_token(msgs[size - 1].stream_seq) if more else None}


def worker_name() -> str:
    """This process's name among the partitioned mode's workers (host, pid and a random tail: unique)."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


def build() -> ProjectorService:
    return ProjectorService()

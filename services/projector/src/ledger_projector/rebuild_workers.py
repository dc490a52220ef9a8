"""A rebuild's workers: each replays its share of LEDGER into the fresh tables, in a process of its own.

A message belongs to the share of its company, ``partition_of(tenant, company, W)`` of its subject
(the partition function of the live projector, so the same companies go together); the system facts
(calendar years, tenant overrides) and any message whose subject names no company belong to share 0,
so they are written once. Every message of a subject is in one share: its chain tip, its facts and
its company's rows are written by one worker only.

A worker reads LEDGER up to the sequence the rebuild fixed at its start (its own connection; the
others' messages are skipped before decoding), stores its share, says so, and waits: the evaluation
needs the final calendar years and tenant overrides, which share 0 stores. Once every share is stored
the rebuild lets them all evaluate and write their companies. A worker only reports, on a pipe of its
own (and forwards its log records the same way); the rebuild decides and draws. One pipe per worker,
not a shared queue or event: a worker killed while holding a shared lock would hang the others, while a
pipe's closing end is how the rebuild learns at once that its worker died.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import logging.handlers
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from ledger_kernel.connection import connect
from ledger_kernel.partitions import partition_of
from ledger_kernel.store import LedgerStore, StoredMessage
from ledger_kernel.subjects import LEDGER_PREFIX

from ledger_projector import collector
from ledger_projector.database import make_engine
from ledger_projector.decoding import SYSTEM_TENANT
from ledger_projector.rebuild_loader import Loader
from ledger_projector.tables import rebuild_tables

# what a worker reports: (kind, number or text or log record)
REPLAYED = "replayed"  # events of its share stored by one more read
STORED = "stored"  # its whole share is stored; the number is its facts, and it waits for GO
EVALUATED = "evaluated"  # facts of one more run of companies evaluated and written
DONE = "done"  # finished; the number is the events of its share
FAILED = "failed"  # the text says why
LOG = "log"  # a log record of the worker's, to be handled where the rebuild runs
# what the rebuild orders
GO = "go"  # every share is stored: evaluate
STOP = "stop"  # give up
log = logging.getLogger(__name__)
WAIT_STEP = 1.0  # seconds between looks at its pipe while a worker waits for GO


@dataclass(frozen=True)
class Share:
    """One worker's part of a rebuild (plain values: it crosses a process boundary)."""

    index: int
    workers: int
    upto: int  # the last LEDGER sequence the rebuild replays
    suffix: str  # the fresh tables' suffix
    database_url: str = field(repr=False)
    nats_url: str = field(repr=False)  # may hold a password: never shown
    batch: int = 20_000
    facts_per_chunk: int = 50_000

    def owns(self, subject: str) -> bool:
        return owner(subject, self.workers) == self.index


def owner(subject: str, workers: int) -> int:
    """The share of the message stored on ``subject``: its company's partition, or 0 (system facts and
    subjects that name no company, which are parked by whoever owns them)."""
    parts = subject.split(".")
    if len(parts) == 5 and parts[0] == LEDGER_PREFIX and parts[1] != SYSTEM_TENANT:
        return _partition(parts[1], parts[2], workers)
    return 0


@functools.lru_cache(maxsize=65_536)
def _partition(tenant: str, company: str, workers: int) -> int:
    """``partition_of``, remembered: every worker asks it of every message of LEDGER, and a company's
    messages come again and again (hashing byte by byte in Python is the dearer part)."""
    return partition_of(tenant, company, workers)


async def reads(store: LedgerStore, after: int, upto: int | None, batch: int) -> AsyncIterator[list[StoredMessage]]:
    """LEDGER's messages after ``after`` up to ``upto`` (None: until caught up), a read at a time; the next
    read is under way while the caller works on this one."""
    pending = asyncio.ensure_future(store.read_batch(after, batch))
    try:
        while True:
            msgs = await pending
            if upto is not None:
                msgs = [m for m in msgs if m.stream_seq <= upto]
            if not msgs:
                return
            last = msgs[-1].stream_seq
            if upto is None or last < upto:
                pending = asyncio.ensure_future(store.read_batch(last, batch))
            yield msgs
            if upto is not None and last >= upto:
                return
    finally:
        if not pending.done():
            pending.cancel()


async def store_share(loader: Loader, store: LedgerStore, after: int, upto: int | None, batch: int,
                      owns: Callable[[str], bool], stored: Callable[[int], None],
                      check: Callable[[], None] = lambda: None) -> tuple[int, int]:
    """Store the messages of LEDGER that ``owns`` takes, after ``after`` up to ``upto``; (events stored,
    the last sequence read)."""
    events, last = 0, after
    async for msgs in reads(store, after, upto, batch):
        check()
        last = msgs[-1].stream_seq
        mine = [m for m in msgs if owns(m.subject)]
        if mine:
            n = await asyncio.to_thread(loader.load, mine)
            events += n
            stored(n)
    return events, last


# --- the worker's side --------------------------------------------------------------------------


class Stopped(RuntimeError):
    """The rebuild gave up (another worker failed, or the rebuild itself went away)."""


class Line:
    """A worker's end of its pipe: reports out (from any of its threads), orders in."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def report(self, kind: str, value: Any) -> None:
        with self.lock:
            self.conn.send((kind, value))

    def order(self, timeout: float) -> str | None:
        """The rebuild's next order, None if there is none within ``timeout``; Stopped for STOP or a
        closed pipe (the rebuild is gone)."""
        try:
            if not self.conn.poll(timeout):
                return None
            order = str(self.conn.recv())
        except (EOFError, OSError):
            raise Stopped("the rebuild that started this worker is gone") from None
        if order == STOP:
            raise Stopped("the rebuild was stopped")
        return order

    def check(self) -> None:
        self.order(0)


class _Forward(logging.handlers.QueueHandler):
    """Log records down the pipe, as ``(LOG, record)`` (formatted first, so they pickle)."""

    def __init__(self, line: Line) -> None:
        super().__init__(queue.SimpleQueue())  # unused: enqueue sends down the line
        self.line = line

    def enqueue(self, record: logging.LogRecord) -> None:
        self.line.report(LOG, record)


def work(share: Share, conn: Connection) -> None:
    """A worker's body: replay the share; any failure is reported, then raised (a process exits non-zero).

    In a process of its own (the main thread there) its log records go down the pipe; on a thread of
    the rebuild's process (a one-worker rebuild) it logs as that process does.
    """
    line = Line(conn)
    root = logging.getLogger()
    forward = _Forward(line) if threading.current_thread() is threading.main_thread() else None
    if forward is not None:
        root.addHandler(forward)
        root.setLevel(logging.INFO)
        collector.tune()  # a process of its own, which projects
    try:
        asyncio.run(_replay(share, line))
    except Stopped:
        return  # the rebuild gave up and needs no word from this one
    except BaseException as exc:
        log.debug("rebuild worker %d failed", share.index, exc_info=True)
        try:
            line.report(FAILED, f"{type(exc).__name__}: {exc}")
        except OSError:
            pass  # the rebuild is gone: nobody to tell
        if forward is None:
            raise  # on the rebuild's thread: its exit code says so
        raise SystemExit(1) from None  # the report says why; no traceback on the rebuild's terminal
    finally:
        if forward is not None:
            root.removeHandler(forward)


async def _replay(share: Share, line: Line) -> None:
    engine = make_engine(share.database_url)
    nc = await connect(share.nats_url, f"projector-rebuild-{share.index}")
    try:
        _, tables = rebuild_tables(share.suffix)
        loader = Loader(engine, tables, facts_per_chunk=share.facts_per_chunk)
        after = await asyncio.to_thread(loader.prepare)
        events, _ = await store_share(loader, LedgerStore(nc), after, share.upto, share.batch, share.owns,
                                      lambda n: line.report(REPLAYED, n), line.check)
        line.report(STORED, loader.facts)
        while await asyncio.to_thread(line.order, WAIT_STEP) != GO:
            pass

        def evaluated(facts: int) -> None:
            line.check()
            line.report(EVALUATED, facts)

        await asyncio.to_thread(loader.finish, evaluated)
        line.report(DONE, events)
    finally:
        await nc.close()
        engine.dispose()


# --- the rebuild's side -------------------------------------------------------------------------

REPLAYING, EVALUATING, SWAPPING = "replaying", "evaluating", "swapping"
POLL = 0.2  # seconds between looks at the workers while their pipes are quiet
JOIN = 10.0  # seconds the workers get to exit when told to stop (or when done) before they are terminated


@dataclass(frozen=True)
class RebuildProgress:
    """Where a rebuild is: ``done`` of ``total`` events stored (REPLAYING), facts whose companies are
    evaluated and written (EVALUATING), or the swap (SWAPPING, 0 of 1 then 1 of 1)."""

    phase: str
    done: int
    total: int


Progress = Callable[[RebuildProgress], None]


class RebuildFailed(RuntimeError):
    """A worker failed or died: nothing was swapped in, the live read model is as it was."""


class _Thread(threading.Thread):
    """The one worker of a one-worker rebuild, on a thread of the rebuild's own process."""

    def __init__(self, share: Share, conn: Connection) -> None:
        super().__init__(name=f"ledger-rebuild-{share.index}", daemon=True)
        self.share, self.conn = share, conn
        self.exitcode: int | None = None

    def run(self) -> None:
        try:
            work(self.share, self.conn)
        except BaseException:  # reported down the pipe by work()
            self.exitcode = 1
        else:
            self.exitcode = 0


def _ended(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _context() -> Any:
    """Processes forked from a fork server that has imported this module once: a worker starts without
    importing the rule pack anew (seconds each), and inherits no thread, NATS or database connection of
    the rebuild's process, as a spawned one would not."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


class Crew:
    """The workers of one rebuild: processes for two or more, a thread for one.

    :meth:`supervise` follows their reports, orders GO once every share is stored, turns the reports
    into :class:`RebuildProgress` and raises :class:`RebuildFailed` as soon as one fails or dies;
    :meth:`stop` ends whichever are still running.
    """

    def __init__(self, shares: list[Share]) -> None:
        ctx = _context()
        pipes = [ctx.Pipe() for _ in shares]
        self.lines = [ours for ours, _ in pipes]
        self.theirs = [theirs for _, theirs in pipes]
        self.hands: list[Any] = (
            [_Thread(shares[0], self.theirs[0])] if len(shares) == 1 else
            [ctx.Process(target=work, args=(s, theirs), name=f"ledger-rebuild-{s.index}", daemon=True)
             for s, theirs in zip(shares, self.theirs, strict=True)])
        self.stopped = False

    def start(self) -> None:
        for hand in self.hands:
            hand.start()
        if not isinstance(self.hands[0], threading.Thread):
            for theirs in self.theirs:
                theirs.close()  # the child holds its own copy: a dead child's pipe reads as closed

    def supervise(self, total: int, progress: Progress) -> int:
        """Follow the workers until every one is done; the events they stored."""
        n = len(self.hands)
        running: dict[Connection, int] = {line: i for i, line in enumerate(self.lines)}
        stored: dict[int, int] = {}
        done: dict[int, int] = {}
        replayed = evaluated = facts = 0
        progress(RebuildProgress(REPLAYING, 0, total))
        while running:
            ready = wait(list(running), timeout=POLL)
            if not ready:
                self._look(running)
            for line in ready:
                assert isinstance(line, Connection)
                i = running[line]
                try:
                    kind, value = line.recv()
                except (EOFError, OSError):
                    raise RebuildFailed(f"rebuild worker {i} {self._fate(i)}") from None
                if kind == LOG:
                    _log(value)
                elif kind == FAILED:
                    raise RebuildFailed(f"rebuild worker {i} failed: {value}")
                elif kind == REPLAYED:
                    replayed += value
                    progress(RebuildProgress(REPLAYING, replayed, total))
                elif kind == STORED:
                    stored[i] = value
                    if len(stored) == n:  # every share stored, the rule state final: evaluate
                        facts = sum(stored.values())
                        progress(RebuildProgress(EVALUATING, 0, facts))
                        self._order_all(GO)
                elif kind == EVALUATED:
                    evaluated += value
                    progress(RebuildProgress(EVALUATING, evaluated, facts))
                elif kind == DONE:
                    done[i] = value
                    del running[line]
        return sum(done.values())

    def _order_all(self, order: str) -> None:
        for i, line in enumerate(self.lines):
            try:
                line.send(order)
            except OSError:
                raise RebuildFailed(f"rebuild worker {i} {self._fate(i)}") from None

    def _look(self, running: dict[Connection, int]) -> None:
        """Raise for a worker that ended with nothing left to read (a thread's end is no closed pipe)."""
        for line, i in running.items():
            if self.hands[i].exitcode is not None and not line.poll():
                raise RebuildFailed(f"rebuild worker {i} ended without finishing: {self._fate(i)}")

    def _fate(self, index: int) -> str:
        hand = self.hands[index]
        hand.join(timeout=JOIN)
        return _ended(hand.exitcode)

    def stop(self) -> None:
        """End the workers still running (none after a clean finish) and wait for them; close the pipes.
        Once is enough: later calls do nothing."""
        if self.stopped:
            return
        self.stopped = True
        for line in self.lines:
            try:
                line.send(STOP)
            except OSError:
                pass  # that one is gone already
        deadline = time.monotonic() + JOIN
        for hand in self.hands:
            if hand.ident is None:
                continue  # never started
            hand.join(timeout=max(0.0, deadline - time.monotonic()))  # each stops at its next look at the pipe
            if isinstance(hand, threading.Thread) or not hand.is_alive():
                continue  # a thread cannot be ended from outside; it is a daemon
            hand.terminate()
            hand.join(timeout=JOIN)
            if hand.is_alive():
                hand.kill()
                hand.join()
        for conn in (*self.lines, *self.theirs):
            conn.close()


def _log(record: logging.LogRecord) -> None:
    """A worker's log record, handled here as if logged here."""
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)

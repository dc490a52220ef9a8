"""The repository: load an aggregate by its subject, decide, append exactly one event.

Concurrency is optimistic across processes (``Nats-Expected-Last-Subject-Sequence``)
and serialised per aggregate inside one process (a lock), so conflicts are rare and
always resolved by reloading and deciding again. The lock is the one the append path
needs: the cached aggregate is shared and mutated across awaits (a catch-up applies
what the stream holds after its position), so two commands on it at once would apply
the same events twice. An aggregate this process has not seen is not read before its
first append: it is guessed empty, and the server's expected-sequence check (or a
refusal, which is always confirmed against the stream) tells when the guess is wrong
— a new aggregate costs one round trip, not two.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from ledger_kernel import envelope
from ledger_kernel.aggregate import Aggregate, Command, Refused
from ledger_kernel.clock import Clock, SystemClock
from ledger_kernel.store import LedgerStore, MsgIdReused, WrongLastSequence
from ledger_kernel.subjects import AggregateAddress


class Conflict(Exception):
    """The caller's expected aggregate sequence no longer holds (HTTP 412/409)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected aggregate sequence {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class Contended(Exception):
    """An aggregate stayed contended through every retry; the caller may try again (HTTP 503)."""


class IdempotencyMismatch(Exception):
    """The same command id was used before for a different fact (HTTP 422)."""


@dataclass(frozen=True)
class Recorded:
    event_id: str
    type: str
    subject: str
    aggregate_id: str
    sequence: int
    ledger_sequence: int
    duplicate: bool

    def as_dict(self) -> dict:
        return {"event_id": self.event_id, "type": self.type, "aggregate": self.subject,
                "aggregate_id": self.aggregate_id, "sequence": self.sequence,
                "ledger_sequence": self.ledger_sequence, "duplicate": self.duplicate}


class Repository:
    """Loads and appends aggregates of one service."""

    MAX_RETRIES = 60

    def __init__(self, store: LedgerStore, source: str, *, clock: Clock | None = None,
                 cache_size: int = 10_000) -> None:
        self.store = store
        self.source = source  # urn:ledger:{service}
        self.clock = clock or SystemClock()
        self._cache: OrderedDict[str, Aggregate] = OrderedDict()
        self._cache_size = cache_size
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.conflicts = 0  # counted for metrics

    async def load(self, address: AggregateAddress, cls: type[Aggregate]) -> Aggregate:
        """The aggregate's current state, read up to the stream's end (cached state plus what came after)."""
        async with self._lock(address.subject):
            agg = self._cached(address, cls)
            await self._catch_up(address, agg, cls)
            return copy.deepcopy(agg)

    def _cached(self, address: AggregateAddress, cls: type[Aggregate]) -> Aggregate:
        agg = self._cache.get(address.subject)
        if agg is None or type(agg) is not cls:
            agg = cls(address.aggregate_id)
        self._remember(address.subject, agg)
        return agg

    async def _catch_up(self, address: AggregateAddress, agg: Aggregate, cls: type[Aggregate]) -> Aggregate:
        """Apply what the stream holds after the cached position; on any inconsistency start afresh."""
        try:
            async for msg in self.store.read(address.subject, after_seq=agg.last_stream_seq):
                agg.apply(msg.event(), msg.stream_seq)
        except Exception:
            self._cache.pop(address.subject, None)
            raise
        return agg

    def _remember(self, subject: str, agg: Aggregate) -> None:
        self._cache[subject] = agg
        self._cache.move_to_end(subject)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    class _SubjectLock:
        def __init__(self, repo: Repository, subject: str) -> None:
            self.repo, self.subject = repo, subject

        async def __aenter__(self) -> None:
            lock, users = self.repo._locks.get(self.subject) or (asyncio.Lock(), 0)
            self.repo._locks[self.subject] = (lock, users + 1)
            self.lock = lock
            await lock.acquire()

        async def __aexit__(self, *exc: object) -> None:
            self.lock.release()
            lock, users = self.repo._locks[self.subject]
            if users <= 1:
                del self.repo._locks[self.subject]
            else:
                self.repo._locks[self.subject] = (lock, users - 1)

    def _lock(self, subject: str) -> Repository._SubjectLock:
        return Repository._SubjectLock(self, subject)

    async def execute(self, command: Command, address: AggregateAddress, cls: type[Aggregate],
                      version: int, *, now: datetime | None = None) -> Recorded:
        """Record ``command`` as exactly one event on ``address``, or raise Refused / Conflict.

        Commands on one aggregate are serialised in this process, and the cached state (empty for an
        aggregate never seen) is trusted: the server's expected-sequence check catches any staleness,
        and we read the stream again before refusing, before reporting a conflict, and after a
        duplicate ack.
        """
        async with self._lock(address.subject):
            try:
                return await self._execute(command, address, cls, version, now)
            except (Refused, Conflict, IdempotencyMismatch):
                raise
            except BaseException:
                # The cached state may hold a half-applied step: never trust it after a failure.
                self._cache.pop(address.subject, None)
                raise

    async def _execute(self, command: Command, address: AggregateAddress, cls: type[Aggregate],
                       version: int, now: datetime | None) -> Recorded:
        event_id = envelope.event_id_for(command.tenant, command.command_id)
        subject = address.subject
        agg = self._cached(address, cls)
        fresh = False  # read from the stream just now (an aggregate never seen is guessed empty, not read)
        for attempt in range(self.MAX_RETRIES):
            done = self._already(agg, event_id, command, address)
            if done is not None:
                return done
            try:
                if command.expected_sequence is not None and agg.version != command.expected_sequence:
                    raise Conflict(command.expected_sequence, agg.version)
                agg.check(command)
            except (Refused, Conflict):
                if fresh:
                    raise
                await self._catch_up(address, agg, cls)  # judge only on the stream's latest state
                fresh = True
                continue
            event = envelope.build_event(
                event_id=event_id, source=self.source, event_type=command.type, version=version,
                aggregate_id=address.aggregate_id, tenant=command.tenant, company=command.company,
                sequence=agg.version + 1, effective_date=command.effective_date, data=command.data,
                prevhash=agg.last_hash, recorded_at=now or self.clock.now(),
                correlation_id=command.correlation_id, causation_id=command.causation_id,
                actor=command.actor, traceparent=command.traceparent,
            )
            headers = {"traceparent": command.traceparent} if command.traceparent else None
            try:
                appended = await self.store.append(subject, envelope.encode(event), msg_id=event_id,
                                                   expected_last_subject_seq=agg.last_stream_seq, headers=headers)
            except WrongLastSequence:
                if agg.last_stream_seq or fresh:
                    self.conflicts += 1
                    # someone else appended: back off with jitter, read what they wrote, decide again
                    await asyncio.sleep(random.uniform(0, min(0.005 * (attempt + 1), 0.2)))
                # else the guess "new aggregate" was wrong: read it and decide again, no race to back off from
                await self._catch_up(address, agg, cls)
                fresh = True
                continue
            except MsgIdReused as exc:
                raise IdempotencyMismatch(str(exc)) from exc
            if appended.duplicate:
                # Recorded before (another instance, or a lost ack): answer from the stored event.
                await self._catch_up(address, agg, cls)
                fresh = True
                continue
            agg.apply(event, appended.stream_seq)
            return Recorded(event_id, command.type, subject, address.aggregate_id, event["sequence"],
                            appended.stream_seq, False)
        raise Contended(f"{subject}: still contended after {self.MAX_RETRIES} attempts")

    @staticmethod
    def _already(agg: Aggregate, event_id: str, command: Command, address: AggregateAddress) -> Recorded | None:
        """A command already recorded (a retry, or a lost ack) answers with its original event."""
        ref = agg.events.get(event_id)
        if ref is None:
            return None
        if ref.fingerprint != command.fingerprint():
            raise IdempotencyMismatch(
                f"command id {command.command_id} was already used for a different fact on this aggregate")
        return Recorded(event_id, ref.type, address.subject, address.aggregate_id, ref.sequence,
                        ref.stream_seq, duplicate=True)


__all__ = ["Conflict", "Contended", "IdempotencyMismatch", "Recorded", "Refused", "Repository"]

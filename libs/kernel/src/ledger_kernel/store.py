"""The ledger's persistence: appends and reads on a JetStream stream.

Appends are guarded by ``Nats-Expected-Last-Subject-Sequence`` (optimistic
concurrency per aggregate) and carry the event id as ``Nats-Msg-Id``
(idempotency). Reads use batched direct get, one round trip per batch, answered on
one long-lived reply subscription per connection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, ServiceUnavailableError

from ledger_kernel import envelope

log = logging.getLogger(__name__)

ERR_WRONG_LAST_SEQUENCE = 10071
ERR_IN_FLIGHT = 10164
ERR_INSUFFICIENT_RESOURCES = {10023, 10047}
RETRYABLE_CODES = {ERR_IN_FLIGHT, 10008}  # in-flight proposals; temporarily unavailable


class StoreUnavailable(RuntimeError):
    """JetStream did not answer in time or is not ready; nothing is known to be appended."""


class StorageFull(StoreUnavailable):
    """JetStream has no room left for the ledger (10023 / 10047): not transient, an operator must act."""


class WrongLastSequence(RuntimeError):
    """Someone else appended to the aggregate first (API error 10071)."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject}: last subject sequence is no longer {expected}")
        self.subject = subject
        self.expected = expected


class MsgIdReused(RuntimeError):
    """A de-duplicated message id belongs to a message on another subject."""


@dataclass(frozen=True)
class StoredMessage:
    """One message read back from the stream: its position and raw bytes."""

    stream_seq: int
    subject: str
    data: bytes
    msg_id: str | None
    timestamp: str | None
    source: str | None = None  # ``Nats-Stream-Source`` of a sourced stream's copy (LEDGER_P): the origin

    def event(self) -> dict[str, Any]:
        return envelope.decode(self.data)


def _stored(raw: RawStreamMsg) -> StoredMessage:
    """A message read back by sequence or by subject (nats-py types its sequence and subject optional)."""
    if raw.seq is None or raw.subject is None:
        raise ValueError("the server answered a message read without its sequence or subject")
    headers = raw.headers or {}
    return StoredMessage(raw.seq, raw.subject, raw.data or b"", headers.get("Nats-Msg-Id"), None)


@dataclass(frozen=True)
class Appended:
    stream_seq: int
    duplicate: bool


class _Batch:
    """The replies of one batched direct get, gathered by the reply subscription's callback.

    Messages are collected into a list and the waiter is woken once, when the closing status
    (204 end of batch, 404 nothing there, or an error) arrives: a wake-up per message (a queue
    and ``wait_for`` each) cost more than the read itself.
    """

    __slots__ = ("messages", "done", "arrived")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.messages: list[Msg] = []
        self.done: asyncio.Future[Msg] = loop.create_future()
        self.arrived = 0  # replies so far, the waiter's proof of progress

    def add(self, msg: Msg) -> None:
        self.arrived += 1
        headers = msg.headers
        if headers and "Status" in headers:
            if not self.done.done():
                self.done.set_result(msg)
        else:
            self.messages.append(msg)


class _Replies:
    """One long-lived reply subscription per connection for direct gets (``<inbox>.<token>``).

    The token routes each reply to its caller: no SUB/UNSUB per read, so reading a thousand new
    aggregates in a batch costs a thousand requests and nothing more. It holds no reference to
    the connection, so a connection that is dropped takes its subscription with it.
    """

    def __init__(self) -> None:
        self._prefix: str | None = None
        self._lock = asyncio.Lock()
        self.waiting: dict[str, _Batch] = {}
        self.tokens = itertools.count(1)

    async def prefix(self, nc: Client) -> str:
        if self._prefix is None:
            async with self._lock:
                if self._prefix is None:
                    prefix = nc.new_inbox()
                    await nc.subscribe(prefix + ".*", cb=self._route)
                    self._prefix = prefix
        return self._prefix

    async def _route(self, msg: Msg) -> None:
        batch = self.waiting.get(msg.subject.rpartition(".")[2])
        if batch is not None:  # else a late reply to a read that gave up: dropped
            batch.add(msg)


_replies: weakref.WeakKeyDictionary[Client, _Replies] = weakref.WeakKeyDictionary()


class LedgerStore:
    """Append to and read from one stream (LEDGER by default)."""

    def __init__(self, nc: Client, stream: str = "LEDGER", *, timeout: float = 5.0, attempts: int = 6) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=timeout)
        self.stream = stream
        self.timeout = timeout
        self.attempts = attempts

    # --- reads -------------------------------------------------------------------------

    async def _direct_batch(self, request: dict[str, Any]) -> tuple[list[StoredMessage], int]:
        """One batched direct get. Returns the messages and how many remain after them."""
        replies = _replies.get(self.nc)
        if replies is None:
            replies = _replies.setdefault(self.nc, _Replies())
        prefix = await replies.prefix(self.nc)
        token = str(next(replies.tokens))
        batch = _Batch(asyncio.get_running_loop())
        replies.waiting[token] = batch
        try:
            await self.nc.publish(f"$JS.API.DIRECT.GET.{self.stream}", json.dumps(request).encode(),
                                  reply=f"{prefix}.{token}")
            seen = 0
            # Time out on silence, not on a long batch that keeps arriving. asyncio.wait, not wait_for:
            # on Python 3.11 wait_for swallows a cancellation that lands as its future completes, and a
            # projector being stopped then never stops.
            while not batch.done.done():
                await asyncio.wait((batch.done,), timeout=self.timeout)
                if not batch.done.done():
                    if batch.arrived == seen:
                        raise StoreUnavailable(f"direct get on {self.stream} timed out")
                    seen = batch.arrived
            closing = batch.done.result()
        finally:
            del replies.waiting[token]
        headers = closing.headers or {}
        status = headers.get("Status")
        if status not in ("404", "204"):
            raise StoreUnavailable(f"direct get on {self.stream}: status {status} {headers}")
        out = []
        for msg in batch.messages:
            h = msg.headers or {}
            out.append(StoredMessage(stream_seq=int(h["Nats-Sequence"]), subject=h["Nats-Subject"], data=msg.data,
                                     msg_id=h.get("Nats-Msg-Id"), timestamp=h.get("Nats-Time-Stamp"),
                                     source=h.get("Nats-Stream-Source")))
        return out, int(headers.get("Nats-Num-Pending", "0") or 0) if status == "204" else 0

    async def read(self, subject_filter: str, after_seq: int = 0, batch: int = 1000) -> AsyncIterator[StoredMessage]:
        """Every message matching ``subject_filter`` (wildcards allowed) after ``after_seq``, in order."""
        seq = after_seq + 1
        while True:
            msgs, pending = await self._direct_batch({"seq": seq, "next_by_subj": subject_filter, "batch": batch})
            for m in msgs:
                yield m
            if not msgs or pending == 0:
                return
            seq = msgs[-1].stream_seq + 1

    async def read_all(self, subject_filter: str, after_seq: int = 0) -> list[StoredMessage]:
        return [m async for m in self.read(subject_filter, after_seq)]

    async def read_batch(self, after_seq: int, batch: int = 1000, subject_filter: str = ">") -> list[StoredMessage]:
        """Up to ``batch`` messages after ``after_seq`` (for projections and verification)."""
        msgs, _ = await self._direct_batch({"seq": after_seq + 1, "next_by_subj": subject_filter, "batch": batch})
        return msgs

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(self.stream)
        return info.state.last_seq

    async def last_on_subject(self, subject: str) -> StoredMessage | None:
        try:
            raw = await self.js.get_last_msg(self.stream, subject)
        except nats.js.errors.NotFoundError:
            return None
        return _stored(raw)

    async def message_at(self, seq: int) -> StoredMessage | None:
        try:
            raw = await self.js.get_msg(self.stream, seq=seq, direct=True)
        except nats.js.errors.NotFoundError:
            return None
        return _stored(raw)

    # --- appends -----------------------------------------------------------------------

    async def append(self, subject: str, payload: bytes, *, msg_id: str, expected_last_subject_seq: int,
                     headers: dict[str, str] | None = None) -> Appended:
        """Append one message if the subject's last sequence is still ``expected_last_subject_seq``.

        A duplicate ack is success. After a lost ack on a one-replica stream the
        retry sees 10071 (the sequence check runs before de-duplication), so on
        10071 we compare the subject's last ``Nats-Msg-Id`` with ours first.
        """
        hdrs = {
            "Nats-Msg-Id": msg_id,
            "Nats-Expected-Last-Subject-Sequence": str(expected_last_subject_seq),
            "Nats-Expected-Stream": self.stream,
            "Content-Type": envelope.CONTENT_TYPE,
            **(headers or {}),
        }
        delay = 0.05
        for attempt in range(1, self.attempts + 1):
            try:
                ack = await self.js.publish(subject, payload, headers=hdrs, timeout=self.timeout)
            except APIError as exc:
                if exc.err_code == ERR_WRONG_LAST_SEQUENCE:
                    last = await self.last_on_subject(subject)
                    if last is not None and last.msg_id == msg_id:
                        return Appended(last.stream_seq, duplicate=True)
                    raise WrongLastSequence(subject, expected_last_subject_seq) from exc
                if exc.err_code in ERR_INSUFFICIENT_RESOURCES:
                    raise StorageFull(
                        f"the ledger's storage is full: JetStream refused the append ({exc.err_code} "
                        f"{exc.description}); free or add storage. 账本存储空间已满，请扩容后重试。") from exc
                if exc.err_code in RETRYABLE_CODES or isinstance(exc, ServiceUnavailableError) or exc.code == 503:
                    log.warning("append to %s not ready (%s), retry %d", subject, exc, attempt)
                else:
                    raise
            except (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
                # The publish may or may not have landed: retry with the same msg id.
                log.warning("append to %s unanswered (%s), retry %d", subject, type(exc).__name__, attempt)
            except (nats.errors.ConnectionReconnectingError, nats.errors.ConnectionClosedError,
                    nats.errors.OutboundBufferLimitError) as exc:
                log.warning("append to %s: connection not ready (%s), retry %d", subject, type(exc).__name__, attempt)
            else:
                if ack.duplicate:
                    stored = await self.message_at(ack.seq)
                    if stored is not None and stored.subject != subject:
                        raise MsgIdReused(f"message id {msg_id} already used on {stored.subject}")
                return Appended(ack.seq, duplicate=bool(ack.duplicate))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise StoreUnavailable(f"append to {subject} not acknowledged after {self.attempts} attempts")

"""Signing the ledger's head: the projector, which reads LEDGER in order, signs checkpoints of it.

A checkpoint (:class:`ledger_kernel.checkpoints.Checkpoint`) is made from the read model's own
state in one snapshot — the applied sequence and every aggregate's tip in ``projector_chain_tips``,
both written in the same transactions — and published to CHECKPOINTS. It is signed at least every
``LEDGER_CHECKPOINT_INTERVAL`` seconds while events arrive, soon after the projector catches up,
and when it stops cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nats.errors
import sqlalchemy as sa
from ledger_kernel import checkpoints as cp
from ledger_kernel.chain import heads_digest
from ledger_kernel.clock import Clock
from nats.js.client import JetStreamContext
from nats.js.errors import APIError, NotFoundError
from sqlalchemy.engine import Engine

from ledger_projector.projection import read_checkpoint
from ledger_projector.settings import ProjectorSettings
from ledger_projector.tables import TableSet

log = logging.getLogger(__name__)
INTERVAL_ENV = "LEDGER_CHECKPOINT_INTERVAL"
DEFAULT_INTERVAL = 60.0
CATCH_UP_GAP = 5.0  # the least time between two checkpoints signed because the projector caught up


def interval_setting(raw: str | None) -> float:
    """``LEDGER_CHECKPOINT_INTERVAL``: the longest time, in seconds, between checkpoints while events
    arrive (1-3600; empty or unset is 60), as :class:`ProjectorSettings` reads it."""
    return ProjectorSettings.from_env({INTERVAL_ENV: raw or ""}).checkpoint_interval


@dataclass(frozen=True)
class HeadState:
    """The read model's view of LEDGER at one applied sequence."""

    sequence: int
    heads: dict[str, str]  # subject → last hash
    changed: dict[str, str]  # the heads set after the previous checkpoint
    newest: int = 0  # the highest LEDGER sequence among the heads


def head_state(engine: Engine, tables: TableSet, after: int) -> HeadState:
    """The applied sequence and every tip, read in one snapshot (a rebuild's swap cannot fall between)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            sequence = read_checkpoint(conn, tables)[0]
            t = tables.chain_tips
            heads: dict[str, str] = {}
            changed: dict[str, str] = {}
            newest = 0
            for subject, value, at in conn.execute(sa.select(t.c.subject, t.c.hash, t.c.ledger_sequence)):
                heads[subject] = value
                newest = max(newest, at)
                if at > after:
                    changed[subject] = value
    return HeadState(sequence, heads, changed, newest)


class Checkpointer:
    """Decides when to sign, signs, and publishes to CHECKPOINTS (``Nats-Msg-Id`` = key id and sequence)."""

    def __init__(self, engine: Engine, tables: TableSet, signer: cp.Signer, js: JetStreamContext, clock: Clock,
                 *, interval: float = DEFAULT_INTERVAL) -> None:
        self.engine, self.tables, self.signer, self.js, self.clock = engine, tables, signer, js, clock
        self.interval = interval
        self.previous = 0  # the sequence of the last checkpoint on CHECKPOINTS
        self.latest: cp.Checkpoint | None = None
        self._signed_at = time.monotonic()

    async def start(self) -> None:
        """Continue from the last checkpoint on the stream, whoever signed it."""
        try:
            raw = await self.js.get_last_msg(cp.STREAM, cp.SUBJECT)
        except NotFoundError:
            return
        except (APIError, nats.errors.Error, TimeoutError) as exc:
            log.warning("cannot read the last checkpoint (%s); heads are listed from the start", type(exc).__name__)
            return
        try:
            self.latest = cp.Checkpoint.model_validate_json(raw.data or b"")
            self.previous = self.latest.sequence
        except ValueError:
            log.warning("the last message on %s is not a checkpoint; heads are listed from the start", cp.SUBJECT)

    def due(self, applied: int, *, caught_up: bool) -> bool:
        if applied <= self.previous:
            return False
        waited = time.monotonic() - self._signed_at
        return waited >= self.interval or (caught_up and waited >= min(self.interval, CATCH_UP_GAP))

    def make(self, state: HeadState) -> cp.Checkpoint:
        return self.signer.sign(sequence=state.sequence, digest=heads_digest(state.heads),
                                aggregates=len(state.heads), previous=self.previous, heads=state.changed,
                                now=self.clock.now())

    async def sign(self, write_lock: asyncio.Lock, *, settled_only: bool = False) -> cp.Checkpoint | None:
        """Sign and publish the head as the read model holds it; None when nothing new was applied.

        ``settled_only`` (the partitioned mode, where partitions stand at different places): only when no
        aggregate's head is past the applied sequence, so the heads are exactly LEDGER's at that sequence."""
        async with write_lock:  # no batch of this process commits while the snapshot is read
            state = await asyncio.to_thread(head_state, self.engine, self.tables, self.previous)
        if state.sequence <= self.previous or (settled_only and state.newest > state.sequence):
            return None
        record = self.make(state)
        await self.js.publish(cp.SUBJECT, record.encode(), stream=cp.STREAM,
                              headers={"Nats-Msg-Id": f"{record.key_id}:{record.sequence}",
                                       "Content-Type": "application/json"})
        self.previous, self.latest, self._signed_at = record.sequence, record, time.monotonic()
        log.info("signed checkpoint at ledger sequence %d (%d aggregates, key %s)", record.sequence,
                 record.aggregates, record.key_id)
        return record

    def describe(self) -> Mapping[str, Any] | None:
        c = self.latest
        return None if c is None else {"sequence": c.sequence, "signed_at": c.signed_at, "key_id": c.key_id}

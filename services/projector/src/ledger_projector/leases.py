"""Partition leases in JetStream KV: which projector worker works which partition, for now.

Bucket ``projector_leases`` with a TTL (``LEDGER_PROJECTOR_LEASE_TTL``, 5 s): a worker claims a partition
with ``create()`` (fails while another holds it), renews it every second with ``update(last=revision)``
(fails once another has taken it), and drops it on a failed renewal or when its local deadline (last
renewal + TTL − 1 s) passes, so it stops before anyone else may start. A dead worker's leases expire
with the TTL and the others claim them. Each worker also puts ``worker.<id>`` every round; the live
workers' count W sets the fair share, ceil(P / W): a worker above it releases partitions, one below it
claims free ones. A lease only says who *should* work a partition: the read model's fencing epoch
(:mod:`ledger_projector.partitioned`) is what stops a worker that lost one from committing.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
from nats.js.api import KeyValueConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)
BUCKET = "projector_leases"
RENEW_EVERY = 1.0


@dataclass
class Held:
    revision: int
    deadline: float  # monotonic: drop it by then unless renewed


@dataclass(frozen=True)
class Changes:
    gained: list[int]
    lost: list[int]


def lease_key(partitions: int, partition: int) -> str:
    return f"p{partitions}.{partition}"


def fair_share(partitions: int, workers: int) -> int:
    return math.ceil(partitions / max(1, workers))


class Leases:
    """One worker's leases over ``partitions`` partitions."""

    def __init__(self, js: JetStreamContext, worker: str, partitions: int, *, ttl: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.js, self.worker, self.partitions, self.ttl = js, worker, partitions, ttl
        self.monotonic = monotonic
        self.held: dict[int, Held] = {}
        self.kv: KeyValue | None = None
        # where this worker starts looking for free partitions: workers spread instead of racing for 0, 1, …
        self.offset = zlib.crc32(worker.encode()) % partitions

    async def open(self) -> None:
        try:
            self.kv = await self.js.key_value(BUCKET)
        except BucketNotFoundError:
            self.kv = await self.js.create_key_value(KeyValueConfig(
                bucket=BUCKET, history=1, ttl=self.ttl, description="Projector partition leases (TTL)"))

    def _kv(self) -> KeyValue:
        if self.kv is None:
            raise RuntimeError("leases not opened")
        return self.kv

    def owns(self, partition: int) -> bool:
        held = self.held.get(partition)
        return held is not None and self.monotonic() < held.deadline

    async def alive(self) -> int:
        """Workers that put their heartbeat within the TTL (this one included)."""
        info = await self.js.stream_info(f"KV_{BUCKET}", subjects_filter=f"$KV.{BUCKET}.worker.p{self.partitions}.>")
        return max(1, len(info.state.subjects or {}))

    async def round(self) -> Changes:
        """Heartbeat, renew, then release or claim towards the fair share. What changed."""
        kv = self._kv()
        lost = await self._renew()
        try:
            await kv.put(f"worker.p{self.partitions}.{self.worker}", b"")
            target = fair_share(self.partitions, await self.alive())
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("lease round: NATS unavailable (%s); keeping what is held until its deadline",
                        type(exc).__name__)
            return Changes([], lost)
        gained: list[int] = []
        order = [(self.offset + i) % self.partitions for i in range(self.partitions)]
        if len(self.held) > target:
            for p in reversed(order):  # release the ones furthest from this worker's start
                if len(self.held) <= target:
                    break
                if p in self.held:
                    await self.release(p)
                    lost.append(p)
        else:
            for p in order:
                if len(self.held) >= target:
                    break
                if p not in self.held and await self._claim(p):
                    gained.append(p)
        return Changes(gained, lost)

    async def _claim(self, partition: int) -> bool:
        try:
            revision = await self._kv().create(lease_key(self.partitions, partition), self.worker.encode())
        except KeyWrongLastSequenceError:
            return False  # held by another
        except (nats.errors.Error, TimeoutError):
            return False
        self.held[partition] = Held(revision, self.monotonic() + self.ttl - 1.0)
        log.info("worker %s claimed partition %d", self.worker, partition)
        return True

    async def _renew(self) -> list[int]:
        lost: list[int] = []
        for p, held in list(self.held.items()):
            try:
                held.revision = await self._kv().update(lease_key(self.partitions, p), self.worker.encode(),
                                                        last=held.revision)
                held.deadline = self.monotonic() + self.ttl - 1.0
            except KeyWrongLastSequenceError:  # expired and taken by another, or deleted
                log.warning("worker %s lost partition %d", self.worker, p)
                del self.held[p]
                lost.append(p)
            except (nats.errors.Error, TimeoutError, NotFoundError):
                if self.monotonic() >= held.deadline:
                    log.warning("worker %s could not renew partition %d in time; dropping it", self.worker, p)
                    del self.held[p]
                    lost.append(p)
        return lost

    async def release(self, partition: int) -> None:
        """Give a partition up now (the caller has stopped working it), so another may claim it at once."""
        held = self.held.pop(partition, None)
        if held is None:
            return
        try:
            await self._kv().delete(lease_key(self.partitions, partition), last=held.revision)
        except (KeyWrongLastSequenceError, nats.errors.Error, TimeoutError):
            pass  # taken already, or NATS away: it expires with the TTL
        log.info("worker %s released partition %d", self.worker, partition)

    async def release_all(self) -> None:
        for p in sorted(self.held):
            await self.release(p)

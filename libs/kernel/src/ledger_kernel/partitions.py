"""LEDGER split by company into P partitions: the stream ``LEDGER_P`` that the partitioned projector reads.

LEDGER stays as it is. ``LEDGER_P`` sources it with the subject transform
``ledger.*.*.*.*`` → ``p.{{partition(P,1,2)}}.{{wildcard(1)}}.…``, so every message lands, in
LEDGER's order, under ``p.<partition>.<tenant>.<company>.<type>.<id>``. The server partitions by
FNV-1a (32 bit) over the tenant and company tokens joined without a separator, so
:func:`partition_of` computes the same number locally. The original LEDGER sequence travels in the
``Nats-Stream-Source`` header (:func:`source_sequence`). Changing P means a new stream and a
backfill: the stream is a copy, so ``ledger up`` (with the admin credential) replaces one partitioned
by another P; a worker meeting one refuses to start, saying so.
"""

from __future__ import annotations

import dataclasses
import re

from nats.aio.client import Client
from nats.js.api import (
    StreamConfig,
    StreamSource,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from ledger_kernel.streams import LEDGER, ledger_config

STREAM = "LEDGER_P"
PREFIX = "p"
SOURCE_SUBJECTS = "ledger.*.*.*.*"
FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


class PartitionCountChanged(RuntimeError):
    """LEDGER_P exists partitioned by another P."""


def fnv1a32(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


def partition_of(tenant: str, company: str, partitions: int) -> int:
    """The partition the server's ``partition(P,1,2)`` puts ``ledger.<tenant>.<company>.…`` in."""
    return fnv1a32((tenant + company).encode()) % partitions


def partition_filter(partition: int) -> str:
    return f"{PREFIX}.{partition}.>"


def ledger_subject(subject: str) -> str:
    """``p.<n>.<rest>`` back to ``ledger.<rest>``."""
    parts = subject.split(".", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ValueError(f"not a partition subject: {subject!r}")
    return f"ledger.{parts[2]}"


def source_sequence(header: str | None) -> int:
    """The LEDGER sequence in a ``Nats-Stream-Source`` header (``LEDGER <seq> <filter> <dest>``)."""
    parts = (header or "").split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"no source sequence in {header!r}")
    return int(parts[1])


def partition_config(partitions: int, replicas: int = 1) -> StreamConfig:
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    dest = (f"{PREFIX}.{{{{partition({partitions},1,2)}}}}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"
            ".{{wildcard(3)}}.{{wildcard(4)}}")
    return dataclasses.replace(  # LEDGER's limits and guarantees, without subjects of its own
        ledger_config(replicas), name=STREAM, subjects=None,
        description=f"LEDGER in {partitions} partitions by company (a sourced copy; the projector's workers read it).",
        sources=[StreamSource(name=LEDGER, subject_transforms=[SubjectTransform(src=SOURCE_SUBJECTS, dest=dest)])],
        duplicate_window=1.0)  # LEDGER already refused duplicates; a wide window here could drop a backfilled one


def partitions_of(config: StreamConfig) -> int | None:
    """The P an existing LEDGER_P was made with (None: not one of ours)."""
    for source in config.sources or []:
        for transform in source.subject_transforms or []:
            match = re.search(r"partition\((\d+),", transform.dest or "")
            if match:
                return int(match[1])
    return None


async def ensure_partition_stream(nc: Client, partitions: int, replicas: int = 1, *, replace: bool = False) -> str:
    """Create ``LEDGER_P`` if it is missing (the server then backfills it from LEDGER); its name.

    One made with another P is replaced when ``replace`` (``ledger up``, before any worker runs: it is a
    copy of LEDGER) and refused otherwise."""
    js = nc.jetstream()
    config = partition_config(partitions, replicas)
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(config)
        return STREAM
    have = partitions_of(info.config)
    if have != partitions:
        if not replace:
            raise PartitionCountChanged(
                f"stream {STREAM} is partitioned by {have}, the projector asks for {partitions}: stop every worker and "
                f"start them again with `ledger up` (it rebuilds {STREAM}), or delete {STREAM}. "
                f"分区数不一致（现有 {have}，要求 {partitions}）：请停止所有 worker 后用 ledger up 重建 {STREAM}。")
        await js.delete_stream(STREAM)
        await js.add_stream(config)
    return STREAM

"""LEDGER split by company into P partitions: the stream ``LEDGER_P`` that the partitioned projector reads.

LEDGER stays as it is. ``LEDGER_P`` sources it with the subject transform
``ledger.*.*.*.*`` → ``p.{{partition(P,1,2)}}.{{wildcard(1)}}.…``, so every message lands, in
LEDGER's order, under ``p.<partition>.<tenant>.<company>.<type>.<id>``. The server partitions by
FNV-1a (32 bit) over the tenant and company tokens joined without a separator, so
:func:`partition_of` computes the same number locally. The original LEDGER sequence travels in the
``Nats-Stream-Source`` header (:func:`source_sequence`). Changing P means a new stream and a
backfill (the stream's name carries P, so the old one keeps serving until it is dropped).
"""

from __future__ import annotations

from nats.aio.client import Client
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from ledger_kernel.streams import LEDGER

PREFIX = "p"
SOURCE_SUBJECTS = "ledger.*.*.*.*"
FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def stream_name(partitions: int) -> str:
    """``LEDGER_P<P>``: one stream per partition count, so changing P never reuses a stream."""
    return f"LEDGER_P{partitions}"


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
    return StreamConfig(
        name=stream_name(partitions),
        description=f"LEDGER in {partitions} partitions by company (a sourced copy; the projector's workers read it).",
        sources=[StreamSource(name=LEDGER, subject_transforms=[SubjectTransform(src=SOURCE_SUBJECTS, dest=dest)])],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_msgs=-1, max_bytes=-1, max_age=0, max_msgs_per_subject=-1,
        max_msg_size=1024 * 1024,
        discard=DiscardPolicy.NEW,
        num_replicas=replicas,
        duplicate_window=1.0,  # LEDGER already refused duplicates; a wide window here could drop a backfilled one
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
    )


async def ensure_partition_stream(nc: Client, partitions: int, replicas: int = 1) -> str:
    """Create ``LEDGER_P<P>`` if it is missing (the server then backfills it from LEDGER); its name."""
    js = nc.jetstream()
    config = partition_config(partitions, replicas)
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
    return config.name

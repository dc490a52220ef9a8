"""Which partition a company's events belong to: the hash nats-server's ``partition(P,1,2)`` transform uses.

The tenant and company tokens are joined without a separator and hashed with 32-bit FNV-1a, so the
projector, a parallel rebuild and the sourced partition stream all put a company in the same place
without asking anyone.
"""

from __future__ import annotations


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a of ``data``."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def partition_of(tenant: str, company: str, partitions: int) -> int:
    """The partition (0 … ``partitions`` − 1) of a company's events."""
    return fnv1a32((tenant + company).encode()) % partitions

"""One aggregate's hash chain, checked link by link, and the digest over every aggregate's head.

The same rules serve ``ledger verify`` (a walk of the whole stream) and the projector (which
parks a broken event before it reaches the read model), so both say "broken" about the same
events. After a break the chain goes on from the stored hash, so one altered event is one break.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger_kernel import envelope


@dataclass
class Tip:
    """An aggregate's last event as stored: its aggregate sequence and hash."""

    sequence: int = 0
    hash: str = envelope.GENESIS


@dataclass(frozen=True, slots=True)
class LinkBreak:
    kind: str  # hash | sequence | prevhash
    detail: str


def link_breaks(tip: Tip, event: dict[str, Any], *, sealed: bool | None = None) -> list[LinkBreak]:
    """What is wrong with ``event`` as the successor of ``tip`` (nothing: an empty list).

    ``sealed`` is the result of :func:`envelope.seal_ok` when the caller has it already.
    """
    out = []
    if not (envelope.seal_ok(event) if sealed is None else sealed):
        out.append(LinkBreak("hash", f"event {event.get('id')} content does not match its hash"))
    if event.get("sequence") != tip.sequence + 1:
        out.append(LinkBreak("sequence", f"aggregate sequence {event.get('sequence')} follows {tip.sequence}"))
    if event.get("prevhash") != tip.hash:
        out.append(LinkBreak("prevhash", f"prevhash does not match the hash of aggregate event {tip.sequence}"))
    return out


def advance(tip: Tip, event: dict[str, Any]) -> None:
    """Move ``tip`` to ``event`` as stored, broken or not (the walk goes on from what is there)."""
    sequence = event.get("sequence")
    tip.sequence = sequence if isinstance(sequence, int) else tip.sequence + 1
    stored = event.get("hash")
    tip.hash = stored if isinstance(stored, str) else tip.hash


def heads_digest(heads: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """SHA-256 over ``subject NUL hash LF`` for every aggregate, sorted by subject (UTF-8 bytes).

    ``subject`` is the aggregate's NATS subject (``ledger.<tenant>.<company>.<type>.<id>``) and ``hash``
    the ``hash`` attribute of its last decodable event. An empty ledger digests to SHA-256 of nothing.
    """
    items = heads.items() if isinstance(heads, Mapping) else heads
    h = hashlib.sha256()
    for subject, value in sorted(items):
        h.update(subject.encode("utf-8") + b"\0" + value.encode("utf-8") + b"\n")
    return h.hexdigest()

"""Command deadlines: the instant after which a ``cmd.<service>`` request must not be recorded.

A requester that gives up answers its caller "not recorded, retry" (the gateway's 503). NATS
clients buffer what they publish while they reconnect, so a request can reach a service long
after its requester gave up — and be recorded behind the back of a caller told it was not.
The requester therefore sends the instant it stops waiting (less a margin for the append
itself) in the ``Ledger-Deadline`` header, and the service refuses to start recording once it
has passed (``deadline_exceeded``). Deadlines are wall-clock instants (UTC), not the business
clock a test may fix: they bound real waiting, across processes whose clocks NTP keeps close.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

HEADER = "Ledger-Deadline"
MARGIN_SECONDS = 2.0  # room for an append begun just before the deadline to finish before the requester gives up


def stamp(wait: float, *, now: float | None = None) -> str:
    """The header value for a request answered within ``wait`` seconds: the instant, ISO 8601 UTC to the millisecond.

    The deadline falls ``min(MARGIN_SECONDS, wait / 4)`` before the requester stops waiting.
    """
    start = time.time() if now is None else now
    instant = start + wait - min(MARGIN_SECONDS, wait / 4)
    return datetime.fromtimestamp(instant, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(value: str) -> float:
    """The deadline as a POSIX timestamp; ``ValueError`` if it is not an ISO 8601 instant with an offset."""
    if len(value) > 40:
        raise ValueError("a deadline is an ISO 8601 instant")
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError("a deadline needs an offset (Z)")
    return instant.timestamp()


def passed(deadline: float, *, now: float | None = None) -> bool:
    return (time.time() if now is None else now) > deadline


def past_deadline(headers: Mapping[str, str] | None) -> bool:
    """True if the headers carry a deadline that has passed, or one that cannot be read (refuse rather than guess)."""
    value = (headers or {}).get(HEADER)
    if value is None:
        return False
    try:
        return passed(parse(value))
    except ValueError:
        return True

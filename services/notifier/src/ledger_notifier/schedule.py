"""When to try a failed delivery again: the Standard Webhooks schedule, jitter and Retry-After.

Pure functions of the attempt number and ``now`` (the injectable clock), so tests
fast-forward a FixedClock instead of sleeping.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Attempt 1 goes immediately; attempt n+1 waits SCHEDULE[n] after attempt n failed.
SCHEDULE = (timedelta(0), timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=24))
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.1  # up to +10%: never earlier than the schedule, spread so retries do not stampede
MAX_RETRY_AFTER = timedelta(hours=24)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def next_attempt(step: int, now: datetime, *, asked: timedelta | None = None,
                 rng: random.Random | None = None) -> datetime | None:
    """When attempt ``step + 1`` (0-based ``step`` attempts made) should go, or None: give up."""
    if step >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[step]
    jitter = base * ((rng or random).random() * JITTER)
    wait = base + jitter
    if asked is not None and asked > wait:
        wait = asked
    return now + wait

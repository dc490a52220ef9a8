"""Local dates and UTC instants.

In Asia/Shanghai (:mod:`ledger_contracts.zone`: a fixed UTC+08:00, exact for every
date the ledger deals with, and no tz database to read — the rule pack does no I/O).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache

from ledger_contracts.zone import SHANGHAI


def local_date(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware instant."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"instant {at.isoformat()} has no time zone: pass an aware datetime")
    return _local_date(at)


@lru_cache(maxsize=4096)
def _local_date(at: datetime) -> date:
    # aware instants that compare equal are the same instant, hence the same local day;
    # queries ask about the same `at` for every obligation of every company
    return at.astimezone(SHANGHAI).date()


@lru_cache(maxsize=16384)
def day_start(d: date) -> datetime:
    """00:00 Asia/Shanghai of day d, as a UTC instant (when a date-driven state begins)."""
    return datetime.combine(d, time(0), SHANGHAI).astimezone(UTC)

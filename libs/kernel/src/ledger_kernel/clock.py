"""Time is an input. The one thing tests may fake; production refuses a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# the one zone, re-exported (services import it from here)
from ledger_contracts.zone import SHANGHAI as SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A settable clock for development and tests; ``advance`` fast-forwards it."""

    instant: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware instant")

    def now(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        self.instant = instant

    def advance(self, delta: timedelta) -> None:
        self.instant += delta


def local_today(clock: Clock) -> date:
    """Today's date in Asia/Shanghai: the calendar that deadlines use."""
    return clock.now().astimezone(SHANGHAI).date()


def clock_from_setting(value: str | None) -> Clock:
    if not value:
        return SystemClock()
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError("LEDGER_CLOCK needs an offset, e.g. 2026-10-20T09:00:00+08:00")
    return FixedClock(instant)

"""Asia/Shanghai: the one zone of the ledger's local dates, for every package (contracts, kernel, rules,
services).

China Standard Time is UTC+08:00, without daylight saving since 1991. A fixed offset is exact for the
dates the ledger deals with, needs no tz database (the rule pack does no I/O), and means the same before
1901 too, where zoneinfo's Asia/Shanghai is local mean time (+08:05:43) — the calendar range of the
API reaches back to 1900.
"""

from __future__ import annotations

from datetime import timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

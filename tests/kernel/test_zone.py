"""One Asia/Shanghai for every package: the kernel's clock, the rules and the contracts name the same zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import ledger_contracts.fact
from ledger_contracts.zone import SHANGHAI
from ledger_kernel import clock
from ledger_kernel.clock import FixedClock, local_today
from ledger_rules import instants


def test_every_package_uses_the_one_zone():
    assert clock.SHANGHAI is instants.SHANGHAI is ledger_contracts.fact.SHANGHAI is SHANGHAI


def test_the_kernel_and_the_rules_agree_on_a_day_where_zoneinfo_would_not():
    # 15:58 UTC on 1 January 1900 is 23:58 at UTC+8, but 00:03:43 the next day in zoneinfo's local mean time
    at = datetime(1900, 1, 1, 15, 58, tzinfo=UTC)
    assert local_today(FixedClock(at)) == instants.local_date(at) == date(1900, 1, 1)
    assert instants.day_start(date(2026, 10, 20)) == datetime(2026, 10, 19, 16, 0, tzinfo=UTC)

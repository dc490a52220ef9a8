"""The retry schedule (Standard Webhooks), jitter and Retry-After: pure functions of ``now``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from ledger_notifier.schedule import MAX_ATTEMPTS, SCHEDULE, next_attempt, retry_after

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_the_schedule_is_the_specs():
    assert [s.total_seconds() for s in SCHEDULE] == [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert MAX_ATTEMPTS == 10


def test_after_the_tenth_attempt_we_give_up():
    assert next_attempt(9, NOW, rng=random.Random(1)) is not None
    assert next_attempt(10, NOW, rng=random.Random(1)) is None


@given(st.integers(min_value=0, max_value=9), st.integers(min_value=0, max_value=2**32))
def test_jitter_never_goes_early_and_stays_within_ten_percent(step, seed):
    at = next_attempt(step, NOW, rng=random.Random(seed))
    assert NOW + SCHEDULE[step] <= at <= NOW + SCHEDULE[step] * 1.1


def test_retry_after_is_honoured_when_longer():
    assert next_attempt(1, NOW, asked=timedelta(hours=1), rng=random.Random(0)) == NOW + timedelta(hours=1)
    shorter = next_attempt(3, NOW, asked=timedelta(seconds=1), rng=random.Random(0))
    assert shorter >= NOW + timedelta(minutes=30)


def test_retry_after_header_forms():
    assert retry_after("120", NOW) == timedelta(seconds=120)
    assert retry_after("Mon, 23 Nov 2026 02:00:00 GMT", NOW) == timedelta(hours=1)
    assert retry_after("Mon, 23 Nov 2026 00:00:00 GMT", NOW) == timedelta(0)
    assert retry_after("999999999", NOW) == timedelta(hours=24)
    assert retry_after("soon", NOW) is None and retry_after(None, NOW) is None and retry_after("-5", NOW) is None

"""ledger_kernel.deadline: the instant a requester stops waiting, less the append's margin, as a header value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_kernel import deadline as deadlines

NOW = 1_795_000_000.0  # 2026-11-18, any fixed instant


@given(st.floats(0.1, 3600.0))
def test_a_stamp_reads_back_as_the_wait_less_the_margin(wait):
    value = deadlines.stamp(wait, now=NOW)
    assert value.endswith("Z") and len(value) == 24  # 2026-11-18T08:26:40.000Z
    expected = NOW + wait - min(deadlines.MARGIN_SECONDS, wait / 4)
    assert deadlines.parse(value) == pytest.approx(expected, abs=0.001)
    assert not deadlines.passed(deadlines.parse(value), now=NOW)


def test_the_header_decides_past_or_not():
    assert deadlines.past_deadline(None) is False and deadlines.past_deadline({}) is False
    assert deadlines.past_deadline({deadlines.HEADER: deadlines.stamp(15.0)}) is False
    assert deadlines.past_deadline({deadlines.HEADER: deadlines.stamp(15.0, now=NOW - 3600)}) is True
    for unreadable in ("", "tomorrow", "2026-11-23T01:00:00", "9" * 60):  # no offset: refused, not guessed
        assert deadlines.past_deadline({deadlines.HEADER: unreadable}) is True

"""evaluate() is cheap (the projector calls it per touched company per batch) and linear in the facts."""

from __future__ import annotations

import time

from rules_support import Story


def company(months: int) -> Story:
    s = Story()
    s.registered()
    s.licence(issued="2022-03-15", expires="2027-03-14")
    s.add("number.allocated", "2022-05-01", {"number": "95012", "kind": "95", "province": "31"})
    s.add("number.activated", "2022-05-10", {"number": "95012"})
    s.add("site.leased", "2022-01-01", {"site_ref": "S1", "province": "31", "area_m2": 300, "lease_end": "2026-12-31",
                                        "purpose_text": "呼叫中心办公"})
    s.add("facility.mlps_filed", "2022-04-01", {"system_ref": "SYS", "level": 3, "filing_no": "x"})
    s.add("workforce.seats_declared", "2022-04-01", {"declared_seats": 100, "system_registered_seats": 100})
    for i in range(months):
        y, m = 2022 + (i + 5) // 12, (i + 5) % 12 + 1
        s.add("traffic.period_reported", f"{y}-{m:02d}-05", {"month": f"{y}-{m:02d}", "calls_total": 10_000,
                                                             "complaints": 1, "consent_records": True})
        s.add("workforce.social_insurance_reported", f"{y}-{m:02d}-06", {"month": f"{y}-{m:02d}",
                                                                         "insured_headcount": 100})
    return s


def best_of(story: Story, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        story.evaluate()
        times.append(time.perf_counter() - t)
    return min(times)


def test_twenty_facts_evaluate_in_milliseconds():
    s = company(7)
    assert len(s.facts) == 21
    assert best_of(s) < 0.025  # ~1 ms on a developer machine; generous for a loaded CI runner


def test_time_grows_linearly_with_facts():
    small, large = company(6), company(48)
    ratio = best_of(large, 3) / best_of(small, 3)
    assert ratio < 15, ratio  # 6x the facts; quadratic behaviour would show as ~36x

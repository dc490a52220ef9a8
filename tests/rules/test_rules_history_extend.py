"""History.extend: a history kept and grown batch by batch evaluates as one folded from all the facts
at once, whatever the batches and however the facts are dated (a fact dated among the folded ones is
refused, and the caller folds again)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_rules import Calendar, RecordedFact, RulePack, evaluate
from ledger_rules.evaluation import evaluate_history
from ledger_rules.history import History
from test_rules_properties import build, fact_inputs

PACK = RulePack.default()
CAL = Calendar.official()
VALIDITY = PACK.licence["validity_years"]


def fact(i: int, type_: str, on: date, data: dict) -> RecordedFact:
    return RecordedFact(f"e{i}", type_, "91440300MA5G7C1P90", on, datetime(2026, 1, 5, tzinfo=UTC), data, i, "a")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact_inputs, st.lists(st.integers(1, 25), max_size=6))
def test_a_history_grown_batch_by_batch_evaluates_as_one_folded_at_once(inputs, cuts):
    facts = build(inputs)
    ends = sorted({c for c in cuts if c < len(facts)} | {len(facts)})
    kept, start = History(facts[0].company if facts else "", VALIDITY), 0
    for end in ends:
        if not kept.extend(facts[start:end]):
            kept = History.from_facts(facts[:end], VALIDITY)
        evaluate_history(kept, PACK, CAL)  # evaluating in between must leave nothing stale behind
        start = end
    assert evaluate_history(kept, PACK, CAL) == evaluate(facts, PACK, CAL)


def test_a_fact_dated_among_the_folded_ones_is_refused_and_changes_nothing():
    early = fact(1, "licence.issued", date(2024, 3, 1), {"licence_no": "B2-20240301", "category": "B24",
                                                          "scope": "nationwide", "authority": "MIIT",
                                                          "issued_on": "2024-03-01", "expires_on": "2029-03-01"})
    late = fact(2, "workforce.seats_declared", date(2025, 6, 1), {"declared_seats": 10, "system_registered_seats": 10,
                                                                          "overseas_seats": 0})
    between = fact(3, "number.allocated", date(2024, 9, 1), {"number": "4006001234", "kind": "400", "province": "31", "provider": "中国电信"})
    h = History.from_facts([early, late], VALIDITY)
    before = evaluate_history(h, PACK, CAL)
    assert h.extend([between]) is False
    assert evaluate_history(h, PACK, CAL) == before
    assert h.extend([fact(4, "number.allocated", date(2025, 6, 1), {"number": "4006001234", "kind": "400", "province": "31", "provider": "中国电信"})])
    assert "4006001234" in h.numbers


def test_answers_cached_by_an_evaluation_are_not_kept_past_new_facts():
    """An evaluation caches which licences are held on which days; a licence folded in after it counts."""
    facts = [fact(1, "number.allocated", date(2024, 1, 10), {"number": "4006001234", "kind": "400", "province": "31", "provider": "中国电信"}),
             fact(2, "number.activated", date(2024, 1, 20), {"number": "4006001234"}),
             fact(3, "licence.issued", date(2024, 6, 1), {"licence_no": "B2-20240601", "category": "B24",
                                                          "scope": "nationwide", "authority": "MIIT",
                                                          "issued_on": "2024-06-01", "expires_on": "2029-06-01"})]
    h = History.from_facts(facts[:2], VALIDITY)
    unlicensed = evaluate_history(h, PACK, CAL)
    assert any(f.rule == "unlicensed-operation" and f.intervals[-1].resolved_at is None for f in unlicensed.findings)
    assert h.extend(facts[2:])
    grown = evaluate_history(h, PACK, CAL)
    assert grown == evaluate(facts, PACK, CAL)
    assert any(o.rule == "renewal" for o in grown.obligations)


def test_an_onboarding_baseline_recorded_first_does_not_refuse_the_history_after_it():
    """An import records the baseline (dated years after the history it brings) before the history: the
    facts after it still extend the kept fold, and the result is the whole fold's."""
    baseline = fact(1, "company.tracking_started", date(2025, 7, 1),
                    {"tracked_from": "2025-07-01", "attested_by": "client compliance officer"})
    licence = fact(2, "licence.issued", date(2021, 3, 1), {"licence_no": "B2-20210301", "category": "B24",
                                                            "scope": "nationwide", "authority": "MIIT",
                                                            "issued_on": "2021-03-01", "expires_on": "2026-03-01"})
    seats = fact(3, "workforce.seats_declared", date(2021, 4, 1), {"declared_seats": 10,
                                                                    "system_registered_seats": 10, "overseas_seats": 0})
    h = History.from_facts([baseline], VALIDITY)
    assert h.extend([licence]) and h.extend([seats])
    assert h.tracked_from == date(2025, 7, 1)
    assert evaluate_history(h, PACK, CAL) == evaluate([baseline, licence, seats], PACK, CAL)
    # a second baseline recorded later, dated before the fold, counts (the latest recorded one) without a refold
    again = fact(4, "company.tracking_started", date(2021, 1, 1),
                 {"tracked_from": "2021-01-01", "attested_by": "client compliance officer"})
    assert h.extend([again]) and h.tracked_from == date(2021, 1, 1)
    assert evaluate_history(h, PACK, CAL) == evaluate([baseline, licence, seats, again], PACK, CAL)
    # while a fact of the company's history dated among the folded ones is still refused
    assert h.extend([fact(5, "workforce.seats_declared", date(2021, 3, 15), {
        "declared_seats": 12, "system_registered_seats": 12, "overseas_seats": 0})]) is False

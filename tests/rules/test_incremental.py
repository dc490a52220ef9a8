"""An evaluation kept between batches and re-run rule by rule (`evaluate_again`) says exactly what a full
evaluation of all the facts says: obligations, findings and credit inputs, whatever the facts, however
they are split into batches, with facts dated among earlier ones and with the horizon moving (a later
recording day) or held (`until`). This is what lets the projector re-run only the rules new facts reach."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_rules import Calendar, RulePack
from ledger_rules.evaluation import EVENTS, IMPLICIT_READS, evaluate_again, evaluate_history, rule_reads
from ledger_rules.history import History
from ledger_rules.obligations import obligation_id
from ledger_rules.registry import FAMILIES, registrations
from rules_support import contract_payload
from test_rules_properties import PAYLOADS, USCC, build

PACK = RulePack.default()
CAL = Calendar.official()
TIGHT = PACK.with_overrides({"rules": {"number-fee": {"enabled": False}}, "licence": {"validity_years": 3}})

near = st.dates(date(2022, 1, 1), date(2026, 12, 31))  # facts close together, so rules see each other's
quarters = st.builds(lambda y, q: f"{y}Q{q}", st.integers(2022, 2027), st.integers(1, 4))
lag = st.integers(0, 400)


@st.composite
def fact_inputs(draw: st.DrawFn) -> list[tuple[str, date, int, dict]]:
    """A company that operates (a call-centre licence, seats, an active number) and random facts of every
    type around it, in a random order (so many land among earlier ones)."""
    issued = draw(near)
    skeleton = [typed(*f) for f in [
        ("company.registered", issued - timedelta(days=90), 0, {"name": "某公司", "province": "44",
                                                                "registered_capital": 10_000_000, "industry": "other"}),
        ("licence.issued", issued, draw(lag), {
            "licence_no": "B2-20230001", "category": "B24", "scope": "nationwide", "provinces": [],
            "issued_on": issued.isoformat(), "expires_on": (issued + timedelta(days=draw(st.integers(200, 1900))))
            .isoformat()}),
        ("workforce.seats_declared", draw(near), draw(lag), {"declared_seats": draw(st.integers(0, 50))}),
        ("number.allocated", draw(near), draw(lag), {"number": "95012", "kind": "95", "province": "44"}),
        ("number.activated", draw(near), draw(lag), {"number": "95012"}),
        # what a number's fees are derived from besides its allocation (kept per number between batches)
        ("number.fee_paid", draw(near), draw(lag), {"number": "95012", "quarter": draw(quarters)}),
        ("number.fee_paid", draw(near), draw(lag), {"number": "95012", "quarter": draw(quarters)}),
        ("number.released", draw(near), draw(lag), {"number": "95012"}),
        ("company.obligation_waived", draw(near), draw(lag), {
            "obligation_id": obligation_id(USCC, "number-fee", "95012", draw(quarters)), "reason": "号码已转让"}),
    ]]
    kept = [f for f in skeleton if draw(st.booleans()) or f[0] == "licence.issued"]
    extras = draw(st.lists(st.tuples(st.sampled_from(sorted(PAYLOADS)), near, lag).flatmap(
        lambda t: PAYLOADS[t[0]].map(lambda data: (t[0], t[1], t[2], data))), max_size=25))
    return draw(st.permutations(kept + extras))


def typed(type_: str, on: date, lag: int, data: dict) -> tuple[str, date, int, dict]:
    """A hand-written input as the ledger holds it: required fields filled, checked by the contract model."""
    return type_, on, lag, contract_payload(type_, data, on)


def split(facts: list, cuts: set[int]) -> list[list]:
    ends = sorted(c for c in cuts if 0 < c < len(facts)) + [len(facts)]
    out, start = [], 0
    for end in ends:
        out.append(facts[start:end])
        start = end
    return out


def incrementally(batches: list[list], packs: list[RulePack], until: date | None):
    """Each batch folded onto the kept history (folded anew when one lands among the folded facts, as the
    projector does) and evaluated again over the kept evaluation; the pack of each batch in turn."""
    history, kept, seen, evaluation = None, None, [], None
    for n, batch in enumerate(batches):
        pack = packs[n % len(packs)]
        seen += batch
        if history is None or history.validity_years != pack.licence["validity_years"] or not history.extend(batch):
            history = History.from_facts(seen, pack.licence["validity_years"])
        evaluation, kept = evaluate_again(history, pack, CAL, kept, batch, until=until)
    return evaluation, seen, packs[(len(batches) - 1) % len(packs)]


def full(facts, pack, until):
    return evaluate_history(History.from_facts(facts, pack.licence["validity_years"]), pack, CAL, until=until)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact_inputs(), st.sets(st.integers(1, 29), max_size=8), st.sampled_from(["held", "moving", "recorded-today"]),
       st.booleans())
def test_kept_evaluation_equals_a_full_one(inputs, cuts, horizon, switch_pack):
    facts = build(inputs)
    until = date(2029, 6, 30) if horizon == "held" else None
    if horizon == "recorded-today":  # every fact recorded on one day: the horizon moves only with the facts
        facts = [replace(f, recorded_at=datetime(2026, 1, 5, 2, tzinfo=UTC)) for f in facts]
    packs = [PACK, TIGHT] if switch_pack else [PACK]
    got, seen, pack = incrementally(split(facts, cuts), packs, until)
    want = full(seen, pack, until)
    assert got.horizon == want.horizon
    assert got.obligations == want.obligations
    assert got.findings == want.findings
    assert got.credit_inputs == want.credit_inputs
    assert got == want


def test_a_fact_reaches_only_the_rules_that_read_its_family():
    """A traffic report re-runs the traffic rules; every other rule's output is the kept objects."""
    co = "91440300MA5G7C1P90"
    base = build([typed("licence.issued", date(2024, 1, 10), 0, {"licence_no": "B2-20230001", "category": "B24",
                                                                 "scope": "nationwide", "issued_on": "2024-01-10",
                                                                 "expires_on": "2029-01-09"}),
                  typed("number.allocated", date(2024, 2, 1), 0, {"number": "4006001234", "kind": "400", "province": "44"}),
                  typed("number.activated", date(2024, 2, 10), 0, {"number": "4006001234"})])
    until = date(2027, 12, 31)
    h = History.from_facts(base)
    first, kept = evaluate_again(h, PACK, CAL, None, base, until=until)
    report = build([typed("traffic.period_reported", date(2024, 3, 5), 0, {"month": "2024-02", "calls_total": 10,
                                                                           "consent_records": False})])
    report = [replace(report[0], event_id="e9", ledger_sequence=9)]
    assert h.extend(report) and first.company == co
    second, again = evaluate_again(h, PACK, CAL, kept, report, until=until)
    assert second == full(base + report, PACK, until)
    for rule_id, obs in again.obligations.items():
        if not rule_reads(rule_id) & {"traffic", EVENTS}:
            assert obs is kept.obligations[rule_id], rule_id
    assert all(again.findings[r] is kept.findings[r] for r in kept.findings if "traffic" not in rule_reads(r))
    assert any(f.rule == "recording-retention-short" for f in second.findings)  # the traffic rules did run


@pytest.mark.parametrize("rule_id", sorted(IMPLICIT_READS))
def test_implicit_reads_name_registered_rules(rule_id):
    assert rule_id in {r.rule.id for r in registrations()}
    assert rule_reads(rule_id) - set(FAMILIES.values()) <= {EVENTS, "*operating*"}


def test_a_moved_horizon_re_runs_every_rule():
    facts = build([typed("licence.issued", date(2024, 1, 10), 0, {"licence_no": "B2-20230001", "category": "B24",
                                                                  "scope": "nationwide", "issued_on": "2024-01-10",
                                                                  "expires_on": "2029-01-09"})])
    h = History.from_facts(facts)
    _, kept = evaluate_again(h, PACK, CAL, None, facts)
    later = [replace(build([typed("traffic.period_reported", date(2024, 3, 5), 0, {"month": "2024-02", "calls_total": 10})])[0],
                     event_id="e2", ledger_sequence=2,
                     recorded_at=datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=3))]
    assert h.extend(later)
    got, again = evaluate_again(h, PACK, CAL, kept, later)
    assert again.horizon > kept.horizon
    assert got == full(facts + later, PACK, None)


@pytest.mark.parametrize("reg", registrations(), ids=lambda reg: reg.rule.id)
def test_what_a_rule_reads_beyond_its_facts_is_declared(reg):
    """A rule body that follows the operating intervals, or the company's facts of any family, must say so
    in IMPLICIT_READS; one that reads obligations must be a timeline rule (those re-run when they change)."""
    import inspect

    source = inspect.getsource(reg.fn)
    if "ctx.operating" in source:
        assert "*operating*" in rule_reads(reg.rule.id)
    if "h.events" in source or "_fact_on(" in source:
        assert EVENTS in rule_reads(reg.rule.id)
    if "of_rule(" in source or "ctx.obligations" in source:
        assert reg.mode == "timeline"


def test_a_number_fact_re_derives_the_fees_of_that_number_only():
    """Number fees are kept per number: a fee paid, a waiver or a release changes that number's fees (as a full
    evaluation says) and gives back the other numbers' fees as the same objects."""
    until = date(2027, 12, 31)
    base = build([typed("licence.issued", date(2024, 1, 10), 0, {"licence_no": "B2-20230001", "category": "B24",
                                                                 "scope": "nationwide", "issued_on": "2024-01-10",
                                                                 "expires_on": "2029-01-09"}),
                  typed("number.allocated", date(2024, 2, 1), 0, {"number": "4006001234", "kind": "400", "province": "44"}),
                  typed("number.allocated", date(2024, 2, 1), 0, {"number": "95012", "kind": "95", "province": "44"})])
    h = History.from_facts(base)
    evaluation, kept = evaluate_again(h, PACK, CAL, None, base, until=until)
    seen = list(base)

    def fees(ev, number):
        return {o.quarter: o for o in ev.obligations if o.rule == "number-fee" and o.about == number}

    waived = obligation_id(USCC, "number-fee", "95012", "2025Q1")
    for n, (type_, day, data) in enumerate([
            ("number.fee_paid", date(2024, 7, 5), {"number": "95012", "quarter": "2024Q3"}),
            ("company.obligation_waived", date(2024, 12, 20), {"obligation_id": waived, "reason": "号码已转让"}),
            ("number.released", date(2025, 2, 20), {"number": "95012"})], start=len(base) + 1):
        fact = replace(build([typed(type_, day, 0, data)])[0], event_id=f"e{n}", ledger_sequence=n)
        before = evaluation
        assert h.extend([fact])
        seen.append(fact)
        evaluation, kept = evaluate_again(h, PACK, CAL, kept, [fact], until=until)
        assert evaluation == full(seen, PACK, until), type_
        other_before, other_now = fees(before, "4006001234"), fees(evaluation, "4006001234")
        assert other_now and other_now.keys() == other_before.keys()
        assert all(other_now[q] is other_before[q] for q in other_now), "another number's fees: the same objects"
    paid, now = fees(evaluation, "95012"), date(2026, 1, 1)
    assert paid["2024Q3"].fulfilled_on == date(2024, 7, 5) and paid["2024Q4"].fulfilled_on is None
    assert paid["2025Q1"].waived_on == date(2024, 12, 20)
    assert "2025Q2" not in paid and now  # released before the 2025Q2 window opened: never announced

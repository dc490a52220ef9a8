"""The rule pack's answers are pinned: a snapshot taken before the evaluate() speed work must still hold.

Covers every shared and projector scenario, the projector's synthetic companies and eight rich
companies (100+ facts over five years each, touching every rule), with a tenant pack, an
operator-loaded calendar year and an explicit `until`. Regenerate only for an intended change of
the rules: `python tests/rules/golden_companies.py`.
"""

from __future__ import annotations

import json

import pytest
from golden_companies import SNAPSHOT, companies, instants, load, snapshot_of
from ledger_rules import evaluate

GOLDEN = load() if SNAPSHOT.exists() else {}
CASES = list(companies())


def _first_difference(want, got, path="") -> str | None:
    if type(want) is not type(got):
        return f"{path}: {want!r} != {got!r}"
    if isinstance(want, dict):
        for k in sorted(set(want) | set(got)):
            if k not in want or k not in got:
                return f"{path}/{k}: only in {'snapshot' if k in want else 'result'}"
            if (diff := _first_difference(want[k], got[k], f"{path}/{k}")) is not None:
                return diff
        return None
    if isinstance(want, list):
        if len(want) != len(got):
            return f"{path}: {len(want)} items in the snapshot, {len(got)} now"
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            if (diff := _first_difference(a, b, f"{path}[{i}]")) is not None:
                return diff
        return None
    return None if want == got else f"{path}: {want!r} != {got!r}"


def test_snapshot_covers_every_company():
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: run python tests/rules/golden_companies.py"
    assert sorted(GOLDEN) == sorted(name for name, *_ in CASES)
    assert sum(1 for name in GOLDEN if name.startswith("rich:")) >= 8
    assert all(GOLDEN[name]["facts"] >= 100 for name in GOLDEN if name.startswith("rich:"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_evaluation_matches_snapshot(case):
    name, facts, pack, cal, until = case
    got = json.loads(json.dumps(snapshot_of(name, facts, pack, cal, until), ensure_ascii=False, sort_keys=True))
    want = GOLDEN[name]
    assert got == want, _first_difference(want, got)


@pytest.mark.parametrize("case", [c for c in CASES if c[0].startswith("rich:")][:3], ids=lambda c: c[0])
def test_instant_answers_agree_with_each_other(case):
    """Evaluation.statuses / open_findings give the same answers as the per-item functions."""
    name, facts, pack, cal, until = case
    ev = evaluate(facts, pack, cal, until=until)
    for t in instants(ev):
        statuses = GOLDEN[name]["at"][t.isoformat()]["statuses"]
        assert ev.statuses(t) == dict(zip((o.id for o in ev.obligations), statuses, strict=True))
        opened = GOLDEN[name]["at"][t.isoformat()]["open"]
        assert [f.id for f in ev.open_findings(t)] == [f.id for f, o in zip(ev.findings, opened, strict=True) if o]


def test_evaluation_is_repeatable_on_one_calendar():
    """Caches kept on a calendar or pack between calls must not leak one company into another."""
    name, facts, pack, cal, until = next(c for c in CASES if c[0] == "rich:1")
    other = next(c for c in CASES if c[0] == "rich:2")
    evaluate(other[1], pack, cal)
    first = snapshot_of(name, facts, pack, cal, until)
    evaluate(other[1], pack, cal)
    assert snapshot_of(name, facts, pack, cal, until) == first

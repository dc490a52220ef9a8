"""The projector's kept company states (folded History, evaluation, rows as written) are only an
optimisation: over any split of the ledger into batches, with restarts (a cold cache), evictions and
rule overrides in between, the read model holds what a full re-evaluation of every company gives,
and the same digest as the ledger projected in one batch by a fresh projector."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_contracts.catalogue import get_spec
from ledger_kernel.envelope import GENESIS, build_event, encode
from ledger_kernel.store import StoredMessage
from ledger_projector.database import make_engine, migrate
from ledger_projector.decoding import RULES_TYPE, SYSTEM_TENANT
from ledger_projector.digest import digest
from ledger_projector.histories import Histories
from ledger_projector.projection import Projection, facts_of, load_rules_state
from ledger_projector.rulebook import Rulebook
from ledger_projector.scheduler import Scheduler
from ledger_projector.tables import LIVE

from projector.synthetic import company_facts

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
TENANT = "tcache"
OVERRIDES = ({"licence": {"validity_years": 3}}, {"rules": {"renewal": {"days_before_expiry": 60}}}, {})


class Sealer:
    """Facts as LEDGER messages, each aggregate's chain as a service appends it."""

    def __init__(self) -> None:
        self.tips: dict[str, tuple[int, str]] = {}
        self.messages: list[StoredMessage] = []

    def add(self, tenant: str, company: str, fact_type: str, aggregate_type: str, aggregate_id: str,
            effective: date, data: dict[str, Any], version: int = 1) -> None:
        seq = len(self.messages) + 1
        subject = f"ledger.{tenant}.{company}.{aggregate_type}.{aggregate_id}"
        last, prev = self.tips.get(subject, (0, GENESIS))
        ev = build_event(event_id=f"e{seq}", source="urn:test", event_type=fact_type, version=version,
                         aggregate_id=aggregate_id, tenant=tenant, company=company, sequence=last + 1,
                         effective_date=effective, data=data, prevhash=prev,
                         recorded_at=NOW - timedelta(days=30) + timedelta(minutes=seq))
        self.tips[subject] = (last + 1, ev["hash"])
        self.messages.append(StoredMessage(seq, subject, encode(ev), f"e{seq}", None))

    def fact(self, fact: dict[str, Any]) -> None:
        spec = get_spec(fact["type"])
        self.add(TENANT, fact["company"], fact["type"], spec.aggregate_type,
                 spec.aggregate_id(fact["company"], fact["data"]), date.fromisoformat(fact["effective_date"]),
                 fact["data"], spec.version)

    def overrides(self, overrides: dict[str, Any]) -> None:
        self.add(SYSTEM_TENANT, "_rules", RULES_TYPE, "rules", TENANT, date(2026, 1, 5),
                 {"tenant": TENANT, "overrides": overrides})


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[StoredMessage], list[int], set[int], int, dict[int, int]]:
    """(messages, batch ends, batches after which the projector restarts, cache limit in facts, batches
    after which the clock ticks → days it moves on first)."""
    seed = draw(st.integers(0, 10_000))
    rng = random.Random(seed)
    per_company = []
    for i in range(draw(st.integers(1, 3))):
        facts = company_facts(seed % 500 + i, rng)
        if draw(st.booleans()):  # facts recorded out of date order: some land among the folded ones
            rng.shuffle(facts)
        per_company.append(facts)
    sealer = Sealer()
    overrides_at = draw(st.sets(st.integers(0, 40), max_size=2))
    order = [i for i, facts in enumerate(per_company) for _ in facts]
    rng.shuffle(order)
    pos = [0] * len(per_company)
    for n, i in enumerate(order):
        if n in overrides_at:
            sealer.overrides(OVERRIDES[n % len(OVERRIDES)])
        sealer.fact(per_company[i][pos[i]])
        pos[i] += 1
    total = len(sealer.messages)
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=8))) if total > 1 else []
    ends = [*cuts, total]
    restarts = draw(st.sets(st.integers(0, len(ends) - 1), max_size=2))
    limit = draw(st.sampled_from([100_000, 30, 5]))  # 5 and 30 facts: evictions, and histories too big to keep
    ticks = draw(st.dictionaries(st.integers(0, len(ends) - 1), st.integers(0, 120), max_size=3))
    return sealer.messages, ends, restarts, limit, ticks


OBLIGATION_FIELDS = ("obligation_id", "rule", "about", "year", "quarter", "window_opens", "due", "fulfilled_on",
                     "fulfilled_by", "waived", "cancelled", "provisional", "reminders_from", "reminders_until")
FINDING_FIELDS = ("finding_id", "rule", "severity", "intervals")


def pick(row: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row[f] for f in fields)


def projector(engine: Any, limit: int) -> Projection:
    rulebook = Rulebook()
    p = Projection(engine, LIVE, rulebook, scheduler=Scheduler(rulebook))
    p.histories = Histories(limit)
    p.prepare()
    return p


def derived(engine: Any) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each company's obligation and finding rows as stored, in id order."""
    out: dict[str, tuple[list, list]] = {}
    with engine.connect() as conn:
        for table, i in ((LIVE.obligations, 0), (LIVE.findings, 1)):
            id_column = "obligation_id" if i == 0 else "finding_id"
            for r in conn.execute(sa.select(table).order_by(table.c.company_key, table.c[id_column])).mappings():
                out.setdefault(r["company_key"], ([], []))[i].append(dict(r))
    return out


def feed(engine: Any) -> tuple[list[tuple[Any, ...]], ...]:
    """What the change feed said (states and changes) and the alerts decided, in a stable order."""
    with engine.connect() as conn:
        seen = [tuple(r) for r in conn.execute(sa.select(LIVE.state_seen).order_by(*LIVE.state_seen.primary_key))]
        tc = LIVE.state_changes
        changes = [tuple(r) for r in conn.execute(sa.select(tc.c.ledger_sequence, tc.c.position, tc.c.change_id,
                                                            tc.c.type, tc.c.ref, tc.c.before, tc.c.after)
                                                  .order_by(tc.c.ledger_sequence, tc.c.position))]
        ta = LIVE.alerts
        alerts = [tuple(r) for r in conn.execute(sa.select(ta.c.alert_id, ta.c.type, ta.c.ref, ta.c.step)
                                                 .order_by(ta.c.alert_id))]
    assert changes, "the feed said something: the comparison is not vacuous"
    return seen, changes, alerts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_kept_states_give_what_a_full_re_evaluation_gives(ledger):
    messages, ends, restarts, limit, ticks = ledger
    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(f"sqlite:///{Path(home) / 'batches.db'}")
        migrate(engine)
        cold = make_engine(f"sqlite:///{Path(home) / 'cold.db'}")  # the same batches and ticks, nothing kept
        migrate(cold)
        p, q = projector(engine, limit), projector(cold, 0)
        start, now = 0, NOW
        for b, end in enumerate(ends):
            for proj in (p, q):
                proj.apply(messages[start:end], start, now)
            start = end
            if b in ticks:  # the clock moves on: another writer of what the change feed said
                now += timedelta(days=ticks[b])
                assert p.tick(now) == q.tick(now)
            if b in restarts:
                p = projector(engine, limit)  # a restart: the same read model, nothing kept in memory
        assert p.applied() == len(messages)
        # what the change feed said, and the alerts, are those of a projector that keeps nothing
        assert feed(engine) == feed(cold)
        cold.dispose()

        # a full re-evaluation of every company from its stored facts, with the rule state as stored
        full = Rulebook()
        with engine.connect() as conn:
            load_rules_state(conn, LIVE, full)
            keys = list(conn.execute(sa.select(LIVE.companies.c.company_key)).scalars())
            histories = facts_of(conn, LIVE, keys)
        stored = derived(engine)
        assert set(histories) == set(keys) and keys
        for key, rows in histories.items():
            view = full.evaluate(key, rows)
            assert view.evaluation is not None, view.error
            want = (sorted(view.obligation_rows, key=lambda r: r["obligation_id"]),
                    sorted(view.finding_rows, key=lambda r: r["finding_id"]))
            got = stored.get(key, ([], []))
            assert [pick(r, OBLIGATION_FIELDS) for r in got[0]] == [pick(r, OBLIGATION_FIELDS) for r in want[0]], key
            assert [pick(r, FINDING_FIELDS) for r in got[1]] == [pick(r, FINDING_FIELDS) for r in want[1]], key
            assert want[0], key  # every company here owes something: the comparison is not vacuous

        # and the whole read model equals the ledger projected at once by a fresh projector
        once = make_engine(f"sqlite:///{Path(home) / 'once.db'}")
        migrate(once)
        projector(once, 100_000).apply(messages, 0, NOW)
        assert digest(engine, LIVE) == digest(once, LIVE)
        engine.dispose()
        once.dispose()

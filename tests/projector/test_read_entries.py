"""The stored entries answer exactly as the evaluation does, at any instant.

Random histories (a scenario's or a synthetic company's facts, a random part of them, and random
plausible facts of every type) are evaluated by the rule book; their entries are written as the
projector writes them; then, at random instants, every answer read from the entries (obligation
lists with filters and keyset pages, the work queue, the timeline, findings, the summary, the credit
estimate) must equal what the evaluated ``CompanyView`` says. SQLite and PostgreSQL both.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_kernel.clock import SHANGHAI
from ledger_projector import pages
from ledger_projector.database import make_engine, migrate
from ledger_projector.projection import Projection
from ledger_projector.queries import obligation_matches, timeline_matches
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.tables import LIVE
from ledger_rules.instants import local_date
from ledger_rules.status import STATUSES
from rules.test_rules_properties import PAYLOADS
from spec_files import acceptance_scenarios, load_scenario

from projector.synthetic import company_facts

SCENARIOS = [load_scenario(path.stem)["facts"] for path in acceptance_scenarios()]
COMPANY = "91310115MA1K4B8N68"


def histories() -> st.SearchStrategy[list[dict[str, Any]]]:
    """A base story (a scenario's facts or a synthetic company's), a random part of it kept, and random
    plausible facts of any type mixed in — as the company's facts in ledger order."""
    base = st.one_of(st.sampled_from(SCENARIOS),
                     st.integers(0, 10_000).map(lambda seed: company_facts(seed % 50, random.Random(seed))))
    extra = st.lists(st.tuples(st.sampled_from(sorted(PAYLOADS)), st.dates(date(2019, 1, 1), date(2030, 12, 31)))
                     .flatmap(lambda t: PAYLOADS[t[0]].map(lambda data: {"type": t[0], "effective_date":
                                                                         t[1].isoformat(), "data": data})),
                     max_size=8)
    return st.tuples(base, st.lists(st.booleans(), min_size=60, max_size=60), extra).map(
        lambda x: [f for f, keep in zip(x[0], x[1] + [True] * len(x[0]), strict=False) if keep] + x[2])


instants = st.datetimes(datetime(2019, 1, 1), datetime(2031, 12, 31), timezones=st.just(UTC))
statuses = st.lists(st.sampled_from(STATUSES), max_size=3, unique=True).map(lambda s: s or None)


def rows_of(key: str, facts: list[dict[str, Any]], first: int = 1) -> list[dict[str, Any]]:
    """The facts as the read model stores them, with LEDGER sequences from ``first``."""
    tenant, company = key.split(".", 1)
    out = []
    for n, f in enumerate(facts):
        i = first + n
        eff = date.fromisoformat(f["effective_date"])
        out.append({"ledger_sequence": i, "company_key": key, "tenant": tenant, "company": company,
                    "event_id": f"e{i}", "type": f["type"], "aggregate_type": f["type"].split(".")[0],
                    "aggregate_id": f"a{n % 3}", "effective_date": eff,
                    "recorded_at": datetime(eff.year, eff.month, eff.day, 3, tzinfo=UTC) + timedelta(hours=n),
                    "data": f["data"]})
    return out


def store(engine: sa.Engine, projection: Projection, key: str, rows: list[dict[str, Any]]) -> CompanyView:
    """The company's facts, company row and entries, written as the projector writes them."""
    tenant, company = key.split(".", 1)
    view = projection.rulebook.evaluate(key, rows)
    with engine.begin() as conn:
        projection.bulk(conn, LIVE.facts).run(conn, rows)
        conn.execute(LIVE.companies.insert().values(company_key=key, tenant=tenant, company=company, name=view.name,
                                                    first_sequence=1, last_sequence=len(rows), facts=len(rows)))
        projection._replace_derived(conn, {key: view})  # its obligation, finding and entry rows
    return view


def every_page(read: Any, req: dict[str, Any], at: datetime, pack: Any) -> list[dict[str, Any]]:
    """Every page of a keyset list, its token passed back as a client does."""
    items, token, size = [], None, req["page_size"]
    for _ in range(10_000):
        got = read(req, token, at, pack)
        items += got["items"]
        token = got["next_page_token"]
        if token is None:
            return items
        assert len(got["items"]) == size
    raise AssertionError("paging never ended")


def evaluated_timeline(view: CompanyView, rows: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """The timeline as the reader built it from the evaluation before entries existed."""
    items: list[tuple[tuple, dict[str, Any]]] = []
    for f in rows:
        d = f["effective_date"]
        items.append(((d, 0, f["ledger_sequence"]), {
            "date": d.isoformat(), "kind": "fact", "type": f["type"], "event_id": f["event_id"],
            "aggregate_id": f["aggregate_id"], "ledger_sequence": f["ledger_sequence"]}))
    for entry in view.deadlines_at(at):
        items.append(((date.fromisoformat(entry["date"]), 1, entry["obligation_id"]), entry))
    for fi in view.findings_at(at):
        d = datetime.fromisoformat(fi["opened_at"].replace("Z", "+00:00")).astimezone(SHANGHAI).date()
        items.append(((d, 2, fi["id"]), {"date": d.isoformat(), "kind": "finding", "finding_id": fi["id"],
                                         "rule": fi["rule"], "severity": fi["severity"], "open": fi["open"]}))
    items.sort(key=lambda x: (x[0][0], x[0][1], str(x[0][2])))
    return [i for _, i in items]


def boundaries(view: CompanyView) -> list[datetime]:
    """Instants where answers change: the first and last moment of each day an obligation's status can
    turn on (and the day before it), and each instant a finding opens or resolves (and just before)."""
    days: set[date] = set()
    for o in view.evaluation.obligations if view.evaluation else ():
        for d in (o.due, o.due - timedelta(days=view.pack.due_soon_days), o.born_on, o.window_opens, o.fulfilled_on,
                  o.waived_on, o.cancelled_on, o.legal_due, o.tracked_from):
            if d is not None:
                days.update((d, d - timedelta(days=1), d + timedelta(days=1)))
    out = [datetime.combine(d, t, SHANGHAI).astimezone(UTC) for d in sorted(days)
           for t in (time(0), time(23, 59, 59, 999_999))]
    for f in view.evaluation.findings if view.evaluation else ():
        for i in f.intervals:
            out += [b + delta for b in (i.opened_at, i.resolved_at) if b is not None
                    for delta in (timedelta(0), -timedelta(microseconds=1))]
    return out


def check(engine: sa.Engine, projection: Projection, n: int, facts: list[dict[str, Any]], data: st.DataObject,
          status: list[str] | None, size: int) -> None:
    key = f"t{n}.{COMPANY}"
    tenant = key.split(".", 1)[0]
    rows = rows_of(key, facts, first=1000 * n + 1)
    view = store(engine, projection, key, rows)
    edges = boundaries(view)
    # an edge is drawn by its index, so the strategy does not depend on how many the history has
    picks = st.integers(0, 10**6).map(lambda i: edges[i % len(edges)] if edges else None)
    ats = [a for a in data.draw(st.lists(st.one_of(instants, picks), min_size=1, max_size=5)) if a is not None]
    pack = projection.rulebook.pack(tenant)
    with engine.connect() as conn:
        for at in ats:
            req: dict[str, Any] = {"tenant": tenant, "status": status, "page_size": size}
            want = [{**o, "company": COMPANY} for o in view.obligations_at(at) if obligation_matches(o, req)]
            assert every_page(partial(pages.obligations, conn, LIVE, key, COMPANY), req, at, pack) == want
            queue = sorted(({**o, "company_name": view.name} for o in want), key=lambda o: (o["due"], o["id"]))
            assert every_page(partial(pages.due, conn, LIVE), req, at, pack) == queue
            for kind in (None, ["fact"], ["deadline", "finding"]):
                tq = {"kind": kind, "status": status, "page_size": size}
                want_t = [i for i in evaluated_timeline(view, rows, at) if timeline_matches(i, tq)]
                assert every_page(partial(pages.timeline, conn, LIVE, key), tq, at, pack) == want_t
            assert pages.findings_at(conn, LIVE, key, at) == view.findings_at(at)
            summary_row = conn.execute(sa.select(LIVE.company_summaries).where(
                LIVE.company_summaries.c.company_key == key)).mappings().one()
            c = pages.counts(conn, LIVE, [LIVE.obligation_entries.c.company_key == key],
                             local_date(at), pack.due_soon_days).get(key, pages.NO_COUNTS)
            assert pages.summary(conn, LIVE, summary_row, c, at, COMPANY, view.name, pack) == view.summary(at)
            assert pages.credit(conn, LIVE, summary_row, at, pack) == view.credit(at)


def run_property(engine: sa.Engine, examples: int) -> None:
    migrate(engine)
    projection = Projection(engine, LIVE, Rulebook())
    seen = iter(range(10**6))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(histories(), st.data(), statuses, st.integers(1, 9))
    def prop(facts: list[dict[str, Any]], data: st.DataObject, status: list[str] | None, size: int) -> None:
        check(engine, projection, next(seen), facts, data, status, size)

    prop()


def test_entries_answer_as_the_evaluation_does_sqlite(tmp_path):
    run_property(make_engine(f"sqlite:///{tmp_path / 'entries.db'}"), 60)


@pytest.mark.postgres
def test_entries_answer_as_the_evaluation_does_postgres(pg_url):
    run_property(make_engine(pg_url), 15)


def test_an_obligation_list_pages_by_keyset_even_when_rows_arrive_between_pages(tmp_path):
    """A page token is the last item's key: an obligation that appears before it after the first page was
    read is not shown twice and does not push another one off (an offset would)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'entries.db'}")
    migrate(engine)
    projection = Projection(engine, LIVE, Rulebook())
    key = f"tk.{COMPANY}"
    store(engine, projection, key, rows_of(key, SCENARIOS[0]))
    at = datetime(2027, 1, 1, tzinfo=UTC)
    pack = projection.rulebook.pack("tk")
    with engine.connect() as conn:
        everything = pages.obligations(conn, LIVE, key, COMPANY, {"page_size": 500}, None, at, pack)["items"]
        first = pages.obligations(conn, LIVE, key, COMPANY, {"page_size": 3}, None, at, pack)
    assert len(everything) > 6
    with engine.begin() as conn:  # an earlier obligation appears (as after a fact changed the evaluation)
        row = dict(conn.execute(sa.select(LIVE.obligation_entries).where(
            LIVE.obligation_entries.c.obligation_id == everything[0]["id"])).mappings().one())
        conn.execute(LIVE.obligation_entries.insert().values(**{**row, "obligation_id": "ob_0_earlier"}))
    with engine.connect() as conn:
        second = pages.obligations(conn, LIVE, key, COMPANY, {"page_size": 3}, first["next_page_token"], at, pack)
    assert [o["id"] for o in second["items"]] == [o["id"] for o in everything[3:6]]
    # the earlier offset tokens are still honoured
    with engine.connect() as conn:
        by_offset = pages.obligations(conn, LIVE, key, COMPANY, {"page_size": 2}, 4, at, pack)["items"]
    assert [o["id"] for o in by_offset] == [o["id"] for o in everything[3:5]]  # "ob_0_earlier" sorts into them


@pytest.mark.parametrize("token", [["x"], ["2026-13-01", "r", "i"], ["2026-01-01", 1, "i"], [1, "r", "i"],
                                   "abc", -1, True, {"a": 1}])
def test_a_token_not_issued_here_is_refused(tmp_path, token):
    engine = make_engine(f"sqlite:///{tmp_path / 'entries.db'}")
    migrate(engine)
    with engine.connect() as conn, pytest.raises(pages.BadToken):
        pages.obligations(conn, LIVE, f"t.{COMPANY}", COMPANY, {"page_size": 3}, token, datetime.now(UTC),
                          Rulebook().pack("t"))


def test_a_read_model_older_than_its_entries_gets_them_at_start(tmp_path):
    """Upgraded by the migration, the entry tables start empty: the projector's start writes what a
    rebuild would (each company evaluated once), and leaves a read model that has them alone."""
    engine = make_engine(f"sqlite:///{tmp_path / 'entries.db'}")
    migrate(engine)
    projection = Projection(engine, LIVE, Rulebook())
    for n, facts in enumerate(SCENARIOS):
        store(engine, projection, f"t{n}.{COMPANY}", rows_of(f"t{n}.{COMPANY}", facts, first=1000 * n + 1))
    tables = (LIVE.obligation_entries, LIVE.finding_entries, LIVE.company_summaries)

    def held() -> list[list[Any]]:
        with engine.connect() as conn:
            return [[tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))] for t in tables]

    written = held()
    assert all(written)
    with engine.begin() as conn:
        for t in tables:
            conn.execute(t.delete())
    Projection(engine, LIVE, Rulebook()).prepare()
    assert held() == written
    Projection(engine, LIVE, Rulebook()).prepare()
    assert held() == written

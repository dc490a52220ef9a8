"""Applying a batch of LEDGER messages to the read model in one database transaction.

First, in a read-only transaction (no write lock: on SQLite others keep writing), the batch's
links are checked and each touched company is evaluated once over its kept state grown by its
new facts (:mod:`ledger_projector.histories`). Then the write transaction checks that the
checkpoint is still where the batch starts (another instance, or a rebuild swap, may have moved
it), writes the facts, rewrites the obligation and finding rows that changed, lets the scheduler
decide alerts into the outbox, and advances the checkpoint. Either all of it commits or none of
it does, so a crash anywhere replays into the same state. A batch holding a calendar year or a
tenant's overrides evaluates inside the write transaction, after storing them (they are rare).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from ledger_readmodel.engine import reading
from sqlalchemy.engine import Connection, Engine

from ledger_projector import decoding
from ledger_projector.chain_guard import ChainGuard
from ledger_projector.decoding import AppliedFact, Poison, SystemFact
from ledger_projector.entries import Written, backfill, write_entries
from ledger_projector.histories import CompanyState, Histories
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.rulebook import (
    company_name as company_name,  # one function; rebuild imports it from here
)
from ledger_projector.tables import TableSet

log = logging.getLogger(__name__)
CHECKPOINT = "main"
CHUNK = 500  # keys per IN (…) clause


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass
class BatchResult:
    applied_sequence: int
    events: int
    parked: int
    touched: list[str]
    alerts: list[dict[str, Any]] = field(default_factory=list)  # rows newly put in the outbox
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # company_key → summary at now


class BulkInsert:
    """A prebuilt INSERT for one table, run as one DB-API ``executemany``.

    Values go through each column's own bind processor (so the stored form is exactly what
    SQLAlchemy would write), but without building a statement per call: bind processing in
    the ORM/Core path was a quarter of a batch's cost.
    """

    def __init__(self, table: sa.Table, dialect: Any) -> None:
        compiled = table.insert().compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        positions = compiled.positiontup
        names = list(positions) if self.positional and positions is not None else [c.key for c in table.columns]
        self.names = names
        self.procs = [(n, table.c[n].type._cached_bind_processor(dialect)) for n in names]

    def params(self, rows: Iterable[dict[str, Any]]) -> list[Any]:
        """The rows as DB-API parameters (plain values: they can cross a process boundary)."""
        procs = self.procs
        if self.positional:
            return [tuple(p(r.get(n)) if p else r.get(n) for n, p in procs) for r in rows]
        return [{n: (p(r.get(n)) if p else r.get(n)) for n, p in procs} for r in rows]

    def run(self, conn: Connection, rows: Iterable[dict[str, Any]], *, ready: list[Any] | None = None) -> None:
        params = ready if ready is not None else self.params(rows)
        if params:
            conn.exec_driver_sql(self.sql, params)


def fact_row(f: AppliedFact) -> dict[str, Any]:
    return {"ledger_sequence": f.ledger_sequence, "company_key": f.company_key, "tenant": f.tenant,
            "company": f.company, "event_id": f.event_id, "type": f.type, "aggregate_type": f.aggregate_type,
            "aggregate_id": f.aggregate_id, "effective_date": f.effective_date, "recorded_at": f.recorded_at,
            "data": f.data}


Row = dict[str, Any]


def arriving_rows(decoded: Sequence[decoding.Decoded]) -> dict[str, list[Row]]:
    """The fact rows of a batch, by company, in ledger order."""
    out: dict[str, list[Row]] = defaultdict(list)
    for d in decoded:
        if isinstance(d, AppliedFact):
            out[d.company_key].append(fact_row(d))
    return dict(out)


def row_changes(key: str, old: dict[str, Row], new: dict[str, Row], deletes: list[Row], inserts: list[Row]) -> None:
    """The deletes (by id) and inserts that turn a company's rows ``old`` into ``new`` (both keyed by id)."""
    for i, row in new.items():
        before = old.get(i)
        if before is not row and before != row:  # a view re-evaluated rule by rule keeps unchanged rows
            if before is not None:
                deletes.append({"k": key, "i": i})
            inserts.append(row)
    deletes.extend({"k": key, "i": i} for i in sorted(old.keys() - new.keys()))


class Stale(Exception):
    """The checkpoint moved under us (another instance, or a rebuild swap): re-read and retry."""


def read_checkpoint(conn: Connection, tables: TableSet, *, lock: bool = False) -> tuple[int, int]:
    """(applied sequence, generation); ``lock`` holds the row for this transaction (PostgreSQL)."""
    q = sa.select(tables.checkpoint.c.applied_sequence, tables.checkpoint.c.generation).where(
        tables.checkpoint.c.name == CHECKPOINT)
    row = conn.execute(q.with_for_update() if lock else q).first()
    return (row[0], row[1]) if row else (0, 0)


def ensure_checkpoint(conn: Connection, tables: TableSet) -> None:
    if conn.execute(sa.select(tables.checkpoint.c.name).where(tables.checkpoint.c.name == CHECKPOINT)).first() is None:
        conn.execute(tables.checkpoint.insert().values(name=CHECKPOINT, applied_sequence=0, generation=0))


def facts_of(conn: Connection, tables: TableSet, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every stored fact of these companies, in ledger order (one query per chunk of keys)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    t = tables.facts
    for part in chunks(sorted(keys)):
        rows = conn.execute(sa.select(t).where(t.c.company_key.in_(part))
                            .order_by(t.c.company_key, t.c.ledger_sequence)).mappings()
        for r in rows:
            out[r["company_key"]].append(dict(r))
    return out


def load_rules_state(conn: Connection, tables: TableSet, rulebook: Rulebook) -> None:
    """Give the rule book the calendar years and tenant overrides applied so far."""
    years = {r.year: r.schedule for r in conn.execute(sa.select(tables.calendar_years))}
    rulebook.set_calendar_years(years)
    overrides = {r.tenant: r.overrides for r in conn.execute(sa.select(tables.tenant_rules))}
    rulebook.set_all_overrides(overrides)


def store_system_fact(conn: Connection, t: TableSet, fact: SystemFact) -> str | None:
    """A calendar year or a tenant's overrides into its table: the one writer of the live path and the
    rebuild, so the two cannot drift apart. The tenant it concerns, or None for every tenant."""
    if fact.type == decoding.CALENDAR_TYPE:
        year = int(fact.data["year"])
        conn.execute(t.calendar_years.delete().where(t.calendar_years.c.year == year))
        conn.execute(t.calendar_years.insert().values(year=year, ledger_sequence=fact.ledger_sequence,
                                                      schedule=fact.data))
        return None
    tenant = str(fact.data["tenant"])
    conn.execute(t.tenant_rules.delete().where(t.tenant_rules.c.tenant == tenant))
    conn.execute(t.tenant_rules.insert().values(tenant=tenant, ledger_sequence=fact.ledger_sequence,
                                                overrides=fact.data.get("overrides") or {}))
    return tenant


class Projection:
    """The read model's writer for one table set (the live tables, or a rebuild's)."""

    def __init__(self, engine: Engine, tables: TableSet, rulebook: Rulebook, *, scheduler: Any | None = None,
                 settle: bool = False) -> None:
        self.engine = engine
        self.tables = tables
        self.rulebook = rulebook
        self.scheduler = scheduler  # decides alerts in the same transaction (None during a rebuild)
        self.settle = settle  # True: a batch defers its companies' alerts until they are quiet (the service decides)
        self.generation: int | None = None
        self._inserts: dict[str, BulkInsert] = {}
        self.histories = Histories()  # company → its state as committed (facts, fold, evaluation, rows)
        self._growing: dict[str, CompanyState] = {}  # states grown by the batch being applied
        self._rows: dict[str, tuple[dict[str, Row], dict[str, Row]]] = {}  # … and the rows it writes
        self._entries_pending: dict[str, Written] = {}  # the read entries the batch being applied writes
        self._said_pending: dict[str, dict[tuple[str, str], str | None]] = {}  # … and what the change feed says
        self.guard = ChainGuard(tables)  # parks an event that does not chain onto its aggregate

    def bulk(self, conn: Connection, table: sa.Table) -> BulkInsert:
        ins = self._inserts.get(table.name)
        if ins is None:
            ins = self._inserts[table.name] = BulkInsert(table, conn.dialect)
        return ins

    def prepare(self) -> int:
        """Create the checkpoint row if needed and load rule state; the applied sequence."""
        with self.engine.begin() as conn:
            ensure_checkpoint(conn, self.tables)
            load_rules_state(conn, self.tables, self.rulebook)
            applied, self.generation = read_checkpoint(conn, self.tables)
            backfill(conn, self.tables, self.evaluate, self.bulk)  # entries of a read model older than them
        return applied

    def applied(self) -> int:
        with self.engine.connect() as conn:
            return read_checkpoint(conn, self.tables)[0]

    # --- the batch ------------------------------------------------------------------------------

    def apply(self, messages: Sequence[Any], after: int, now: datetime | None = None) -> BatchResult:
        """Apply ``messages`` (stored LEDGER messages following sequence ``after``); raise Stale if the
        checkpoint is no longer ``after``."""
        decoded = self._admit([decoding.decode(m) for m in messages])
        self._growing, self._rows, self._entries_pending, self._said_pending = {}, {}, {}, {}
        try:
            with reading(self.engine) as conn:  # read and evaluate without the write lock
                applied, generation = self._position(conn)
                if generation != self.generation:
                    self.generation = generation
                    self._forget()
                    load_rules_state(conn, self.tables, self.rulebook)
                    self.rulebook.forget()
                if applied != after:
                    raise Stale(f"checkpoint is {applied}, the batch starts after {after}")
                decoded = self.guard.links(conn, decoded)
                arriving = arriving_rows(decoded)
                views = None
                if not any(isinstance(d, SystemFact) for d in decoded):
                    views = self._grow(conn, sorted(arriving), arriving, stored=False)
            with self.engine.begin() as conn:  # then write, briefly
                applied, generation = self._position(conn, lock=True)
                if generation != self.generation or applied != after:
                    raise Stale(f"checkpoint is {applied} (generation {generation}), the batch starts after {after}")
                self.guard.write(conn)
                result = self._apply(conn, decoded, arriving, views, now)
                self._advance(conn, result)
        except BaseException:
            self._forget()  # what the database holds is no longer known for sure
            raise
        self.guard.committed()
        for key, state in self._growing.items():  # only once committed
            if key in self._rows:
                state.obligations, state.findings = self._rows[key]
                state.entries = self._entries_pending.get(key)
            state.said = self._said_pending.get(key)
            self.histories.put(state)
        self._growing, self._rows, self._entries_pending, self._said_pending = {}, {}, {}, {}
        return result

    # --- where a batch starts and ends (one checkpoint row here; a partition's row in ``partitioned``) ---

    def _admit(self, decoded: list[decoding.Decoded]) -> list[decoding.Decoded]:
        """The decoded batch this projection applies (all of it here)."""
        return decoded

    def _position(self, conn: Connection, *, lock: bool = False) -> tuple[int, int]:
        """(where the applied batches end, rebuild generation); ``lock`` holds it for this transaction."""
        return read_checkpoint(conn, self.tables, lock=lock)

    def _advance(self, conn: Connection, result: BatchResult) -> None:
        """Move the checkpoint past the batch, in the batch's transaction."""
        if result.applied_sequence:
            conn.execute(self.tables.checkpoint.update().where(self.tables.checkpoint.c.name == CHECKPOINT)
                         .values(applied_sequence=result.applied_sequence))

    def _forget(self) -> None:
        self.histories.clear()
        self.guard.forget()
        self._growing, self._rows = {}, {}
        self._entries_pending, self._said_pending = {}, {}

    def _apply(self, conn: Connection, decoded: list[decoding.Decoded], arriving: dict[str, list[Row]],
               views: dict[str, CompanyView] | None, now: datetime | None) -> BatchResult:
        t = self.tables
        facts = [d for d in decoded if isinstance(d, AppliedFact)]
        poisons = [d for d in decoded if isinstance(d, Poison)]
        system = [d for d in decoded if isinstance(d, SystemFact)]
        last = decoded[-1].ledger_sequence if decoded else 0
        touched: set[str] = set(arriving)
        if facts:
            self.bulk(conn, t.facts).run(conn, (r for rows in arriving.values() for r in rows))
            self._upsert_companies(conn, facts)
        if poisons:
            conn.execute(t.parked.insert(), [
                {"ledger_sequence": p.ledger_sequence, "subject": p.subject, "event_id": p.event_id,
                 "type": p.type, "reason": p.reason[:2000]} for p in poisons])
            for p in poisons:
                log.warning("parked ledger message %d: %s", p.ledger_sequence, p.reason,
                            extra={"ledger_sequence": p.ledger_sequence})
        for s in system:
            touched.update(self._apply_system(conn, s))

        result = BatchResult(applied_sequence=last, events=len(decoded), parked=len(poisons), touched=sorted(touched))
        if touched:
            if views is None:  # the rule state changed in this batch: evaluate now, over the stored facts
                views = self._grow(conn, result.touched, arriving, stored=True)
            self._replace_derived(conn, views)
            if self.scheduler is not None and now is not None:
                if self.settle:
                    result.summaries = self.scheduler.defer(conn, self.tables, views, now)
                else:
                    result.alerts, result.summaries = self.scheduler.decide(conn, self.tables, views, now)
                known = {k: g.said for k in views if (g := self._growing.get(k)) is not None and g.said is not None}
                self.scheduler.observe(conn, self.tables, views, result.summaries, now, last, known=known,
                                       said=self._said_pending)
        return result

    def _upsert_companies(self, conn: Connection, facts: list[AppliedFact]) -> set[str]:
        """Insert or update the companies of these facts; the keys of those seen for the first time."""
        t = self.tables.companies
        per: dict[str, dict[str, Any]] = {}
        for f in facts:
            c = per.get(f.company_key)
            if c is None:
                c = per[f.company_key] = {"company_key": f.company_key, "tenant": f.tenant, "company": f.company,
                                          "name": None, "first_sequence": f.ledger_sequence, "facts": 0}
            c["last_sequence"] = f.ledger_sequence
            c["facts"] += 1
            name = company_name(f)
            if name:
                c["name"] = name
        existing: dict[str, Any] = {}
        for part in chunks(sorted(per)):
            for r in conn.execute(sa.select(t).where(t.c.company_key.in_(part))).mappings():
                existing[r["company_key"]] = r
        new = [c for k, c in per.items() if k not in existing]
        if new:
            conn.execute(t.insert(), new)
        updates = [{"k": k, "n": c["name"] or existing[k]["name"], "l": c["last_sequence"],
                    "f": existing[k]["facts"] + c["facts"]} for k, c in per.items() if k in existing]
        if updates:
            conn.execute(t.update().where(t.c.company_key == sa.bindparam("k"))
                         .values(name=sa.bindparam("n"), last_sequence=sa.bindparam("l"), facts=sa.bindparam("f")),
                         updates)
        return {c["company_key"] for c in new}

    def _apply_system(self, conn: Connection, fact: SystemFact) -> set[str]:
        """A calendar year or a tenant's overrides: store it, and re-evaluate whoever it affects."""
        t = self.tables
        tenant = store_system_fact(conn, t, fact)
        load_rules_state(conn, t, self.rulebook)
        if tenant is None:
            return set(conn.execute(sa.select(t.companies.c.company_key)).scalars())
        return set(conn.execute(sa.select(t.companies.c.company_key).where(t.companies.c.tenant == tenant)).scalars())

    def tick(self, now: datetime, waiting: Collection[str] = ()) -> tuple[list[Row], dict[str, dict[str, Any]]]:
        """The clock's pass over the companies whose reminders, findings or statuses the passing of time
        may have moved since the last tick: their new alerts (``waiting`` companies' are left for later)
        and summaries, and the change feed's state changes, in one transaction."""
        assert self.scheduler is not None
        scheduler = self.scheduler
        with self.engine.begin() as conn:
            keys = sorted({*scheduler.due_companies(conn, self.tables, now),
                           *scheduler.moved_companies(conn, self.tables, now)})
            views = self.evaluate(conn, keys)
            rows, summaries = scheduler.decide(conn, self.tables, views, now, waiting=waiting)
            scheduler.observe(conn, self.tables, views, summaries, now, read_checkpoint(conn, self.tables)[0])
            scheduler.mark_tick(conn, self.tables, now)
        return rows, summaries

    def evaluate(self, conn: Connection, keys: Sequence[str]) -> dict[str, CompanyView]:
        """Each company's view over all its stored facts: its kept state if it has one, else read back
        (without keeping it: a rebuild or a tick must not fill the cache with every company)."""
        views = {}
        for key in keys:
            state = self.histories.get(key)
            if state is not None:
                state.said = None  # the caller's transaction (a tick) may record what the feed says
                views[key] = state.grow((), self.rulebook)
        unknown = [k for k in keys if k not in views]
        for part in chunks(unknown, 2000):
            for key, rows in facts_of(conn, self.tables, part).items():
                views[key] = CompanyState(key).grow(rows, self.rulebook)
        return {k: views[k] for k in keys if k in views}

    def _grow(self, conn: Connection, keys: Sequence[str], arriving: dict[str, list[Row]], *,
              stored: bool) -> dict[str, CompanyView]:
        """Each company's view once its ``arriving`` facts are folded onto its kept state; a company
        without one is read back first (``stored``: the batch's facts are already written in ``conn``,
        so they are read back with the others). The grown states are kept once the batch commits."""
        states = {k: s for k in keys if (s := self._growing.get(k) or self.histories.get(k)) is not None}
        read: dict[str, list[Row]] = {}
        for part in chunks([k for k in keys if k not in states], 2000):
            read.update(facts_of(conn, self.tables, part))
        views = {}
        for key in keys:
            state = states.get(key)
            if state is None:
                rows = read.get(key, [])
                if not stored:
                    rows = rows + arriving.get(key, [])
                if not rows:
                    continue  # no facts at all (a company row without facts is not possible; be safe)
                state = CompanyState(key)
            else:
                rows = arriving.get(key, [])
            views[key] = state.grow(rows, self.rulebook)
            self._growing[key] = state
        return views

    def _replace_derived(self, conn: Connection, views: dict[str, CompanyView]) -> None:
        """Rewrite the obligation and finding rows that changed: by id for a company whose committed rows
        are kept, all of them for any other."""
        t = self.tables
        whole: list[str] = []
        ob_del: list[Row] = []
        ob_ins: list[Row] = []
        f_del: list[Row] = []
        f_ins: list[Row] = []
        for k in sorted(views):
            view = views[k]
            obs = {r["obligation_id"]: r for r in view.obligation_rows}
            fs = {r["finding_id"]: r for r in view.finding_rows}
            self._rows[k] = (obs, fs)
            state = self._growing.get(k) or self.histories.get(k)
            if state is None or state.obligations is None or state.findings is None:
                whole.append(k)
                ob_ins.extend(view.obligation_rows)
                f_ins.extend(view.finding_rows)
                continue
            row_changes(k, state.obligations, obs, ob_del, ob_ins)
            row_changes(k, state.findings, fs, f_del, f_ins)
        for part in chunks(whole):
            conn.execute(t.obligations.delete().where(t.obligations.c.company_key.in_(part)))
            conn.execute(t.findings.delete().where(t.findings.c.company_key.in_(part)))
        for table, id_column, deletes in ((t.obligations, "obligation_id", ob_del), (t.findings, "finding_id", f_del)):
            if deletes:
                conn.execute(table.delete().where(table.c.company_key == sa.bindparam("k"),
                                                  table.c[id_column] == sa.bindparam("i")), deletes)
        self.bulk(conn, t.obligations).run(conn, ob_ins)
        self.bulk(conn, t.findings).run(conn, f_ins)
        committed = {k: s.entries if (s := self._growing.get(k) or self.histories.get(k)) is not None else None
                     for k in views}
        write_entries(conn, t, views, self.bulk, committed, self._entries_pending)  # the rows the reads read

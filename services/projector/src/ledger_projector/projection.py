"""Applying a batch of LEDGER messages to the read model in one database transaction.

The transaction checks that the checkpoint is still where the batch starts (another
instance, or a rebuild swap, may have moved it), writes the facts, re-evaluates each
touched company once, replaces its obligations and findings, lets the scheduler
decide alerts into the outbox, and advances the checkpoint. Either all of it commits
or none of it does, so a crash anywhere replays into the same state.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger_projector import decoding
from ledger_projector.chain_guard import ChainGuard
from ledger_projector.decoding import AppliedFact, Poison, SystemFact
from ledger_projector.entries import backfill, write_entries
from ledger_projector.histories import Histories
from ledger_projector.rulebook import CompanyView, Rulebook
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
        names = list(compiled.positiontup) if self.positional else [c.key for c in table.columns]
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


def rows_digest(view: CompanyView) -> bytes:
    """What a company's obligation and finding rows hold (equal digests: nothing to rewrite)."""
    return hashlib.blake2b(repr((view.obligation_rows, view.finding_rows)).encode(), digest_size=16).digest()


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


def company_name(fact: AppliedFact) -> str | None:
    if fact.type == "company.registered":
        return fact.data.get("name")
    if fact.type == "company.registration_changed" and fact.data.get("field") == "name":
        return fact.data.get("new")
    return None


class Projection:
    """The read model's writer for one table set (the live tables, or a rebuild's)."""

    def __init__(self, engine: Engine, tables: TableSet, rulebook: Rulebook, *, scheduler: Any | None = None) -> None:
        self.engine = engine
        self.tables = tables
        self.rulebook = rulebook
        self.scheduler = scheduler  # decides alerts in the same transaction (None during a rebuild)
        self.generation: int | None = None
        self._inserts: dict[str, BulkInsert] = {}
        self._written: dict[str, bytes] = {}  # company → digest of its derived rows as committed
        self.histories = Histories()  # company → its facts as committed
        self._pending_histories: dict[str, list[dict[str, Any]]] = {}
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
        decoded = [decoding.decode(m) for m in messages]
        self._pending: dict[str, bytes] = {}
        self._pending_histories = {}
        try:
            with self.engine.begin() as conn:
                applied, generation = read_checkpoint(conn, self.tables, lock=True)
                if generation != self.generation:
                    self.generation = generation
                    self._written.clear()
                    self.histories.clear()
                    self.guard.forget()
                    load_rules_state(conn, self.tables, self.rulebook)
                    self.rulebook.forget()
                if applied != after:
                    raise Stale(f"checkpoint is {applied}, the batch starts after {after}")
                decoded = self.guard.check(conn, decoded)
                result = self._apply(conn, decoded, now)
                if result.applied_sequence:
                    conn.execute(self.tables.checkpoint.update().where(self.tables.checkpoint.c.name == CHECKPOINT)
                                 .values(applied_sequence=result.applied_sequence))
        except BaseException:
            self._written.clear()  # what the database holds is no longer known for sure
            self.histories.clear()
            self.guard.forget()
            raise
        self.guard.committed()
        self._written.update(self._pending)  # only once committed
        for key, rows in self._pending_histories.items():
            self.histories.put(key, rows)
        self._pending_histories = {}
        return result

    def _apply(self, conn: Connection, decoded: list[decoding.Decoded], now: datetime | None) -> BatchResult:
        t = self.tables
        facts = [d for d in decoded if isinstance(d, AppliedFact)]
        poisons = [d for d in decoded if isinstance(d, Poison)]
        system = [d for d in decoded if isinstance(d, SystemFact)]
        last = decoded[-1].ledger_sequence if decoded else 0
        touched: set[str] = set()

        arriving: dict[str, list[dict[str, Any]]] = defaultdict(list)  # this batch's facts, by company
        new: set[str] = set()
        if facts:
            rows = [fact_row(f) for f in facts]
            self.bulk(conn, t.facts).run(conn, rows)
            new = self._upsert_companies(conn, facts)
            for r in rows:
                arriving[r["company_key"]].append(r)
            touched.update(arriving)
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
            views = self.evaluate(conn, result.touched, arriving=arriving, new=new)
            self._replace_derived(conn, views)
            if self.scheduler is not None and now is not None:
                result.alerts, result.summaries = self.scheduler.decide(conn, self.tables, views, now)
                self.scheduler.observe(conn, self.tables, views, result.summaries, now, last)
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
        if fact.type == decoding.CALENDAR_TYPE:
            year = int(fact.data["year"])
            conn.execute(t.calendar_years.delete().where(t.calendar_years.c.year == year))
            conn.execute(t.calendar_years.insert().values(year=year, ledger_sequence=fact.ledger_sequence,
                                                          schedule=fact.data))
            load_rules_state(conn, t, self.rulebook)
            return set(conn.execute(sa.select(t.companies.c.company_key)).scalars())
        tenant = str(fact.data["tenant"])
        conn.execute(t.tenant_rules.delete().where(t.tenant_rules.c.tenant == tenant))
        conn.execute(t.tenant_rules.insert().values(tenant=tenant, ledger_sequence=fact.ledger_sequence,
                                                    overrides=fact.data.get("overrides") or {}))
        load_rules_state(conn, t, self.rulebook)
        return set(conn.execute(sa.select(t.companies.c.company_key).where(t.companies.c.tenant == tenant)).scalars())

    def evaluate(self, conn: Connection, keys: Sequence[str], *, arriving: dict[str, list[dict[str, Any]]] | None = None,
                 new: set[str] | frozenset[str] = frozenset()) -> dict[str, CompanyView]:
        """Each company's view over all its facts: a company new in this batch has only the ones
        ``arriving``; a kept history gets them appended; any other is read back (the batch's facts are
        already written in this transaction). Histories used in a batch are kept once it commits."""
        arriving = arriving or {}
        views: dict[str, CompanyView] = {}
        histories: dict[str, list[dict[str, Any]]] = {}
        unknown: list[str] = []
        for key in keys:
            if key in new:
                histories[key] = arriving.get(key, [])
            elif (kept := self.histories.get(key)) is not None:
                histories[key] = kept + arriving.get(key, [])
            else:
                unknown.append(key)
        for part in chunks(unknown, 2000):
            histories.update(facts_of(conn, self.tables, part))
        for key in keys:
            rows = histories.get(key)
            if rows is None:
                continue  # no facts at all (a company row without facts is not possible; be safe)
            views[key] = self.rulebook.evaluate(key, rows)
            if arriving:
                self._pending_histories[key] = rows
        return views

    def _replace_derived(self, conn: Connection, views: dict[str, CompanyView]) -> None:
        """Replace the obligation and finding rows of the companies whose rows changed."""
        t = self.tables
        keys = []
        pending = getattr(self, "_pending", {})
        for k in sorted(views):
            d = rows_digest(views[k])
            pending[k] = d
            if self._written.get(k) != d:
                keys.append(k)
        for part in chunks(keys):
            conn.execute(t.obligations.delete().where(t.obligations.c.company_key.in_(part)))
            conn.execute(t.findings.delete().where(t.findings.c.company_key.in_(part)))
        self.bulk(conn, t.obligations).run(conn, (row for k in keys for row in views[k].obligation_rows))
        self.bulk(conn, t.findings).run(conn, (row for k in keys for row in views[k].finding_rows))
        write_entries(conn, t, views, self.bulk, self._written, pending)  # the rows the reads read

"""A rebuild's writer for one share of LEDGER: every fact stored first, then each company evaluated once.

Evaluating once at the end gives the same rows as the live path, which re-evaluates a company
whenever a batch touches it or a calendar year or tenant override changes: the last of those
evaluations saw all its facts and the final rule state, as this one does. Every message of a
subject is in one share (see :mod:`ledger_projector.rebuild_workers`), so shares never write the
same row, and one loader alone is a whole rebuild.

Each transaction is prepared outside the write lock (decoded, links checked, companies evaluated in
a read snapshot) and only written inside it, so on SQLite several loaders evaluate in parallel and
take the one write lock in short turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ledger_kernel.store import StoredMessage
from ledger_readmodel.engine import reading
from sqlalchemy.engine import Connection, Engine

from ledger_projector import decoding
from ledger_projector.decoding import AppliedFact, Poison, SystemFact
from ledger_projector.entries import entry_params
from ledger_projector.projection import (
    Projection,
    company_name,
    fact_row,
    load_rules_state,
    store_system_fact,
)
from ledger_projector.rulebook import Rulebook
from ledger_projector.tables import TableSet

log = logging.getLogger(__name__)
FACTS_PER_CHUNK = 50_000  # facts whose histories a rebuild holds at once while evaluating


class Loader:
    """Stores messages into a rebuild's fresh tables, then evaluates the companies it stored.

    Only the companies' running totals stay in memory; facts stream through, and the evaluation
    holds the histories of at most ``facts_per_chunk`` facts at a time (one bigger company alone),
    so memory stays flat however many companies, and however many facts each, the ledger holds.
    """

    def __init__(self, engine: Engine, tables: TableSet, *, chunk: int = 500,
                 facts_per_chunk: int = FACTS_PER_CHUNK) -> None:
        self.projection = Projection(engine, tables, Rulebook())
        self.engine, self.tables, self.chunk = engine, tables, chunk
        self.facts_per_chunk = facts_per_chunk
        self.companies: dict[str, dict[str, Any]] = {}

    def prepare(self) -> int:
        after = self.projection.prepare()
        if after:
            raise ValueError(f"a rebuild replays into fresh tables, these are at {after}")
        return after

    @property
    def facts(self) -> int:
        """The facts stored so far (what the evaluation will go through)."""
        return sum(c["facts"] for c in self.companies.values())

    def load(self, messages: Sequence[StoredMessage]) -> int:
        """Facts, parked messages, chain tips and rule state of one read, in one transaction; the events seen."""
        decoded = [decoding.decode(m) for m in messages]
        t, p = self.tables, self.projection
        with reading(self.engine) as conn:  # the live path's link check: the same events parked
            decoded = p.guard.links(conn, decoded)
            facts = [d for d in decoded if isinstance(d, AppliedFact)]
            poisons = [d for d in decoded if isinstance(d, Poison)]
            fact_params = p.bulk(conn, t.facts).params(fact_row(f) for f in facts)
            parked_params = p.bulk(conn, t.parked).params(
                {"ledger_sequence": x.ledger_sequence, "subject": x.subject, "event_id": x.event_id,
                 "type": x.type, "reason": x.reason[:2000]} for x in poisons)
        with self.engine.begin() as conn:
            p.guard.write(conn)
            p.bulk(conn, t.facts).run(conn, (), ready=fact_params)
            p.bulk(conn, t.parked).run(conn, (), ready=parked_params)
            for d in decoded:
                if isinstance(d, SystemFact):
                    store_system_fact(conn, self.tables, d)
        p.guard.committed()
        for f in facts:
            c = self.companies.get(f.company_key)
            if c is None:
                c = self.companies[f.company_key] = {
                    "company_key": f.company_key, "tenant": f.tenant, "company": f.company, "name": None,
                    "first_sequence": f.ledger_sequence, "facts": 0}
            c["last_sequence"] = f.ledger_sequence
            c["facts"] += 1
            name = company_name(f)
            if name:
                c["name"] = name
        for x in poisons:
            log.warning("parked ledger message %d: %s", x.ledger_sequence, x.reason,
                        extra={"ledger_sequence": x.ledger_sequence})
        return len(decoded)

    def finish(self, evaluated: Callable[[int], None] = lambda facts: None) -> None:
        """The companies, then each one's evaluation: a run of companies evaluated in a read snapshot and
        written in a transaction of its own; ``evaluated`` hears how many facts each run covered.

        Every share's system facts must be stored by now: the evaluation reads the final rule state.
        """
        t, p = self.tables, self.projection
        with self.engine.begin() as conn:
            p.bulk(conn, t.companies).run(conn, self.companies.values())
        with reading(self.engine) as conn:
            load_rules_state(conn, t, p.rulebook)
        sizes = {key: c["facts"] for key, c in self.companies.items()}
        self.companies = {}
        for part in by_facts(sizes, self.chunk, self.facts_per_chunk):
            with reading(self.engine) as conn:
                obligations, findings, entries = _rows(p, conn, part)
            with self.engine.begin() as conn:
                p.bulk(conn, t.obligations).run(conn, (), ready=obligations)
                p.bulk(conn, t.findings).run(conn, (), ready=findings)
                for insert, ready in entries:
                    insert.run(conn, (), ready=ready)
            evaluated(sum(sizes[k] for k in part))


def by_facts(sizes: dict[str, int], most: int, budget: int) -> list[list[str]]:
    """Company keys in sorted order, cut into runs of at most ``most`` companies and ``budget`` facts.

    A company with more facts than the budget gets a run of its own: it must be evaluated whole.
    """
    runs: list[list[str]] = []
    run: list[str] = []
    held = 0
    for key in sorted(sizes):
        if run and (len(run) >= most or held + sizes[key] > budget):
            runs.append(run)
            run, held = [], 0
        run.append(key)
        held += sizes[key]
    if run:
        runs.append(run)
    return runs


def _rows(p: Projection, conn: Connection, keys: list[str]) -> tuple[list[Any], list[Any], list[Any]]:
    """These companies' evaluations as ready DB-API parameters for the obligation and finding inserts,
    and the entries the reads read (:mod:`ledger_projector.entries`)."""
    views = p.evaluate(conn, keys)
    return (p.bulk(conn, p.tables.obligations).params(r for k in keys for r in views[k].obligation_rows),
            p.bulk(conn, p.tables.findings).params(r for k in keys for r in views[k].finding_rows),
            entry_params(conn, p.tables, views, keys, p.bulk))

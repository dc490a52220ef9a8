"""The rows the lists, the timeline and the portfolio read: written by the projector beside its other rows.

A company's evaluation becomes, besides the scheduler's obligation and finding rows, one *entry* per
obligation (its public form and the dates its status follows from), one per finding (its public form
and intervals) and one *summary* row (onboarding baseline, credit inputs, findings' intervals). None of
them holds anything that depends on the instant asked about, so a rebuild writes them byte for byte
and they are part of the digest; :mod:`ledger_projector.pages` answers at an instant from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from ledger_rules.model import (
    CreditInputs,
    Finding,
    ListingPeriod,
    Obligation,
    PenaltyRecord,
    SpotCheck,
    TrafficMonth,
    as_json,
)
from sqlalchemy.engine import Connection

from ledger_projector.rulebook import CompanyView
from ledger_projector.tables import TableSet

Rows = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def _closed_on(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def _reused(view: CompanyView, item: Obligation | Finding, position: int | None = None) -> dict[str, Any] | None:
    """The entry built for the company's previous view when the evaluation kept the same object (its entry is
    a function of it and the pack, which the view checked), at this position (findings); None: build it."""
    hit = view.bodies_before.get(item.id)
    if hit is None or hit[0] is not item:
        return None
    row: dict[str, Any] = hit[1]
    return row if position is None or row["position"] == position else {**row, "position": position}


def company_entries(view: CompanyView) -> Rows:
    """One company's obligation entries, finding entries and summary row."""
    obligations, findings = [], []
    ev = view.evaluation
    for o in ev.obligations if ev is not None else ():
        if view.obligation(o.id) is not o:
            continue  # an id evaluated twice: the view (and so every list) keeps the later one
        row = _reused(view, o)
        if row is None:
            row = {
                "company_key": view.key, "obligation_id": o.id, "tenant": view.tenant, "company": view.company,
                "rule": o.rule, "confidence": o.confidence, "informational": o.informational,
                "due": o.due, "legal_due": o.legal_due, "born_on": o.born_on, "window_opens": o.window_opens,
                "fulfilled_on": o.fulfilled_on, "waived_on": o.waived_on, "cancelled_on": o.cancelled_on,
                "closed_on": _closed_on(o.fulfilled_on, o.waived_on, o.cancelled_on), "tracked_from": o.tracked_from,
                "title_zh": o.title_zh, "title_en": o.title_en, "about": o.about,
                "body": view.obligation_public({"obligation_id": o.id})}
        view.bodies[o.id] = (o, row)
        obligations.append(row)
    rows = {r["finding_id"]: r for r in view.finding_rows}
    intervals: list[list[Any]] = []
    seen: set[str] = set()
    for position, f in enumerate(ev.findings if ev is not None else ()):
        if rows[f.id]["finding_id"] in seen:
            continue  # as for obligations: one entry per id
        seen.add(f.id)
        row = _reused(view, f, position)
        if row is None:
            row = {"company_key": view.key, "finding_id": f.id, "tenant": view.tenant, "position": position,
                   "severity": f.severity, "body": view.finding_public(rows[f.id])}
        view.bodies[f.id] = (f, row)
        findings.append(row)
        intervals += [[f.id, f.severity, opened, resolved] for opened, resolved in row["body"]["intervals"]]
    credit: dict[str, Any] = {}
    if ev is not None:
        hit = view.bodies_before.get(CREDIT)
        credit = hit[1] if hit is not None and hit[0] is ev.credit_inputs else as_json(ev.credit_inputs)
        view.bodies[CREDIT] = (ev.credit_inputs, credit)
    summary = {"company_key": view.key, "tenant": view.tenant, "company": view.company,
               "tracked_from": ev.tracked_from if ev is not None else None, "error": view.error,
               "credit_inputs": credit, "finding_intervals": intervals}
    return obligations, findings, [summary]


CREDIT = "credit:"  # the key of the credit inputs' stored form among a view's reusable entries


class Written(NamedTuple):
    """A company's entries as committed: obligation and finding entries by id, and its summary row."""

    obligations: dict[str, dict[str, Any]]
    findings: dict[str, dict[str, Any]]
    summary: dict[str, Any]


def write_entries(conn: Connection, tables: TableSet, views: Mapping[str, CompanyView], bulk: Callable[..., Any],
                  written: Mapping[str, Written | None], pending: dict[str, Written]) -> None:
    """Write the entries of these companies: for one whose committed entries are ``written``, only the
    rows that changed (a finding entry that only moved gets its new position), for any other all of them.

    ``pending`` receives what this batch writes (the projection keeps it with the company's state once
    the transaction commits, and forgets it when anything fails)."""
    t = (tables.obligation_entries, tables.finding_entries, tables.company_summaries)
    ids = ("obligation_id", "finding_id")
    whole: list[str] = []
    inserts: tuple[list[dict[str, Any]], ...] = ([], [], [])
    deletes: tuple[list[dict[str, Any]], ...] = ([], [], [])
    moves: tuple[list[dict[str, Any]], ...] = ([], [])
    for key in sorted(views):
        rows = company_entries(views[key])
        now = Written({r["obligation_id"]: r for r in rows[0]}, {r["finding_id"]: r for r in rows[1]}, rows[2][0])
        pending[key] = now
        before = written.get(key)
        if before is None:
            whole.append(key)
            for n in range(3):
                inserts[n].extend(rows[n])
            continue
        for n in range(2):
            _row_changes(key, before[n], now[n], ids[n], deletes[n], inserts[n], moves[n])
        if before.summary != now.summary:
            deletes[2].append({"k": key, "i": key})
            inserts[2].append(now.summary)
    for i in range(0, len(whole), 500):
        part = whole[i:i + 500]
        for table in t:
            conn.execute(table.delete().where(table.c.company_key.in_(part)))
    for n, table in enumerate(t):
        id_column = table.c[ids[n]] if n < 2 else table.c.company_key
        if deletes[n]:
            conn.execute(table.delete().where(table.c.company_key == sa.bindparam("k"), id_column == sa.bindparam("i")),
                         deletes[n])
        if n < 2 and moves[n]:
            conn.execute(table.update().where(table.c.company_key == sa.bindparam("k"), id_column == sa.bindparam("i"))
                         .values(position=sa.bindparam("p")), moves[n])
        bulk(conn, table).run(conn, inserts[n])


def _row_changes(key: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], id_column: str,
                 deletes: list[dict[str, Any]], inserts: list[dict[str, Any]], moves: list[dict[str, Any]]) -> None:
    for i, row in new.items():
        before = old.get(i)
        if before is row:
            continue
        if before is not None:
            if "position" in row and before["body"] is row["body"] and {**before, "position": row["position"]} == row:
                moves.append({"k": key, "i": i, "p": row["position"]})
                continue
            if before == row:
                continue
            deletes.append({"k": key, "i": i})
        inserts.append(row)
    deletes.extend({"k": key, "i": i} for i in sorted(old.keys() - new.keys()))


def entry_params(conn: Connection, tables: TableSet, views: Mapping[str, CompanyView], keys: Iterable[str],
                 bulk: Callable[..., Any]) -> list[tuple[Any, list[Any]]]:
    """A rebuild's entries of these companies, as (insert, ready parameters) for each entry table."""
    rows = [company_entries(views[k]) for k in keys]
    return [(ins := bulk(conn, table), ins.params(r for company in rows for r in company[n]))
            for n, table in enumerate((tables.obligation_entries, tables.finding_entries, tables.company_summaries))]


# --- the credit estimate's inputs, back from their stored form --------------------------------------

def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def credit_inputs(stored: Mapping[str, Any]) -> CreditInputs:
    """The :class:`CreditInputs` a summary row was written from (``as_json`` of them)."""
    return CreditInputs(
        traffic=tuple(TrafficMonth(t["month"], t["calls_total"], t["complaints"], t["event_id"])
                      for t in stored.get("traffic", ())),
        spot_checks=tuple(SpotCheck(date.fromisoformat(s["on"]), s["sampled"], s["passed"], s["event_id"])
                          for s in stored.get("spot_checks", ())),
        penalties=tuple(PenaltyRecord(p["decision_no"], date.fromisoformat(p["decided_on"]), _date(p["revoked_on"]),
                                      p["fine"], p["event_id"]) for p in stored.get("penalties", ())),
        listings=tuple(ListingPeriod(x["list"], date.fromisoformat(x["listed_on"]), _date(x["removed_on"]),
                                     x["event_id"]) for x in stored.get("listings", ())))


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value is not None else None


def dated(conn: Connection, table: sa.Table, keys: list[str]) -> dict[str, Any]:
    """The summary rows of these companies, by key."""
    out: dict[str, Any] = {}
    for i in range(0, len(keys), 500):
        out.update({r["company_key"]: r for r in conn.execute(
            sa.select(table).where(table.c.company_key.in_(keys[i:i + 500]))).mappings()})
    return out


def backfill(conn: Connection, tables: TableSet, evaluate: Callable[..., Mapping[str, CompanyView]],
             bulk: Callable[..., Any]) -> int:
    """Write the entries of every company that has none (a read model migrated from before they existed:
    they are derived from LEDGER, so evaluating each company once gives what a rebuild would); the
    number of companies written. Nothing to do, and one cheap query, on a read model that has them."""
    tc, ts = tables.companies, tables.company_summaries
    missing = list(conn.execute(sa.select(tc.c.company_key).where(
        ~sa.exists().where(ts.c.company_key == tc.c.company_key)).order_by(tc.c.company_key)).scalars())
    for i in range(0, len(missing), 200):
        write_entries(conn, tables, evaluate(conn, missing[i:i + 200]), bulk, {}, {})
    return len(missing)

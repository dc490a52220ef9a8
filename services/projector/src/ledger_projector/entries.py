"""The rows the lists, the timeline and the portfolio read: written by the projector beside its other rows.

A company's evaluation becomes, besides the scheduler's obligation and finding rows, one *entry* per
obligation (its public form and the dates its status follows from), one per finding (its public form
and intervals) and one *summary* row (onboarding baseline, credit inputs, findings' intervals). None of
them holds anything that depends on the instant asked about, so a rebuild writes them byte for byte
and they are part of the digest; :mod:`ledger_projector.pages` answers at an instant from them.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from ledger_rules.model import CreditInputs, ListingPeriod, PenaltyRecord, SpotCheck, TrafficMonth, as_json
from sqlalchemy.engine import Connection

from ledger_projector.rulebook import CompanyView
from ledger_projector.tables import TableSet

Rows = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]
WRITTEN = "entries:"  # prefix of this module's keys in the projection's written-digest map


def _closed_on(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def company_entries(view: CompanyView) -> Rows:
    """One company's obligation entries, finding entries and summary row."""
    obligations, findings = [], []
    ev = view.evaluation
    for position, o in enumerate(ev.obligations if ev is not None else ()):
        if view.obligation(o.id) is not o:
            continue  # an id evaluated twice: the view (and so every list) keeps the later one
        body = view.obligation_public({"obligation_id": o.id})
        obligations.append({
            "company_key": view.key, "obligation_id": o.id, "tenant": view.tenant, "company": view.company,
            "position": position, "rule": o.rule, "confidence": o.confidence, "informational": o.informational,
            "due": o.due, "legal_due": o.legal_due, "born_on": o.born_on, "window_opens": o.window_opens,
            "fulfilled_on": o.fulfilled_on, "waived_on": o.waived_on, "cancelled_on": o.cancelled_on,
            "closed_on": _closed_on(o.fulfilled_on, o.waived_on, o.cancelled_on), "tracked_from": o.tracked_from,
            "title_zh": o.title_zh, "title_en": o.title_en, "about": o.about, "body": body})
    rows = {r["finding_id"]: r for r in view.finding_rows}
    intervals: list[list[Any]] = []
    seen: set[str] = set()
    for position, f in enumerate(ev.findings if ev is not None else ()):
        if rows[f.id]["finding_id"] in seen:
            continue  # as for obligations: one entry per id
        seen.add(f.id)
        body = view.finding_public(rows[f.id])
        findings.append({"company_key": view.key, "finding_id": f.id, "tenant": view.tenant, "position": position,
                         "severity": f.severity, "body": body})
        intervals += [[f.id, f.severity, opened, resolved] for opened, resolved in body["intervals"]]
    summary = {"company_key": view.key, "tenant": view.tenant, "company": view.company,
               "tracked_from": ev.tracked_from if ev is not None else None, "error": view.error,
               "credit_inputs": as_json(ev.credit_inputs) if ev is not None else {},
               "finding_intervals": intervals}
    return obligations, findings, [summary]


def entries_digest(rows: Rows) -> bytes:
    """Equal rows, equal digests (pickle: twenty times faster than ``repr`` over thousands of bodies; a
    different sharing of equal values can only cost a needless rewrite, never a missed one)."""
    return hashlib.blake2b(pickle.dumps(rows, protocol=5), digest_size=16).digest()


def write_entries(conn: Connection, tables: TableSet, views: Mapping[str, CompanyView], bulk: Callable[..., Any],
                  written: Mapping[str, bytes], pending: dict[str, bytes]) -> None:
    """Replace the entries of the companies whose entries changed since they were last committed.

    ``written`` holds the digests the projection knows to be committed and ``pending`` receives this
    batch's (the projection promotes them once the transaction commits, and forgets them all when
    anything fails), under keys of their own so they never mix with its other rows' digests.
    """
    changed: dict[str, Rows] = {}
    for key in sorted(views):
        rows = company_entries(views[key])
        digest = entries_digest(rows)
        pending[WRITTEN + key] = digest
        if written.get(WRITTEN + key) != digest:
            changed[key] = rows
    if not changed:
        return
    t = (tables.obligation_entries, tables.finding_entries, tables.company_summaries)
    keys = sorted(changed)
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        for table in t:
            conn.execute(table.delete().where(table.c.company_key.in_(part)))
    for n, table in enumerate(t):
        bulk(conn, table).run(conn, (row for key in keys for row in changed[key][n]))


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

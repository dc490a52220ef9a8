"""Derived changes for the change feed (``GET /v1/changes?include=state``).

Facts are in the feed because they arrived; states change also when nothing arrives: an
obligation turns ``overdue`` the day after its due date. Wherever the projector evaluates a
company — a batch of facts, or a clock tick that crossed a status boundary — it compares what
it computes now with what the feed last said (``projector_state_seen``) and records each
difference as a ``projector_state_changes`` row, in the same transaction as the rest.

Identity and cursor. A change is positioned after the LEDGER sequence the read model held when
it was decided: cursor ``"<sequence>.<position>"``, after the fact ``"<sequence>"``. Both tables
are kept by ``ledger rebuild`` (like the alerts: they record what was seen, and when), and the
facts keep their LEDGER sequences, so a cursor stays valid across a rebuild; the rebuilt read
model then computes the states the feed has already said, so nothing is recorded twice. A
change's id is derived from the company, what changed, the values, the instant and the sequence.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from ledger_kernel.envelope import format_time
from sqlalchemy.engine import Connection

from ledger_projector.projection import BulkInsert, chunks
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.tables import TableSet

TYPES = ("obligation.status_changed", "finding.opened", "finding.resolved", "company.risk_changed")
_NAMESPACE = uuid.UUID("6c4f1f0e-2b8d-4d1e-9f3a-7e0b5c2d9a14")


def change_id(key: str, what: str, ref: str, before: str | None, after: str | None, at: str,
              sequence: int) -> str:
    """A change's id: what changed, how, when, and the LEDGER sequence the read model held (the same state
    is never said twice at one sequence and instant: what the feed said is compared first)."""
    return str(uuid.uuid5(_NAMESPACE, f"{key}/{what}/{ref}/{before}/{after}/{at}/{sequence}"))


def open_since(intervals: list[list[str | None]], at: str) -> str | None:
    """The ISO instant the finding's interval open at ``at`` began, or None when it is not open."""
    for opened, resolved in intervals:
        if opened is not None and opened <= at and (resolved is None or resolved > at):
            return opened
    return None


def states(view: CompanyView, summary: Mapping[str, Any], now: datetime) -> dict[tuple[str, str], str | None]:
    """What the feed watches of one company at ``now``."""
    out: dict[tuple[str, str], str | None] = {
        ("obligation", row["obligation_id"]): view.status(row["obligation_id"], now) for row in view.obligation_rows}
    at = format_time(now)
    for row in view.finding_rows:
        out[("finding", row["finding_id"])] = open_since(row["intervals"], at)
    out[("company", "risk")] = summary.get("risk")
    return out


def _changes(view: CompanyView, kind: str, ref: str, before: str | None,
             after: str | None) -> list[tuple[str, str | None, str | None, dict[str, Any]]]:
    """(type, before, after, details) of one watched state that moved."""
    if kind == "company":
        return [("company.risk_changed", before, after, {})]
    if kind == "finding":
        row = next((f for f in view.finding_rows if f["finding_id"] == ref), None)
        details = {"finding": ref, "rule": row["rule"], "severity": row["severity"]} if row else {"finding": ref}
        out: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
        if before is not None:
            out.append(("finding.resolved", "open", "resolved", {**details, "opened_at": before}))
        if after is not None:
            out.append(("finding.opened", "resolved" if before is not None else None, "open",
                        {**details, "opened_at": after}))
        return out
    ob = view.obligation(ref)
    details = {"obligation": ref}
    if ob is not None:
        details.update(rule=ob.rule, about=ob.about, due=ob.due.isoformat(),
                       confidence=ob.confidence)
    return [("obligation.status_changed", before, after, details)]


def _rows(view: CompanyView, kind: str, ref: str, before: str | None, after: str | None,
          now: datetime) -> list[dict[str, Any]]:
    """The feed rows of one watched state that moved (positions are given when they are written)."""
    return [{"company_key": view.key, "tenant": view.tenant, "company": view.company, "type": what, "ref": ref, "before": b, "after": a,
             "at": now, "data": details} for what, b, a, details in _changes(view, kind, ref, before, after)]


Said = dict[tuple[str, str], str | None]  # (kind, ref) → the value the feed last said


def record(conn: Connection, tables: TableSet, views: Mapping[str, CompanyView],
           summaries: Mapping[str, Mapping[str, Any]], now: datetime, sequence: int, *,
           known: Mapping[str, Said] | None = None, said: dict[str, Said] | None = None) -> int:
    """Record what moved in these companies since the feed last looked; the number of changes.

    ``sequence`` is the LEDGER sequence the read model holds with this transaction (a batch's last
    one, or the checkpoint at a tick); the changes are numbered after any already recorded there.
    ``known``: what the feed last said of some companies, as a caller kept it (their rows of
    ``projector_state_seen`` are not read again); ``said``: filled with what it says now of each
    company recorded — for the caller to keep once the transaction commits.
    """
    keys = sorted(k for k, v in views.items() if not v.error and k in summaries)
    if not keys:
        return 0
    ts, tc = tables.state_seen, tables.state_changes
    known = known or {}
    seen: dict[str, Said] = {k: known[k] if k in known else {} for k in keys}
    for part in chunks([k for k in keys if k not in known]):
        for r in conn.execute(sa.select(ts).where(ts.c.company_key.in_(part))):
            seen[r.company_key][(r.kind, r.ref)] = r.value
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for key in keys:
        view, before_all = views[key], seen[key]
        now_all = states(view, summaries[key], now)
        for (kind, ref), after in now_all.items():
            was = (kind, ref) in before_all
            before = before_all.get((kind, ref))
            if was and before == after:
                continue
            if not was and after is None:
                continue  # a finding never open: nothing to say
            (updates if was else inserts).append({"k": key, "w": kind, "r": ref, "v": after})
            changes += _rows(view, kind, ref, before, after, now)
        if said is not None:  # what the rows below hold for this company
            said[key] = {w: v for w, v in now_all.items() if v is not None or w in before_all}
        gone = sorted(w for w in before_all if w not in now_all)  # in one order, wherever before_all came from
        for kind, ref in gone:  # an obligation or finding gone from the evaluation
            before = before_all[(kind, ref)]
            deletes.append({"k": key, "w": kind, "r": ref})
            if kind == "obligation" or before is not None:
                changes += _rows(view, kind, ref, before, None, now)
    if inserts:
        BulkInsert(ts, conn.dialect).run(conn, ({"company_key": r["k"], "kind": r["w"], "ref": r["r"],
                                                 "value": r["v"]} for r in inserts))
    where = sa.and_(ts.c.company_key == sa.bindparam("k"), ts.c.kind == sa.bindparam("w"),
                    ts.c.ref == sa.bindparam("r"))
    if updates:
        conn.execute(ts.update().where(where).values(value=sa.bindparam("v")), updates)
    if deletes:
        conn.execute(ts.delete().where(where), deletes)
    if changes:
        last = conn.execute(sa.select(sa.func.max(tc.c.position)).where(tc.c.ledger_sequence == sequence)).scalar()
        start, stamp = (last or 0) + 1, format_time(now)
        for i, c in enumerate(changes):
            c.update(ledger_sequence=sequence, position=start + i,
                     change_id=change_id(c["company_key"], c["type"], c["ref"], c["before"], c["after"], stamp,
                                         sequence))
        BulkInsert(tc, conn.dialect).run(conn, changes)
    return len(changes)


def crossing_companies(conn: Connection, tables: TableSet, rulebook: Rulebook, since: date | None,
                       today: date) -> list[str]:
    """Companies with an open obligation whose status may have moved by the calendar alone on a day
    after ``since`` up to ``today``: its window opened, it came within the due-soon days, or the day
    after its due date came. Statuses are per local day, so nothing moves within the same day."""
    if since is not None and since >= today:
        return []
    since = since if since is not None else today - timedelta(days=400)
    default = rulebook.pack("")  # no tenant has an empty id: the pack without overrides
    soon = {default.due_soon_days} | {rulebook.pack(t).due_soon_days for t in rulebook.overrides}
    to = tables.obligations
    moved = sa.or_(
        to.c.due.between(since, today - timedelta(days=1)),  # overdue from the day after the due date
        sa.and_(to.c.due > since + timedelta(days=min(soon)), to.c.due <= today + timedelta(days=max(soon))),
        sa.and_(to.c.window_opens > since, to.c.window_opens <= today))
    return sorted(set(conn.execute(
        sa.select(to.c.company_key).distinct()
        .where(moved, to.c.fulfilled_on.is_(None), to.c.waived.is_(False), to.c.cancelled.is_(False))).scalars()))


def ahead(conn: Connection, tables: TableSet, applied: int, cursor: tuple[int, int]) -> bool:
    """Whether ``cursor`` lies beyond the end of the feed (nothing this feed said can be there)."""
    tc = tables.state_changes
    top = conn.execute(sa.select(tc.c.ledger_sequence, tc.c.position)
                       .order_by(tc.c.ledger_sequence.desc(), tc.c.position.desc()).limit(1)).first()
    end = max((applied, 0), (top[0], top[1]) if top else (0, 0))
    return cursor > end

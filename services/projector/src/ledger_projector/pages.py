"""Answers at an instant read from the stored entries (:mod:`ledger_projector.entries`), a page at a time.

Nothing is evaluated here. An obligation's status is the rule pack's own ``status_on`` over the dates
its entry stores, computed for the rows of the page only; which rows can have an asked status is
narrowed in SQL first. The summary's counts and next dates are one grouped query over the obligations
still open on that day; the findings open at an instant come from the intervals of one summary row per
company. So a page costs what its rows cost, however long the company's history is, and ``as_of`` may
be any instant.

Lists page by keyset: the token is the last item's sort key, so a page neither repeats nor skips an
item when others appear in between. A plain offset token (issued before keysets) is still honoured.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from ledger_kernel.clock import SHANGHAI
from ledger_kernel.envelope import format_time
from ledger_rules.credit import credit_estimate
from ledger_rules.instants import local_date
from ledger_rules.model import CreditEstimate, Finding, as_json, finding_open_at
from ledger_rules.ruleset import RulePack
from ledger_rules.status import status_on
from sqlalchemy.engine import Connection

from ledger_projector.entries import credit_inputs, instant
from ledger_projector.tables import TableSet

SEVERITY_ORDER = ("critical", "high", "medium", "advisory", "info")
STATUTORY = ("statutory", "notice")  # as rulebook.STATUTORY: the deadlines a regulator counts
CHUNK = 500
Key = tuple[Any, ...]


class BadToken(ValueError):
    """A page token that is not one this module issued."""


def _text(conn: Connection, column: Any) -> Any:
    """A text column compared byte by byte (Python's order), whatever the database's collation."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def evaluation_order(conn: Connection, t: sa.Table) -> list[Any]:
    """Obligation entries in the order of the company's evaluation (``ledger_rules.evaluation``'s sort by
    due, rule, about, id): the order the credit estimate lists the overdue ones in."""
    return [t.c.due, _text(conn, t.c.rule), _text(conn, t.c.about), _text(conn, t.c.obligation_id)]


# --- tokens ---------------------------------------------------------------------------------------

def resume(after: Any, kinds: tuple[type, ...] = (str, str, str)) -> tuple[Key | None, int]:
    """A decoded page token as (keyset, offset): a list of values of ``kinds`` (a date first, as ISO text)
    from this module, or an offset from the lists' earlier tokens."""
    if after is None:
        return None, 0
    if isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= 2**63 - 1:
        return None, after
    if not (isinstance(after, list) and len(after) == len(kinds)
            and all(type(a) is k for a, k in zip(after, kinds, strict=True))):
        raise BadToken
    try:
        return (date.fromisoformat(after[0]), *after[1:]), 0
    except ValueError:
        raise BadToken from None


def _after(columns: list[Any], values: Key) -> Any:
    """``(columns) > (values)`` in the order of the columns."""
    clause = columns[-1] > values[-1]
    for col, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        clause = sa.or_(col > value, sa.and_(col == value, clause))
    return clause


def scan(conn: Connection, query: Any, order: list[Any], after: Key | None, first: int = CHUNK) -> Iterator[Any]:
    """The rows of ``query`` in ``order`` after the keyset ``after``, read a chunk at a time (the first
    one of ``first`` rows: a page and one more is usually all that is read)."""
    size = first
    while True:
        q = query.where(_after(order, after)) if after is not None else query
        rows = conn.execute(q.order_by(*order).limit(size)).all()
        yield from rows
        if len(rows) < size:
            return
        size = CHUNK
        last = rows[-1]
        after = tuple(last[i] for i in range(len(order)))


def first_chunk(skip: int, size: int) -> int:
    """Rows to read first for a page of ``size`` after ``skip`` items: the page and one more."""
    return min(skip + size + 1, 100_000)


def take(items: Iterator[tuple[Key, dict[str, Any]]], size: int, skip: int) -> tuple[list[dict[str, Any]], Key | None]:
    """``size`` items after skipping ``skip``, and the last one's key when more follow."""
    out: list[tuple[Key, dict[str, Any]]] = []
    for n, item in enumerate(items):
        if n < skip:
            continue
        out.append(item)
        if len(out) > size:
            break
    more = len(out) > size
    out = out[:size]
    return [i for _, i in out], (out[-1][0] if more and out else None)


def token_of(key: Key | None) -> list[Any] | None:
    return None if key is None else [v.isoformat() if isinstance(v, date) else v for v in key]


# --- statuses -------------------------------------------------------------------------------------

def status_prefilter(t: sa.Table, statuses: list[str] | None, today: date, soon: int) -> Any:
    """What the asked statuses need of an entry's dates on ``today``: exact enough to skip what cannot
    match (the status itself is still the rule pack's, computed per row)."""
    if not statuses:
        return sa.true()
    open_ = sa.or_(t.c.closed_on.is_(None), t.c.closed_on > today)
    needs = []
    for status in statuses:
        if status == "overdue":
            needs.append(sa.and_(open_, t.c.due < today))
        elif status == "before_tracking":
            needs.append(sa.and_(open_, t.c.due < today, t.c.tracked_from.is_not(None)))
        elif status == "due_soon":
            needs.append(sa.and_(open_, t.c.due >= today, t.c.due <= today + timedelta(days=soon)))
        elif status in ("open", "scheduled"):
            needs.append(sa.and_(open_, t.c.due >= today))
        elif status in ("fulfilled_on_time", "fulfilled_late"):
            needs.append(t.c.fulfilled_on <= today)
        elif status == "waived":
            needs.append(t.c.waived_on <= today)
        elif status == "cancelled":
            needs.append(t.c.cancelled_on <= today)
        else:  # a status the rule pack adds: no condition known here
            return sa.true()
    return sa.or_(*needs)


def list_filters(t: sa.Table, req: dict[str, Any], today: date, soon: int) -> list[Any]:
    """The obligation lists' filters on the entry columns (the status exactly is checked per row)."""
    where = [t.c.born_on <= today, status_prefilter(t, req.get("status"), today, soon)]
    if req.get("rule"):
        where.append(t.c.rule.in_(req["rule"]))
    if req.get("confidence"):
        where.append(t.c.confidence.in_(req["confidence"]))
    if req.get("due_from") is not None:
        where.append(t.c.due >= req["due_from"])
    if req.get("due_to") is not None:
        where.append(t.c.due <= req["due_to"])
    return where


# --- obligation lists -----------------------------------------------------------------------------

def obligations(conn: Connection, tables: TableSet, key: str, company: str, req: dict[str, Any], token: Any,
                at: datetime, pack: RulePack) -> dict[str, Any]:
    """One company's obligations at ``at`` by (due, rule, id), as ``CompanyView.obligations_at`` lists them."""
    t = tables.obligation_entries
    today, soon = local_date(at), pack.due_soon_days
    after, skip = resume(token)
    order = [t.c.due, _text(conn, t.c.rule), _text(conn, t.c.obligation_id)]
    query = sa.select(t.c.due, t.c.rule, t.c.obligation_id, t.c.body, *_dates(t)).where(
        t.c.company_key == key, *list_filters(t, req, today, soon))
    wanted = req.get("status")

    def items() -> Iterator[tuple[Key, dict[str, Any]]]:
        for r in scan(conn, query, order, after, first_chunk(skip, req["page_size"])):
            status = status_on(r, today, soon)
            if not wanted or status in wanted:
                yield (r.due, r.rule, r.obligation_id), {**r.body, "status": status, "company": company}

    shown, last = take(items(), req["page_size"], skip)
    return {"items": shown, "next_page_token": token_of(last)}


def _dates(t: sa.Table) -> list[Any]:
    """The columns ``status_on`` reads."""
    return [t.c.fulfilled_on, t.c.waived_on, t.c.cancelled_on, t.c.legal_due, t.c.tracked_from, t.c.window_opens,
            t.c.born_on]


def due(conn: Connection, tables: TableSet, req: dict[str, Any], token: Any, at: datetime, pack: RulePack) -> dict[str, Any]:
    """The tenant's obligations across companies (op ``due``) by (due, company, id)."""
    t, tc = tables.obligation_entries, tables.companies
    today, soon = local_date(at), pack.due_soon_days
    after, skip = resume(token)
    where = [t.c.tenant == req["tenant"], *list_filters(t, req, today, soon)]
    if req.get("companies"):
        where.append(t.c.company.in_(req["companies"]))
    order = [t.c.due, _text(conn, t.c.company), _text(conn, t.c.obligation_id)]
    query = sa.select(t.c.due, t.c.company, t.c.obligation_id, t.c.company_key, t.c.body, *_dates(t)).where(*where)
    wanted = req.get("status")
    names: dict[str, str | None] = {}

    def name(key: str) -> str | None:
        if key not in names:
            names[key] = conn.execute(sa.select(tc.c.name).where(tc.c.company_key == key)).scalar()
        return names[key]

    def items() -> Iterator[tuple[Key, dict[str, Any]]]:
        for r in scan(conn, query, order, after, first_chunk(skip, req["page_size"])):
            status = status_on(r, today, soon)
            if not wanted or status in wanted:
                yield (r.due, r.company, r.obligation_id), {**r.body, "status": status, "company": r.company,
                                                            "company_name": name(r.company_key)}

    shown, last = take(items(), req["page_size"], skip)
    return {"items": shown, "next_page_token": token_of(last)}


# --- findings -------------------------------------------------------------------------------------

def stored_instant(value: Any) -> datetime:
    """An instant the entries always hold (an opening, a resolution that happened)."""
    found = instant(value)
    if found is None:
        raise ValueError(f"a stored entry holds no instant where one is required: {value!r}")
    return found


def finding_at(body: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """A finding entry as ``CompanyView.findings_at`` shows it at ``at`` (None: not raised yet)."""
    intervals = [(stored_instant(o), instant(r), None) for o, r in body["intervals"]]
    if not intervals or intervals[0][0] > at:
        return None
    past = [i for i in intervals if i[0] <= at]
    resolved = past[-1][1]
    only_intervals = cast("Finding", SimpleNamespace(intervals=intervals))  # finding_open_at reads .intervals only
    return {**body, "open": finding_open_at(only_intervals, at),
            "opened_at": format_time(past[-1][0]),
            "resolved_at": format_time(resolved) if resolved is not None and resolved <= at else None}


def findings_at(conn: Connection, tables: TableSet, key: str, at: datetime) -> list[dict[str, Any]]:
    t = tables.finding_entries
    out = [f for (body,) in conn.execute(sa.select(t.c.body).where(t.c.company_key == key))
           if (f := finding_at(body, at)) is not None]
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    out.sort(key=lambda f: (not f["open"], order.get(f["severity"], 9), f["rule"], f["id"]))
    return out


# --- the timeline ---------------------------------------------------------------------------------

def timeline(conn: Connection, tables: TableSet, key: str, req: dict[str, Any], token: Any, at: datetime,
             pack: RulePack) -> dict[str, Any]:
    """Facts, deadlines and findings by (date, kind, id) as ``Reader._timeline`` ordered them, merged from
    three ordered reads that each stop once the page is full."""
    after, skip = resume(token, (str, int, str))
    kinds = req.get("kind") or ("fact", "deadline", "finding")
    wanted = req.get("status")
    first, last = req.get("date_from"), req.get("date_to")
    sources = []
    if "fact" in kinds and not wanted:  # facts have no status: a status filter leaves deadlines only
        sources.append(_facts(conn, tables, key, first, last, after, first_chunk(skip, req["page_size"])))
    if "deadline" in kinds:
        sources.append(_deadlines(conn, tables, key, req, at, pack, after, first_chunk(skip, req["page_size"])))
    if "finding" in kinds and not wanted:
        sources.append(_findings(conn, tables, key, first, last, at, after))
    shown, last_key = take(heapq.merge(*sources, key=lambda x: x[0]), req["page_size"], skip)
    return {"items": shown, "next_page_token": token_of(last_key)}


def _from(date_col: Any, kind: int, id_col: Any, after: Key | None) -> Any:
    """The rows of one kind whose (date, kind, id) comes after ``after``."""
    if after is None:
        return sa.true()
    d, k, i = after
    if kind > k:
        return date_col >= d
    if kind < k:
        return date_col > d
    return _after([date_col, id_col], (d, str(i)))


def _range(col: Any, first: date | None, last: date | None) -> list[Any]:
    return [*([col >= first] if first is not None else []), *([col <= last] if last is not None else [])]


def _facts(conn: Connection, tables: TableSet, key: str, first: date | None, last: date | None,
           after: Key | None, page: int) -> Iterator[tuple[Key, dict[str, Any]]]:
    t = tables.facts
    seq = _text(conn, sa.cast(t.c.ledger_sequence, sa.String))  # the timeline orders ids as text
    query = sa.select(t.c.effective_date, seq.label("seq_text"), t.c.ledger_sequence, t.c.type, t.c.event_id,
                      t.c.aggregate_id).where(t.c.company_key == key, _from(t.c.effective_date, 0, seq, after),
                                              *_range(t.c.effective_date, first, last))
    for f in scan(conn, query, [t.c.effective_date, seq], None, page):
        yield (f.effective_date, 0, f.seq_text), {
            "date": f.effective_date.isoformat(), "kind": "fact", "type": f.type, "event_id": f.event_id,
            "aggregate_id": f.aggregate_id, "ledger_sequence": f.ledger_sequence}


def _deadlines(conn: Connection, tables: TableSet, key: str, req: dict[str, Any], at: datetime, pack: RulePack,
               after: Key | None, page: int) -> Iterator[tuple[Key, dict[str, Any]]]:
    t = tables.obligation_entries
    today, soon = local_date(at), pack.due_soon_days
    oid = _text(conn, t.c.obligation_id)
    query = sa.select(t.c.due, t.c.obligation_id, t.c.rule, t.c.title_zh, t.c.title_en, t.c.about,
                      *_dates(t)).where(
        t.c.company_key == key, t.c.born_on <= today, status_prefilter(t, req.get("status"), today, soon),
        _from(t.c.due, 1, oid, after), *_range(t.c.due, req.get("date_from"), req.get("date_to")))
    wanted = req.get("status")
    for r in scan(conn, query, [t.c.due, oid], None, page):
        status = status_on(r, today, soon)
        if not wanted or status in wanted:
            yield (r.due, 1, r.obligation_id), {
                "date": r.due.isoformat(), "kind": "deadline", "obligation_id": r.obligation_id, "rule": r.rule,
                "title": {"zh": r.title_zh, "en": r.title_en}, "about": r.about, "status": status}


def _findings(conn: Connection, tables: TableSet, key: str, first: date | None, last: date | None, at: datetime,
              after: Key | None) -> Iterator[tuple[Key, dict[str, Any]]]:
    t = tables.findings  # id, rule, severity and intervals are all a timeline shows: not the public bodies
    out = []
    for r in conn.execute(sa.select(t.c.finding_id, t.c.rule, t.c.severity, t.c.intervals)
                          .where(t.c.company_key == key)):
        f = finding_at({"intervals": r.intervals}, at)
        if f is None:
            continue
        d = stored_instant(f["opened_at"]).astimezone(SHANGHAI).date()
        k = (d, 2, r.finding_id)
        if (after is None or k > after) and (first is None or d >= first) and (last is None or d <= last):
            out.append((k, {"date": d.isoformat(), "kind": "finding", "finding_id": r.finding_id, "rule": r.rule,
                            "severity": r.severity, "open": f["open"]}))
    out.sort(key=lambda x: x[0])
    yield from out


# --- summaries ------------------------------------------------------------------------------------

def counts(conn: Connection, tables: TableSet, where: list[Any], today: date, soon: int) -> dict[str, dict[str, Any]]:
    """Per company, what ``Evaluation.summary`` counts of its obligations on ``today``: overdue, due soon,
    whether a statutory one is overdue, the next (due, id) still to do, and the next statutory due date.
    Only obligations still open that day are read."""
    t = tables.obligation_entries
    open_ = sa.or_(t.c.closed_on.is_(None), t.c.closed_on > today)
    overdue = sa.and_(t.c.due < today, sa.or_(t.c.tracked_from.is_(None), t.c.due >= t.c.tracked_from))
    todo = t.c.due >= today
    soon_ = sa.and_(todo, sa.func.coalesce(t.c.window_opens, t.c.born_on) <= today,
                    t.c.due <= today + timedelta(days=soon))
    nxt = _text(conn, sa.cast(t.c.due, sa.String) + " " + t.c.obligation_id)

    def n(cond: Any) -> Any:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    q = (sa.select(t.c.company_key, n(overdue), n(sa.and_(overdue, t.c.confidence == "statutory")), n(soon_),
                   sa.func.min(sa.case((todo, nxt))),
                   sa.func.min(sa.case((sa.and_(todo, t.c.confidence.in_(STATUTORY)), t.c.due))))
         .where(*where, t.c.informational.is_(False), t.c.born_on <= today, open_).group_by(t.c.company_key))
    out = {}
    for key, over, statutory, due_soon, upcoming, statutory_due in conn.execute(q):
        next_due, _, next_id = upcoming.partition(" ") if upcoming else (None, None, None)
        if isinstance(statutory_due, str):
            statutory_due = date.fromisoformat(statutory_due)
        out[key] = {"overdue": int(over or 0), "statutory_overdue": bool(statutory), "due_soon": int(due_soon or 0),
                    "next_due": next_due, "next_due_obligation": next_id,
                    "next_statutory_due": _day(statutory_due)}
    return out


NO_COUNTS = {"overdue": 0, "statutory_overdue": False, "due_soon": 0, "next_due": None, "next_due_obligation": None,
             "next_statutory_due": None}


def open_by_severity(intervals: list[list[Any]], at: datetime) -> dict[str, int]:
    """The findings open at ``at`` by severity (each finding once, whichever interval holds ``at``)."""
    by = dict.fromkeys(SEVERITY_ORDER, 0)
    seen = set()
    for fid, severity, opened, resolved in intervals:
        if fid not in seen and stored_instant(opened) <= at and (resolved is None or at < stored_instant(resolved)):
            seen.add(fid)
            by[severity] = by.get(severity, 0) + 1
    return by


def risk_of(by_severity: dict[str, int], c: dict[str, Any]) -> str:
    """``Evaluation.summary``'s risk level."""
    if by_severity["critical"]:
        return "critical"
    if by_severity["high"] or c["statutory_overdue"]:
        return "high"
    if by_severity["medium"] or c["overdue"]:
        return "medium"
    return "low"


def brief(summary_row: Any, c: dict[str, Any], at: datetime, uscc: str, name: str | None) -> dict[str, Any]:
    """What the portfolio filters and sorts on."""
    if summary_row["error"] is not None:
        return {"uscc": uscc, "name": name, "risk": "none", "overdue": 0, "open_findings": {},
                "next_statutory_due": None}
    by = open_by_severity(summary_row["finding_intervals"], at)
    return {"uscc": uscc, "name": name, "risk": risk_of(by, c), "overdue": c["overdue"], "open_findings": by,
            "next_statutory_due": c["next_statutory_due"]}


def candidates(conn: Connection, tables: TableSet, keys: list[str], today: date) -> dict[str, list[Any]]:
    """Per company, in evaluation order, the obligations that can be overdue on ``today`` (the only ones the
    credit estimate counts): not informational, due before that day and not closed by it."""
    t = tables.obligation_entries
    out: dict[str, list[Any]] = {k: [] for k in keys}
    for r in conn.execute(
            sa.select(t.c.company_key, t.c.obligation_id.label("id"), t.c.confidence, t.c.informational, t.c.due,
                      *_dates(t))
            .where(t.c.company_key.in_(keys), t.c.informational.is_(False), t.c.due < today,
                   sa.or_(t.c.closed_on.is_(None), t.c.closed_on > today))
            .order_by(t.c.company_key, *evaluation_order(conn, t))):
        out[r.company_key].append(r)
    return out


def estimate(summary_row: Any, overdue: list[Any], at: datetime, pack: RulePack) -> CreditEstimate:
    """The rule pack's credit estimate at ``at`` from a summary row (inputs, findings' intervals) and the
    company's :func:`candidates`."""
    findings: dict[str, SimpleNamespace] = {}
    for fid, severity, opened, resolved in summary_row["finding_intervals"]:
        f = findings.setdefault(fid, SimpleNamespace(id=fid, severity=severity, intervals=[]))
        f.intervals.append((instant(opened), instant(resolved), None))
    evaluation = SimpleNamespace(obligations=overdue, findings=list(findings.values()),
                                 credit_inputs=credit_inputs(summary_row["credit_inputs"]), pack=pack)
    return credit_estimate(evaluation, at, pack)  # type: ignore[arg-type]


def credit(conn: Connection, tables: TableSet, summary_row: Any, at: datetime, pack: RulePack) -> dict[str, Any]:
    """The credit estimate at ``at`` (``CompanyView.credit``)."""
    if summary_row["error"] is not None:
        return {"label": "estimate", "score": None, "band": None, "coverage_months": 0, "components": [],
                "statement_en": f"not evaluated: {summary_row['error']}", "statement_zh": "未能评估"}
    key = summary_row["company_key"]
    return as_json(estimate(summary_row, candidates(conn, tables, [key], local_date(at))[key], at, pack))


def summary(conn: Connection, tables: TableSet, summary_row: Any, c: dict[str, Any], at: datetime, uscc: str,
            name: str | None, pack: RulePack, overdue: list[Any] | None = None) -> dict[str, Any]:
    """The company's summary at ``at`` (``CompanyView.summary``); ``overdue``: its :func:`candidates`, when
    the caller read them for many companies at once."""
    base = {"uscc": uscc, "name": name, "as_of": format_time(at)}
    if summary_row["error"] is not None:
        return {**base, "risk": "none", "open_findings": {}, "overdue": 0, "due_soon": 0, "next_due": None,
                "next_due_obligation": None, "tracked_from": None, "next_statutory_due": None,
                "credit": credit(conn, tables, summary_row, at, pack), "error": summary_row["error"]}
    if overdue is None:
        key = summary_row["company_key"]
        overdue = candidates(conn, tables, [key], local_date(at))[key]
    score = estimate(summary_row, overdue, at, pack)
    by = open_by_severity(summary_row["finding_intervals"], at)
    return {**base, "risk": risk_of(by, c), "open_findings": by, "overdue": c["overdue"], "due_soon": c["due_soon"],
            "next_due": c["next_due"], "next_due_obligation": c["next_due_obligation"],
            "tracked_from": _day(summary_row["tracked_from"]), "next_statutory_due": c["next_statutory_due"],
            "credit": {"score": score.score, "band": score.band, "coverage_months": score.coverage_months,
                       "label": score.label}}

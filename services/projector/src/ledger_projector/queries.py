"""Answers to ``query.projector``: the read model evaluated at now or at a given ``as_of``.

Every answer is scoped by tenant: a company is visible only to a tenant that recorded
a fact about it, and answers 404 otherwise (also when another tenant has). Statuses
depend on the instant, so they are computed here from the stored evaluation inputs
rather than stored.

A reply never echoes more than a short prefix of untrusted input: a request may be close
to NATS ``max_payload``, and a reply that echoed it would go over and never arrive.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from ledger_contracts.errors import FormatError
from ledger_contracts.formats import USCC_CHARSET, validate_uscc
from ledger_kernel.subjects import TOKEN
from ledger_rules.instants import local_date
from ledger_rules.ruleset import CONFIDENCES, RulePack
from ledger_rules.status import STATUSES as RULE_STATUSES
from sqlalchemy.engine import Engine

from ledger_projector import state_feed
from ledger_projector.projection import chunks, facts_of, read_checkpoint
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.tables import TableSet

OPS = ("status", "portfolio", "company", "obligations", "due", "findings", "credit", "timeline", "events",
       "changes")
COMPANY_OPS = ("company", "obligations", "findings", "credit", "timeline", "events")
MAX_PAGE = 500
SEVERITIES = ("critical", "high", "medium", "advisory", "info")
RISKS = ("critical", "high", "medium", "low", "none")
# every status an obligation can have; before_tracking (an obligation due before the company's onboarding
# baseline, interfaces.md "Onboarding baseline") is accepted whether or not the rule pack names it yet
STATUSES = tuple(dict.fromkeys((*RULE_STATUSES, "before_tracking")))
_PACK = RulePack.default()  # rule ids are the pack's (a tenant's overrides tune parameters, never add rules)
OBLIGATION_RULES = tuple(r.id for r in _PACK.obligation_rules())
FINDING_RULES = tuple(r.id for r in _PACK.finding_rules())
TIMELINE_KINDS = ("fact", "deadline", "finding")
SORTS = ("next_statutory_due", "name", "risk", "overdue", "uscc")  # the portfolio's orders ("-" descends)
MAX_VALUES = 100  # values of one multi-valued filter
MAX_TENANT = 64  # as the domain services' requests (ledger_domain.protocol)
MAX_TOKEN = 1000  # page tokens we issue are a few dozen characters
MAX_CURSOR = 2**63 - 1  # a LEDGER sequence or a list offset
MAX_WAIT_SECONDS = 30.0
SHOWN = 32  # the most characters of untrusted input a reply repeats


def shown(value: Any, limit: int = SHOWN) -> str:
    """A short, safe rendering of untrusted input for an error message (never its whole length)."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    elif value is None or isinstance(value, bool | int | float):
        text = repr(value)
    else:  # a list or an object: its kind, not its (perhaps huge) contents
        text = f"a JSON {'array' if isinstance(value, list) else 'object'}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class QueryError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors = errors

    def reply(self) -> dict[str, Any]:
        out = {"ok": False, "status": self.status, "code": self.code, "title": self.title, "detail": self.detail}
        if self.errors:
            out["errors"] = self.errors
        return out


def bad(detail: str, code: str = "invalid_query", errors: list[dict[str, str]] | None = None) -> QueryError:
    return QueryError(422 if code == "invalid_query" else 400, code, "Invalid query / 查询参数无效", detail, errors)


def not_found(tenant: str, company: str, hint: FormatError | None = None) -> QueryError:
    """404; ``company`` has been checked to be 18 USCC characters, so echoing it is bounded."""
    detail = f"no company {company} for this tenant / 该租户下没有企业 {company}"
    if hint is not None:
        detail += f" ({hint.reason_en} / {hint.reason_zh})"
    return QueryError(404, "not_found", "Not found / 未找到", detail)


def check_company(value: Any) -> tuple[str, FormatError | None]:
    """The ``company`` field: 422 unless it has a USCC's shape (18 characters of GB 32100's set, the
    division code digits); a USCC whose check character is wrong is returned with the reason, since
    no such company can have been recorded (the caller answers 404 and says why)."""
    try:
        return validate_uscc(value), None
    except FormatError as exc:
        if (isinstance(value, str) and len(value) == 18 and all(c in USCC_CHARSET for c in value)
                and value[2:8].isdigit()):
            return value, exc  # only the check character is wrong
        raise bad(f"company must be a USCC (统一社会信用代码, 18 characters): {exc.reason_en} / 企业须为统一社会信用代码："
                  f"{exc.reason_zh}",
                  errors=[{"field": "company", "code": exc.code, "reason_en": exc.reason_en,
                           "reason_zh": exc.reason_zh}]) from None


# --- request parsing -----------------------------------------------------------------------------

def parse_request(raw: bytes) -> dict[str, Any]:
    try:
        req = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"not JSON: {shown(str(exc), 120)}", "malformed_request") from None
    except RecursionError:
        raise bad("not JSON we read: nested too deeply", "malformed_request") from None
    if not isinstance(req, dict):
        raise bad("a query is a JSON object", "malformed_request")
    op = req.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise bad(f"op must be one of {', '.join(OPS)}, got {shown(op)}", "malformed_request")
    if op != "status":
        tenant = req.get("tenant")
        if (not isinstance(tenant, str) or not 0 < len(tenant) <= MAX_TENANT or not TOKEN.match(tenant)
                or tenant.startswith("_")):
            raise bad(f"tenant must be a tenant id ([A-Za-z0-9_-], 1–{MAX_TENANT} characters)",
                      errors=[{"field": "tenant", "code": "invalid_tenant",
                               "reason_en": "not a tenant id", "reason_zh": "不是有效的租户标识"}])
    if op in COMPANY_OPS:
        req["company"], req["company_hint"] = check_company(req.get("company"))
    page_size = req.get("page_size", 50)
    if page_size is None:
        page_size = 50
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE:
        raise bad(f"page_size must be an integer between 1 and {MAX_PAGE}")
    req["page_size"] = page_size
    as_of = req.get("as_of")
    if as_of is not None:
        if not isinstance(as_of, str):
            raise bad("as_of must be an ISO 8601 instant with an offset")
        try:
            instant = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"as_of {shown(as_of)} is not an ISO 8601 instant") from None
        if instant.tzinfo is None:
            raise bad("as_of needs an offset, e.g. 2026-10-20T09:00:00+08:00")
        req["as_of"] = instant
    for name in ("overdue", "open"):
        if req.get(name) is not None and not isinstance(req[name], bool):
            raise bad(f"{name} must be true or false")
    parse_filters(req)
    token = req.get("page_token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        raise bad("page_token must be a string from next_page_token")
    min_seq = req.get("min_sequence")
    if min_seq is not None and (not isinstance(min_seq, int) or isinstance(min_seq, bool)
                                or not 0 <= min_seq <= MAX_CURSOR):
        raise bad("min_sequence must be a non-negative integer")
    wait = req.get("wait_seconds")
    if wait is not None and (not isinstance(wait, int | float) or isinstance(wait, bool)
                             or not 0 <= wait <= MAX_WAIT_SECONDS):
        raise bad(f"wait_seconds must be a number of seconds between 0 and {MAX_WAIT_SECONDS:g}")
    return req


def choices(req: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[str] | None:
    """A multi-valued filter (a JSON array, or one comma-separated string) checked against ``allowed``:
    an unknown value is a 422 naming the parameter, never an empty answer (a typo must not read as
    "nothing due")."""
    raw = req.get(name)
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        values = raw.split(",")
    elif isinstance(raw, list) and len(raw) <= MAX_VALUES and all(isinstance(v, str) for v in raw):
        values = [part for v in raw for part in v.split(",")]
    else:
        raise bad(f"{name} must be a comma-separated string or a list of strings / {name} 须为逗号分隔的字符串",
                  errors=[{"field": name, "code": "invalid_type", "reason_en": "not a list of strings",
                           "reason_zh": "不是字符串列表"}])
    values = [v.strip() for v in values if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or len(values) > MAX_VALUES:
        what = shown(unknown[0]) if unknown else f"more than {MAX_VALUES} values"
        known = ", ".join(allowed) if len(allowed) <= 12 else "a rule id of docs/rules.md"  # replies stay short
        raise bad(f"{name}: unknown value {what}; one of {known} / {name} 取值未知：{what}",
                  errors=[{"field": name, "code": "unknown_value", "reason_en": f"unknown value {what}; one of {known}",
                           "reason_zh": f"未知取值 {what}"}])
    return list(dict.fromkeys(values)) or None


def day(req: dict[str, Any], name: str) -> date | None:
    """A date filter (``YYYY-MM-DD``, a local date in Asia/Shanghai); 422 naming the parameter otherwise."""
    raw = req.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise bad(f"{name} {shown(raw)} is not a date (YYYY-MM-DD) / {name} 不是有效日期（YYYY-MM-DD）",
                  errors=[{"field": name, "code": "invalid_date", "reason_en": "not a date (YYYY-MM-DD)",
                           "reason_zh": "不是有效日期（YYYY-MM-DD）"}]) from None


def date_range(req: dict[str, Any], first: str, last: str) -> tuple[date | None, date | None]:
    start, end = day(req, first), day(req, last)
    if start is not None and end is not None and start > end:
        raise bad(f"{first} {start} is after {last} {end} / {first} 晚于 {last}",
                  errors=[{"field": first, "code": "empty_range", "reason_en": f"after {last}",
                           "reason_zh": f"晚于 {last}"}])
    return start, end


def companies(req: dict[str, Any]) -> list[str] | None:
    """The ``companies`` filter of a tenant-wide list: one USCC or a list of them. A USCC whose check
    character is wrong is a typo (no company can have it): 422, not an empty answer."""
    raw = req.get("companies")
    if raw is None or raw == [] or raw == "":
        return None
    values = raw if isinstance(raw, list) else [raw]
    if len(values) > MAX_PAGE:
        raise bad(f"at most {MAX_PAGE} companies in one query")
    out = set()
    for value in values:
        uscc, hint = check_company(value)
        if hint is not None:
            raise bad(f"company {uscc} is not a USCC: {hint.reason_en} / 企业 {uscc} 不是有效的统一社会信用代码："
                      f"{hint.reason_zh}", errors=[{"field": "company", "code": hint.code,
                                                   "reason_en": hint.reason_en, "reason_zh": hint.reason_zh}])
        out.add(uscc)
    return sorted(out)


def parse_filters(req: dict[str, Any]) -> None:
    """The list filters of the op, replaced by their checked values (a 422 names the first bad one)."""
    op = req["op"]
    if op in ("obligations", "due"):
        req["status"] = choices(req, "status", STATUSES)
        req["rule"] = choices(req, "rule", OBLIGATION_RULES)
        req["confidence"] = choices(req, "confidence", CONFIDENCES)
        req["due_from"], req["due_to"] = date_range(req, "due_from", "due_to")
        if op == "due":
            req["companies"] = companies(req)
    elif op == "findings":
        req["severity"] = choices(req, "severity", SEVERITIES)
        req["rule"] = choices(req, "rule", FINDING_RULES)
        req["confidence"] = choices(req, "confidence", CONFIDENCES)
    elif op == "portfolio":
        req["risk"] = choices(req, "risk", RISKS)
        req["severity"] = choices(req, "severity", SEVERITIES)
        sort = req.get("sort") or "next_statutory_due"
        if not isinstance(sort, str) or sort.removeprefix("-") not in SORTS:
            raise bad(f"sort must be one of {', '.join(SORTS)} (prefix - to descend), got {shown(sort)} / "
                      "sort 取值无效", errors=[{"field": "sort", "code": "unknown_value",
                                               "reason_en": f"one of {', '.join(SORTS)}, - to descend",
                                               "reason_zh": "排序字段未知"}])
        req["sort"] = sort
    elif op == "changes":
        req["include"] = choices(req, "include", ("state",))
    elif op == "timeline":
        req["kind"] = choices(req, "kind", TIMELINE_KINDS)
        req["status"] = choices(req, "status", STATUSES)
        req["date_from"], req["date_to"] = date_range(req, "date_from", "date_to")


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: Any) -> Any:
    if token is None:
        return None
    if not isinstance(token, str):
        raise bad("page_token must be a string from next_page_token")
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad("page_token is not one we issued") from exc


def page(items: list[Any], req: dict[str, Any]) -> dict[str, Any]:
    """Offset pagination over a computed list (one company's lists are small)."""
    offset = decode_token(req.get("page_token")) or 0
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_CURSOR:
        raise bad("page_token is not one we issued")
    size = req["page_size"]
    chunk = items[offset:offset + size]
    more = offset + size < len(items)
    return {"items": chunk, "next_page_token": encode_token(offset + size) if more else None}


def parse_cursor(raw: Any) -> tuple[int, int]:
    """A change-feed cursor: ``"S"`` (a fact's LEDGER sequence) or ``"S.N"`` (a state change), as (S, N)."""
    if raw in (None, ""):
        return 0, 0
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    parts = raw.split(".") if isinstance(raw, str) and len(raw) <= 40 else []
    if (not 1 <= len(parts) <= 2 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts)
            or int(parts[0]) > MAX_CURSOR or (len(parts) == 2 and int(parts[1]) > MAX_CURSOR)):
        raise bad("after must be a cursor from next_cursor / after 须为 next_cursor 给出的游标",
                  errors=[{"field": "after", "code": "invalid_cursor", "reason_en": "not a cursor we issued",
                           "reason_zh": "不是有效的游标"}])
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def obligation_matches(item: dict[str, Any], req: dict[str, Any]) -> bool:
    """An obligation item against the list filters (due dates compare as ISO strings)."""
    due = item.get("due")
    return ((not req.get("status") or item["status"] in req["status"])
            and (not req.get("rule") or item["rule"] in req["rule"])
            and (not req.get("confidence") or item["confidence"] in req["confidence"])
            and (req.get("due_from") is None or (due is not None and due >= req["due_from"].isoformat()))
            and (req.get("due_to") is None or (due is not None and due <= req["due_to"].isoformat())))


def finding_matches(item: dict[str, Any], req: dict[str, Any]) -> bool:
    return ((req.get("open") is None or item["open"] == req["open"])
            and (not req.get("severity") or item["severity"] in req["severity"])
            and (not req.get("rule") or item["rule"] in req["rule"])
            and (not req.get("confidence") or item["confidence"] in req["confidence"]))


def timeline_matches(item: dict[str, Any], req: dict[str, Any]) -> bool:
    d = item.get("date") or ""
    return ((not req.get("kind") or item["kind"] in req["kind"])
            and (not req.get("status") or item.get("status") in req["status"])
            and (req.get("date_from") is None or d >= req["date_from"].isoformat())
            and (req.get("date_to") is None or d <= req["date_to"].isoformat()))


def status_prefilter(t: sa.Table, statuses: list[str], today: date, soon: int) -> Any:
    """What the asked statuses need of an obligation's stored columns on ``today`` (a necessary condition,
    so the rows a status filter can keep are read, not the tenant's whole history); the exact status is
    still computed from the evaluation."""
    needs = []
    for status in statuses:
        if status == "overdue":
            needs.append(t.c.due < today)
        elif status == "due_soon":
            needs.append(sa.and_(t.c.due >= today, t.c.due <= today + timedelta(days=soon)))
        elif status in ("open", "scheduled"):
            needs.append(t.c.due >= today)
        elif status in ("fulfilled_on_time", "fulfilled_late"):
            needs.append(t.c.fulfilled_on.is_not(None))
        elif status == "waived":
            needs.append(t.c.waived.is_(True))
        elif status == "cancelled":
            needs.append(t.c.cancelled.is_(True))
        else:  # before_tracking, or a status the rule pack adds: no condition known here
            return sa.true()
    return sa.or_(*needs)


RISK_ORDER = {r: i for i, r in enumerate(RISKS)}  # critical first


def brief_summary(view: CompanyView, at: datetime, name: str | None) -> dict[str, Any]:
    """The part of a company's summary the portfolio filters and sorts on (the full one, with its credit
    estimate, is built for the companies of the page only)."""
    if view.evaluation is None:
        return view.summary(at, name=name)
    s = view.evaluation.summary(at)
    return {"uscc": view.company, "name": name or view.name, "risk": s.risk, "overdue": s.overdue,
            "open_findings": dict(s.open_findings), "next_statutory_due": _day(view.next_statutory_due(at))}


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def sort_portfolio(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """The portfolio in ``sort`` order: ``next_statutory_due`` (soonest first), ``name``, ``risk`` (critical
    first), ``overdue`` (fewest first) or ``uscc``; ``-`` reverses. Companies without a value come last
    either way, and the USCC breaks ties, so the order (and the paging) is total."""
    field, descending = sort.removeprefix("-"), sort.startswith("-")

    def value(row: dict[str, Any]) -> Any:
        if field == "name":
            return row.get("name") or None
        if field == "risk":
            return RISK_ORDER.get(row.get("risk") or "none", len(RISKS))
        if field == "overdue":
            return row.get("overdue") or 0
        if field == "uscc":
            return row["uscc"]
        return row.get("next_statutory_due")

    valued = [r for r in rows if value(r) is not None]
    empty = sorted((r for r in rows if value(r) is None), key=lambda r: r["uscc"])
    valued.sort(key=lambda r: r["uscc"])  # ties keep USCC order, both ways
    valued.sort(key=value, reverse=descending)
    return valued + empty


# --- the reader ----------------------------------------------------------------------------------

class Reader:
    """Synchronous query evaluation over the live tables (run in a worker thread)."""

    def __init__(self, engine: Engine, tables: TableSet, rulebook: Rulebook, cache_size: int = 512) -> None:
        self.engine = engine
        self.tables = tables
        self.rulebook = rulebook
        self._cache: OrderedDict[str, tuple[tuple, CompanyView]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def applied(self) -> int:
        with self.engine.connect() as conn:
            return read_checkpoint(conn, self.tables)[0]

    def parked(self) -> tuple[int, list[dict[str, Any]]]:
        t = self.tables.parked
        with self.engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0
            recent = [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.ledger_sequence.desc()).limit(20))
                      .mappings()]
        return count, recent

    def _view(self, conn: sa.Connection, row: Any, history: list[dict[str, Any]] | None = None) -> CompanyView:
        """The company's evaluation, from the cache while its facts are unchanged (``history``: its facts,
        when the caller has read them already)."""
        key = row["company_key"]
        stamp = (row["last_sequence"], self.rulebook.version)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                self._cache.move_to_end(key)
                return hit[1]
        if history is None:
            history = facts_of(conn, self.tables, [key]).get(key, [])
        view = self.rulebook.evaluate(key, history)
        with self._lock:
            self._cache[key] = (stamp, view)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return view

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _company_row(self, conn: sa.Connection, tenant: str, company: str, hint: FormatError | None = None) -> Any:
        t = self.tables.companies
        row = conn.execute(sa.select(t).where(t.c.company_key == f"{tenant}.{company}")).mappings().first()
        if row is None:
            raise not_found(tenant, company, hint)
        return row

    def answer(self, req: dict[str, Any], now: datetime) -> dict[str, Any]:
        at = req.get("as_of") or now
        op = req["op"]
        with self.engine.connect() as conn:
            if op == "portfolio":
                return self.portfolio(conn, req, at)
            if op == "due":
                return self.due(conn, req, at)
            if op == "changes":
                return self._changes(conn, req)
            row = self._company_row(conn, req["tenant"], req["company"], req.get("company_hint"))
            view = self._view(conn, row)
            if op == "company":
                return view.summary(at, name=row["name"])
            if op == "obligations":
                return page([{**o, "company": view.company} for o in view.obligations_at(at)
                             if obligation_matches(o, req)], req)
            if op == "findings":
                return page([f for f in view.findings_at(at) if finding_matches(f, req)], req)
            if op == "credit":
                return view.credit(at)
            if op == "timeline":
                return page([i for i in self._timeline(conn, row, view, at) if timeline_matches(i, req)], req)
        raise bad(f"op {op} is not answered here")

    def due(self, conn: sa.Connection, req: dict[str, Any], at: datetime) -> dict[str, Any]:
        """The tenant's obligations across companies (op ``due``), in (due, company, id) order.

        One query over the stored obligation rows picks the candidates by what does not depend on the
        instant (tenant, company, rule, confidence, due dates, and what each asked status needs of the
        stored dates), in order, a chunk at a time from where the last chunk ended. Statuses are then
        computed at ``at`` by each company's view (evaluated once per company and cached) exactly as the
        company's own list computes them; only the items shown are built. An obligation whose triggering
        fact is later than that day does not exist yet. The page token is the last item's (due, company,
        id), so paging neither repeats nor skips an item when others change in between.
        """
        t = self.tables.obligations
        today = local_date(at)
        base = [t.c.tenant == req["tenant"], t.c.due.is_not(None)]
        if req.get("companies"):
            base.append(t.c.company.in_(req["companies"]))
        if req.get("rule"):
            base.append(t.c.rule.in_(req["rule"]))
        if req.get("confidence"):
            base.append(t.c.confidence.in_(req["confidence"]))
        if req.get("due_from") is not None:
            base.append(t.c.due >= req["due_from"])
        if req.get("due_to") is not None:
            base.append(t.c.due <= req["due_to"])
        if req.get("status"):
            soon = self.rulebook.pack(req["tenant"]).due_soon_days
            base.append(status_prefilter(t, req["status"], today, soon))
        after = decode_token(req.get("page_token"))
        if after is not None:
            if not (isinstance(after, list) and len(after) == 3 and all(isinstance(a, str) for a in after)):
                raise bad("page_token is not one we issued")
            try:
                after[0] = date.fromisoformat(after[0])
            except ValueError:
                raise bad("page_token is not one we issued") from None
        size = req["page_size"]
        items: list[dict[str, Any]] = []
        views: dict[str, tuple[Any, CompanyView]] = {}
        chunk = max(4 * size, 500)
        while len(items) <= size:
            q = sa.select(t.c.company_key, t.c.company, t.c.obligation_id, t.c.due).where(*base)
            if after is not None:
                d, co, oid = after
                q = q.where(sa.or_(t.c.due > d, sa.and_(t.c.due == d, t.c.company > co),
                                   sa.and_(t.c.due == d, t.c.company == co, t.c.obligation_id > oid)))
            rows = conn.execute(q.order_by(t.c.due, t.c.company, t.c.obligation_id).limit(chunk)).all()
            views.update(self._views(conn, sorted({r.company_key for r in rows} - set(views))))
            for r in rows:
                entry = views.get(r.company_key)
                if entry is None:
                    continue
                row, view = entry
                ob = view.obligation(r.obligation_id)
                if ob is None or ob.born_on > today:
                    continue  # not there at that instant
                status = view.status(r.obligation_id, at)
                if req.get("status") and status not in req["status"]:
                    continue
                item = {**view.obligation_public({"obligation_id": r.obligation_id}), "status": status,
                        "company": r.company, "company_name": row["name"]}
                if obligation_matches(item, req):
                    items.append(item)
                if len(items) > size:
                    break
            if len(rows) < chunk:
                break
            after = [rows[-1].due, rows[-1].company, rows[-1].obligation_id]
        more = len(items) > size
        items = items[:size]
        token = encode_token([items[-1]["due"], items[-1]["company"], items[-1]["id"]]) if more else None
        return {"items": items, "next_page_token": token}

    def _views(self, conn: sa.Connection, keys: list[str]) -> dict[str, tuple[Any, CompanyView]]:
        """These companies' rows and views: the cached ones as they are, the others evaluated from one
        read of their facts."""
        t = self.tables.companies
        rows = {}
        for part in chunks(keys):
            rows.update({r["company_key"]: r for r in conn.execute(
                sa.select(t).where(t.c.company_key.in_(part))).mappings()})
        stale = []
        with self._lock:
            for key, row in rows.items():
                hit = self._cache.get(key)
                if hit is None or hit[0] != (row["last_sequence"], self.rulebook.version):
                    stale.append(key)
        histories = facts_of(conn, self.tables, stale) if stale else {}
        out = {}
        for key, row in rows.items():
            out[key] = (row, self._view(conn, row, histories.get(key)))
        return out

    def company_exists(self, tenant: str, company: str) -> bool:
        with self.engine.connect() as conn:
            try:
                self._company_row(conn, tenant, company)
            except QueryError:
                return False
        return True

    def portfolio(self, conn: sa.Connection, req: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Every company's summary at ``at``, filtered and sorted (``next_statutory_due`` first by default).

        A sort by a value of the instant needs every summary, so the whole tenant is evaluated (from the
        view cache once warm); the page token is the last company shown and its position, so the next
        page continues after that company even when the order moved between calls.
        """
        t = self.tables.companies
        after = decode_token(req.get("page_token"))
        if after is not None and not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], str)
                                      and isinstance(after[1], int) and not isinstance(after[1], bool)
                                      and 0 <= after[1] <= MAX_CURSOR):
            raise bad("page_token is not one we issued")
        keys = list(conn.execute(sa.select(t.c.company_key).where(t.c.tenant == req["tenant"])).scalars())
        rows: list[dict[str, Any]] = []
        views = self._views(conn, keys)
        for key, (row, view) in sorted(views.items()):
            brief = brief_summary(view, at, row["name"])  # what filters and sorts need; no credit estimate
            if req.get("risk") and brief["risk"] not in req["risk"]:
                continue
            if req.get("overdue") is not None and (brief["overdue"] > 0) != req["overdue"]:
                continue
            if req.get("severity") and not any(brief["open_findings"].get(s) for s in req["severity"]):
                continue
            rows.append({**brief, "key": key})
        rows = sort_portfolio(rows, req.get("sort") or "next_statutory_due")
        start = 0
        if after is not None:
            at_uscc = next((i for i, r in enumerate(rows) if r["uscc"] == after[0]), None)
            start = at_uscc + 1 if at_uscc is not None else min(after[1], len(rows))
        shown_rows = rows[start:start + req["page_size"]]
        items = [views[r["key"]][1].summary(at, name=r["name"]) for r in shown_rows]
        more = start + len(items) < len(rows)
        token = encode_token([items[-1]["uscc"], start + len(items)]) if more and items else None
        return {"items": items, "next_page_token": token}

    def _changes(self, conn: sa.Connection, req: dict[str, Any]) -> dict[str, Any]:
        """The tenant's change feed after a cursor: its facts, and with ``include=state`` the derived
        state changes (:mod:`ledger_projector.state_feed`), in one order. A fact's cursor is its LEDGER
        sequence ``"S"``, a state change's ``"S.N"`` (the N-th decided while the read model held S); a
        cursor past the end of the feed is refused (``cursor_ahead``), never answered with silence."""
        after = parse_cursor(req.get("after"))
        size, tenant = req["page_size"], req["tenant"]
        if state_feed.ahead(conn, self.tables, read_checkpoint(conn, self.tables)[0], after):
            raise QueryError(422, "cursor_ahead", "Cursor ahead of the feed / 游标超出变更流末尾",
                             f"cursor {after[0]}{f'.{after[1]}' if after[1] else ''} is beyond the end of the "
                             "feed: it was not issued by this ledger (or its read model was replaced by an older "
                             "one); start again from a cursor you hold / 游标超出变更流末尾，请从已保存的游标重新开始",
                             errors=[{"field": "after", "code": "cursor_ahead", "reason_en": "beyond the end",
                                      "reason_zh": "超出末尾"}])
        t = self.tables.facts
        rows = conn.execute(sa.select(t.c.ledger_sequence, t.c.company, t.c.type, t.c.event_id, t.c.aggregate_id,
                                      t.c.effective_date, t.c.recorded_at)
                            .where(t.c.tenant == tenant, t.c.ledger_sequence > after[0])
                            .order_by(t.c.ledger_sequence).limit(size)).all()
        feed = [((r.ledger_sequence, 0), {
            "cursor": str(r.ledger_sequence), "kind": "fact", "company": r.company,
            "what": {"fact": r.type, "event_id": r.event_id, "aggregate_id": r.aggregate_id,
                     "effective_date": r.effective_date.isoformat()},
            "at": r.recorded_at.isoformat().replace("+00:00", "Z")}) for r in rows]
        if "state" in (req.get("include") or ()):
            tc = self.tables.state_changes
            later = sa.or_(tc.c.ledger_sequence > after[0],
                           sa.and_(tc.c.ledger_sequence == after[0], tc.c.position > after[1]))
            for c in conn.execute(sa.select(tc).where(tc.c.tenant == tenant, later)
                                  .order_by(tc.c.ledger_sequence, tc.c.position).limit(size)).mappings():
                feed.append(((c["ledger_sequence"], c["position"]), {
                    "cursor": f"{c['ledger_sequence']}.{c['position']}", "kind": "state", "company": c["company"],
                    "what": {"change": c["type"], "id": c["change_id"], "before": c["before"], "after": c["after"],
                             **c["data"]},
                    "at": c["at"].isoformat().replace("+00:00", "Z")}))
            feed.sort(key=lambda item: item[0])
        items = [item for _, item in feed[:size]]
        shown_after = f"{after[0]}.{after[1]}" if after[1] else str(after[0])
        return {"items": items, "next_cursor": items[-1]["cursor"] if items else shown_after}

    def _timeline(self, conn: sa.Connection, row: Any, view: CompanyView, at: datetime) -> list[dict[str, Any]]:
        items: list[tuple[tuple, dict[str, Any]]] = []
        t = self.tables.facts
        for f in conn.execute(sa.select(t.c.ledger_sequence, t.c.effective_date, t.c.type, t.c.event_id,
                                        t.c.aggregate_id).where(t.c.company_key == row["company_key"])):
            d = f.effective_date
            items.append(((d, 0, f.ledger_sequence), {
                "date": d.isoformat(), "kind": "fact", "type": f.type, "event_id": f.event_id,
                "aggregate_id": f.aggregate_id, "ledger_sequence": f.ledger_sequence}))
        for entry in view.deadlines_at(at):
            items.append(((date.fromisoformat(entry["date"]), 1, entry["obligation_id"]), entry))
        for fi in view.findings_at(at):
            if fi.get("opened_at"):
                d = datetime.fromisoformat(fi["opened_at"].replace("Z", "+00:00")).astimezone(
                    _shanghai()).date()
                items.append(((d, 2, fi["id"]), {"date": d.isoformat(), "kind": "finding", "finding_id": fi["id"],
                                                 "rule": fi["rule"], "severity": fi["severity"],
                                                 "open": fi["open"]}))
        items.sort(key=lambda x: (x[0][0], x[0][1], str(x[0][2])))
        return [i for _, i in items]


def _shanghai() -> timezone:
    from ledger_kernel.clock import SHANGHAI

    return SHANGHAI

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
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from ledger_contracts.errors import FormatError
from ledger_contracts.formats import USCC_CHARSET, validate_uscc
from ledger_kernel.subjects import TOKEN
from sqlalchemy.engine import Engine

from ledger_projector.projection import facts_of, read_checkpoint
from ledger_projector.rulebook import CompanyView, Rulebook
from ledger_projector.tables import TableSet

OPS = ("status", "portfolio", "company", "obligations", "findings", "credit", "timeline", "events", "changes")
COMPANY_OPS = ("company", "obligations", "findings", "credit", "timeline", "events")
MAX_PAGE = 500
SEVERITIES = ("critical", "high", "medium", "advisory", "info")
RISKS = ("critical", "high", "medium", "low", "none")
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
    if req.get("risk") is not None and req["risk"] not in RISKS:
        raise bad(f"risk must be one of {', '.join(RISKS)}")
    if req.get("severity") is not None and req["severity"] not in SEVERITIES:
        raise bad(f"severity must be one of {', '.join(SEVERITIES)}")
    for name in ("status", "rule"):
        if req.get(name) is not None and not isinstance(req[name], str):
            raise bad(f"{name} must be a string")
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

    def _view(self, conn: sa.Connection, row: Any) -> CompanyView:
        key = row["company_key"]
        stamp = (row["last_sequence"], self.rulebook.version)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == stamp:
                self._cache.move_to_end(key)
                return hit[1]
        view = self.rulebook.evaluate(key, facts_of(conn, self.tables, [key]).get(key, []))
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
                return self._portfolio(conn, req, at)
            if op == "changes":
                return self._changes(conn, req)
            row = self._company_row(conn, req["tenant"], req["company"], req.get("company_hint"))
            view = self._view(conn, row)
            if op == "company":
                return view.summary(at, name=row["name"])
            if op == "obligations":
                items = view.obligations_at(at)
                if req.get("status"):
                    items = [o for o in items if o["status"] == req["status"]]
                if req.get("rule"):
                    items = [o for o in items if o["rule"] == req["rule"]]
                return page(items, req)
            if op == "findings":
                items = view.findings_at(at)
                if req.get("open") is not None:
                    items = [f for f in items if f["open"] == req["open"]]
                return page(items, req)
            if op == "credit":
                return view.credit(at)
            if op == "timeline":
                return page(self._timeline(conn, row, view, at), req)
        raise bad(f"op {op} is not answered here")

    def company_exists(self, tenant: str, company: str) -> bool:
        with self.engine.connect() as conn:
            try:
                self._company_row(conn, tenant, company)
            except QueryError:
                return False
        return True

    def _portfolio(self, conn: sa.Connection, req: dict[str, Any], at: datetime) -> dict[str, Any]:
        t = self.tables.companies
        after = decode_token(req.get("page_token"))
        if after is not None and not isinstance(after, str):
            raise bad("page_token is not one we issued")
        q = sa.select(t).where(t.c.tenant == req["tenant"]).order_by(t.c.company)
        if after:
            q = q.where(t.c.company > after)
        items: list[dict[str, Any]] = []
        more = False
        for row in conn.execute(q).mappings():
            summary = self._view(conn, row).summary(at, name=row["name"])
            if req.get("risk") and summary["risk"] != req["risk"]:
                continue
            if req.get("overdue") is not None and (summary["overdue"] > 0) != req["overdue"]:
                continue
            if req.get("severity") and not summary["open_findings"].get(req["severity"]):
                continue
            if len(items) == req["page_size"]:
                more = True
                break
            items.append(summary)
        return {"items": items, "next_page_token": encode_token(items[-1]["uscc"]) if more else None}

    def _changes(self, conn: sa.Connection, req: dict[str, Any]) -> dict[str, Any]:
        after = req.get("after", 0)
        if after in (None, ""):
            after = 0
        if isinstance(after, str) and after.isascii() and after.isdigit() and len(after) <= 19:
            after = int(after)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_CURSOR:
            raise bad("after must be a cursor from next_cursor")
        t = self.tables.facts
        rows = conn.execute(sa.select(t.c.ledger_sequence, t.c.company, t.c.type, t.c.event_id, t.c.aggregate_id,
                                      t.c.effective_date, t.c.recorded_at)
                            .where(t.c.tenant == req["tenant"], t.c.ledger_sequence > after)
                            .order_by(t.c.ledger_sequence).limit(req["page_size"])).all()
        items = [{"cursor": str(r.ledger_sequence), "company": r.company,
                  "what": {"fact": r.type, "event_id": r.event_id, "aggregate_id": r.aggregate_id,
                           "effective_date": r.effective_date.isoformat()},
                  "at": r.recorded_at.isoformat().replace("+00:00", "Z")} for r in rows]
        return {"items": items, "next_cursor": items[-1]["cursor"] if items else str(after)}

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


def _shanghai():
    from ledger_kernel.clock import SHANGHAI

    return SHANGHAI

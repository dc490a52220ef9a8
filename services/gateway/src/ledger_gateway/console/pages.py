"""The web console (网页控制台) under ``/app/``: server-rendered pages over the projector's queries.

No page runs a script from anywhere but this product, and most need none: filters are plain GET forms,
changes are POST forms carrying the session's form token (CSRF). A request without a session is sent
to the login page; another tenant's company is 404, as on ``/v1``.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from ledger_contracts.formats import MAX_DATE, MIN_DATE
from ledger_kernel.clock import SHANGHAI
from ledger_rules import STATUSES
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ledger_gateway import exports
from ledger_gateway.console import data
from ledger_gateway.console.month_view import month_of, month_view
from ledger_gateway.console.sessions import (
    COOKIE,
    ConsoleUser,
    close_session,
    find_session,
    form_token_ok,
    open_session,
)
from ledger_gateway.console.timeline_plot import plot
from ledger_gateway.context import GatewayState, state_of
from ledger_gateway.problems import ProblemError
from ledger_gateway.reads_api import USCC
from ledger_gateway.reports_api import report_response

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOGIN_COOKIE = "ledger_login"  # the login form's own token (double submit): no session exists yet
RISK_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4}
STATUTORY_FIRST = {"statutory": 0, "notice": 1, "advisory": 2, "estimate": 3}
SORTS = ("next_due", "risk", "overdue", "name")
PROVINCES = {
    "11": "北京 Beijing", "12": "天津 Tianjin", "13": "河北 Hebei", "14": "山西 Shanxi", "15": "内蒙古 Inner Mongolia",
    "21": "辽宁 Liaoning", "22": "吉林 Jilin", "23": "黑龙江 Heilongjiang", "31": "上海 Shanghai", "32": "江苏 Jiangsu",
    "33": "浙江 Zhejiang", "34": "安徽 Anhui", "35": "福建 Fujian", "36": "江西 Jiangxi", "37": "山东 Shandong",
    "41": "河南 Henan", "42": "湖北 Hubei", "43": "湖南 Hunan", "44": "广东 Guangdong", "45": "广西 Guangxi",
    "46": "海南 Hainan", "50": "重庆 Chongqing", "51": "四川 Sichuan", "52": "贵州 Guizhou", "53": "云南 Yunnan",
    "54": "西藏 Tibet", "61": "陕西 Shaanxi", "62": "甘肃 Gansu", "63": "青海 Qinghai", "64": "宁夏 Ningxia",
    "65": "新疆 Xinjiang",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NeedsLogin(Exception):
    """No valid session: the page answers with a redirect to the login form."""


class Answered(Exception):
    """A page answered early (404, 422) from inside a helper: the console answers with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class FormRefused(Exception):
    """A POST without this session's form token, or from another site: 403, nothing changed."""


MAX_UPLOAD = 5 * 1024 * 1024  # one uploaded file (an import CSV)


def _now(gw: GatewayState) -> datetime:
    return gw.clock.now()


def _today(gw: GatewayState) -> date:
    return _now(gw).astimezone(SHANGHAI).date()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def user_of(request: Request) -> ConsoleUser:
    gw = state_of(request)
    user = await run_in_threadpool(find_session, gw.engine, request.cookies.get(COOKIE), _now(gw))
    if user is None:
        raise NeedsLogin()
    return user


def _same_origin(request: Request) -> bool:
    """A POST from another site is refused even before the form token is looked at."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _safe_next(target: str | None) -> str:
    """Only a path of this console may follow login (no open redirect)."""
    if target and target.startswith("/app/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app/"


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/app/login?next={quote(target, safe='')}", status_code=303)


def forbidden(request: Request, reason_zh: str, reason_en: str) -> HTMLResponse:
    return page(request, "error.html", {"status": 403, "zh": reason_zh, "en": reason_en, "user": None}, 403)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app")
async def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", {"form_token": token, "next": _safe_next(next), "error": None, "user": None})
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                        path="/app/login", max_age=3600)
    return response


@router.post("/app/login")
async def login(request: Request, api_key: str = Form("", max_length=300), csrf: str = Form("", max_length=100),
                next: str = Form("/app/", max_length=2000)) -> Response:  # noqa: A002
    expected = request.cookies.get(LOGIN_COOKIE)
    if not _same_origin(request) or not expected or not secrets.compare_digest(expected, csrf):
        return forbidden(request, "表单已失效，请重新打开登录页。", "The form expired or came from elsewhere: open the login page again.")
    gw = state_of(request)
    opened = await run_in_threadpool(open_session, gw.engine, api_key, _now(gw))
    if opened is None:
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", {
            "form_token": token, "next": _safe_next(next), "user": None,
            "error": ("密钥无效或已吊销。", "Unknown or revoked API key.")}, 401)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                            path="/app/login", max_age=3600)
        return response
    session_token, _ = opened
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(COOKIE, session_token, httponly=True, samesite="strict", secure=_secure(request), path="/")
    redirect.delete_cookie(LOGIN_COOKIE, path="/app/login")
    return redirect


async def posted_form(request: Request) -> tuple[ConsoleUser, FormData]:
    """The session's user and the posted form, once its form token and origin are checked."""
    user = await user_of(request)
    form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_UPLOAD)
    token = form.get("csrf")
    if not _same_origin(request) or not isinstance(token, str) or not form_token_ok(user, token):
        raise FormRefused()
    return user, form


@router.post("/app/logout")
async def logout(request: Request) -> Response:
    await posted_form(request)
    await run_in_threadpool(close_session, state_of(request).engine, request.cookies.get(COOKIE))
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def province_of(uscc: str) -> str:
    """The registering authority's province: digits 3–4 of the USCC (登记管理机关行政区划码)."""
    return uscc[2:4]


def _within(row: dict[str, Any], today: date, days: int | None) -> bool:
    if days is None:
        return True
    due = row.get("next_due")
    return bool(due) and date.fromisoformat(str(due)[:10]) <= today + timedelta(days=days)


@router.get("/app/")
async def portfolio(request: Request, sort: str = "next_due", risk: str = "", province: str = "",
                    due_within: str = "") -> HTMLResponse:
    user = await user_of(request)
    gw = state_of(request)
    today = _today(gw)
    problems = []
    if sort not in SORTS:
        problems.append(("sort", sort))
    if risk and risk not in RISK_ORDER:
        problems.append(("risk", risk))
    if province and province not in PROVINCES:
        problems.append(("province", province))
    days = None
    if due_within:
        if due_within.isdigit() and 0 <= int(due_within) <= 3660:
            days = int(due_within)
        else:
            problems.append(("due_within", due_within))
    if problems:
        return page(request, "error.html", {"status": 422, "user": user, "zh": "筛选条件无效：" + ", ".join(
            f"{k}={v!r}" for k, v in problems), "en": "Unknown filter value: " + ", ".join(
            f"{k}={v!r}" for k, v in problems)}, 422)
    rows = await data.every(gw, user.tenant, "portfolio")
    rows = [r for r in rows if (not risk or r.get("risk") == risk)
            and (not province or province_of(r["uscc"]) == province) and _within(r, today, days)]
    keys = {
        "next_due": lambda r: (r.get("next_due") is None, str(r.get("next_due") or ""), r["uscc"]),
        "risk": lambda r: (RISK_ORDER.get(str(r.get("risk")), 9), -(r.get("overdue") or 0), r["uscc"]),
        "overdue": lambda r: (-(r.get("overdue") or 0), r["uscc"]),
        "name": lambda r: (str(r.get("name") or ""), r["uscc"]),
    }
    rows.sort(key=keys[sort])
    for row in rows:
        row["province"] = PROVINCES.get(province_of(row["uscc"]), province_of(row["uscc"]))
    totals: Counter[str] = Counter()
    for row in rows:
        totals["overdue"] += row.get("overdue") or 0
        totals["due_soon"] += row.get("due_soon") or 0
    return page(request, "portfolio.html", {
        "user": user, "rows": rows, "today": today, "totals": totals, "sort": sort, "risk": risk,
        "province": province, "due_within": due_within, "provinces": PROVINCES, "risks": list(RISK_ORDER)})


def _as_of_day(value: str) -> date | None:
    """A day within the calendar facts may use (the API's own range for ``as_of``), else ValueError."""
    day = date.fromisoformat(value)
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(value)
    return day


TO_DO = frozenset({"overdue", "due_soon", "due_today", "open"})
RECENT = timedelta(days=366)  # the company page lists other obligations this close to the day shown
FACTS_SHOWN = 60  # the latest facts listed unless everything is asked for


def _text(value: Any, lang: str) -> str:
    return str(value.get(lang) or "") if isinstance(value, dict) else str(value or "")


def obligation_row(o: dict[str, Any]) -> dict[str, Any]:
    """What the company page shows of an obligation: plain strings, so a page of hundreds renders fast."""
    return {"id": o.get("id", ""), "due": str(o.get("due") or ""), "window_opens": o.get("window_opens"),
            "provisional": bool(o.get("provisional")), "title_zh": _text(o.get("title"), "zh") or o.get("rule", ""),
            "title_en": _text(o.get("title"), "en"), "period": o.get("quarter") or o.get("year") or "",
            "about": o.get("about") or "", "status": str(o.get("status") or ""), "fulfilled_on": o.get("fulfilled_on"),
            "rule": o.get("rule", ""), "source": o.get("source") or "", "confidence": o.get("confidence") or "",
            "due_note": o.get("due_note")}


def listed_obligations(rows: list[dict[str, Any]], on: date, everything: bool) -> list[dict[str, Any]]:
    """What needs doing, and the rest within a year of the day shown (everything on request)."""
    if everything:
        return rows
    low, high = (on - RECENT).isoformat(), (on + RECENT).isoformat()
    return [r for r in rows if r["status"] in TO_DO or low <= r["due"] <= high]


@router.get("/app/companies/{uscc}")
async def company(request: Request, uscc: str, as_of: str = "", span: str = "", show: str = "") -> HTMLResponse:
    user = await user_of(request)
    gw = state_of(request)
    today = _today(gw)
    if not USCC.match(uscc):
        return not_found(request, user)
    try:
        day = _as_of_day(as_of) if as_of else None
    except ValueError:
        return page(request, "error.html", {"status": 422, "user": user, "zh": f"日期无效：{as_of!r}（应为 YYYY-MM-DD）",
                                            "en": f"Not a date: {as_of!r} (use YYYY-MM-DD)"}, 422)
    try:
        shown = await data.company_page(gw, user.tenant, uscc, data.end_of_day(day) if day else None)
    except ProblemError as exc:
        if exc.kind == "not-found":
            return not_found(request, user)
        raise
    on = day or today
    everything = show == "all"
    rows = sorted((obligation_row(o) for o in shown["obligations"]), key=lambda o: (o["due"], o["rule"]))
    obligations = listed_obligations(rows, on, everything)
    facts = shown["facts"]
    return page(request, "company.html", {
        "user": user, "uscc": uscc, "today": today, "as_of": day, "on": on, "span": span, "everything": everything,
        "summary": shown["summary"], "obligations": obligations, "total_obligations": len(rows),
        "min_day": MIN_DATE.isoformat(), "max_day": MAX_DATE.isoformat(),
        "counts": Counter(o["status"] for o in rows), "findings": shown["findings"], "credit": shown["credit"],
        "facts": facts if everything else facts[-FACTS_SHOWN:], "total_facts": len(facts),
        "plot": plot(facts, rows, today, day, show_all=span == "all")})


def not_found(request: Request, user: ConsoleUser | None) -> HTMLResponse:
    return page(request, "error.html", {"status": 404, "user": user, "zh": "未找到该企业。",
                                        "en": "No such company for this tenant."}, 404)


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/app/due")
async def due(request: Request, days: str = "30", all: str = "") -> HTMLResponse:  # noqa: A002
    user = await user_of(request)
    gw = state_of(request)
    today = _today(gw)
    if not days.isdigit() or not 1 <= int(days) <= 366:
        return page(request, "error.html", {"status": 422, "user": user, "zh": f"天数无效：{days!r}（1–366）",
                                            "en": f"days must be 1–366, not {days!r}"}, 422)
    horizon = today + timedelta(days=int(days))
    confidence = None if all else "statutory,notice"
    items = await data.work_queue(gw, user.tenant, status="overdue", confidence=confidence)
    items += await data.work_queue(gw, user.tenant, status="due_soon,open,scheduled", confidence=confidence,
                                   due_from=today.isoformat(), due_to=horizon.isoformat())
    overdue = sorted((o for o in items if o.get("status") == "overdue"),
                     key=lambda o: (STATUTORY_FIRST.get(str(o.get("confidence")), 9), str(o["due"])))
    weeks: dict[date, list[dict[str, Any]]] = {}
    for o in items:
        if o.get("status") != "overdue":
            weeks.setdefault(_week_of(date.fromisoformat(str(o["due"])[:10])), []).append(o)
    grouped = [(week, sorted(rows, key=lambda o: (STATUTORY_FIRST.get(str(o.get("confidence")), 9), str(o["due"]),
                                                   o["company"])))
               for week, rows in sorted(weeks.items())]
    return page(request, "due.html", {"user": user, "today": today, "days": days, "all": all, "overdue": overdue,
                                      "weeks": grouped, "horizon": horizon})


@router.get("/app/calendar")
async def month(request: Request, month: str = "", all: str = "") -> HTMLResponse:  # noqa: A002
    user = await user_of(request)
    gw = state_of(request)
    today = _today(gw)
    try:
        year, number = month_of(month, today)
    except ValueError:
        return page(request, "error.html", {"status": 422, "user": user, "zh": f"月份无效：{month!r}（应为 YYYY-MM）",
                                            "en": f"Not a month: {month!r} (use YYYY-MM)"}, 422)
    first = date(year, number, 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    items = await data.work_queue(gw, user.tenant, due_from=first.isoformat(), due_to=last.isoformat(),
                                  status=",".join(s for s in STATUSES if s not in ("cancelled", "waived")),
                                  confidence=None if all else "statutory,notice")
    return page(request, "calendar.html", {"user": user, "today": today, "all": all,
                                           "view": month_view(year, number, today, items)})


# --- files: the same exports and report as /v1, for the session's tenant ---------------------------------


@router.get("/app/export/companies.{fmt}")
async def export_portfolio(request: Request, fmt: str, risk: str = "") -> Response:
    user = await user_of(request)
    if fmt not in ("csv", "xlsx") or (risk and risk not in RISK_ORDER):
        return page(request, "error.html", {"status": 422, "user": user, "zh": "导出格式或筛选无效。",
                                            "en": "Unknown export format or filter."}, 422)
    # fmt is a plain str, checked above to be csv or xlsx: hence the ignore of its Literal type
    answer = exports.as_file(fmt, exports.COMPANY_COLUMNS, "企业组合", "companies")  # type: ignore[arg-type]
    assert answer is not None
    return await answer(state_of(request), {"op": "portfolio", "tenant": user.tenant, "risk": risk or None})


async def _company_day(request: Request, user: ConsoleUser, uscc: str, as_of: str) -> date | None:
    """The day a file of one company is asked for (None: today), once the company is the tenant's."""
    if not USCC.match(uscc):
        raise Answered(not_found(request, user))
    try:
        await data.ask(state_of(request), user.tenant, "company", company=uscc)
    except ProblemError as exc:
        if exc.kind == "not-found":
            raise Answered(not_found(request, user)) from None
        raise
    try:
        return _as_of_day(as_of) if as_of else None
    except ValueError:
        raise Answered(page(request, "error.html", {"status": 422, "user": user, "zh": f"日期无效：{as_of!r}",
                                                    "en": f"Not a date: {as_of!r}"}, 422)) from None


@router.get("/app/companies/{uscc}/obligations.{fmt}")
async def export_obligations(request: Request, uscc: str, fmt: str, as_of: str = "") -> Response:
    user = await user_of(request)
    day = await _company_day(request, user, uscc, as_of)
    if fmt not in ("csv", "xlsx"):
        return page(request, "error.html", {"status": 422, "user": user, "zh": "导出格式无效（csv 或 xlsx）。",
                                            "en": "Unknown export format (csv or xlsx)."}, 422)
    # fmt is a plain str, checked above to be csv or xlsx: hence the ignore of its Literal type
    answer = exports.as_file(fmt, exports.OBLIGATION_COLUMNS, "合规义务", "obligations",  # type: ignore[arg-type]
                             extra={"company": uscc})
    assert answer is not None
    return await answer(state_of(request), {"op": "obligations", "tenant": user.tenant, "company": uscc,
                                            "as_of": data.end_of_day(day) if day else None})


@router.get("/app/companies/{uscc}/report.pdf")
async def report(request: Request, uscc: str, as_of: str = "") -> Response:
    user = await user_of(request)
    day = await _company_day(request, user, uscc, as_of)
    at = datetime.fromisoformat(data.end_of_day(day)) if day else None
    return await report_response(state_of(request), user.tenant, uscc, at)

"""``ledger timeline USCC``, ``ledger findings USCC``, ``ledger portfolio``, ``ledger due``: the read API
as tables.

They read through the gateway like any client (``--json`` prints the API's items for scripts).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import typer
from ledger_kernel.clock import SHANGHAI, clock_from_setting, local_today
from ledger_kernel.settings import Settings
from rich.console import Console
from rich.table import Table

from ledger_cli.client import ApiError, Gateway, KeyOption, UrlOption, fail

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "advisory": "cyan", "info": "dim"}
RISK_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green", "none": "green"}
STATUS_STYLE = {"overdue": "bold red", "due_soon": "yellow", "due_today": "bold yellow", "fulfilled": "green",
                "waived": "dim", "cancelled": "dim", "before_tracking": "dim"}
AsOf = typer.Option(None, "--as-of", help="Evaluate at this instant (ISO 8601, e.g. 2026-03-01T09:00:00+08:00).")
Json = typer.Option(False, "--json", help="Print the items as JSON (for scripts).")


def local_instant(value: str | None) -> str:
    """An instant as Asia/Shanghai wall time (the calendar users reason in), e.g. 2025-05-01 00:00."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def bilingual(value: Any) -> str:
    """A {zh, en} pair (or plain text) as one cell."""
    if isinstance(value, dict):
        return " / ".join(str(value[k]) for k in ("zh", "en") if value.get(k))
    return "" if value is None else str(value)


def styled(text: str, style: str | None) -> str:
    return f"[{style}]{text}[/{style}]" if style and text else text


def _as_of(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {value!r} is not an ISO 8601 instant") from exc
    return value


def timeline_table(uscc: str, items: list[dict[str, Any]]) -> Table:
    table = Table("date 日期", "kind 类型", "what 内容", "about 对象", "state 状态", title=f"timeline 时间线 {uscc}")
    for item in items:
        kind = item.get("kind", "")
        if kind == "fact":
            what, about, state = item.get("type", ""), item.get("aggregate_id", ""), ""
        elif kind == "deadline":
            what, about = bilingual(item.get("title")) or item.get("rule", ""), item.get("about") or ""
            state = styled(item.get("status", ""), STATUS_STYLE.get(item.get("status", "")))
        else:
            what, about = item.get("rule", ""), ""
            state = styled(f"{item.get('severity', '')} {'open 未解决' if item.get('open') else 'resolved 已解决'}",
                           SEVERITY_STYLE.get(item.get("severity", "")))
        table.add_row(item.get("date", ""), kind, what, about, state)
    return table


def findings_table(uscc: str, items: list[dict[str, Any]]) -> Table:
    table = Table("severity 严重度", "rule 规则", "finding 发现", "opened 发现时间", "state 状态", title=f"findings 风险发现 {uscc}")
    for f in items:
        sev = f.get("severity", "")
        table.add_row(styled(sev, SEVERITY_STYLE.get(sev)), f.get("rule", ""),
                      bilingual(f.get("message")) or bilingual(f.get("title")), local_instant(f.get("opened_at")),
                      "open 未解决" if f.get("open") else "resolved 已解决")
    return table


def portfolio_table(items: list[dict[str, Any]]) -> Table:
    table = Table("USCC", "name 名称", "risk 风险", "open findings 未解决发现", "overdue 逾期", "next due 下一截止",
                  "next statutory 下一法定截止", "credit 信用估算", title="portfolio 企业组合")
    for c in items:
        risk = c.get("risk") or ""
        findings = ", ".join(f"{k} {v}" for k, v in (c.get("open_findings") or {}).items() if v) or "—"
        credit = c.get("credit") or {}
        score = credit.get("score")
        table.add_row(c.get("uscc", ""), c.get("name") or "", styled(risk, RISK_STYLE.get(risk)), findings,
                      str(c.get("overdue", 0)), c.get("next_due") or "—", c.get("next_statutory_due") or "—",
                      f"{score:.0f} {credit.get('band') or ''}" if isinstance(score, int | float) else "—")
    return table


TO_DO = "overdue,due_soon,open,scheduled"  # what still needs action (not fulfilled, waived, cancelled or attested)


def due_table(items: list[dict[str, Any]], today: date, days: int) -> Table:
    table = Table("due 截止", "days 天数", "USCC", "company 企业", "obligation 义务", "about 对象", "status 状态",
                  "confidence 依据", title=f"due within {days} days 未来{days}天到期 (from {today.isoformat()})")
    for o in items:
        left = (date.fromisoformat(o["due"]) - today).days if o.get("due") else None
        status = o.get("status", "")
        table.add_row(o.get("due") or "", "" if left is None else str(left), o.get("company", ""),
                      o.get("company_name") or "", bilingual(o.get("title")) or o.get("rule", ""), o.get("about") or "",
                      styled(status, STATUS_STYLE.get(status)), o.get("confidence") or "")
    return table


def _emit(items: list[dict[str, Any]], as_json: bool, table: Table) -> None:
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False))
    else:
        Console().print(table)


def timeline(uscc: str = typer.Argument(..., help="The company's USCC."), url: str | None = UrlOption,
             key: str | None = KeyOption, as_of: str | None = AsOf, as_json: bool = Json) -> None:
    """A company's facts, deadlines and findings in date order. 企业合规时间线。"""
    try:
        with Gateway(url, key) as gw:
            items = gw.pages(f"/v1/companies/{uscc}/timeline", as_of=_as_of(as_of))
    except ApiError as exc:
        raise fail(exc) from None
    _emit(items, as_json, timeline_table(uscc, items) if not as_json else Table())


def findings(uscc: str = typer.Argument(..., help="The company's USCC."), url: str | None = UrlOption,
             key: str | None = KeyOption, as_of: str | None = AsOf,
             open_only: bool = typer.Option(False, "--open", help="Only open findings."),
             as_json: bool = Json) -> None:
    """A company's findings (non-compliance the rules found). 企业风险发现。"""
    try:
        with Gateway(url, key) as gw:
            items = gw.pages(f"/v1/companies/{uscc}/findings", as_of=_as_of(as_of),
                             open="true" if open_only else None)
    except ApiError as exc:
        raise fail(exc) from None
    _emit(items, as_json, findings_table(uscc, items) if not as_json else Table())


def portfolio(url: str | None = UrlOption, key: str | None = KeyOption, as_of: str | None = AsOf,
              risk: str | None = typer.Option(None, "--risk", help="critical | high | medium | low | none"),
              overdue: bool | None = typer.Option(None, "--overdue/--not-overdue", help="Only with / without overdue."),
              severity: str | None = typer.Option(None, "--severity", help="Only with an open finding of this severity."),
              sort: str | None = typer.Option(None, "--sort", help="next_statutory_due (default) | name | risk | "
                                                                   "overdue | uscc; prefix - to reverse."),
              as_json: bool = Json) -> None:
    """Every company of the tenant with risk, findings, overdue count, next due date, credit. 企业组合概览。"""
    try:
        with Gateway(url, key) as gw:
            items = gw.pages("/v1/companies", as_of=_as_of(as_of), risk=risk, severity=severity, sort=sort,
                             overdue=None if overdue is None else str(overdue).lower())
    except ApiError as exc:
        raise fail(exc) from None
    _emit(items, as_json, portfolio_table(items) if not as_json else Table())


def due(days: int = typer.Option(30, "--days", min=0, max=3660, help="Due within this many days (overdue "
                                                                    "items always included)."),
        company: list[str] | None = typer.Option(None, "--company", help="Only this company (USCC; repeatable)."),
        everything: bool = typer.Option(False, "--all", help="Advisory items too (default: statutory and notice)."),
        url: str | None = UrlOption, key: str | None = KeyOption, as_of: str | None = AsOf,
        as_json: bool = Json) -> None:
    """What needs action across the tenant: open obligations due within N days, and overdue ones, sorted by
    due date (GET /v1/obligations). 待办：未来N天到期及已逾期的合规义务。"""
    at = _as_of(as_of)
    if at is not None:
        instant = datetime.fromisoformat(at)
        today = (instant if instant.tzinfo else instant.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI).date()
    else:
        today = local_today(clock_from_setting(Settings.from_env().clock))
    confidence = "statutory,notice,advisory" if everything else "statutory,notice"
    try:
        with Gateway(url, key) as gw:
            items = gw.pages("/v1/obligations", as_of=at, status=TO_DO, confidence=confidence,
                             due_to=(today + timedelta(days=days)).isoformat(), company=company or None)
    except ApiError as exc:
        raise fail(exc) from None
    _emit(items, as_json, due_table(items, today, days) if not as_json else Table())


def register(app: typer.Typer) -> None:
    app.command("timeline")(timeline)
    app.command("findings")(findings)
    app.command("portfolio")(portfolio)
    app.command("due")(due)

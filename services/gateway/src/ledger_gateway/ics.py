"""The iCalendar feed the gateway serves (RFC 5545, with RFC 7986 hints): pure — obligations in, bytes out.

One VEVENT per obligation: UID ``{obligation_id}@ledger`` never changes; the due date is
an all-day ``DTSTART;VALUE=DATE``; a cancelled or waived obligation stays in the feed with
``STATUS:CANCELLED`` (calendar apps delete an event only when told so).

SEQUENCE rule (deterministic, no stored state): an obligation dict may carry ``revision``
(a counter of its distinct versions, if the read model keeps one) and then that is used.
Otherwise SEQUENCE = 2 × stage + (0 if provisional else 1), with stage 0 for a live
obligation (scheduled, open, due_soon, overdue), 1 once fulfilled and 2 once cancelled or
waived. The usual lifecycles only move forward along that order (live → fulfilled, live →
cancelled, provisional → confirmed date), so each visible change raises SEQUENCE and
clients take the update.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event, vDuration

PRODID = "-//compliance-ledger//notifier feed//ZH"
REFRESH = timedelta(hours=12)
ALARM_BEFORE = timedelta(days=7)
LIVE = ("scheduled", "open", "due_soon", "overdue")
DONE = ("fulfilled_on_time", "fulfilled_late")
ENDED = ("cancelled", "waived")
STATUS_ZH = {"scheduled": "未开始", "open": "办理期内", "due_soon": "即将到期", "overdue": "已逾期",
             "before_tracking": "建账基准日前（历史已确认）",
             "fulfilled_on_time": "已按时完成", "fulfilled_late": "已逾期完成", "waived": "已豁免", "cancelled": "已取消"}
CONFIDENCE_ZH = {"statutory": "法定", "notice": "通知", "advisory": "建议（机构实践）", "estimate": "估算"}


def uid_for(obligation_id: str) -> str:
    return f"{obligation_id}@ledger"


def sequence_for(obligation: dict[str, Any]) -> int:
    revision = obligation.get("revision")
    if isinstance(revision, int) and not isinstance(revision, bool) and revision >= 0:
        return revision
    status = obligation.get("status")
    stage = 2 if status in ENDED else 1 if status in DONE else 0
    return 2 * stage + (0 if obligation.get("provisional") else 1)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def _text(value: Any, lang: str) -> str | None:
    if isinstance(value, dict):
        return value.get(lang) or value.get("zh") or value.get("en")
    return str(value) if value not in (None, "") else None


def _about(obligation: dict[str, Any]) -> str | None:
    about = obligation.get("about")
    if isinstance(about, dict):
        about = " ".join(str(v) for v in about.values() if v not in (None, ""))
    parts = [str(about)] if about else []
    if obligation.get("quarter"):
        parts.append(str(obligation["quarter"]))
    elif obligation.get("year"):
        parts.append(str(obligation["year"]))
    return " · ".join(parts) or None


def _summary(obligation: dict[str, Any]) -> str:
    title = _text(obligation.get("title"), "zh") or obligation.get("rule") or obligation["id"]
    about = _about(obligation)
    prefix = {"overdue": "【逾期】", "fulfilled_on_time": "✓ ", "fulfilled_late": "✓ "}.get(obligation.get("status", ""), "")
    return f"{prefix}{title}" + (f"（{about}）" if about else "")


def _description(obligation: dict[str, Any], tenant_name: str) -> str:
    status = obligation.get("status") or ""
    confidence = obligation.get("confidence") or ""
    source = _text(obligation.get("source"), "zh") or ""
    title_en = _text(obligation.get("title"), "en") or obligation.get("rule") or obligation["id"]
    lines = [
        f"规则 Rule: {obligation.get('rule') or '—'}",
        f"依据 Source: {source or '—'}",
        f"可信度 Confidence: {CONFIDENCE_ZH.get(confidence, confidence)} / {confidence or '—'}",
        f"状态 Status: {STATUS_ZH.get(status, status)} / {status or '—'}",
        f"截止 Due: {obligation.get('due') or '—'} (Asia/Shanghai)",
    ]
    if obligation.get("window_opens"):
        lines.append(f"办理期开始 Window opens: {obligation['window_opens']}")
    if obligation.get("fulfilled_on"):
        lines.append(f"完成日期 Fulfilled on: {obligation['fulfilled_on']}")
    if obligation.get("provisional"):
        lines.append("暂定：该年度官方节假日安排尚未载入，日期可能调整。 / Provisional: the official holiday "
                     "schedule for that year is not loaded yet; the date may move.")
    lines.append(f"{title_en} — {tenant_name}")
    return "\n".join(lines)


def _event(obligation: dict[str, Any], tenant_name: str, now: datetime) -> Event | None:
    due = _date(obligation.get("due"))
    if due is None or not obligation.get("id"):
        return None  # an obligation without a date has no place on a calendar
    status = obligation.get("status")
    event = Event()
    event.add("uid", uid_for(str(obligation["id"])))
    event.add("dtstamp", now)
    event.add("sequence", sequence_for(obligation))
    event.add("dtstart", due)
    event.add("dtend", due + timedelta(days=1))
    event.add("summary", _summary(obligation))
    event.add("description", _description(obligation, tenant_name))
    event.add("transp", "TRANSPARENT")
    if obligation.get("rule"):
        event.add("categories", [str(obligation["rule"])])
    if status in ENDED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "TENTATIVE" if obligation.get("provisional") else "CONFIRMED")
    if status in LIVE or status is None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"7 天后到期 Due in 7 days: {_summary(obligation)}")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def render_feed(obligations: list[dict[str, Any]], *, tenant_name: str, now: datetime) -> bytes:
    """The tenant's obligations as one VCALENDAR; ``now`` (aware) becomes every DTSTAMP."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = f"{tenant_name} 合规期限 Compliance deadlines"
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    ordered = sorted(obligations, key=lambda o: (str(o.get("due") or ""), str(o.get("id") or "")))
    for obligation in ordered:
        event = _event(obligation, tenant_name, now)
        if event is not None:
            calendar.add_component(event)
    return calendar.to_ical()

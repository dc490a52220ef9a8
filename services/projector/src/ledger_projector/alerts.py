"""Alerts as CloudEvents: deterministic ids, subjects and bilingual messages.

An alert's id is derived from what it is about and the step (obligation + reminder
step, finding + the instant it opened, company + day + score for credit), so the
same alert computed twice — after a crash, by a second instance, after a rebuild —
is the same message, and ALERTS de-duplicates it by ``Nats-Msg-Id``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from ledger_kernel.envelope import format_time
from ledger_kernel.subjects import alert_subject

SOURCE = "urn:ledger:projector"
_NAMESPACE = uuid.UUID("0d5e7c1a-3f7b-4c2e-9a61-5b2f8e4d7a90")
TYPES = ("obligation.due_soon", "obligation.due_today", "obligation.overdue",
         "finding.opened", "finding.resolved", "credit.below_threshold")
SEVERITY = {"obligation.due_soon": "medium", "obligation.due_today": "high", "obligation.overdue": "critical",
            "finding.resolved": "info", "credit.below_threshold": "high"}


def alert_id(tenant: str, company: str, what: str, ref: str, step: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}/{company}/{what}/{ref}/{step}"))


def kind_of(alert_type: str) -> str:
    """The subject token of an alert type: ``obligation.due_soon`` → ``obligation_due_soon``."""
    return alert_type.replace(".", "_")


def obligation_type(step_date: date, due: date | None) -> str:
    if due is None or step_date < due:
        return "obligation.due_soon"
    if step_date == due:
        return "obligation.due_today"
    return "obligation.overdue"


def _title(ob: dict[str, Any]) -> tuple[str, str]:
    title = ob.get("title") or {}
    if isinstance(title, dict):
        en, zh = title.get("en") or ob["rule"], title.get("zh") or ob["rule"]
    else:
        en = zh = str(title)
    about = ob.get("about")
    if about:
        en, zh = f"{en} ({about})", f"{zh}（{about}）"
    return en, zh


def obligation_message(alert_type: str, ob: dict[str, Any], today: date) -> dict[str, str]:
    en, zh = _title(ob)
    due = ob.get("due")
    due_d = date.fromisoformat(due) if isinstance(due, str) else due
    if due_d is None:
        return {"en": f"{en}: reminder", "zh": f"{zh}：提醒"}
    days = (due_d - today).days
    if alert_type == "obligation.due_soon":
        return {"en": f"{en} is due on {due_d.isoformat()} ({days} day(s) left).",
                "zh": f"{zh}将于{due_d.isoformat()}到期（剩余{days}天）。"}
    if alert_type == "obligation.due_today":
        return {"en": f"{en} is due today ({due_d.isoformat()}).", "zh": f"{zh}今日（{due_d.isoformat()}）到期。"}
    return {"en": f"{en} is overdue since {due_d.isoformat()} ({-days} day(s) late).",
            "zh": f"{zh}已于{due_d.isoformat()}逾期（已逾期{-days}天）。"}


def finding_message(alert_type: str, finding: dict[str, Any]) -> dict[str, str]:
    msg = finding.get("message") or {}
    en = msg.get("en") if isinstance(msg, dict) else str(msg)
    zh = msg.get("zh") if isinstance(msg, dict) else str(msg)
    en, zh = en or finding["rule"], zh or finding["rule"]
    if alert_type == "finding.opened":
        return {"en": f"New finding ({finding.get('severity')}): {en}", "zh": f"新发现问题（{finding.get('severity')}）：{zh}"}
    return {"en": f"Finding resolved: {en}", "zh": f"问题已解决：{zh}"}


def credit_message(score: float, previous: float | None) -> dict[str, str]:
    prev_en = f" (was {previous:g})" if previous is not None else ""
    prev_zh = f"（此前为{previous:g}）" if previous is not None else ""
    return {"en": f"The estimated code-number credit score fell to {score:g}{prev_en}; below 80 means at risk. "
                  f"This is an estimate, not an official score.",
            "zh": f"码号信用分估算值降至{score:g}{prev_zh}；低于80分为风险区间。此为估算值，非官方分数。"}


def cloud_event(*, aid: str, alert_type: str, tenant: str, company: str, subject_ref: str, decided_at: datetime,
                data: dict[str, Any], traceparent: str | None = None) -> dict[str, Any]:
    """The alert's CloudEvent; ``traceparent`` (the trace that decided it) rides along when there is one."""
    event = {
        "specversion": "1.0",
        "id": aid,
        "source": SOURCE,
        "type": alert_type,
        "subject": subject_ref,
        "time": format_time(decided_at),
        "datacontenttype": "application/json",
        "tenant": tenant,
        "company": company,
        "severity": data.get("severity", "info"),
        "data": {"tenant": tenant, "company": company, **data},
    }
    if traceparent:
        event["traceparent"] = traceparent
    return event


def nats_subject(tenant: str, company: str, alert_type: str) -> str:
    return alert_subject(tenant, company, kind_of(alert_type))

"""Alerts as CloudEvents: deterministic ids, subjects and bilingual messages.

An alert's id is derived from what it is about and the step (obligation + reminder
step, finding + the instant it opened, company + day + score for credit), so the
same alert computed twice — after a crash, by a second instance, after a rebuild —
is the same message, and ALERTS de-duplicates it by ``Nats-Msg-Id``. A backlog digest's id is
derived from the company and the obligation steps it folds.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from ledger_contracts.alerts import ALERT_TYPES
from ledger_kernel.envelope import format_time
from ledger_kernel.subjects import alert_subject

SOURCE = "urn:ledger:projector"
_NAMESPACE = uuid.UUID("0d5e7c1a-3f7b-4c2e-9a61-5b2f8e4d7a90")
TYPES = ALERT_TYPES
BACKLOG = "company.backlog"
BACKLOG_ITEMS = 500  # items listed in one digest (the counts by rule always cover all of them)


def alert_id(tenant: str, company: str, what: str, ref: str, step: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}/{company}/{what}/{ref}/{step}"))


def kind_of(alert_type: str) -> str:
    """The subject token of an alert type: ``obligation.due_soon`` → ``obligation_due_soon``."""
    return alert_type.replace(".", "_")


def backlog_step(folded: list[tuple[str, str]]) -> str:
    """The digest's step: a hash of the (obligation, step) pairs it folds, so the same backlog is one id."""
    text = "\n".join(f"{ref}/{step}" for ref, step in sorted(folded))
    return "b-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def obligation_type(proposed: str, step_date: date, due: date | None, today: date) -> str:
    """The alert type of the reminder step that applies ``today``. ``due_today`` only on the day itself:
    a step of a past day, found late because facts about the past arrived or a ladder has no later
    step, is overdue once the obligation's due date has passed, else (a past milestone) due soon."""
    if due is not None and today > due:
        return "obligation.overdue"
    if proposed == "obligation.due_today" and step_date == today:
        return proposed
    return "obligation.due_soon"


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
    if alert_type == "obligation.due_today":  # only ever sent on the day (a milestone's day, or the due date)
        return {"en": f"{en} is due today ({today.isoformat()}).", "zh": f"{zh}今日（{today.isoformat()}）到期。"}
    if due_d is None:
        return {"en": f"{en}: reminder", "zh": f"{zh}：提醒"}
    days = (due_d - today).days
    if alert_type == "obligation.due_soon":
        return {"en": f"{en} is due on {due_d.isoformat()} ({days} day(s) left).",
                "zh": f"{zh}将于{due_d.isoformat()}到期（剩余{days}天）。"}
    return {"en": f"{en} is overdue since {due_d.isoformat()} ({-days} day(s) late).",
            "zh": f"{zh}已于{due_d.isoformat()}逾期（已逾期{-days}天）。"}


def _finding_name(finding: dict[str, Any]) -> tuple[str, str]:
    """The finding in words: its rule's title and what it is about (never just an id)."""
    title = finding.get("title") or {}
    rule = finding.get("rule") or finding.get("id") or "?"
    en = (title.get("en") if isinstance(title, dict) else None) or rule
    zh = (title.get("zh") if isinstance(title, dict) else None) or rule
    subject = finding.get("subject")
    if subject and subject != "company":
        en, zh = f"{en} ({subject})", f"{zh}（{subject}）"
    return en, zh


def finding_message(alert_type: str, finding: dict[str, Any]) -> dict[str, str]:
    name_en, name_zh = _finding_name(finding)
    msg = finding.get("message") or {}
    en = msg.get("en") if isinstance(msg, dict) else str(msg)
    zh = msg.get("zh") if isinstance(msg, dict) else str(msg)
    severity = finding.get("severity")
    if alert_type == "finding.opened":
        return {"en": f"New finding ({severity}): {name_en}" + (f" — {en}" if en else ""),
                "zh": f"新发现问题（{severity}）：{name_zh}" + (f"——{zh}" if zh else "")}
    return {"en": f"Finding resolved: {name_en}" + (f" (it was: {en})" if en else "") + ".",
            "zh": f"问题已解决：{name_zh}" + (f"（原问题：{zh}）" if zh else "") + "。"}


def backlog_message(items: list[dict[str, Any]], by_rule: list[dict[str, Any]]) -> dict[str, str]:
    """One sentence per language: how many, by rule (most urgent first), and the earliest due date."""
    n = len(items) if not by_rule else sum(r["count"] for r in by_rule)
    earliest = min((i["due"] for i in items if i.get("due")), default=None)
    rules_en = "; ".join(f"{r['title']['en']} × {r['count']}" for r in by_rule)
    rules_zh = "；".join(f"{r['title']['zh']} {r['count']} 项" for r in by_rule)
    since_en = f" The earliest was due on {earliest}." if earliest else ""
    since_zh = f"最早一项于{earliest}到期。" if earliest else ""
    return {"en": f"{n} obligation(s) became overdue at once from facts about the past ({rules_en}).{since_en} "
                  "Record what was done, or a tracking baseline, to close them.",
            "zh": f"因补录的历史事实，{n}项义务同时逾期（{rules_zh}）。{since_zh}"
                  "请补录已完成的事项或设定跟踪起点。"}


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

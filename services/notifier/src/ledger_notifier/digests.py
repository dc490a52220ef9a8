"""Digests: many items in one message — a new subscription's catch-up, and the daily digest.

Pure: items in, a CloudEvent (the notifier's own, with a deterministic id) and its wording out.
A digest is stored and delivered like an alert (same delivery table, retries, log), so the
unique (alert, subscription) key makes each one go once. Items are grouped by company,
companies and items most urgent first: overdue before due today before due soon, earlier
due dates first; alerts by severity, then by kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ledger_contracts.alerts import ALERT_SEVERITIES, SEVERITY_SYNONYMS, is_severity

from ledger_notifier.alerts import SEVERITIES, Alert, severity_rank
from ledger_notifier.messages import KIND, SEVERITY

CATCH_UP = "subscription.catch_up"
DAILY = "subscription.daily_digest"
DIGEST_TYPES = (CATCH_UP, DAILY)
SOURCE = "urn:ledger:notifier"
# Obligation statuses a catch-up carries, most urgent first (before_tracking and the rest are not work).
CURRENT = ("overdue", "due_today", "due_soon")
STATUS = {"overdue": ("已逾期", "Overdue"), "due_today": ("今日到期", "Due today"), "due_soon": ("即将到期", "Due soon")}
KIND_ORDER = ("obligation.overdue", "obligation.due_today", "obligation.due_soon", "finding.opened",
              "credit.below_threshold", "finding.resolved")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _text(value: Any, lang: str) -> str | None:
    if isinstance(value, dict):
        return value.get(lang) or value.get("zh") or value.get("en")
    return str(value) if value not in (None, "") else None


def _group(items: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    """Items by company: each company's items in ``key`` order, companies by their most urgent item."""
    companies: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=key):
        entry = companies.setdefault(item["company"], {"uscc": item["company"], "name": item.get("company_name"),
                                                       "items": []})
        entry["name"] = entry["name"] or item.get("company_name")
        entry["items"].append({k: v for k, v in item.items() if k not in ("company", "company_name")})
    return list(companies.values())  # insertion order: by each company's first (most urgent) item


def obligation_urgency(item: dict[str, Any]) -> tuple:
    status = item.get("status")
    return (CURRENT.index(status) if status in CURRENT else len(CURRENT), str(item.get("due") or "9999-12-31"),
            item.get("company") or "", str(item.get("id") or ""))


def item_severity(obligation: dict[str, Any]) -> str:
    """The severity the obligation's own alert would carry now: its rule's level on the alert scale
    (``advisory`` is ``low``), one step lower while it is only due soon (as the projector decides)."""
    level = obligation.get("severity")
    level = SEVERITY_SYNONYMS.get(level, level) if is_severity(level) else "medium"
    if obligation.get("status") == "due_soon":
        level = ALERT_SEVERITIES[max(0, ALERT_SEVERITIES.index(level) - 1)]
    return level


def catch_up_event(tenant: str, subscription_id: str, obligations: list[dict[str, Any]],
                   now: datetime) -> dict[str, Any] | None:
    """The catch-up digest of the obligations due now (each with ``company`` and ``company_name``), or None
    when there is nothing to catch up on."""
    items = [o for o in obligations if o.get("status") in CURRENT]
    if not items:
        return None
    companies = _group([{"company": o["company"], "company_name": o.get("company_name"),
                         **{k: o.get(k) for k in ("id", "rule", "title", "about", "due", "status", "confidence")}}
                        for o in items], obligation_urgency)
    counts = {s: sum(1 for o in items if o["status"] == s) for s in CURRENT if any(o["status"] == s for o in items)}
    data = {"tenant": tenant, "subscription_id": subscription_id, "as_of": _iso(now), "count": len(items),
            "counts": counts, "companies": companies,
            "severity": "high" if counts.get("overdue") or counts.get("due_today") else "medium",
            "message_zh": f"订阅创建时共有 {len(items)} 项待办（涉及 {len(companies)} 家企业），按紧急程度排列如下。",
            "message_en": f"{len(items)} items were due soon or overdue when the subscription was created "
                          f"({len(companies)} companies), most urgent first."}
    return _event(f"{tenant}.catch_up.{subscription_id}", CATCH_UP, tenant, subscription_id, data, now)


def alert_urgency(item: dict[str, Any]) -> tuple:
    kind = item.get("type")
    return (-severity_rank(item["severity"]) if item.get("severity") in SEVERITIES else 0,
            KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), str(item.get("due") or "9999-12-31"),
            item.get("company") or "", str(item.get("time") or ""), item["alert_id"])


def digest_item(alert: Alert) -> dict[str, Any]:
    """What a daily digest says of one alert: its kind, severity, messages and, if any, its due date."""
    subject = alert.data.get("obligation") or alert.data.get("finding") or {}
    subject = subject if isinstance(subject, dict) else {}
    company = alert.data.get("company")
    name = alert.data.get("company_name") or (company.get("name") if isinstance(company, dict) else None)
    return {"alert_id": alert.id, "type": alert.type, "severity": alert.severity, "time": alert.time,
            "company": alert.company, "company_name": name,
            "title": subject.get("title") or subject.get("message"), "due": subject.get("due") or alert.data.get("due"),
            "message_zh": alert.data.get("message_zh"), "message_en": alert.data.get("message_en")}


def daily_event(tenant: str, subscription_id: str, day: str, alerts: list[Alert], now: datetime) -> dict[str, Any]:
    """One day's digest of the alerts held for a subscription (at least one)."""
    items = [digest_item(a) for a in alerts]
    companies = _group(items, alert_urgency)
    top = min((i["severity"] for i in items if i["severity"] in SEVERITIES), key=lambda s: -severity_rank(s),
              default="info")
    data = {"tenant": tenant, "subscription_id": subscription_id, "day": day, "as_of": _iso(now),
            "count": len(items), "companies": companies, "severity": top,
            "message_zh": f"{day} 合规提醒汇总：共 {len(items)} 条（涉及 {len(companies)} 家企业），按紧急程度排列。",
            "message_en": f"Compliance alerts for {day}: {len(items)} at {len(companies)} companies, most urgent "
                          "first."}
    return _event(f"{tenant}.daily.{subscription_id}.{day}", DAILY, tenant, subscription_id, data, now)


def _event(event_id: str, kind: str, tenant: str, subscription_id: str, data: dict[str, Any],
           now: datetime) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": SOURCE, "type": kind, "subject": subscription_id,
            "time": _iso(now), "datacontenttype": "application/json", "tenant": tenant, "company": "*", "data": data}


def as_alert(event: dict[str, Any]) -> Alert:
    """A stored digest as an :class:`Alert`, so every channel sends it as it sends alerts."""
    data = event["data"]
    return Alert(id=event["id"], type=event["type"], tenant=event["tenant"], company="*",
                 severity=data.get("severity") or "info", time=event.get("time"), data=data, event=event)


# --- wording (Chinese first, then English) -----------------------------------------------------------

def email_subject(alert: Alert) -> str:
    n, m = alert.data["count"], len(alert.data["companies"])
    if alert.type == CATCH_UP:
        return f"【合规提醒】当前待办：{n} 项，涉及 {m} 家企业 / [Compliance alert] Catch-up: {n} items at {m} companies"
    day = alert.data.get("day")
    return f"【合规提醒】{day} 每日汇总：{n} 条 / [Compliance alert] Daily digest {day}: {n} alerts"


def _named(names: Mapping[str, tuple[str, str]], key: Any) -> tuple[Any, Any]:
    """(zh, en) of ``key``; the key itself, twice, when it has no name."""
    return names.get(key, (key, key)) if isinstance(key, str) else (key, key)


def _line(item: dict[str, Any], lang: str, catch_up: bool) -> str:
    zh = lang == "zh"
    if catch_up:
        label = _named(STATUS, item.get("status"))[0 if zh else 1]
        title = _text(item.get("title"), lang) or item.get("rule") or item.get("id")
        about = item.get("about")
        about = ", ".join(str(v) for v in about.values()) if isinstance(about, dict) else about
        what = f"{title}（{about}）" if zh and about else f"{title} ({about})" if about else str(title)
    else:
        label = _named(KIND, item["type"])[0 if zh else 1]
        sev = _named(SEVERITY, item.get("severity"))[0 if zh else 1]
        label = f"{label}·{sev}" if zh else f"{label}, {sev}"
        what = item.get(f"message_{lang}") or _text(item.get("title"), lang) or item["alert_id"]
    due = item.get("due")
    if zh:
        return f"  - 【{label}】{what}" + (f"，截止 {due}（北京时间）" if due and catch_up else "")
    return f"  - [{label}] {what}" + (f", due {due} (Asia/Shanghai)" if due and catch_up else "")


def email_body(alert: Alert) -> str:
    catch_up = alert.type == CATCH_UP
    blocks: list[str] = []
    for lang in ("zh", "en"):
        lines = [str(alert.data[f"message_{lang}"]), ""]
        for company in alert.data["companies"]:
            name = company.get("name")
            lines.append(f"{name}（{company['uscc']}）" if name and lang == "zh"
                         else f"{name} ({company['uscc']})" if name else company["uscc"])
            lines += [_line(item, lang, catch_up) for item in company["items"]]
            lines.append("")
        blocks.append("\n".join(lines).rstrip())
    footer = [f"汇总编号 / Digest id: {alert.id}",
              "此邮件由合规台账自动发送。/ Sent automatically by the compliance ledger."]
    return "\n\n".join([blocks[0], "—" * 20, blocks[1], "\n".join(footer)]) + "\n"

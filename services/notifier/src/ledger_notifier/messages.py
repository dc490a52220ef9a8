"""Human wording of an alert, Chinese first then English: e-mail subject and body.

Pure: the alert's data in, text out. The projector's ``message_zh`` / ``message_en``
lead; the company, the obligation or finding, the due date and the rule with its
source follow, so a reader can see why the alert exists.
"""

from __future__ import annotations

from typing import Any

from ledger_notifier.alerts import Alert

KIND = {
    "obligation.due_soon": ("期限临近", "Deadline approaching"),
    "obligation.due_today": ("今日到期", "Due today"),
    "obligation.overdue": ("已逾期", "Overdue"),
    "finding.opened": ("发现合规问题", "Compliance finding opened"),
    "finding.resolved": ("合规问题已解决", "Compliance finding resolved"),
    "credit.below_threshold": ("信用评分低于阈值", "Credit estimate below threshold"),
    "company.backlog": ("历史逾期事项汇总", "Overdue backlog"),
}
SEVERITY = {"critical": ("严重", "critical"), "high": ("高", "high"), "medium": ("中", "medium"),
            "low": ("低", "low"), "advisory": ("提示", "advisory"), "info": ("信息", "info")}
BACKLOG_LINES = 50  # items spelled out in an e-mail; the counts by rule cover all of them


def _text(value: Any, lang: str) -> str | None:
    """A field that may be plain text or ``{"zh": …, "en": …}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(lang) or value.get("zh") or value.get("en")
    return str(value)


def _company(alert: Alert) -> str:
    company = alert.data.get("company")
    name = alert.data.get("company_name")
    if isinstance(company, dict):
        name = name or company.get("name")
    return f"{name}（{alert.company}）" if name else alert.company


def _rule(alert: Alert) -> tuple[str | None, str | None, str | None]:
    """(rule id, source, confidence) from ``data.rule`` (an object or an id) and its neighbours."""
    subject = alert.data.get("obligation") or alert.data.get("finding") or {}
    rule = alert.data.get("rule") or (subject.get("rule") if isinstance(subject, dict) else None)
    source = alert.data.get("source") or (subject.get("source") if isinstance(subject, dict) else None)
    confidence = alert.data.get("confidence") or (subject.get("confidence") if isinstance(subject, dict) else None)
    if isinstance(rule, dict):
        source = rule.get("source") or source
        confidence = rule.get("confidence") or confidence
        rule = rule.get("id")
    return (str(rule) if rule else None, _text(source, "zh") if source else None,
            str(confidence) if confidence else None)


def _subject_lines(alert: Alert) -> tuple[list[str], list[str]]:
    zh: list[str] = []
    en: list[str] = []
    obligation = alert.data.get("obligation")
    finding = alert.data.get("finding")
    if isinstance(obligation, dict):
        title_zh = _text(obligation.get("title"), "zh") or obligation.get("rule") or obligation.get("id")
        title_en = _text(obligation.get("title"), "en") or obligation.get("rule") or obligation.get("id")
        about = obligation.get("about")
        about_text = ", ".join(f"{v}" for v in about.values()) if isinstance(about, dict) else about
        zh.append(f"义务：{title_zh}" + (f"（{about_text}）" if about_text else ""))
        en.append(f"Obligation: {title_en}" + (f" ({about_text})" if about_text else ""))
        due = obligation.get("due") or alert.data.get("due")
        if due:
            zh.append(f"截止日期：{due}（北京时间）")
            en.append(f"Due: {due} (Asia/Shanghai)")
        if obligation.get("status"):
            zh.append(f"状态：{obligation['status']}")
            en.append(f"Status: {obligation['status']}")
    elif isinstance(finding, dict):
        name = finding.get("rule") or finding.get("id")
        zh.append(f"问题：{_text(finding.get('title'), 'zh') or name}")
        en.append(f"Finding: {_text(finding.get('title'), 'en') or name}")
        if finding.get("message"):
            zh.append(f"详情：{_text(finding['message'], 'zh')}")
            en.append(f"Details: {_text(finding['message'], 'en')}")
    elif isinstance(alert.data.get("backlog"), dict):
        more_zh, more_en = _backlog_lines(alert.data["backlog"])
        zh += more_zh
        en += more_en
    elif alert.data.get("due"):
        zh.append(f"截止日期：{alert.data['due']}（北京时间）")
        en.append(f"Due: {alert.data['due']} (Asia/Shanghai)")
    if alert.type == "credit.below_threshold" and alert.data.get("score") is not None:
        zh.append(f"信用评分估计：{alert.data['score']}")
        en.append(f"Credit estimate: {alert.data['score']}")
    return zh, en


def _backlog_lines(backlog: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The digest's counts by rule (most urgent first), then its items with ids and due dates."""
    zh = [f"逾期事项：共 {backlog.get('count')} 项"]
    en = [f"Overdue items: {backlog.get('count')}"]
    for r in backlog.get("by_rule") or []:
        sev_zh, sev_en = SEVERITY.get(r.get("severity"), (r.get("severity"), r.get("severity")))
        zh.append(f"· {_text(r.get('title'), 'zh') or r.get('rule')}（{r.get('rule')}，级别：{sev_zh}）："
                  f"{r.get('count')} 项，最早到期 {r.get('earliest_due')}")
        en.append(f"· {_text(r.get('title'), 'en') or r.get('rule')} ({r.get('rule')}, severity: {sev_en}): "
                  f"{r.get('count')}, earliest due {r.get('earliest_due')}")
    items = backlog.get("items") or []
    for i in items[:BACKLOG_LINES]:
        about = f"（{i['about']}）" if i.get("about") else ""
        zh.append(f"  - {_text(i.get('title'), 'zh') or i.get('rule')}{about} 到期 {i.get('due')} [{i.get('id')}]")
        about = f" ({i['about']})" if i.get("about") else ""
        en.append(f"  - {_text(i.get('title'), 'en') or i.get('rule')}{about} due {i.get('due')} [{i.get('id')}]")
    rest = (backlog.get("count") or 0) - min(len(items), BACKLOG_LINES)
    if rest > 0:
        zh.append(f"  …… 另有 {rest} 项（见 data.backlog 或公司义务列表）")
        en.append(f"  … and {rest} more (see data.backlog or the company's obligations)")
    return zh, en


def email_subject(alert: Alert) -> str:
    kind_zh, kind_en = KIND[alert.type]
    company = _company(alert)
    return f"【合规提醒】{kind_zh}：{company} / [Compliance alert] {kind_en}: {alert.company}"


def email_body(alert: Alert) -> str:
    kind_zh, kind_en = KIND[alert.type]
    sev_zh, sev_en = SEVERITY.get(alert.severity, (alert.severity, alert.severity))
    rule, source, confidence = _rule(alert)
    lines_zh, lines_en = _subject_lines(alert)
    company = _company(alert)
    zh = [f"{kind_zh}（级别：{sev_zh}）", ""]
    if alert.data.get("message_zh"):
        zh += [str(alert.data["message_zh"]), ""]
    zh.append(f"公司：{company}")
    zh += lines_zh
    if rule:
        zh.append(f"规则：{rule}" + (f"（依据：{source}" + (f"，{confidence}" if confidence else "") + "）"
                                     if source else ""))
    en = [f"{kind_en} (severity: {sev_en})", ""]
    if alert.data.get("message_en"):
        en += [str(alert.data["message_en"]), ""]
    en.append(f"Company: {company}")
    en += lines_en
    if rule:
        en.append(f"Rule: {rule}" + (f" (source: {source}" + (f", {confidence}" if confidence else "") + ")"
                                     if source else ""))
    footer = ["", f"提醒编号 / Alert id: {alert.id}",
              "此邮件由合规台账自动发送。/ Sent automatically by the compliance ledger."]
    return "\n".join(zh + ["", "—" * 20, ""] + en + footer) + "\n"

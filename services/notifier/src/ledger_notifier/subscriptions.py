"""What a subscription request may say, checked before anything is stored; and which alerts match it.

Pure functions: a request in, a :class:`SubscriptionSpec` or a list of bilingual field
errors out (nothing is stored when there is one). Webhook targets are also checked
against SSRF rules, which needs DNS: :func:`check_webhook_target` is the async part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ledger_contracts.errors import FormatError
from ledger_contracts.formats import validate_uscc

from ledger_notifier.alerts import ALERT_TYPES, SEVERITIES, Alert, severity_rank
from ledger_notifier.targets import IPNetwork, TargetRefused, checked_addresses, parse_target

CHANNELS = ("webhook", "email", "nats")
DELIVERIES = ("immediate", "daily")  # each alert as it comes, or one digest a day at the tenant's hour
FIELDS = {"channel", "target", "companies", "types", "min_severity", "catch_up", "delivery"}
MAX_COMPANIES = 5000
MAX_RECIPIENTS = 50
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
NATS_SUFFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,7}$")


@dataclass(frozen=True)
class SubscriptionSpec:
    channel: str
    target: str  # a URL, a subject suffix, or the e-mail recipients joined by ","
    companies: list[str]  # ["*"] or USCCs
    types: list[str] | None  # None: every alert type
    min_severity: str
    recipients: list[str] | None = None  # e-mail: the addresses when target was given as a list
    catch_up: bool = False  # deliver what is due soon or overdue now, once, as one digest
    delivery: str = "immediate"  # immediate | daily

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.channel, "target": self.recipients or self.target, "companies": self.companies,
               "types": self.types, "min_severity": self.min_severity}
        if self.catch_up:  # only when asked: a request from before these options keeps its digest
            out["catch_up"] = True
        if self.delivery != "immediate":
            out["delivery"] = self.delivery
        return out


def field_error(field: str, code: str, en: str, zh: str) -> dict[str, str]:
    return {"field": field, "code": code, "reason_en": en, "reason_zh": zh}


def parse_spec(body: Any) -> tuple[SubscriptionSpec | None, list[dict[str, str]]]:
    """The subscription a request body asks for, or every reason it cannot be stored."""
    if not isinstance(body, dict):
        return None, [field_error("", "not_an_object", "the subscription must be a JSON object", "订阅必须是 JSON 对象")]
    errors: list[dict[str, str]] = []
    for extra in sorted(set(body) - FIELDS):
        errors.append(field_error(extra, "unknown_field", f"unknown field {extra!r}", f"未知字段 {extra!r}"))
    channel = body.get("channel")
    if channel not in CHANNELS:
        errors.append(field_error("channel", "invalid_channel", "channel must be webhook, email or nats",
                                  "channel 必须是 webhook、email 或 nats"))
    target = body.get("target")
    recipients: list[str] | None = None
    if channel == "email" and isinstance(target, list):
        recipients = _recipients(target, errors)
        target = ",".join(recipients or [])
    elif not isinstance(target, str) or not target:
        errors.append(field_error("target", "required", "target is required (a URL, an address or a subject; "
                                  "for e-mail, one address or a list of them)",
                                  "target 为必填项（网址、邮箱地址或主题；电子邮件可填一个地址或地址列表）"))
    elif channel == "webhook":
        try:
            parse_target(target)
        except TargetRefused as exc:
            errors.append(field_error("target", exc.code, exc.reason_en, exc.reason_zh))
    elif channel == "email" and not is_email(target):
        errors.append(field_error("target", "invalid_email", "target is not an e-mail address",
                                  "target 不是有效的电子邮箱地址"))
    elif channel == "nats" and (len(target) > 200 or not NATS_SUFFIX.match(target)):
        errors.append(field_error("target", "invalid_subject",
                                  "target must be a subject suffix of tokens [A-Za-z0-9_-] joined by dots (no wildcards)",
                                  "target 必须是由 [A-Za-z0-9_-] 组成、以点分隔的主题后缀（不含通配符）"))
    companies_raw = body.get("companies", "*")
    companies: list[str] = []
    if companies_raw == "*" or companies_raw == ["*"]:
        companies = ["*"]
    elif isinstance(companies_raw, list) and 0 < len(companies_raw) <= MAX_COMPANIES:
        for i, value in enumerate(companies_raw):
            try:
                uscc = validate_uscc(value)
            except FormatError as exc:
                errors.append(field_error(f"companies.{i}", exc.code, exc.reason_en, exc.reason_zh))
                continue
            if uscc not in companies:
                companies.append(uscc)
    else:
        errors.append(field_error("companies", "invalid_companies",
                                  f'companies must be "*" or a list of 1–{MAX_COMPANIES} USCCs',
                                  f'companies 必须是 "*" 或 1–{MAX_COMPANIES} 个统一社会信用代码的列表'))
    types_raw = body.get("types")
    types: list[str] | None = None
    if types_raw is not None and types_raw != "*":
        if not isinstance(types_raw, list) or not types_raw:
            errors.append(field_error("types", "invalid_types", "types must be a non-empty list of alert types",
                                      "types 必须是非空的提醒类型列表"))
        else:
            types = []
            for i, value in enumerate(types_raw):
                if value not in ALERT_TYPES:
                    errors.append(field_error(f"types.{i}", "unknown_type",
                                              f"{value!r} is not an alert type ({', '.join(ALERT_TYPES)})",
                                              f"{value!r} 不是有效的提醒类型"))
                elif value not in types:
                    types.append(value)
    min_severity = body.get("min_severity") or "info"
    if min_severity not in SEVERITIES:
        errors.append(field_error("min_severity", "invalid_severity",
                                  f"min_severity must be one of {', '.join(SEVERITIES)}",
                                  f"min_severity 必须是 {', '.join(SEVERITIES)} 之一"))
    catch_up = body.get("catch_up", False)
    if not isinstance(catch_up, bool):
        errors.append(field_error("catch_up", "invalid_catch_up", "catch_up must be true or false",
                                  "catch_up 必须是 true 或 false"))
    delivery = body.get("delivery") or "immediate"
    if delivery not in DELIVERIES:
        errors.append(field_error("delivery", "invalid_delivery", "delivery must be immediate or daily",
                                  "delivery 必须是 immediate（即时）或 daily（每日汇总）"))
    if errors:
        return None, errors
    assert isinstance(channel, str) and isinstance(target, str)  # checked above, each with its error
    return SubscriptionSpec(channel, target, companies, types, min_severity, recipients, catch_up, delivery), []


def is_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 254 and EMAIL.match(value) is not None


def _recipients(values: list[Any], errors: list[dict[str, str]]) -> list[str] | None:
    """E-mail addresses from a list (1–50, each checked, repeats dropped); None when any is refused."""
    if not 0 < len(values) <= MAX_RECIPIENTS:
        errors.append(field_error("target", "invalid_recipients", f"target must list 1–{MAX_RECIPIENTS} e-mail "
                                  "addresses", f"target 必须列出 1–{MAX_RECIPIENTS} 个电子邮箱地址"))
        return None
    out: list[str] = []
    bad = False
    for i, value in enumerate(values):
        if not is_email(value):
            errors.append(field_error(f"target.{i}", "invalid_email", "not an e-mail address",
                                      "不是有效的电子邮箱地址"))
            bad = True
        elif value.lower() not in (o.lower() for o in out):
            out.append(value)
    return None if bad else out


async def check_webhook_target(url: str, *, allow_loopback: bool,
                               allow_networks: tuple[IPNetwork, ...] = ()) -> list[dict[str, str]]:
    """SSRF check of a webhook URL with DNS: every address it resolves to must be allowed."""
    try:
        await checked_addresses(parse_target(url), allow_loopback=allow_loopback, allow_networks=allow_networks)
    except TargetRefused as exc:
        return [field_error("target", exc.code, exc.reason_en, exc.reason_zh)]
    return []


def matches(*, tenant: str, companies: list[str], types: list[str] | None, min_severity: str, alert: Alert) -> bool:
    """True when the alert is for this subscription's tenant, companies, types and severity."""
    return (tenant == alert.tenant
            and (companies == ["*"] or alert.company in companies)
            and (types is None or alert.type in types)
            and severity_rank(alert.severity) >= severity_rank(min_severity))

"""The notifier's side of "signal, not noise": the ``company.backlog`` digest in words (Chinese first),
a resolved finding named by its title in both languages, and ``min_severity`` on the alert scale."""

from __future__ import annotations

from ledger_notifier.alerts import parse_alert
from ledger_notifier.messages import email_body, email_subject
from ledger_notifier.subscriptions import matches, parse_spec
from notifier_support import COMPANY, make_alert

BACKLOG = {
    "count": 3, "threshold": 3,
    "by_rule": [
        {"rule": "renewal", "title": {"zh": "许可证续期申请", "en": "Licence renewal application"}, "count": 1,
         "severity": "critical", "confidence": "statutory", "source": "Order 42 Art. 27", "earliest_due": "2025-12-12"},
        {"rule": "three-way-check", "title": {"zh": "三一致核查", "en": "Three-way check"}, "count": 2,
         "severity": "low", "confidence": "advisory", "source": "seed 003", "earliest_due": "2021-06-30"},
    ],
    "items": [
        {"id": "ob_renewal_1", "rule": "renewal", "title": {"zh": "许可证续期申请", "en": "Licence renewal application"},
         "about": "沪B2-20210315", "due": "2025-12-12", "severity": "critical"},
        {"id": "ob_3way_2021q2", "rule": "three-way-check", "title": {"zh": "三一致核查", "en": "Three-way check"},
         "about": None, "due": "2021-06-30", "severity": "low"},
        {"id": "ob_3way_2021q3", "rule": "three-way-check", "title": {"zh": "三一致核查", "en": "Three-way check"},
         "about": None, "due": "2021-09-30", "severity": "low"},
    ],
    "items_omitted": 0,
}


def backlog_alert(tenant: str = "tabc") -> dict:
    return make_alert(tenant, "company.backlog", severity="critical", rule=None, backlog=BACKLOG,
                      message_zh="因补录的历史事实，3项义务同时逾期。", message_en="3 obligation(s) became overdue at once.")


def test_a_backlog_digest_reads_in_chinese_then_english_with_counts_ids_and_due_dates():
    alert = parse_alert(backlog_alert())
    assert (alert.type, alert.severity) == ("company.backlog", "critical")
    subject, body = email_subject(alert), email_body(alert)
    assert subject.index("历史逾期事项汇总") < subject.index("Overdue backlog") and COMPANY in subject
    assert body.index("逾期事项：共 3 项") < body.index("Overdue items: 3")
    zh, en = body.split("—" * 20)
    assert zh.index("许可证续期申请（renewal，级别：严重）：1 项") < zh.index("三一致核查（three-way-check，级别：低）：2 项")
    assert "Three-way check (three-way-check, severity: low): 2, earliest due 2021-06-30" in en
    for text in ("ob_renewal_1", "ob_3way_2021q2", "ob_3way_2021q3", "2021-09-30", "沪B2-20210315"):
        assert text in zh and text in en, text


def test_a_resolved_finding_is_named_by_its_title_in_both_languages():
    event = make_alert("tabc", "finding.resolved", severity="critical")
    event["data"]["finding"].update(rule="unlicensed-operation",
                                    title={"zh": "无证经营呼叫中心业务", "en": "Unlicensed call-centre operation"})
    body = email_body(parse_alert(event))
    zh, en = body.split("—" * 20)
    assert "问题：无证经营呼叫中心业务" in zh and "Finding: Unlicensed call-centre operation" in en
    assert "详情：号码无许可证" in zh and "Details: Number without a licence" in en


def test_min_severity_is_on_the_alert_scale_and_applies_to_every_type():
    spec, errors = parse_spec({"channel": "nats", "target": "ops", "min_severity": "low",
                               "types": ["company.backlog", "obligation.overdue"]})
    assert errors == [] and spec.min_severity == "low" and spec.types == ["company.backlog", "obligation.overdue"]
    assert parse_spec({"channel": "nats", "target": "ops", "min_severity": "advisory"})[1] == []
    assert parse_spec({"channel": "nats", "target": "ops", "min_severity": "loud"})[1][0]["code"] == "invalid_severity"

    def heard(min_severity: str, event: dict) -> bool:
        return matches(tenant="tabc", companies=["*"], types=None, min_severity=min_severity, alert=parse_alert(event))

    advisory_overdue = make_alert("tabc", "obligation.overdue", severity="low")
    assert not heard("high", advisory_overdue) and heard("low", advisory_overdue) and heard("advisory", advisory_overdue)
    advisory_finding = make_alert("tabc", "finding.opened", severity="advisory")  # a finding keeps its rule's level
    assert not heard("medium", advisory_finding) and heard("low", advisory_finding)
    assert heard("high", backlog_alert()) and not heard("critical", make_alert("tabc", "company.backlog",
                                                                               severity="high", rule=None))
    for kind in ("obligation.due_soon", "obligation.due_today", "finding.resolved", "credit.below_threshold"):
        assert not heard("high", make_alert("tabc", kind, severity="medium")), kind
        assert heard("medium", make_alert("tabc", kind, severity="medium")), kind

"""Reading alerts off ALERTS: what we accept, what we refuse, and the bilingual wording."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_notifier.alerts import AlertError, parse_alert
from ledger_notifier.messages import email_body, email_subject
from notifier_support import COMPANY, make_alert


def test_an_alert_is_read_with_its_severity():
    alert = parse_alert(json.dumps(make_alert("tabc", "obligation.overdue")).encode())
    assert (alert.tenant, alert.company, alert.type, alert.severity) == ("tabc", COMPANY, "obligation.overdue", "high")
    finding = parse_alert(make_alert("tabc", "finding.resolved", severity="critical"))
    assert finding.severity == "critical"


def test_tenant_and_company_may_come_from_the_subject():
    event = make_alert("tabc")
    del event["tenant"], event["company"], event["data"]["tenant"], event["data"]["company"]
    alert = parse_alert(event, f"alerts.tsub.{COMPANY}.obligation_due_soon")
    assert (alert.tenant, alert.company) == ("tsub", COMPANY)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda e: e.pop("id"), "id"), (lambda e: e.update(type="licence.issued"), "type"),
    (lambda e: e.update(data=[1]), "data"), (lambda e: e.update(tenant="a.b", data={}), "tenant"),
])
def test_unusable_alerts_are_refused(mutate, reason):
    event = make_alert("tabc")
    mutate(event)
    with pytest.raises(AlertError, match=reason):
        parse_alert(event)


@given(st.binary(max_size=200))
def test_garbage_never_crashes_the_reader(raw):
    try:
        parse_alert(raw)
    except AlertError:
        pass


def test_the_email_wording_is_chinese_first_then_english():
    alert = parse_alert(make_alert("tabc", "obligation.due_soon"))
    subject, body = email_subject(alert), email_body(alert)
    assert subject.index("【合规提醒】") < subject.index("[Compliance alert]")
    assert body.index("公司：") < body.index("Company:")
    for text in ("上海某客服外包有限公司", COMPANY, "2026-12-14", "renewal", "Order 42", "许可证续期申请",
                 "Licence renewal application", "须在 2026-12-14 前提交续期申请", "apply for renewal by 2026-12-14"):
        assert text in body, text

"""E-mail to an in-process aiosmtpd server (both languages), and the NATS channel."""

from __future__ import annotations

import asyncio
import json
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from ledger_kernel.embedded import free_port
from ledger_notifier.mail import SmtpSettings
from notifier_support import COMPANY, deliveries, eventually, make_alert, publish_alert, running_notifier


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
        self.messages.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


async def test_an_alert_arrives_by_email_in_chinese_then_english(provisioned, settings_for, clock, tenant, nc, smtp):
    inbox, port = smtp
    smtp_settings = SmtpSettings(host="127.0.0.1", port=port, sender="ledger@example.com")
    async with running_notifier(settings_for(provisioned), clock, tenant, smtp=smtp_settings) as notifier:
        reply = await notifier.client.create_subscription(
            tenant, {"channel": "email", "target": "compliance@example.com", "companies": [COMPANY]})
        assert reply["status"] == 201 and "secret" not in reply["result"]
        alert = make_alert(tenant, "obligation.due_soon")
        await publish_alert(nc, alert)
        await eventually(lambda: inbox.messages)
        [envelope] = inbox.messages
        assert envelope.rcpt_tos == ["compliance@example.com"] and envelope.mail_from == "ledger@example.com"
        message = message_from_bytes(envelope.content, policy=default)
        subject, body = str(message["subject"]), message.get_content()
        assert "【合规提醒】期限临近" in subject and "[Compliance alert] Deadline approaching" in subject
        assert subject.index("【合规提醒】") < subject.index("[Compliance alert]")
        assert message["X-Ledger-Alert-Id"] == alert["id"]
        assert body.index("许可证续期申请") < body.index("Licence renewal application")
        for text in ("上海某客服外包有限公司", COMPANY, "截止日期：2026-12-14", "Due: 2026-12-14", "规则：renewal",
                     "Rule: renewal", "电信业务经营许可管理办法 (Order 42) Art. 27", "statutory"):
            assert text in body, text
        [d] = await eventually(lambda: _done(notifier, tenant, reply["result"]["id"]))
        assert d["status"] == "succeeded" and d["log"][0]["status_code"] == 250


async def _done(notifier, tenant, sub_id):  # noqa: ANN001
    items = await deliveries(notifier, tenant, sub_id)
    return items if items and items[0]["status"] != "pending" else None


async def test_a_refused_mailbox_fails_and_a_down_server_is_retried(provisioned, settings_for, clock, tenant, nc,
                                                                    smtp):
    inbox, port = smtp
    inbox.refuse.add("gone@example.com")
    async with running_notifier(settings_for(provisioned), clock, tenant,
                                smtp=SmtpSettings(host="127.0.0.1", port=port)) as notifier:
        gone = (await notifier.client.create_subscription(tenant, {"channel": "email",
                                                                   "target": "gone@example.com"}))["result"]
        await publish_alert(nc, make_alert(tenant))
        [d] = await eventually(lambda: _done(notifier, tenant, gone["id"]))
        assert d["status"] == "failed" and d["last_status_code"] == 550 and inbox.messages == []
    async with running_notifier(settings_for(provisioned), clock, tenant + "x",
                                smtp=SmtpSettings(host="127.0.0.1", port=free_port())) as notifier:
        sub = (await notifier.client.create_subscription(tenant + "x", {"channel": "email",
                                                                        "target": "ops@example.com"}))["result"]
        await publish_alert(nc, make_alert(tenant + "x"))

        async def retrying():
            items = await deliveries(notifier, tenant + "x", sub["id"])
            return items[0] if items and items[0]["attempts"] == 1 else None

        d = await eventually(retrying)
        assert d["status"] == "pending" and d["log"][0]["outcome"] == "retry" and d["next_attempt_at"]


async def test_the_nats_channel_republishes_the_alert(notifier, tenant, nc):
    sub = await nc.subscribe(f"notify.{tenant}.erp.alerts")
    reply = await notifier.client.create_subscription(tenant, {"channel": "nats", "target": "erp.alerts",
                                                               "types": ["finding.opened"]})
    assert reply["status"] == 201
    skipped = make_alert(tenant, "obligation.due_soon")
    alert = make_alert(tenant, "finding.opened", severity="critical")
    await publish_alert(nc, skipped)
    await publish_alert(nc, alert)
    msg = await sub.next_msg(timeout=5)
    assert json.loads(msg.data) == alert
    assert msg.headers["Nats-Msg-Id"] == alert["id"]
    await asyncio.sleep(0.3)
    with pytest.raises(Exception):  # noqa: B017  (nats raises its own TimeoutError)
        await sub.next_msg(timeout=0.2)
    await sub.unsubscribe()


async def test_one_message_reaches_every_recipient_of_a_list(provisioned, settings_for, clock, tenant, nc, smtp):
    inbox, port = smtp
    inbox.refuse.add("left@example.com")
    async with running_notifier(settings_for(provisioned), clock, tenant,
                                smtp=SmtpSettings(host="127.0.0.1", port=port, sender="ledger@example.com")) as notifier:
        team = ["compliance@example.com", "legal@example.cn"]
        reply = await notifier.client.create_subscription(tenant, {"channel": "email", "target": team})
        assert reply["status"] == 201 and reply["result"]["target"] == team, reply
        partly = await notifier.client.create_subscription(
            tenant, {"channel": "email", "target": ["boss@example.com", "left@example.com"], "companies": [COMPANY],
                     "types": ["finding.opened"]})
        assert partly["status"] == 201
        alert = make_alert(tenant, "obligation.due_soon")
        await publish_alert(nc, alert)
        [d] = await eventually(lambda: _done(notifier, tenant, reply["result"]["id"]))
        assert d["status"] == "succeeded" and d["attempts"] == 1
        [envelope] = inbox.messages  # one message, both recipients in one SMTP transaction
        assert sorted(envelope.rcpt_tos) == sorted(team)
        message = message_from_bytes(envelope.content, policy=default)
        assert [a.addr_spec for a in message["To"].addresses] == team
        assert message["X-Ledger-Alert-Id"] == alert["id"]

        await publish_alert(nc, make_alert(tenant, "finding.opened", severity="high"))
        [d] = await eventually(lambda: _done(notifier, tenant, partly["result"]["id"]))
        assert d["status"] == "succeeded" and d["last_error"] == "1 of 2 recipients refused"
        [to_boss] = [m for m in inbox.messages if "boss@example.com" in m.rcpt_tos]
        assert to_boss.rcpt_tos == ["boss@example.com"]
        assert "left@example.com" not in json.dumps(d)  # the log counts refusals, it names no one


@pytest.mark.parametrize(("target", "fields"), [
    (["ok@example.com", "not-an-address"], ["target.1"]),
    ([], ["target"]),
    ([f"u{i}@example.com" for i in range(51)], ["target"]),
    (["ok@example.com", 7], ["target.1"]),
])
async def test_a_recipient_list_is_checked_address_by_address(notifier, tenant, target, fields):
    reply = await notifier.client.create_subscription(tenant, {"channel": "email", "target": target})
    assert reply["status"] == 422 and [e["field"] for e in reply["errors"]] == fields, reply
    assert (await notifier.client.list_subscriptions(tenant))["result"]["items"] == []


async def test_a_single_address_stays_a_single_address(notifier, tenant):
    reply = await notifier.client.create_subscription(tenant, {"channel": "email", "target": "a@example.com"})
    assert reply["status"] == 201 and reply["result"]["target"] == "a@example.com"
    listed = (await notifier.client.list_subscriptions(tenant))["result"]["items"]
    assert [s["target"] for s in listed] == ["a@example.com"]

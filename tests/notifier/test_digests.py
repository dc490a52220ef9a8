"""Daily delivery on a fake clock: alerts are held, one digest goes at the tenant's hour (Asia/Shanghai),
never twice on one day, again the next day, and not at all when nothing was held. The digest's wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ledger_notifier import digests
from ledger_notifier.alerts import parse_alert
from notifier_support import COMPANY, OTHER_COMPANY, deliveries, eventually, make_alert, publish_alert

DAY = datetime(2026, 11, 23, tzinfo=UTC)  # 08:00 in Shanghai


async def _statuses(notifier, tenant: str, sub_id: str) -> list[str]:  # noqa: ANN001
    return sorted(d["status"] for d in await deliveries(notifier, tenant, sub_id))


async def test_a_daily_subscription_gets_one_digest_a_day_at_the_tenants_hour(notifier, tenant, nc, clock):
    clock.set(DAY)
    got: list[dict] = []

    async def keep(msg) -> None:  # noqa: ANN001
        got.append(json.loads(msg.data))

    await nc.subscribe(f"notify.{tenant}.daily", cb=keep)
    settings = await notifier.client.set_settings(tenant, {"digest_hour": 10})
    assert settings["ok"] and settings["result"]["digest_hour"] == 10, settings
    sub = (await notifier.client.create_subscription(
        tenant, {"channel": "nats", "target": "daily", "delivery": "daily"}))["result"]
    assert sub["delivery"] == "daily"
    early = [make_alert(tenant, "obligation.overdue", step="overdue"),
             make_alert(tenant, "obligation.due_soon", company=OTHER_COMPANY)]
    for alert in early:
        await publish_alert(nc, alert)
    assert await eventually(lambda: _held(notifier, tenant, sub["id"], 2))
    clock.set(DAY.replace(hour=1, minute=59))  # 09:59 local: not yet
    assert await notifier.dispatcher.make_digests() == 0
    assert got == [] and await _statuses(notifier, tenant, sub["id"]) == ["held", "held"]

    clock.set(DAY.replace(hour=2))  # 10:00 local
    await eventually(lambda: got)
    [first] = got
    assert first["type"] == "subscription.daily_digest" and first["id"] == f"{tenant}.daily.{sub['id']}.2026-11-23"
    assert first["data"]["day"] == "2026-11-23" and first["data"]["count"] == 2
    assert {i["alert_id"] for c in first["data"]["companies"] for i in c["items"]} == {a["id"] for a in early}
    assert first["data"]["companies"][0]["items"][0]["type"] == "obligation.overdue"  # most urgent first
    assert await eventually(lambda: _statuses_are(notifier, tenant, sub["id"], ["digested", "digested", "succeeded"]))

    later = make_alert(tenant, "finding.opened", severity="high")  # after today's digest: tomorrow's
    await publish_alert(nc, later)
    assert await eventually(lambda: _held(notifier, tenant, sub["id"], 1))
    clock.set(DAY.replace(hour=15))  # 23:00 local, same day
    assert await notifier.dispatcher.make_digests() == 0
    assert len(got) == 1

    clock.set(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # the next day, 10:00 local
    await eventually(lambda: len(got) == 2)
    second = got[1]
    assert second["id"] == f"{tenant}.daily.{sub['id']}.2026-11-24"
    assert [i["alert_id"] for c in second["data"]["companies"] for i in c["items"]] == [later["id"]]
    assert await notifier.dispatcher.make_digests() == 0  # the same day again: none

    clock.set(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # a day with nothing held: no digest
    assert await notifier.dispatcher.make_digests() == 0
    await nc.flush()
    log = await deliveries(notifier, tenant, sub["id"])
    assert len(got) == 2 and sorted(d["status"] for d in log) == ["digested"] * 3 + ["succeeded"] * 2


async def _held(notifier, tenant: str, sub_id: str, n: int) -> bool:  # noqa: ANN001
    return (await _statuses(notifier, tenant, sub_id)).count("held") == n


async def _statuses_are(notifier, tenant: str, sub_id: str, expected: list[str]) -> bool:  # noqa: ANN001
    return await _statuses(notifier, tenant, sub_id) == expected


async def test_the_default_digest_hour_is_nine_and_bad_hours_are_refused(notifier, tenant):
    assert (await notifier.client.get_settings(tenant))["result"]["digest_hour"] == 9
    for bad in ({"digest_hour": 24}, {"digest_hour": -1}, {"digest_hour": True}, {"digest_hour": 9, "tz": "UTC"}, {}):
        reply = await notifier.client.set_settings(tenant, bad)
        assert reply["status"] == 422 and reply["code"] == "invalid_settings", (bad, reply)
    assert (await notifier.client.get_settings(tenant))["result"]["digest_hour"] == 9


def test_a_digest_reads_chinese_first_then_english_by_company_most_urgent_first():
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    alerts = [parse_alert(make_alert("t1", "obligation.due_soon", company=OTHER_COMPANY)),
              parse_alert(make_alert("t1", "obligation.overdue", step="overdue"))]
    event = digests.daily_event("t1", "sub_1", "2026-11-23", alerts, now)
    alert = digests.as_alert(event)
    assert [c["uscc"] for c in event["data"]["companies"]] == [COMPANY, OTHER_COMPANY]
    subject, body = digests.email_subject(alert), digests.email_body(alert)
    assert subject.index("【合规提醒】") < subject.index("[Compliance alert]") and "2026-11-23" in subject
    assert body.index("已逾期") < body.index("Overdue") and body.index("期限临近") < body.index("Deadline approaching")
    assert body.index(COMPANY) < body.index(OTHER_COMPANY)
    assert "许可证 B2-20220315 须在 2026-12-14 前提交续期申请。" in body and event["id"] in body


def test_a_catch_up_leaves_out_what_is_not_current_work():
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    obligations = [
        {"company": COMPANY, "company_name": "甲", "id": "o1", "status": "due_soon", "due": "2026-12-01",
         "title": {"zh": "年报", "en": "Annual report"}},
        {"company": OTHER_COMPANY, "company_name": "乙", "id": "o2", "status": "overdue", "due": "2026-11-01"},
        {"company": COMPANY, "id": "o3", "status": "before_tracking", "due": "2020-03-31"},
        {"company": COMPANY, "id": "o4", "status": "fulfilled_on_time", "due": "2026-10-31"},
    ]
    event = digests.catch_up_event("t1", "sub_1", obligations, now)
    assert [(c["uscc"], [i["id"] for i in c["items"]]) for c in event["data"]["companies"]] == [
        (OTHER_COMPANY, ["o2"]), (COMPANY, ["o1"])]
    assert event["data"]["counts"] == {"overdue": 1, "due_soon": 1} and event["data"]["severity"] == "high"
    assert digests.catch_up_event("t1", "sub_1", obligations[2:], now) is None
    body = digests.email_body(digests.as_alert(event))
    assert "【已逾期】o2" in body and "[Due soon] Annual report" in body

"""The notifier's tables on SQLite and PostgreSQL: migrations into a fresh database, intake de-duplication,
claiming with SKIP LOCKED, and the attempt log (skipped, saying why, without a PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from ledger_notifier import digests
from ledger_notifier.alerts import parse_alert
from ledger_notifier.database import VERSION_TABLE, make_engine, migrate
from ledger_notifier.records import IdempotencyMismatch, Records
from ledger_notifier.sealed_secrets import SecretBox
from ledger_notifier.subscriptions import parse_spec
from ledger_notifier.webhook import Outcome
from notifier_support import make_alert

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
KEY = bytes(range(32))


@pytest.mark.postgres
def test_records_on_postgres(pg_engine):
    migrate(pg_engine)
    migrate(pg_engine)  # a second run is a no-op
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar() == "0002"
    records = Records(pg_engine, SecretBox(KEY))
    spec, errors = parse_spec({"channel": "nats", "target": "erp"})
    assert not errors
    sub = records.create_subscription("tpg", spec, NOW)
    alert = parse_alert(make_alert("tpg"))
    assert records.take_in([(alert, 1)], NOW) == 1
    assert records.take_in([(alert, 1)], NOW) == 0  # redelivered: nothing new
    [job] = records.claim_due(NOW, 1000.0, 10.0, 5, set())
    assert records.claim_due(NOW, 1001.0, 10.0, 5, set()) == []  # leased
    status = records.record_attempt(job, Outcome(False, status_code=500, error="HTTP 500"), NOW,
                                    NOW + timedelta(seconds=5))
    assert status == "pending"
    assert records.claim_due(NOW, 1002.0, 10.0, 5, set()) == []  # not due yet
    [job] = records.claim_due(NOW + timedelta(seconds=6), 1003.0, 10.0, 5, set())
    assert records.record_attempt(job, Outcome(True, status_code=200, retry=False), NOW, None) == "succeeded"
    [d] = records.list_deliveries("tpg", sub.view["id"], 10, None)["items"]
    assert d["status"] == "succeeded" and [e["outcome"] for e in d["log"]] == ["retry", "succeeded"]


def test_sqlite_migrations_use_their_own_version_table(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar() == "0002"
    assert VERSION_TABLE == "alembic_version_notifier"
    assert {t for t in tables if not t.startswith("notifier_")} == {VERSION_TABLE}
    engine.dispose()


def test_a_command_id_is_a_new_request_after_its_window(database_url):
    """The forgotten key is nulled before the new row takes it: the unique key holds on either engine."""
    engine = make_engine(database_url)
    migrate(engine)
    records = Records(engine, SecretBox(KEY), idempotency_ttl=timedelta(hours=1))
    spec, _ = parse_spec({"channel": "webhook", "target": "https://hooks.example.com/x"})
    other, _ = parse_spec({"channel": "nats", "target": "erp"})
    first = records.create_subscription("tttl", spec, NOW, "k")
    assert records.create_subscription("tttl", spec, NOW + timedelta(minutes=59), "k") == \
        dataclasses.replace(first, replayed=True)
    with pytest.raises(IdempotencyMismatch):
        records.create_subscription("tttl", other, NOW + timedelta(minutes=59), "k")
    later = NOW + timedelta(hours=1)
    second = records.create_subscription("tttl", other, later, "k")
    assert not second.replayed and second.view["id"] != first.view["id"] and second.secret is None
    third = records.create_subscription("tttl", spec, later + timedelta(hours=1), "k")
    assert not third.replayed and len({first.view["id"], second.view["id"], third.view["id"]}) == 3
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, command_id, request_digest FROM notifier_subscriptions "
                                    "WHERE tenant = 'tttl' ORDER BY created_at")).all()
    assert [(r.id, r.command_id, r.request_digest is None) for r in rows] == [
        (first.view["id"], None, True), (second.view["id"], None, True), (third.view["id"], "k", False)]
    engine.dispose()


def test_digests_are_made_once_on_either_engine(database_url):
    """A catch-up is recorded once however often it is tried; a daily digest once a day, at the hour."""
    engine = make_engine(database_url)
    migrate(engine)
    records = Records(engine, SecretBox(KEY))
    spec, _ = parse_spec({"channel": "email", "target": ["a@example.com", "b@example.com"], "catch_up": True,
                          "delivery": "daily"})
    sub = records.create_subscription("tdg", spec, NOW).view
    assert sub["target"] == ["a@example.com", "b@example.com"] and sub["catch_up"] == "pending"
    [pending] = records.pending_catch_ups()
    event = digests.catch_up_event("tdg", sub["id"], [{"company": "C1", "id": "o1", "status": "overdue",
                                                       "due": "2026-11-01"}], NOW)
    assert records.record_catch_up(pending.subscription_id, event, NOW) is True
    assert records.record_catch_up(pending.subscription_id, event, NOW) is False
    assert records.pending_catch_ups() == [] and records.get_subscription("tdg", sub["id"])["catch_up"] == "sent"
    [job] = records.claim_due(NOW, 1000.0, 10.0, 5, set())
    assert job.alert_event == event and job.recipients == ("a@example.com", "b@example.com")

    records.set_tenant_settings("tdg", 10, NOW)
    assert records.take_in([(parse_alert(make_alert("tdg")), 1)], NOW) == 1  # 09:00 local: held
    assert records.compose_daily_digests(NOW) == 0  # before 10:00
    assert records.compose_daily_digests(NOW + timedelta(hours=1)) == 1
    assert records.compose_daily_digests(NOW + timedelta(hours=2)) == 0  # once a day
    statuses = sorted(d["status"] for d in records.list_deliveries("tdg", sub["id"], 10, None)["items"])
    assert statuses == ["digested", "pending", "pending"]
    engine.dispose()

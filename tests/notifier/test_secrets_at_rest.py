"""Webhook signing secrets are sealed in the database (SQLite and PostgreSQL), read back raw with
sqlalchemy: never there in plain text, still returned once to the creator, still signing deliveries
that ``standardwebhooks`` verifies — across legacy plain rows, key rotation, a key that is not
configured (that subscription fails with the reason, others are delivered) and rows swapped."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from ledger_notifier.alerts import parse_alert
from ledger_notifier.database import make_engine, migrate
from ledger_notifier.records import Created, Records
from ledger_notifier.sealed_secrets import SecretBox, key_id
from ledger_notifier.subscriptions import parse_spec
from ledger_notifier.tables import Subscription
from ledger_notifier.webhook import new_secret
from notifier_support import (
    deliveries,
    eventually,
    make_alert,
    publish_alert,
    running_notifier,
    subscribe,
    webhook_sub,
)

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
STRANGER = bytes(range(200, 232))
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def raw_row(url: str, subscription_id: str) -> dict:
    """The subscription's row as the database holds it (no model, no decoding)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT * FROM notifier_subscriptions WHERE id = :id"),
                                     {"id": subscription_id}).mappings().one())
    finally:
        engine.dispose()


def write_secret(url: str, subscription_id: str, stored: str) -> None:
    """Put a stored form into a row behind the notifier's back (a row from before, or from elsewhere)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(Subscription.__table__).where(Subscription.__table__.c.id == subscription_id)
                         .values(secret=stored))
    finally:
        engine.dispose()


async def delivered_once(notifier, tenant: str, sub_id: str) -> dict:  # noqa: ANN001
    async def settled():  # noqa: ANN202
        items = await deliveries(notifier, tenant, sub_id)
        return items[0] if len(items) == 1 and items[0]["status"] == "succeeded" else None

    return await eventually(settled)


async def test_the_secret_is_sealed_at_rest_returned_once_and_still_signs(provisioned, settings_for, clock, tenant,
                                                                          receiver, nc, database_url):
    settings = settings_for(provisioned, LEDGER_DATABASE_URL=database_url)
    async with running_notifier(settings, clock, tenant, secret_key=b64(NEW_KEY)) as notifier:
        body = webhook_sub(receiver.url("/sealed"))
        first = await notifier.client.create_subscription(tenant, body, command_id="key-1")
        assert first["status"] == 201, first
        secret = first["result"]["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        again = await notifier.client.create_subscription(tenant, body, command_id="key-1")
        assert again["status"] == 200 and again["result"] == first["result"]  # the secret again, opened
        got = await notifier.client.get_subscription(tenant, first["result"]["id"])
        assert "secret" not in got["result"]
        row = raw_row(database_url, first["result"]["id"])
        assert row["secret"].startswith(f"sealed:v1:{key_id(NEW_KEY)}:")
        for column, value in row.items():
            assert secret not in str(value) and secret[6:] not in str(value), column
        receiver.secrets["/sealed"] = secret
        alert = make_alert(tenant)
        await publish_alert(nc, alert)
        [got] = await eventually(lambda: receiver.at("/sealed"))
        assert got.verified and got.headers["webhook-id"] == alert["id"]
        assert (await delivered_once(notifier, tenant, first["result"]["id"]))["attempts"] == 1


async def test_a_plain_row_from_before_is_sealed_at_start_and_still_signs(provisioned, settings_for, clock, tenant,
                                                                          receiver, nc, database_url):
    settings = settings_for(provisioned, LEDGER_DATABASE_URL=database_url)
    async with running_notifier(settings, clock, tenant) as notifier:  # the key made in LEDGER_HOME (test env)
        sub = await subscribe(notifier, tenant, receiver, "/legacy")
    plain = new_secret()
    write_secret(database_url, sub["id"], plain)  # as rows were written before secrets were sealed
    receiver.secrets["/legacy"] = plain
    async with running_notifier(settings, clock, tenant) as notifier:  # the same key file, read again
        stored = raw_row(database_url, sub["id"])["secret"]
        assert stored.startswith("sealed:v1:") and plain not in stored and plain[6:] not in stored
        alert = make_alert(tenant)
        await publish_alert(nc, alert)
        [got] = await eventually(lambda: receiver.at("/legacy"))
        assert got.verified and got.headers["webhook-id"] == alert["id"]
        await delivered_once(notifier, tenant, sub["id"])
    assert raw_row(database_url, sub["id"])["secret"] == stored  # already sealed: a start changes nothing


async def test_rotation_reseals_under_the_new_key_and_still_verifies(provisioned, settings_for, clock, tenant,
                                                                     receiver, nc, database_url):
    settings = settings_for(provisioned, LEDGER_DATABASE_URL=database_url)
    async with running_notifier(settings, clock, tenant, secret_key=b64(OLD_KEY)) as notifier:
        sub = await subscribe(notifier, tenant, receiver, "/rotated")
    assert raw_row(database_url, sub["id"])["secret"].startswith(f"sealed:v1:{key_id(OLD_KEY)}:")
    async with running_notifier(settings, clock, tenant, secret_key=b64(NEW_KEY), older_secret_keys=b64(OLD_KEY)):
        pass
    assert raw_row(database_url, sub["id"])["secret"].startswith(f"sealed:v1:{key_id(NEW_KEY)}:")
    async with running_notifier(settings, clock, tenant, secret_key=b64(NEW_KEY)) as notifier:  # old key gone
        await publish_alert(nc, make_alert(tenant))
        [got] = await eventually(lambda: receiver.at("/rotated"))
        assert got.verified
        await delivered_once(notifier, tenant, sub["id"])


async def test_a_secret_that_does_not_open_fails_its_own_deliveries_only(provisioned, settings_for, clock, tenant,
                                                                         receiver, nc, caplog):
    caplog.set_level(logging.INFO)
    settings = settings_for(provisioned)
    async with running_notifier(settings, clock, tenant, secret_key=b64(NEW_KEY)) as notifier:
        good = await subscribe(notifier, tenant, receiver, "/good")
        lost = await subscribe(notifier, tenant, receiver, "/lost")
    url = settings.database_url
    write_secret(url, lost["id"], SecretBox(STRANGER).seal(lost["secret"], lost["id"]))  # a key not given here
    async with running_notifier(settings, clock, tenant, secret_key=b64(NEW_KEY)) as notifier:
        await publish_alert(nc, make_alert(tenant))
        [got] = await eventually(lambda: receiver.at("/good"))
        assert got.verified
        await delivered_once(notifier, tenant, good["id"])
        reason = f"cannot open the signing secret: key {key_id(STRANGER)} not configured"

        async def failed_attempt():  # noqa: ANN202
            items = await deliveries(notifier, tenant, lost["id"])
            return items[0] if items and items[0]["attempts"] == 1 else None

        d = await eventually(failed_attempt)
        assert d["last_error"] == reason and d["status"] == "pending"  # retried on the schedule, like a 5xx
        assert [(e["outcome"], e["error"], e["status_code"]) for e in d["log"]] == [("retry", reason, None)]
        assert receiver.at("/lost") == []  # nothing was sent unsigned or signed with something else
        state = (await notifier.client.get_subscription(tenant, lost["id"]))["result"]
        assert state["state"] == "active"
    assert f"subscription {lost['id']}: cannot open its signing secret (key {key_id(STRANGER)} not configured)" \
        in caplog.text
    for material in (good["secret"], lost["secret"], good["secret"][6:], lost["secret"][6:], b64(NEW_KEY),
                     b64(STRANGER)):
        assert material not in caplog.text


@pytest.fixture
def engine(database_url):  # noqa: ANN001, ANN201
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def webhooks(records: Records, tenant: str, *paths: str) -> list[Created]:
    """One webhook subscription per path, straight through the records (no NATS, no DNS)."""
    out = []
    for path in paths:
        spec, errors = parse_spec(webhook_sub(f"https://hooks.example.com/{path}"))
        assert not errors, errors
        out.append(records.create_subscription(tenant, spec, NOW))
    return out


def test_a_ciphertext_moved_to_another_row_opens_for_neither(engine, database_url):
    records = Records(engine, SecretBox(NEW_KEY))
    a, b = webhooks(records, "tswap", "a", "b")
    sealed_a, sealed_b = (raw_row(database_url, c.view["id"])["secret"] for c in (a, b))
    write_secret(database_url, a.view["id"], sealed_b)
    write_secret(database_url, b.view["id"], sealed_a)
    assert records.take_in([(parse_alert(make_alert("tswap")), 1)], NOW) == 2
    jobs = records.claim_due(NOW, 1000.0, 10.0, 5, set())
    assert len(jobs) == 2
    for job in jobs:
        assert job.secret is None
        assert job.secret_error == (f"cannot open the signing secret: the sealed secret does not open with key "
                                    f"{key_id(NEW_KEY)}: altered, or sealed for another subscription")
    resealed = records.reseal_secrets()
    assert resealed.sealed == 0 and resealed.unopened == {}  # under the current key: not touched at start


def test_plain_and_old_key_rows_sign_until_sealed_once_at_start(engine, database_url):
    old = Records(engine, SecretBox(OLD_KEY))
    plain_sub, old_sub, gone = webhooks(old, "tplain", "p", "o", "g")
    old.delete_subscription("tplain", gone.view["id"], NOW)
    write_secret(database_url, plain_sub.view["id"], plain_sub.secret)  # a row from before sealing
    records = Records(engine, SecretBox(NEW_KEY, [OLD_KEY]))
    records.take_in([(parse_alert(make_alert("tplain")), 1)], NOW)
    jobs = {j.subscription_id: j for j in records.claim_due(NOW, 1000.0, 10.0, 5, set())}
    assert {i: (j.secret, j.secret_error) for i, j in jobs.items()} == {
        plain_sub.view["id"]: (plain_sub.secret, None), old_sub.view["id"]: (old_sub.secret, None)}
    assert records.reseal_secrets().sealed == 2
    assert records.reseal_secrets().sealed == 0  # idempotent
    for created in (plain_sub, old_sub):
        stored = raw_row(database_url, created.view["id"])["secret"]
        assert stored.startswith(f"sealed:v1:{key_id(NEW_KEY)}:") and created.secret not in stored
        assert SecretBox(NEW_KEY).open(stored, created.view["id"]) == created.secret
    assert raw_row(database_url, gone.view["id"])["secret"] is None  # a deleted subscription keeps none

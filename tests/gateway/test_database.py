"""The gateway's tables migrate and work on SQLite and on PostgreSQL (alembic_version_gateway)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ledger_gateway import idempotency
from ledger_gateway.database import VERSION_TABLE, migrate, normalise_url
from ledger_gateway.feeds import create_feed_token, resolve, revoke_feed_token
from ledger_gateway.tenancy import authenticate, create_key, create_tenant, revoke_key
from sqlalchemy import inspect, text

NOW, TTL = datetime(2026, 11, 23, 1, 0, tzinfo=UTC), timedelta(hours=24)


def exercise(url: str) -> None:
    engine = migrate(url)
    migrate(url)  # idempotent
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == "g0005"
    assert {"gateway_tenants", "gateway_api_keys", "gateway_idempotency", "gateway_feed_tokens"} <= set(
        inspect(engine).get_table_names())
    tenant, admin = create_tenant(engine, "数据库测试")
    reader = create_key(engine, tenant.id, "read")
    assert authenticate(engine, admin.key).tenant == tenant.id
    assert authenticate(engine, reader.key).scopes == {"read"}
    assert revoke_key(engine, reader.key_id) and authenticate(engine, reader.key) is None
    held = idempotency.reserve(engine, tenant.id, {"k": "h1"}, now=NOW, ttl=TTL)["k"]
    assert held.answer is None
    idempotency.save(engine, tenant.id, [idempotency.Answer("k", held.command_id, "h1", 201, {"event_id": "e"})],
                     now=NOW)
    idempotency.save(engine, tenant.id, [idempotency.Answer("k", held.command_id, "h2", 201, {"event_id": "other"})],
                     now=NOW)  # first answer wins
    assert idempotency.lookup(engine, tenant.id, ["k", "missing"], now=NOW, ttl=TTL) == {
        "k": idempotency.Stored("h1", 201, {"event_id": "e"})}
    assert idempotency.lookup(engine, "tsomeoneelse", ["k"], now=NOW, ttl=TTL) == {}
    row, token = create_feed_token(engine, tenant.id, "cal")
    assert resolve(engine, token).tenant == tenant.id
    assert revoke_feed_token(engine, "tsomeoneelse", row["id"]) is None
    assert revoke_feed_token(engine, tenant.id, row["id"])["revoked_at"] and resolve(engine, token) is None


def test_sqlite(tmp_path):
    exercise(f"sqlite:///{tmp_path / 'gateway.db'}")


@pytest.mark.postgres
def test_postgresql(postgres_url):
    exercise(postgres_url)


def test_postgres_urls_use_psycopg3():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"

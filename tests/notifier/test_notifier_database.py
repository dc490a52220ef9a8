"""The notifier's tables on SQLite and PostgreSQL: migrations into a fresh database, intake de-duplication,
claiming with SKIP LOCKED, and the attempt log (skipped, saying why, without a PostgreSQL)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from ledger_notifier.alerts import parse_alert
from ledger_notifier.database import VERSION_TABLE, make_engine, migrate
from ledger_notifier.records import Records
from ledger_notifier.subscriptions import parse_spec
from ledger_notifier.webhook import Outcome
from notifier_support import make_alert

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def pg_engine(postgres_url):  # noqa: ANN001
    name = "notifier_" + secrets.token_hex(4)
    admin = sa.create_engine(make_engine(postgres_url).url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL reachable but cannot create a database: {exc}")
    engine = make_engine(postgres_url.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.mark.postgres
def test_records_on_postgres(pg_engine):
    migrate(pg_engine)
    migrate(pg_engine)  # a second run is a no-op
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar() == "0001"
    records = Records(pg_engine)
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
        assert conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar() == "0001"
    assert VERSION_TABLE == "alembic_version_notifier"
    assert {t for t in tables if not t.startswith("notifier_")} == {VERSION_TABLE}
    engine.dispose()

"""The three services migrate one shared database through ledger_readmodel: each to its own head in
its own version table, a second run changes nothing, and a mixed-up version table is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from ledger_gateway import database as gateway
from ledger_notifier import database as notifier
from ledger_projector import database as projector
from ledger_readmodel import migrations

HEADS = {"alembic_version_projector": "entry_order", "alembic_version_notifier": "0002", "alembic_version_gateway": "g0005"}


def schema(engine: sa.Engine) -> dict[str, list[str]]:
    """Every table with its columns, and every version table's revision as a one-item list."""
    inspector = sa.inspect(engine)
    out = {t: sorted(c["name"] for c in inspector.get_columns(t)) for t in inspector.get_table_names()}
    with engine.connect() as conn:
        for table in HEADS:
            if table in out:
                out[table] = [r[0] for r in conn.exec_driver_sql(f"SELECT version_num FROM {table}")]
    return out


def migrate_all(url: str) -> sa.Engine:
    engine = projector.make_engine(url)
    projector.migrate(engine)
    notifier.migrate(notifier.make_engine(url))
    gateway._migrated.discard(gateway.sync_url(url))  # run the gateway's upgrade again, not its memo
    gateway.migrate(url)
    return engine


def test_three_services_share_one_file_and_migrate_idempotently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = migrate_all(url)
    first = schema(engine)
    assert {t: first[t] for t in HEADS} == {t: [head] for t, head in HEADS.items()}
    prefixes = {t.split("_", 1)[0] for t in first if t not in HEADS}
    assert prefixes == {"projector", "notifier", "gateway"}
    assert len(first) > 15
    migrate_all(url)
    assert schema(engine) == first  # the second run is a no-op
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_a_config_for_another_version_table_is_refused(tmp_path: Path) -> None:
    engine = projector.make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with pytest.raises(RuntimeError, match="alembic_version_notifier"):
        migrations.upgrade(engine, projector.MIGRATIONS, "alembic_version_notifier")
    assert sa.inspect(engine).get_table_names() == []  # nothing written under the wrong table
    engine.dispose()


@pytest.mark.parametrize(("service", "own", "others"), [
    (projector, "projector_", ("notifier_", "gateway_")),
    (notifier, "notifier_", ("projector_", "gateway_")),
    (gateway, "gateway_", ("projector_", "notifier_")),
])
def test_offline_sql_is_the_services_own(service, own: str, others: tuple[str, ...], capsys) -> None:
    # PostgreSQL: SQLite's batch migrations (the gateway's g0003) need a live database to reflect
    cfg = migrations.alembic_config(service.MIGRATIONS, service.VERSION_TABLE, "postgresql+psycopg://u@h/db")
    command.upgrade(cfg, "head", sql=True)
    sql = capsys.readouterr().out
    assert f"CREATE TABLE {service.VERSION_TABLE}" in sql
    assert f"CREATE TABLE {own}" in sql
    assert not any(f"CREATE TABLE {other}" in sql for other in others), sql
    assert sql.rstrip().endswith("COMMIT;")  # a script to run later: nothing was connected to

"""Each service's alembic migrations, run one way: its own directory, its own version table.

The services keep their tables in one shared database, so each has a version table of its own
(``alembic_version_<service>``) and autogenerate looks only at tables with the service's prefix;
mixing those up would make one service's upgrade step on another's tables.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.schema import SchemaItem

from ledger_readmodel.engine import make_engine


def alembic_config(migrations: Path, version_table: str, database: Engine | Connection | str) -> Config:
    """A config for the migrations in ``migrations``: an engine or a connection is handed on as it is.

    A connection means the caller holds the transaction (the migrations run inside it); an engine
    means the migrations take a connection of their own and commit it; a URL is only recorded.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    url = database if isinstance(database, str) else database.engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = version_table
    if isinstance(database, Engine):
        cfg.attributes["engine"] = database
    elif isinstance(database, Connection):
        cfg.attributes["connection"] = database
    return cfg


def upgrade(database: Engine | Connection, migrations: Path, version_table: str, revision: str = "head") -> None:
    """Bring one service's tables to ``revision`` (idempotent: at that revision already, nothing runs)."""
    command.upgrade(alembic_config(migrations, version_table, database), revision)


def _only_prefixed(prefix: str) -> Callable[..., bool]:
    def include_object(obj: SchemaItem, name: str | None, type_: str, reflected: bool,
                       compare_to: SchemaItem | None) -> bool:
        """Only this service's tables: the other services keep theirs in the same database."""
        return type_ != "table" or (name or "").startswith(prefix)

    return include_object


def run_environment(version_table: str, metadata: MetaData | None = None, table_prefix: str | None = None) -> None:
    """The body of a service's ``migrations/env.py``: offline SQL, or online on the config's database."""
    config = context.config
    configured = config.attributes.get("version_table", version_table)
    if configured != version_table:  # a config built for another service's migrations
        raise RuntimeError(f"the migrations of {version_table} were run with version table {configured}")
    options: dict[str, Any] = {"target_metadata": metadata, "version_table": version_table}
    if table_prefix is not None:
        options["include_object"] = _only_prefixed(table_prefix)
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection, options)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError(f"the migrations of {version_table} were given no engine and no sqlalchemy.url")
        engine = make_engine(url)
    with engine.connect() as connection:
        _run_online(connection, options)
        connection.commit()


def _run_online(connection: Connection, options: dict[str, Any]) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite", **options)
    with context.begin_transaction():
        context.run_migrations()

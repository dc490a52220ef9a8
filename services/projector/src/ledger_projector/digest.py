"""A digest of the derived read model: equal digests mean equal read models.

Used to prove that a rebuild equals the incrementally built model, that a crash
replays into the same state, and that SQLite and PostgreSQL hold the same thing.
Scheduler state (alerts sent, credit last seen) and the rebuild generation are not
derived from LEDGER alone, so they are left out.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger_projector.tables import PREFIX, TableSet

EXCLUDED_COLUMNS = {"generation"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _converters(columns: list[sa.Column]) -> list[tuple[int, Any]]:
    """(position, conversion) for the columns whose driver values differ between databases."""
    out = []
    for i, col in enumerate(columns):
        kind = getattr(col.type, "impl", col.type)
        if isinstance(kind, sa.Date | sa.DateTime | sa.Float | sa.Numeric):
            out.append((i, _plain))
    return out


def digest(engine: Engine, tables: TableSet) -> str:
    """SHA-256 over every derived table's rows as JSON (values in column order, objects with sorted
    keys), in primary-key order.

    Plain values (dates as ISO text, whole floats as integers) make it the same on SQLite and
    PostgreSQL; only the columns that need it are converted, so it is cheap enough to run after
    every rebuild.
    """
    h = hashlib.sha256()
    for table in tables.derived():
        name = table.name.removeprefix(PREFIX).split("__", 1)[0]
        h.update(name.encode())
        columns = [c for c in table.columns if c.name not in EXCLUDED_COLUMNS]
        h.update(_encode([c.name for c in columns]).encode())
        convert = _converters(columns)
        with engine.connect() as conn:
            order = list(table.primary_key.columns)
            for r in conn.execute(sa.select(*columns).order_by(*order)):
                values = list(r)
                for i, fn in convert:
                    values[i] = fn(values[i])
                h.update(_encode(values).encode())
                h.update(b"\n")
    return h.hexdigest()

"""Idempotency records: the same key with the same body answers the same; another body is refused.

Only successful answers are kept: a refused fact changed nothing, so repeating it (or
correcting it under the same key) is harmless.

A key is remembered for a retention window (24 hours by default, ``GatewayConfig``) from its first
use, measured on the gateway's clock; after that it is forgotten, and a request with it is a new
request. The first request with a key *reserves* it before going to a service: the reservation holds
the ``command_id`` that every request with the key sends while the window lasts, so the service's own
de-duplication (the event id is derived from the command id) still makes two racing requests one
event. A key used again after its window gets a fresh command id, so the new request is never
mistaken downstream for the forgotten one. Expired records are deleted in bounded batches by
:func:`purge_expired` (``ledger_gateway.retention`` runs it periodically).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ledger_kernel.canonical import canonical_json, sha256_hex
from ledger_readmodel.mapped import table_of
from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Engine,
    String,
    Text,
    any_,
    bindparam,
    column,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite

from ledger_gateway.database import writing
from ledger_gateway.tables import IdempotencyRecord

MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[!-~]+$"  # visible ASCII: no spaces, controls or look-alikes (OpenAPI: the header's pattern)
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
WRITE_CHUNK = 1000  # rows per SQLite executemany
PG_WRITE_CHUNK = 10_000  # rows per PostgreSQL statement (one JSON document): a whole batch request
READ_CHUNK = 500
PURGE_BATCH = 1000  # rows per DELETE: short statements, so writers never wait long behind a sweep

_table = table_of(IdempotencyRecord)
_COLUMNS = ("tenant_id", "key", "command_id", "body_sha256", "status", "response", "created_at")


@dataclass(frozen=True)
class Stored:
    body_sha256: str
    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class Reservation:
    """A key held within its window: the command id to send, and the stored answer if there is one."""

    command_id: str
    answer: Stored | None


class Answer(NamedTuple):
    key: str
    command_id: str
    body_sha256: str
    status: int
    response: dict[str, Any]


def body_hash(body: Any) -> str:
    """Hash of the parsed body, so white space and key order do not make two bodies differ."""
    return sha256_hex(canonical_json(body))


def valid_key(key: str) -> bool:
    """``^[!-~]{1,255}$``: a key is copied between systems and logs; invisible or Unicode look-alike
    characters would make two keys that print the same."""
    return _KEY.fullmatch(key) is not None


def utc(now: datetime) -> datetime:
    """Instants are stored in UTC: SQLite keeps a datetime's fields without its offset."""
    if now.tzinfo is None:
        raise ValueError("idempotency instants must be timezone-aware")
    return now.astimezone(UTC)


def expired_at_or_before(now: datetime, ttl: timedelta) -> datetime:
    """A record first used at or before this instant has left its window."""
    return utc(now) - ttl


def _upsert(conn: Connection, rows: list[dict[str, Any]], update: tuple[str, ...],
            when: Callable[[Any], ColumnElement[bool]]) -> None:
    """``INSERT … ON CONFLICT (tenant_id, key) DO UPDATE SET <update> WHERE <when(excluded)>``, many rows a statement.

    PostgreSQL takes the rows as one JSON document (``jsonb_to_recordset``): one short statement and
    one parameter, where a multi-row VALUES would be a 7,000-parameter statement per thousand rows for
    psycopg to parse, and arrays would be escaped element by element. SQLite runs one prepared
    statement over the rows (``executemany``, in process). Rows are written in the order given.
    """
    if conn.dialect.name == "postgresql":
        for start in range(0, len(rows), PG_WRITE_CHUNK):
            document = json.dumps(rows[start:start + PG_WRITE_CHUNK], ensure_ascii=False, default=_iso)
            given = (func.jsonb_to_recordset(bindparam("rows", document, type_=Text).cast(postgresql.JSONB))
                     .table_valued(*(column(c, _table.c[c].type) for c in _COLUMNS))
                     .render_derived(name="given", with_types=True))
            stmt = postgresql.insert(_table).from_select(_COLUMNS, select(*(given.c[c] for c in _COLUMNS)))
            conn.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "key"],
                                                    set_={c: stmt.excluded[c] for c in update},
                                                    where=when(stmt.excluded)))
        return
    new = sqlite.insert(_table)
    upsert = new.on_conflict_do_update(index_elements=["tenant_id", "key"], set_={c: new.excluded[c] for c in update},
                                       where=when(new.excluded))
    for start in range(0, len(rows), WRITE_CHUNK):
        conn.execute(upsert, rows[start:start + WRITE_CHUNK])


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _of_keys(engine: Engine, tenant: str, keys: list[str]) -> Iterator[ColumnElement[bool]]:
    """Conditions selecting these keys of the tenant, as few statements as the database allows.

    PostgreSQL takes every key in one array (``key = ANY(:keys)``): one primary-key probe per key,
    whatever plan is cached. A prepared ``IN (…500 parameters…)`` may keep a generic plan that
    compares each row with every parameter, seconds for ten thousand keys on a table never analysed.
    """
    if engine.dialect.name == "postgresql":
        yield (_table.c.tenant_id == tenant) & (_table.c.key == any_(
            bindparam("keys", keys, type_=postgresql.ARRAY(String))))
        return
    for start in range(0, len(keys), READ_CHUNK):
        yield (_table.c.tenant_id == tenant) & _table.c.key.in_(keys[start:start + READ_CHUNK])


def _stored(row: Any) -> Stored | None:
    if row.status is None or row.response is None:
        return None
    return Stored(row.body_sha256, row.status, json.loads(row.response))


def reserve(engine: Engine, tenant: str, digests: Mapping[str, str], *, now: datetime,
            ttl: timedelta) -> dict[str, Reservation]:
    """Hold each key (key → hash of its body) for this window and answer what each holds.

    A key held within its window keeps its command id and answer; a new or expired key gets a fresh
    command id and no answer, its window starting ``now``. An ``INSERT … ON CONFLICT DO UPDATE …
    WHERE expired`` of every key, then a read, in one transaction: the rows stay locked until it
    ends, so racing requests all read the winner's command id and a sweep never deletes them meanwhile.
    Keys are written in sorted order, so two batches with overlapping keys cannot deadlock.
    """
    if not digests:
        return {}
    now, edge = utc(now), expired_at_or_before(now, ttl)
    keys = sorted(digests)
    rows = [{"tenant_id": tenant, "key": k, "command_id": str(uuid.uuid4()), "body_sha256": digests[k],
             "status": None, "response": None, "created_at": now} for k in keys]
    held: dict[str, Reservation] = {}
    with writing(engine) as conn:
        _upsert(conn, rows, ("command_id", "body_sha256", "status", "response", "created_at"),
                lambda _given: _table.c.created_at <= edge)
        for of_keys in _of_keys(engine, tenant, keys):
            for row in conn.execute(select(_table.c.key, _table.c.command_id, _table.c.body_sha256,
                                           _table.c.status, _table.c.response).where(of_keys)):
                held[row.key] = Reservation(row.command_id, _stored(row))
    missing = len(keys) - len(held)
    if missing:  # the rows were locked by this transaction: nothing may have removed them
        raise RuntimeError(f"{missing} idempotency reservations vanished")
    return held


def lookup(engine: Engine, tenant: str, keys: Iterable[str], *, now: datetime,
           ttl: timedelta) -> dict[str, Stored]:
    """The stored answers of these keys that are still within their window (a read, for inspection)."""
    keys = list(dict.fromkeys(keys))
    edge = expired_at_or_before(now, ttl)
    found: dict[str, Stored] = {}
    with engine.connect() as conn:
        for of_keys in _of_keys(engine, tenant, keys):
            for row in conn.execute(select(_table).where(of_keys, _table.c.created_at > edge)):
                stored = _stored(row)
                if stored is not None:
                    found[row.key] = stored
    return found


def save(engine: Engine, tenant: str, answers: list[Answer], *, now: datetime) -> None:
    """Store answers under their reservations; a key answered meanwhile keeps its first answer.

    An answer lands only on the reservation it was sent under (same command id, no answer yet): a
    request outliving its key's window cannot overwrite the next use of the key. A bulk upsert
    (SQLite and PostgreSQL): a bulk import saves ten thousand answers in well under a second, not
    one ORM object each.
    """
    if not answers:
        return
    now = utc(now)
    by_key = {a.key: a for a in answers}
    rows = [{"tenant_id": tenant, "key": a.key, "command_id": a.command_id, "body_sha256": a.body_sha256,
             "status": a.status, "response": json.dumps(a.response, ensure_ascii=False), "created_at": now}
            for a in (by_key[k] for k in sorted(by_key))]
    with writing(engine) as conn:
        _upsert(conn, rows, ("body_sha256", "status", "response"),
                lambda given: (_table.c.command_id == given.command_id) & _table.c.status.is_(None))


def purge_statement(now: datetime, ttl: timedelta, limit: int = PURGE_BATCH) -> Delete:
    """``DELETE`` of at most ``limit`` of the oldest expired records.

    The oldest first along ``ix_gateway_idempotency_created``, then deleted by primary key. On
    PostgreSQL rows a request holds right now are skipped (``FOR UPDATE SKIP LOCKED``), so a sweep
    never waits behind a request, and a row a request renewed meanwhile is re-checked against the
    window once locked; SQLite has one writer at a time.
    """
    oldest = (select(_table.c.tenant_id, _table.c.key)
              .where(_table.c.created_at <= expired_at_or_before(now, ttl))
              .order_by(_table.c.created_at).limit(limit).with_for_update(skip_locked=True))
    return delete(_table).where(tuple_(_table.c.tenant_id, _table.c.key).in_(oldest))


def purge_expired(engine: Engine, *, now: datetime, ttl: timedelta, limit: int = PURGE_BATCH) -> int:
    """Delete at most ``limit`` of the oldest expired records; answer how many went."""
    with engine.begin() as conn:
        return conn.execute(purge_statement(now, ttl, limit)).rowcount

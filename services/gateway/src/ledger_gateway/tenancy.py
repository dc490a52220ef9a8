"""Tenants and API keys: create, authenticate, revoke — the functions the gateway and the CLI share.

A key is ``lk_<id>_<secret>``; only SHA-256 of the whole key is stored, and ``<id>``
finds the row, so a lookup is one primary-key read and a constant-time compare.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ledger_gateway.tables import ApiKey, Tenant

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "lk_"


class TenancyError(ValueError):
    """A tenant or key operation that cannot be done (unknown tenant, bad scope, …)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the key id (never the key) and what it may do."""

    tenant: str
    key_id: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    key_id: str
    tenant: str
    scopes: tuple[str, ...]


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(scopes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = [s.strip() for s in (scopes.split(",") if isinstance(scopes, str) else scopes) if s.strip()]
    bad = [s for s in items if s not in SCOPES]
    if bad or not items:
        raise TenancyError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(items) or 'none'}")
    return tuple(s for s in SCOPES if s in items)


def create_tenant(engine: Engine, name: str, *, now: datetime | None = None) -> tuple[Tenant, IssuedKey]:
    """A new tenant and its first key, with every scope."""
    name = name.strip()
    if not name or len(name) > 200:
        raise TenancyError("a tenant needs a name of 1-200 characters")
    with Session(engine) as session:
        tenant = Tenant(id="t" + secrets.token_hex(5), name=name, created_at=now or _now())
        session.add(tenant)
        session.commit()
        session.refresh(tenant)
    issued = create_key(engine, tenant.id, SCOPES, label="admin (created with the tenant)", now=now)
    return tenant, issued


def create_key(engine: Engine, tenant: str, scopes: str | list[str] | tuple[str, ...] = ("read", "write"),
               *, label: str = "", now: datetime | None = None) -> IssuedKey:
    scopes = parse_scopes(scopes)
    with Session(engine) as session:
        if session.get(Tenant, tenant) is None:
            raise TenancyError(f"no tenant {tenant!r}")
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        session.add(ApiKey(id=key_id, tenant_id=tenant, secret_sha256=_hash(key), scopes=",".join(scopes),
                           label=label[:200], created_at=now or _now()))
        session.commit()
    return IssuedKey(key, key_id, tenant, scopes)


def revoke_key(engine: Engine, key_id: str, *, now: datetime | None = None) -> bool:
    """Revoke by key id (or by the key itself); False when there is no such key."""
    key_id = key_id_of(key_id) or key_id
    with Session(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = now or _now()
            session.add(row)
            session.commit()
        return True


def list_tenants(engine: Engine) -> list[Tenant]:
    with Session(engine) as session:
        return list(session.exec(select(Tenant).order_by(col(Tenant.created_at))))


def list_keys(engine: Engine, tenant: str | None = None) -> list[ApiKey]:
    with Session(engine) as session:
        query = select(ApiKey).order_by(col(ApiKey.created_at))
        if tenant:
            query = query.where(ApiKey.tenant_id == tenant)
        return list(session.exec(query))


def key_id_of(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX):].partition("_")
    if not sep or not secret or len(key_id) != 12:
        return None
    return key_id


def authenticate(engine: Engine, key: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, wrong secret, revoked)."""
    key_id = key_id_of(key)
    if key_id is None:
        return None
    with Session(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _hash(key)):
            return None
        return Principal(row.tenant_id, row.id, frozenset(row.scopes.split(",")))

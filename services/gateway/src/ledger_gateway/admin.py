"""The gateway's admin library: tenants and API keys for operators' tools (the ``ledger`` command line).

The gateway owns its tables; nothing else writes them. A tool that must create a tenant or a key
before any key exists (so before the HTTP API can be asked) calls these functions with the
gateway's database URL: they bring the tables to the newest revision and go through the same
tenancy code the API authenticates with. Results are plain records, never table rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger_gateway import tenancy
from ledger_gateway.database import migrate
from ledger_gateway.tenancy import SCOPES, IssuedKey, TenancyError

__all__ = ["SCOPES", "IssuedKey", "KeyRecord", "TenancyError", "TenantRecord", "create_key", "create_tenant",
           "list_keys", "list_tenants", "revoke_key", "tenant_exists"]


@dataclass(frozen=True)
class TenantRecord:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class KeyRecord:
    """A key as an operator may see it: never the key or its hash."""

    id: str
    tenant: str
    scopes: tuple[str, ...]
    label: str
    created_at: datetime
    revoked_at: datetime | None


def create_tenant(database_url: str, name: str) -> tuple[TenantRecord, IssuedKey]:
    """A new tenant and its first key with every scope; the key is in the result only, never stored."""
    tenant, issued = tenancy.create_tenant(migrate(database_url), name)
    return TenantRecord(tenant.id, tenant.name, tenant.created_at), issued


def list_tenants(database_url: str) -> list[TenantRecord]:
    return [TenantRecord(t.id, t.name, t.created_at) for t in tenancy.list_tenants(migrate(database_url))]


def tenant_exists(database_url: str, tenant: str) -> bool:
    return any(t.id == tenant for t in list_tenants(database_url))


def create_key(database_url: str, tenant: str, scopes: Sequence[str], *, label: str = "") -> IssuedKey:
    """A new key for an existing tenant; :class:`TenancyError` for an unknown tenant or scope."""
    return tenancy.create_key(migrate(database_url), tenant, list(scopes), label=label)


def revoke_key(database_url: str, key_id: str) -> bool:
    """Revoke by key id (or by the key itself) at once; False when there is no such key."""
    return tenancy.revoke_key(migrate(database_url), key_id)


def list_keys(database_url: str, tenant: str | None = None) -> list[KeyRecord]:
    return [KeyRecord(k.id, k.tenant_id, tuple(k.scopes.split(",")) if k.scopes else (), k.label, k.created_at,
                      k.revoked_at) for k in tenancy.list_keys(migrate(database_url), tenant)]

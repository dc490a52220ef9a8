"""The gateway's own tables: tenants, their API keys (hashed), idempotency records.

Prefixed ``gateway_`` because they share LEDGER_DATABASE_URL with the other services.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


class Tenant(SQLModel, table=True):
    __tablename__ = "gateway_tenants"

    id: str = Field(primary_key=True, max_length=32)  # a subject token: "t" + 10 hex
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ApiKey(SQLModel, table=True):
    """An API key: only its SHA-256 is stored; ``id`` (in the key's text) finds the row."""

    __tablename__ = "gateway_api_keys"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="gateway_tenants.id", index=True, max_length=32)
    secret_sha256: str = Field(max_length=64)
    scopes: str = Field(max_length=100)  # comma-separated: read,write,admin
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class IdempotencyRecord(SQLModel, table=True):
    """(tenant, Idempotency-Key) within its retention window: the command id every request with the key
    sends, and once a request succeeded, its answer and the hash of the body it answered.

    ``status`` and ``response`` are empty while no answer is stored (a reservation). ``created_at`` is
    the first use of the key, on the gateway's clock: the window runs from it, and the expiry sweep
    walks its index.
    """

    __tablename__ = "gateway_idempotency"
    __table_args__ = (Index("ix_gateway_idempotency_created", "created_at"),)

    tenant_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=255)
    command_id: str = Field(max_length=255)
    body_sha256: str = Field(max_length=64)
    status: int | None = Field(default=None, nullable=True)
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FeedToken(SQLModel, table=True):
    """A calendar-feed token: read-only, revocable, unguessable; only its SHA-256 is stored.

    ``companies`` limits the feed to those USCCs (null: every company of the tenant)."""

    __tablename__ = "gateway_feed_tokens"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="gateway_tenants.id", index=True, max_length=32)
    token_sha256: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    companies: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ConsoleSession(SQLModel, table=True):
    """A web-console session (控制台会话): made from an API key at /app/login, held in an HttpOnly cookie.

    The browser holds only a random token; this row holds its SHA-256, the key's id (never the key) and
    the form token (CSRF). The key is checked again on every request, so revoking it ends the session.
    """

    __tablename__ = "gateway_console_sessions"

    token_sha256: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="gateway_tenants.id", index=True, max_length=32)
    key_id: str = Field(foreign_key="gateway_api_keys.id", max_length=32)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))

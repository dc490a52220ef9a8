"""Calendar-feed tokens: calendar apps cannot send headers, so the URL itself is the (read-only) credential.

A token is ``fd_<id>_<secret>``; only its SHA-256 is stored, the id finds the row, and
revoking it ends the feed at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ledger_gateway.tables import FeedToken, Tenant

PREFIX = "fd_"


@dataclass(frozen=True)
class FeedOwner:
    tenant: str
    tenant_name: str
    companies: list[str] | None = None  # None: every company of the tenant


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def view(row: FeedToken) -> dict:
    return {"id": row.id, "label": row.label, "companies": row.companies, "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


def create_feed_token(engine: Engine, tenant: str, label: str = "",
                      companies: list[str] | None = None) -> tuple[dict, str]:
    """A new token; ``companies`` (checked by the caller to be the tenant's) limits its feed."""
    with Session(engine) as session:
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(24)}"
        row = FeedToken(id=token_id, tenant_id=tenant, token_sha256=_hash(token), label=label[:200],
                        companies=companies, created_at=datetime.now(UTC))
        session.add(row)
        session.commit()
        session.refresh(row)
        return view(row), token


def list_feed_tokens(engine: Engine, tenant: str) -> list[dict]:
    with Session(engine) as session:
        rows = session.exec(select(FeedToken).where(FeedToken.tenant_id == tenant).order_by(col(FeedToken.created_at)))
        return [view(r) for r in rows]


def revoke_feed_token(engine: Engine, tenant: str, token_id: str) -> dict | None:
    """None when the tenant has no such token (another tenant's token is not found either)."""
    with Session(engine) as session:
        row = session.get(FeedToken, token_id)
        if row is None or row.tenant_id != tenant:
            return None
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            session.commit()
            session.refresh(row)
        return view(row)


def resolve(engine: Engine, token: str) -> FeedOwner | None:
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX):].partition("_")
    if not sep or not secret or len(token_id) != 12:
        return None
    with Session(engine) as session:
        row = session.get(FeedToken, token_id)
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, _hash(token)):
            return None
        tenant = session.get(Tenant, row.tenant_id)
        return FeedOwner(row.tenant_id, tenant.name if tenant else row.tenant_id, row.companies)

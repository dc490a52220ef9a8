"""Console sessions (控制台会话): an API key presented once at login becomes a server-side session.

The browser keeps a random token in an HttpOnly, SameSite=Strict cookie and never the key. The row keeps
the token's SHA-256, the key's id and a per-session form token (CSRF). Each request re-checks the key,
so revoking it ends every session made from it. A session ends at logout, after ``IDLE`` without a
request, or ``LIFETIME`` after login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from ledger_gateway.tables import ApiKey, ConsoleSession
from ledger_gateway.tenancy import Principal, authenticate

COOKIE = "ledger_session"
LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)  # seen_at is written at most this often (a page load must not always write)


@dataclass(frozen=True)
class ConsoleUser:
    """Who is looking: the key's principal and the session's form token."""

    principal: Principal
    csrf: str

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    def may(self, scope: str) -> bool:
        return self.principal.may(scope)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite drops the offset


def open_session(engine: Engine, key: str, now: datetime) -> tuple[str, ConsoleUser] | None:
    """A new session for a valid key: (cookie token, user); None for an unknown or revoked key."""
    who = authenticate(engine, key.strip())
    if who is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with Session(engine) as session:
        session.add(ConsoleSession(token_sha256=_hash(token), tenant_id=who.tenant, key_id=who.key_id, csrf=csrf,
                                   created_at=now, seen_at=now, expires_at=now + LIFETIME))
        session.commit()
    return token, ConsoleUser(who, csrf)


def find_session(engine: Engine, token: str | None, now: datetime) -> ConsoleUser | None:
    """The session's user, or None (no cookie, unknown, expired, idle too long, key revoked)."""
    if not token or len(token) > 200:
        return None
    with Session(engine) as session:
        row = session.get(ConsoleSession, _hash(token))
        if row is None:
            return None
        key = session.get(ApiKey, row.key_id)
        if (key is None or key.revoked_at is not None or _aware(row.expires_at) <= now
                or _aware(row.seen_at) + IDLE <= now):
            session.delete(row)
            session.commit()
            return None
        if now - _aware(row.seen_at) >= TOUCH_EVERY:
            row.seen_at = now
            session.add(row)
            session.commit()
        return ConsoleUser(Principal(row.tenant_id, row.key_id, frozenset(key.scopes.split(","))), row.csrf)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with Session(engine) as session:
            session.exec(delete(ConsoleSession).where(col(ConsoleSession.token_sha256) == _hash(token)))
            session.commit()


def forget_expired(engine: Engine, now: datetime) -> int:
    """Delete sessions past their lifetime (the retention sweep calls this)."""
    with Session(engine) as session:
        result = session.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= now))
        session.commit()
        return result.rowcount or 0


def form_token_ok(user: ConsoleUser, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(user.csrf, presented or "")

"""The notifier's own tables (sqlmodel): subscriptions, the alerts it has taken in, deliveries, attempts.

Everything carries the ``notifier_`` prefix: the projector and the gateway keep their
tables in the same database. ``Delivery`` has a unique key (alert_id, subscription_id),
which is what makes an alert reach each subscriber once however often it is redelivered —
and a digest (catch-up, daily) is an alert of the notifier's own with a deterministic id, so
the same key makes it go once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from ledger_readmodel.instants import UtcInstant  # the migrations import it from here
from sqlmodel import Field, SQLModel

PREFIX = "notifier_"


def _instant(**kw: Any) -> Any:
    return Field(sa_type=UtcInstant, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=sa.JSON, **kw)


class Subscription(SQLModel, table=True):
    """Who wants which alerts, and how. ``secret`` signs webhooks; it is never logged or listed.

    ``secret`` is stored sealed (``sealed:v1:<key id>:…``, :mod:`ledger_notifier.sealed_secrets`),
    ~125 characters in an unbounded VARCHAR; a plain ``whsec_`` one from before sealing lasts until
    the next start-up. ``command_id`` is forgotten (set to null) when it is reused after its window.
    """

    __tablename__ = PREFIX + "subscriptions"
    __table_args__ = (sa.Index("ix_notifier_subscriptions_tenant", "tenant", "state"),
                      sa.UniqueConstraint("tenant", "command_id", name="uq_notifier_subscriptions_command"))
    id: str = Field(primary_key=True)
    tenant: str
    channel: str  # webhook | email | nats
    target: str
    companies: list = _json()  # ["*"] or USCCs
    types: list | None = _json(default=None)  # None: every alert type
    min_severity: str = "info"
    recipients: list | None = _json(default=None)  # e-mail: the addresses, when given as a list
    delivery: str = "immediate"  # immediate | daily (held, then one digest a day at the tenant's hour)
    catch_up: str | None = None  # pending: today's work still to be sent once; sent | nothing_due after
    secret: str | None = None
    state: str = "active"  # active | disabled | deleted
    state_reason: str | None = None
    command_id: str | None = None
    request_digest: str | None = None
    created_at: datetime = _instant()
    changed_at: datetime = _instant()


class ReceivedAlert(SQLModel, table=True):
    """An alert taken in from ALERTS; its presence means it was matched (redelivery is a no-op)."""

    __tablename__ = PREFIX + "alerts"
    alert_id: str = Field(primary_key=True)
    tenant: str
    company: str
    type: str
    severity: str
    event: dict = _json()
    stream_sequence: int
    received_at: datetime = _instant()


class Delivery(SQLModel, table=True):
    """One alert for one subscription: delivered from here, retried on the spec's schedule."""

    __tablename__ = PREFIX + "deliveries"
    __table_args__ = (sa.UniqueConstraint("alert_id", "subscription_id", name="uq_notifier_deliveries_once"),
                      sa.Index("ix_notifier_deliveries_due", "status", "next_attempt_at"),
                      sa.Index("ix_notifier_deliveries_subscription", "subscription_id", "created_at"))
    id: str = Field(primary_key=True)
    alert_id: str
    subscription_id: str
    tenant: str
    channel: str
    status: str = "pending"  # pending | succeeded | failed | cancelled | held | digested
    attempts: int = 0  # all attempts, replays included
    step: int = 0  # position on the retry schedule since the last (re)start
    replays: int = 0
    next_attempt_at: datetime | None = _instant(default=None)
    lease_until: float | None = None  # wall-clock seconds: an instance is sending it now
    created_at: datetime = _instant()
    delivered_at: datetime | None = _instant(default=None)
    last_status_code: int | None = None
    last_error: str | None = None
    digest_id: str | None = None  # a digested delivery: the delivery of the daily digest that carried it


class TenantSettings(SQLModel, table=True):
    """A tenant's delivery settings: the local hour (Asia/Shanghai) its daily digests go out."""

    __tablename__ = PREFIX + "tenant_settings"
    tenant: str = Field(primary_key=True)
    digest_hour: int = 9
    changed_at: datetime = _instant()


class Attempt(SQLModel, table=True):
    """The delivery log: one row per attempt (status, latency, error)."""

    __tablename__ = PREFIX + "attempts"
    __table_args__ = (sa.Index("ix_notifier_attempts_delivery", "delivery_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str
    number: int
    at: datetime = _instant()
    outcome: str  # succeeded | retry | failed | disabled
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    replay: bool = False

"""The notifier's persistence: subscriptions, alerts taken in, deliveries and their attempt log.

Synchronous (called through ``asyncio.to_thread``); every method is one transaction.
``take_in`` records an alert and its deliveries together — the caller acks the JetStream
message only after it returns — and the unique key (alert_id, subscription_id) makes a
redelivered alert change nothing. Webhook signing secrets are stored sealed (:mod:`sealed_secrets`):
they are sealed here on the way in and opened here on the way out, and nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from ledger_kernel.clock import SHANGHAI
from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from ledger_notifier import digests
from ledger_notifier.alerts import Alert, parse_alert
from ledger_notifier.sealed_secrets import SealedSecretError, SecretBox
from ledger_notifier.subscriptions import SubscriptionSpec, matches
from ledger_notifier.tables import Attempt, Delivery, ReceivedAlert, Subscription, TenantSettings
from ledger_notifier.webhook import Outcome, new_secret


def delivery_id_for(alert_id: str, subscription_id: str) -> str:
    """Deterministic: one (alert, subscription) pair is one delivery, whoever computes it."""
    return "dlv_" + hashlib.sha256(f"{alert_id}\n{subscription_id}".encode()).hexdigest()[:24]


def subscription_id_for(tenant: str, command_id: str | None, created_at: datetime) -> str:
    """Two racing requests with one command id make one id; the key reused after its window, another."""
    if command_id:
        seed = f"{tenant}\n{command_id}\n{created_at.isoformat()}"
        return "sub_" + hashlib.sha256(seed.encode()).hexdigest()[:24]
    return "sub_" + secrets.token_hex(12)


def request_digest(spec: SubscriptionSpec) -> str:
    return hashlib.sha256(json.dumps(spec.as_dict(), sort_keys=True).encode()).hexdigest()


def encode_token(created_at: datetime, ident: str) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[datetime, str]:
    """The keyset position in an opaque page token; ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, ident = json.loads(raw)
        return datetime.fromisoformat(at), str(ident)
    except Exception as exc:  # any garbage is the same error to the caller
        raise ValueError("invalid page_token") from exc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def subscription_view(sub: Subscription) -> dict[str, Any]:
    """What a tenant may see of a subscription (never the secret)."""
    return {"id": sub.id, "channel": sub.channel, "target": sub.recipients or sub.target,
            "companies": sub.companies, "types": sub.types, "min_severity": sub.min_severity,
            "delivery": sub.delivery, "catch_up": sub.catch_up, "state": sub.state,
            "state_reason": sub.state_reason, "created_at": _iso(sub.created_at)}


def delivery_view(d: Delivery, alert: ReceivedAlert | None, attempts: list[Attempt]) -> dict[str, Any]:
    return {"id": d.id, "subscription_id": d.subscription_id, "alert_id": d.alert_id, "channel": d.channel,
            "alert_type": alert.type if alert else None, "company": alert.company if alert else None,
            "status": d.status, "attempts": d.attempts, "replays": d.replays,
            "next_attempt_at": _iso(d.next_attempt_at) if d.status == "pending" else None,
            "delivered_at": _iso(d.delivered_at), "last_status_code": d.last_status_code,
            "last_error": d.last_error, "digest_id": d.digest_id, "created_at": _iso(d.created_at),
            "log": [{"number": a.number, "at": _iso(a.at), "outcome": a.outcome, "status_code": a.status_code,
                     "latency_ms": a.latency_ms, "error": a.error, "replay": a.replay} for a in attempts]}


@dataclass(frozen=True)
class Created:
    view: dict[str, Any]
    secret: str | None
    replayed: bool


class IdempotencyMismatch(Exception):
    """The command id was used before for a different subscription."""


class NotFound(Exception):
    pass


class Inactive(Exception):
    """The delivery's subscription is disabled or deleted."""


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with everything needed to attempt it outside a transaction."""

    delivery_id: str
    subscription_id: str
    channel: str
    target: str
    secret: str | None
    step: int
    attempts: int
    replays: int
    lease_until: float
    alert_event: dict[str, Any]
    secret_error: str | None = None  # the signing secret did not open: the attempt fails with this reason
    recipients: tuple[str, ...] = ()  # e-mail: every address (target alone when empty)


@dataclass(frozen=True)
class PendingCatchUp:
    """A subscription whose catch-up digest has not been made yet."""

    subscription_id: str
    tenant: str
    companies: list[str]
    types: list[str] | None
    min_severity: str = "info"


DEFAULT_DIGEST_HOUR = 9  # 09:00 Asia/Shanghai, when a tenant has not chosen


def digest_instant(day: date, hour: int) -> datetime:
    """The instant of ``day``'s digest: ``hour`` o'clock in Asia/Shanghai."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Resealed:
    """What the start-up pass did: plain or old-key secrets sealed afresh, and those it could not open."""

    sealed: int
    unopened: dict[str, str]  # subscription id -> why (a key id at most, never material)


class Records:
    def __init__(self, engine: Engine, box: SecretBox, *,
                 idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL) -> None:
        self.engine = engine
        self.box = box
        self.idempotency_ttl = idempotency_ttl

    # --- subscriptions -------------------------------------------------------------------

    def create_subscription(self, tenant: str, spec: SubscriptionSpec, now: datetime,
                            command_id: str | None = None) -> Created:
        """A new subscription; or, for a command id used within its window, the first answer again.

        Two racing requests with one command id: the unique key (tenant, command_id) lets one in,
        and the other, looking again, finds it and answers as a replay.
        """
        try:
            return self._create(tenant, spec, now, command_id)
        except sa.exc.IntegrityError:
            if not command_id:
                raise
            return self._create(tenant, spec, now, command_id)

    def _create(self, tenant: str, spec: SubscriptionSpec, now: datetime, command_id: str | None) -> Created:
        digest = request_digest(spec)
        with Session(self.engine) as s, s.begin():
            if command_id:
                prior = s.exec(select(Subscription).where(Subscription.tenant == tenant,
                                                          Subscription.command_id == command_id)).first()
                if prior is not None and now < prior.created_at + self.idempotency_ttl:
                    if prior.request_digest != digest:
                        raise IdempotencyMismatch(command_id)
                    # The first answer may never have reached the caller: give the same one again.
                    secret = self.box.open(prior.secret, prior.id) if prior.secret else None
                    return Created(subscription_view(prior), secret, True)
                if prior is not None:  # the key's window has passed: forget the key, keep the subscription
                    prior.command_id = prior.request_digest = None
                    s.add(prior)
                    s.flush()
            sub_id = subscription_id_for(tenant, command_id, now)
            secret = new_secret() if spec.channel == "webhook" else None
            sub = Subscription(id=sub_id, tenant=tenant, channel=spec.channel, target=spec.target,
                               companies=spec.companies, types=spec.types, min_severity=spec.min_severity,
                               recipients=spec.recipients, delivery=spec.delivery,
                               catch_up="pending" if spec.catch_up else None,
                               secret=self.box.seal(secret, sub_id) if secret else None,
                               command_id=command_id, request_digest=digest, created_at=now, changed_at=now)
            s.add(sub)
            s.flush()
            return Created(subscription_view(sub), secret, False)

    def reseal_secrets(self) -> Resealed:
        """Seal plain secrets (rows from before sealing) and re-seal old-key ones under the current key.

        One transaction; idempotent. A row is written only if its secret is still what was read,
        so a subscription deleted meanwhile keeps no secret. Secrets that do not open are left as
        they are (their deliveries fail with the reason) and reported.
        """
        sealed, unopened = 0, {}
        with Session(self.engine) as s, s.begin():
            rows = s.exec(select(Subscription.id, Subscription.secret).where(
                col(Subscription.secret).is_not(None),
                sa.not_(col(Subscription.secret).startswith(self.box.current_prefix, autoescape=True)))).all()
            for sub_id, stored in rows:
                if stored is None:  # the query above asked for secrets only
                    continue
                try:
                    fresh = self.box.reseal(stored, sub_id)
                except SealedSecretError as exc:
                    unopened[sub_id] = str(exc)
                    continue
                if fresh is not None:
                    written = s.execute(sa.update(Subscription).where(col(Subscription.id) == sub_id,
                                                                      col(Subscription.secret) == stored)
                                        .values(secret=fresh))
                    sealed += cast(CursorResult[Any], written).rowcount  # what an UPDATE returns
        return Resealed(sealed, unopened)

    def _visible(self, s: Session, tenant: str, subscription_id: str) -> Subscription:
        sub = s.get(Subscription, subscription_id) if isinstance(subscription_id, str) else None
        if sub is None or sub.tenant != tenant or sub.state == "deleted":
            raise NotFound(subscription_id)
        return sub

    def get_subscription(self, tenant: str, subscription_id: str) -> dict[str, Any]:
        with Session(self.engine) as s:
            return subscription_view(self._visible(s, tenant, subscription_id))

    def list_subscriptions(self, tenant: str, page_size: int, page_token: str | None) -> dict[str, Any]:
        with Session(self.engine) as s:
            q = select(Subscription).where(Subscription.tenant == tenant, Subscription.state != "deleted")
            if page_token:
                at, ident = decode_token(page_token)
                q = q.where(sa.or_(col(Subscription.created_at) > at,
                                   sa.and_(col(Subscription.created_at) == at, col(Subscription.id) > ident)))
            rows = s.exec(q.order_by(col(Subscription.created_at), col(Subscription.id)).limit(page_size + 1)).all()
            more = len(rows) > page_size
            rows = rows[:page_size]
            return {"items": [subscription_view(r) for r in rows],
                    "next_page_token": encode_token(rows[-1].created_at, rows[-1].id) if more else None}

    def delete_subscription(self, tenant: str, subscription_id: str, now: datetime) -> dict[str, Any]:
        """Soft delete: the delivery log stays for audit, pending deliveries are cancelled, the secret is dropped."""
        with Session(self.engine) as s, s.begin():
            sub = self._visible(s, tenant, subscription_id)
            sub.state, sub.state_reason, sub.changed_at, sub.secret = "deleted", "deleted by the tenant", now, None
            s.add(sub)
            s.execute(sa.update(Delivery).where(col(Delivery.subscription_id) == sub.id,
                                                col(Delivery.status).in_(("pending", "held")))
                   .values(status="cancelled", last_error="subscription deleted"))
            return {"id": sub.id, "deleted": True}

    # --- deliveries (reads and replay) ------------------------------------------------------

    def _attempts(self, s: Session, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = {i: [] for i in delivery_ids}
        if delivery_ids:
            for a in s.exec(select(Attempt).where(col(Attempt.delivery_id).in_(delivery_ids))
                            .order_by(col(Attempt.delivery_id), col(Attempt.number))).all():
                out[a.delivery_id].append(a)
        return out

    def list_deliveries(self, tenant: str, subscription_id: str, page_size: int, page_token: str | None,
                        status: str | None = None) -> dict[str, Any]:
        with Session(self.engine) as s:
            self._visible(s, tenant, subscription_id)
            q = select(Delivery, ReceivedAlert).join(ReceivedAlert, col(ReceivedAlert.alert_id) == col(Delivery.alert_id),
                                                     isouter=True).where(Delivery.subscription_id == subscription_id)
            if status:
                q = q.where(Delivery.status == status)
            if page_token:
                at, ident = decode_token(page_token)
                q = q.where(sa.or_(col(Delivery.created_at) > at, sa.and_(col(Delivery.created_at) == at, col(Delivery.id) > ident)))
            rows = s.exec(q.order_by(col(Delivery.created_at), col(Delivery.id)).limit(page_size + 1)).all()
            more = len(rows) > page_size
            rows = rows[:page_size]
            logs = self._attempts(s, [d.id for d, _ in rows])
            return {"items": [delivery_view(d, a, logs[d.id]) for d, a in rows],
                    "next_page_token": encode_token(rows[-1][0].created_at, rows[-1][0].id) if more else None}

    def _visible_delivery(self, s: Session, tenant: str, delivery_id: str) -> Delivery:
        d = s.get(Delivery, delivery_id) if isinstance(delivery_id, str) else None
        if d is None or d.tenant != tenant:
            raise NotFound(delivery_id)
        sub = s.get(Subscription, d.subscription_id)
        if sub is None or sub.state == "deleted":
            raise NotFound(delivery_id)
        return d

    def get_delivery(self, tenant: str, delivery_id: str) -> dict[str, Any]:
        with Session(self.engine) as s:
            d = self._visible_delivery(s, tenant, delivery_id)
            return delivery_view(d, s.get(ReceivedAlert, d.alert_id), self._attempts(s, [d.id])[d.id])

    def replay(self, tenant: str, delivery_id: str, now: datetime) -> dict[str, Any]:
        """Send the delivery again from the start of the schedule (same webhook-id)."""
        with Session(self.engine) as s, s.begin():
            d = self._visible_delivery(s, tenant, delivery_id)
            sub = s.get(Subscription, d.subscription_id)
            if sub is None or sub.state != "active":  # a delivery's subscription is only ever soft-deleted
                raise Inactive(sub.state if sub is not None else "deleted")
            if d.status != "pending":
                d.step = 0
            d.status, d.replays, d.next_attempt_at, d.lease_until = "pending", d.replays + 1, now, None
            s.add(d)
            s.flush()
            return delivery_view(d, s.get(ReceivedAlert, d.alert_id), self._attempts(s, [d.id])[d.id])

    # --- intake ----------------------------------------------------------------------------

    def take_in(self, batch: list[tuple[Alert, int]], now: datetime) -> int:
        """Record new alerts and one delivery per matching subscription; returns deliveries created.

        An alert already recorded was already matched: it is skipped whole, so a redelivery
        (crash before the ack) neither duplicates nor re-matches against newer subscriptions.
        """
        created = 0
        with Session(self.engine) as s, s.begin():
            ids = [a.id for a, _ in batch]
            known = set(s.exec(select(col(ReceivedAlert.alert_id)).where(col(ReceivedAlert.alert_id).in_(ids))).all())
            tenants = {a.tenant for a, _ in batch if a.id not in known}
            subs = s.exec(select(Subscription).where(col(Subscription.tenant).in_(tenants),
                                                     Subscription.state == "active")).all() if tenants else []
            for alert, stream_seq in batch:
                if alert.id in known:
                    continue
                known.add(alert.id)
                s.add(ReceivedAlert(alert_id=alert.id, tenant=alert.tenant, company=alert.company, type=alert.type,
                                    severity=alert.severity, event=alert.event, stream_sequence=stream_seq,
                                    received_at=now))
                for sub in subs:
                    if matches(tenant=sub.tenant, companies=sub.companies, types=sub.types,
                               min_severity=sub.min_severity, alert=alert):
                        daily = sub.delivery == "daily"  # held for the day's digest
                        s.add(Delivery(id=delivery_id_for(alert.id, sub.id), alert_id=alert.id,
                                       subscription_id=sub.id, tenant=sub.tenant, channel=sub.channel,
                                       status="held" if daily else "pending", next_attempt_at=None if daily else now,
                                       created_at=now))
                        created += 1
        return created

    # --- dispatch --------------------------------------------------------------------------

    def claim_due(self, now: datetime, wall: float, lease_seconds: float, limit: int,
                  exclude: set[str]) -> list[Job]:
        """Lease up to ``limit`` deliveries that are due; cancel those whose subscription went away."""
        if limit <= 0:
            return []
        with Session(self.engine) as s, s.begin():
            q = (select(Delivery).where(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now,
                                        sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < wall))
                 .order_by(col(Delivery.next_attempt_at)).limit(limit + len(exclude)))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            jobs: list[Job] = []
            for d in s.exec(q).all():
                if d.id in exclude or len(jobs) >= limit:
                    continue
                sub = s.get(Subscription, d.subscription_id)
                alert = s.get(ReceivedAlert, d.alert_id)
                if sub is None or sub.state != "active" or alert is None:
                    d.status, d.last_error = "cancelled", f"subscription {sub.state if sub else 'missing'}"
                    s.add(d)
                    continue
                d.lease_until = wall + lease_seconds
                s.add(d)
                secret, why = self._signing_secret(sub)
                jobs.append(Job(d.id, sub.id, sub.channel, sub.target, secret, d.step, d.attempts, d.replays,
                                d.lease_until, alert.event, why, tuple(sub.recipients or ())))
            return jobs

    def _signing_secret(self, sub: Subscription) -> tuple[str | None, str | None]:
        """The opened secret, or why it did not open (that subscription's attempts fail, no one else's)."""
        if not sub.secret:
            return None, None
        try:
            return self.box.open(sub.secret, sub.id), None
        except SealedSecretError as exc:
            return None, f"cannot open the signing secret: {exc}"

    def record_attempt(self, job: Job, outcome: Outcome, now: datetime, next_at: datetime | None) -> str:
        """The attempt, in the log and on the delivery, in one transaction; returns the new status."""
        with Session(self.engine) as s, s.begin():
            d = s.get(Delivery, job.delivery_id)
            if d is None or d.status != "pending":
                return d.status if d else "missing"
            number = d.attempts + 1
            if outcome.succeeded:
                status, result = "succeeded", "succeeded"
            elif outcome.disable:
                status, result = "failed", "disabled"
            elif outcome.retry and next_at is not None:
                status, result = "pending", "retry"
            else:
                status, result = "failed", "failed"
            s.add(Attempt(delivery_id=d.id, number=number, at=now, outcome=result, status_code=outcome.status_code,
                          latency_ms=outcome.latency_ms, error=outcome.error, replay=d.replays > 0))
            d.attempts, d.step, d.status, d.lease_until = number, d.step + 1, status, None
            d.last_status_code, d.last_error = outcome.status_code, outcome.error
            d.next_attempt_at = next_at if status == "pending" else d.next_attempt_at
            if outcome.succeeded:
                d.delivered_at = now
            s.add(d)
            if outcome.disable:
                sub = s.get(Subscription, d.subscription_id)
                if sub is not None and sub.state == "active":
                    sub.state, sub.state_reason, sub.changed_at = "disabled", "endpoint answered 410 Gone", now
                    s.add(sub)
                s.execute(sa.update(Delivery).where(col(Delivery.subscription_id) == d.subscription_id,
                                                 col(Delivery.status) == "pending", col(Delivery.id) != d.id)
                       .values(status="cancelled", last_error="subscription disabled (410 Gone)"))
            return status

    # --- digests: catch-up and daily --------------------------------------------------------------

    def pending_catch_ups(self, limit: int = 20) -> list[PendingCatchUp]:
        with Session(self.engine) as s:
            rows = s.exec(select(Subscription).where(Subscription.catch_up == "pending",
                                                     Subscription.state == "active")
                          .order_by(col(Subscription.created_at)).limit(limit)).all()
            return [PendingCatchUp(r.id, r.tenant, list(r.companies), r.types, r.min_severity) for r in rows]

    def record_catch_up(self, subscription_id: str, event: dict[str, Any] | None, now: datetime) -> bool:
        """The catch-up digest and its delivery, and the subscription marked, in one transaction: made once,
        whoever else (another instance, a pass after a restart) tries too. False: it was made already."""
        with Session(self.engine) as s, s.begin():
            sub = s.get(Subscription, subscription_id)
            if sub is None or sub.catch_up != "pending":
                return False
            sub.catch_up = "sent" if event is not None else "nothing_due"
            s.add(sub)
            if event is not None and sub.state == "active":
                self._add_digest(s, sub, event, now)
            return True

    def _add_digest(self, s: Session, sub: Subscription, event: dict[str, Any], now: datetime) -> str:
        alert = digests.as_alert(event)
        if s.get(ReceivedAlert, alert.id) is None:
            s.add(ReceivedAlert(alert_id=alert.id, tenant=alert.tenant, company=alert.company, type=alert.type,
                                severity=alert.severity, event=event, stream_sequence=0, received_at=now))
        delivery_id = delivery_id_for(alert.id, sub.id)
        s.add(Delivery(id=delivery_id, alert_id=alert.id, subscription_id=sub.id, tenant=sub.tenant,
                       channel=sub.channel, next_attempt_at=now, created_at=now))
        return delivery_id

    def digest_hour(self, tenant: str) -> int:
        with Session(self.engine) as s:
            row = s.get(TenantSettings, tenant)
            return row.digest_hour if row else DEFAULT_DIGEST_HOUR

    def tenant_settings(self, tenant: str) -> dict[str, Any]:
        with Session(self.engine) as s:
            row = s.get(TenantSettings, tenant)
            return {"digest_hour": row.digest_hour if row else DEFAULT_DIGEST_HOUR, "time_zone": "Asia/Shanghai",
                    "changed_at": _iso(row.changed_at) if row else None}

    def set_tenant_settings(self, tenant: str, digest_hour: int, now: datetime) -> dict[str, Any]:
        with Session(self.engine) as s, s.begin():
            row = s.get(TenantSettings, tenant) or TenantSettings(tenant=tenant, changed_at=now)
            row.digest_hour, row.changed_at = digest_hour, now
            s.add(row)
        return self.tenant_settings(tenant)

    def compose_daily_digests(self, now: datetime) -> int:
        try:
            return self._compose_daily_digests(now)
        except sa.exc.IntegrityError:  # another instance made one of them first: it is made, once
            return 0

    def _compose_daily_digests(self, now: datetime) -> int:
        """Today's digest for every daily subscription with alerts held since its last one, once its tenant's
        hour has come; returns the digests made.

        The digest of day D carries the alerts taken in up to D's hour; later ones wait for D+1. Its id is
        the subscription's and the day's, so a second pass (or a restart) on the same day makes none.
        """
        made = 0
        with Session(self.engine) as s, s.begin():
            held = s.exec(select(Delivery).where(Delivery.status == "held")
                          .order_by(col(Delivery.subscription_id), col(Delivery.created_at))).all()
            by_sub: dict[str, list[Delivery]] = {}
            for d in held:
                by_sub.setdefault(d.subscription_id, []).append(d)
            hours: dict[str, int] = {}
            for sub_id, rows in by_sub.items():
                sub = s.get(Subscription, sub_id)
                if sub is None or sub.state != "active":  # as claim_due does: they go with their subscription
                    for d in rows:
                        d.status, d.last_error = "cancelled", f"subscription {sub.state if sub else 'missing'}"
                        s.add(d)
                    continue
                if sub.tenant not in hours:
                    row = s.get(TenantSettings, sub.tenant)
                    hours[sub.tenant] = row.digest_hour if row else DEFAULT_DIGEST_HOUR
                day = now.astimezone(SHANGHAI).date()
                instant = digest_instant(day, hours[sub.tenant])
                if now < instant:
                    continue
                due = [d for d in rows if d.created_at <= instant]
                event_id = f"{sub.tenant}.daily.{sub.id}.{day.isoformat()}"
                if not due or s.get(ReceivedAlert, event_id) is not None:
                    continue
                alerts = {a.alert_id: a for a in s.exec(select(ReceivedAlert).where(
                    col(ReceivedAlert.alert_id).in_([d.alert_id for d in due]))).all()}
                event = digests.daily_event(sub.tenant, sub.id, day.isoformat(),
                                            [parse_alert(alerts[d.alert_id].event) for d in due
                                             if d.alert_id in alerts], now)
                digest_id = self._add_digest(s, sub, event, now)
                for d in due:
                    d.status, d.digest_id = "digested", digest_id
                    s.add(d)
                made += 1
        return made

    def release(self, delivery_id: str) -> None:
        """Give a lease back (shutting down mid-attempt): another pass picks the delivery up."""
        with Session(self.engine) as s, s.begin():
            s.execute(sa.update(Delivery).where(col(Delivery.id) == delivery_id, col(Delivery.status) == "pending")
                   .values(lease_until=None))

    def counts(self, tenant: str | None = None) -> dict[str, int]:
        with Session(self.engine) as s:
            q = select(Delivery.status, sa.func.count()).group_by(Delivery.status)
            if tenant:
                q = q.where(Delivery.tenant == tenant)
            return {status: n for status, n in s.exec(q).all()}

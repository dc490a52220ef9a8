"""The notifier's own settings from the environment (the kernel's Settings cover NATS and the database).

``LEDGER_WEBHOOK_ALLOW_LOOPBACK=1``  admit loopback webhook targets (tests, local development; off by default;
                                     refused with ``LEDGER_ENV=production``)
``LEDGER_WEBHOOK_ALLOW_NETWORKS``    private networks admitted as webhook targets, comma-separated CIDRs (none);
                                     loopback, link-local and metadata addresses stay refused
``LEDGER_WEBHOOK_TIMEOUT``           seconds per webhook attempt (15)
``LEDGER_NOTIFIER_CONCURRENCY``      deliveries in flight at once (32): a slow endpoint never blocks others
``LEDGER_NOTIFIER_CONSUMER``         durable consumer name on ALERTS (``notifier``)
``LEDGER_NOTIFIER_FILTER``           subject filter on ALERTS (``alerts.>``)
``LEDGER_NOTIFIER_POLL``             seconds between looks for due retries (1.0)
``LEDGER_NOTIFIER_ACK_WAIT``         seconds before JetStream redelivers an alert we fetched but did not ack (30);
                                     a redelivered alert that was already recorded changes nothing
``LEDGER_NOTIFIER_LEASE_MARGIN``     seconds a claimed delivery stays ours beyond the timeout (15): after a
                                     crash, another pass takes it over once timeout + margin have passed
``LEDGER_NOTIFIER_SECRET_KEY``       the key sealing webhook signing secrets at rest; required in production
``LEDGER_NOTIFIER_SECRET_KEYS_OLD``  older keys, for opening only (see :mod:`ledger_notifier.sealing_keys`)
``LEDGER_IDEMPOTENCY_TTL_HOURS``     how long a subscription's Idempotency-Key (``command_id``) is remembered
                                     from its first use (24; whole hours, 1-8760): the gateway's variable and
                                     window, so every key of the API expires alike. After it the key is a new
                                     request; the subscription it made stays
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL, SettingsError, idempotency_ttl

from ledger_notifier.mail import SmtpSettings
from ledger_notifier.targets import IPNetwork, allowed_networks, loopback_allowed


@dataclass(frozen=True)
class NotifierConfig:
    allow_loopback: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()
    webhook_timeout: float = 15.0
    concurrency: int = 32
    consumer: str = "notifier"
    subject_filter: str = "alerts.>"
    poll_seconds: float = 1.0
    fetch_batch: int = 64
    lease_margin: float = 15.0
    ack_wait: float = 30.0
    smtp: SmtpSettings = field(default_factory=lambda: SmtpSettings(host=None))
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL
    secret_key: str | None = field(default=None, repr=False)  # base64 text; parsed at start (sealing_keys)
    older_secret_keys: str | None = field(default=None, repr=False)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is ours: longer than any attempt can take."""
        return self.webhook_timeout + self.lease_margin

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifierConfig:
        env = dict(os.environ if env is None else env)
        if loopback_allowed(env) and env.get("LEDGER_ENV") == "production":
            raise SettingsError("LEDGER_WEBHOOK_ALLOW_LOOPBACK is for tests and development; it is refused when "
                                "LEDGER_ENV=production")
        try:
            networks = allowed_networks(env.get("LEDGER_WEBHOOK_ALLOW_NETWORKS"))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return cls(
            allow_loopback=loopback_allowed(env),
            allow_networks=networks,
            webhook_timeout=float(env.get("LEDGER_WEBHOOK_TIMEOUT") or 15.0),
            concurrency=max(1, int(env.get("LEDGER_NOTIFIER_CONCURRENCY") or 32)),
            consumer=env.get("LEDGER_NOTIFIER_CONSUMER") or "notifier",
            subject_filter=env.get("LEDGER_NOTIFIER_FILTER") or "alerts.>",
            poll_seconds=float(env.get("LEDGER_NOTIFIER_POLL") or 1.0),
            lease_margin=float(env.get("LEDGER_NOTIFIER_LEASE_MARGIN") or 15.0),
            ack_wait=float(env.get("LEDGER_NOTIFIER_ACK_WAIT") or 30.0),
            smtp=SmtpSettings.from_env(env),
            idempotency_ttl=idempotency_ttl(env.get("LEDGER_IDEMPOTENCY_TTL_HOURS")),
            secret_key=env.get("LEDGER_NOTIFIER_SECRET_KEY") or None,
            older_secret_keys=env.get("LEDGER_NOTIFIER_SECRET_KEYS_OLD") or None,
        )

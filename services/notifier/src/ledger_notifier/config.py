"""The notifier's own settings: :class:`NotifierSettings` extends the kernel's (NATS, the database).

The variables, their constraints and defaults are the fields below; docs/operations.md lists them
(generated). The sealing keys are parsed at start (:mod:`ledger_notifier.sealing_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from ledger_kernel.settings import (
    DEFAULT_IDEMPOTENCY_TTL,
    Expect,
    Flag,
    IdempotencyHours,
    Port,
    Settings,
    idempotency_ttl,
)
from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import NoDecode

from ledger_notifier.mail import SmtpSettings
from ledger_notifier.targets import IPNetwork, allowed_networks

Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False), Expect("seconds, more than 0 and at most 3600")]
DURABLE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _durable(value: Any) -> Any:
    if isinstance(value, str) and not DURABLE.match(value):
        raise ValueError("not a consumer name (letters, digits, - and _)")
    return value


def _alerts_filter(value: Any) -> Any:
    if isinstance(value, str) and (not value.startswith("alerts.") or any(c.isspace() for c in value)):
        raise ValueError("not a subject filter under alerts.")
    return value


class NotifierSettings(Settings):
    process: ClassVar[str] = "notifier"

    webhook_allow_loopback: Flag = Field(
        False, description="admit loopback webhook targets (tests, local development); refused with "
                           "LEDGER_ENV=production")
    webhook_allow_networks: Annotated[tuple[IPNetwork, ...], NoDecode, BeforeValidator(allowed_networks),
                                      Expect("CIDR networks, comma-separated")] = Field(
        (), description="private networks admitted as webhook targets; loopback, link-local and metadata "
                        "addresses stay refused")
    webhook_timeout: Seconds = Field(15.0, description="seconds per webhook attempt")
    notifier_concurrency: Annotated[int, Field(ge=1, le=10_000), Expect("an integer, 1-10000")] = Field(
        32, description="deliveries in flight at once: a slow endpoint never blocks the others")
    notifier_consumer: Annotated[str, BeforeValidator(_durable), Expect("letters, digits, - and _")] = Field(
        "notifier", description="the durable consumer's name on ALERTS")
    notifier_filter: Annotated[str, BeforeValidator(_alerts_filter), Expect("a subject filter under alerts.")] = (
        Field("alerts.>", description="the subject filter on ALERTS"))
    notifier_poll: Seconds = Field(1.0, description="seconds between looks for due retries")
    notifier_ack_wait: Seconds = Field(
        30.0, description="seconds before JetStream redelivers an alert fetched but not acked; a redelivered "
                          "alert already recorded changes nothing")
    notifier_lease_margin: Seconds = Field(
        15.0, description="seconds a claimed delivery stays ours beyond the webhook timeout: after a crash, "
                          "another pass takes it over once timeout + margin have passed")
    notifier_secret_key: Annotated[SecretStr | None, Expect("base64 of 32 random bytes")] = Field(
        None, description="the key sealing webhook signing secrets at rest; required in production")
    notifier_secret_keys_old: Annotated[SecretStr | None, Expect("base64 keys, comma-separated")] = Field(
        None, description="older sealing keys, for opening only (rotation)")
    idempotency_ttl_hours: IdempotencyHours = Field(
        24, description="how long a subscription's Idempotency-Key (command_id) is remembered from its first "
                        "use: the gateway's variable and window. After it the key is a new request")
    smtp_host: Annotated[str | None, Expect("a host name or address")] = Field(
        None, description="the SMTP relay for e-mail alerts; unset: e-mail targets are not delivered")
    smtp_port: Port = Field(25, description="the SMTP relay's port")
    smtp_from: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$"), Expect("an e-mail address")] = Field(
        "ledger@localhost", description="the sender of alert e-mails")
    smtp_user: Annotated[str | None, Expect("a user name")] = Field(None, description="SMTP login, when the relay "
                                                                                      "asks for one")
    smtp_password: Annotated[SecretStr | None, Expect("text")] = Field(
        None, description="SMTP password (never logged)")
    smtp_tls: Annotated[Literal["starttls", "require", "ssl"], Expect("starttls, require or ssl")] = Field(
        "starttls", description="starttls where the server offers it; require refuses a server that does not; "
                                "ssl for port 465")

    @model_validator(mode="after")
    def _loopback_not_in_production(self) -> NotifierSettings:
        if self.webhook_allow_loopback and self.environment == "production":
            raise ValueError("LEDGER_WEBHOOK_ALLOW_LOOPBACK is for tests and development; it is refused when "
                             "LEDGER_ENV=production 生产环境不允许回环地址的 webhook")
        return self


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
        return cls.of(NotifierSettings.from_env(env))

    @classmethod
    def of(cls, s: NotifierSettings) -> NotifierConfig:
        return cls(
            allow_loopback=s.webhook_allow_loopback,
            allow_networks=s.webhook_allow_networks,
            webhook_timeout=s.webhook_timeout,
            concurrency=s.notifier_concurrency,
            consumer=s.notifier_consumer,
            subject_filter=s.notifier_filter,
            poll_seconds=s.notifier_poll,
            lease_margin=s.notifier_lease_margin,
            ack_wait=s.notifier_ack_wait,
            smtp=SmtpSettings(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, user=s.smtp_user,
                              password=_revealed(s.smtp_password), tls=s.smtp_tls),
            idempotency_ttl=idempotency_ttl(s.idempotency_ttl_hours),
            secret_key=_revealed(s.notifier_secret_key),
            older_secret_keys=_revealed(s.notifier_secret_keys_old),
        )


def _revealed(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None

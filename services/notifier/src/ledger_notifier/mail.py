"""E-mail delivery over SMTP (stdlib smtplib in a worker thread): STARTTLS where offered.

Settings from the environment (``LEDGER_SMTP_*``, read with the notifier's settings in
:mod:`ledger_notifier.config`); the password is never logged.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ledger_notifier import digests, messages
from ledger_notifier.alerts import Alert
from ledger_notifier.webhook import Outcome


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int = 25
    sender: str = "ledger@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "starttls"
    timeout: float = 15.0


def compose(alert: Alert, sender: str, recipients: list[str], wall_now: datetime) -> EmailMessage:
    """One message to every recipient (a team's list: they see each other in To:)."""
    wording = digests if alert.type in digests.DIGEST_TYPES else messages
    message = EmailMessage()
    message["Subject"] = wording.email_subject(alert)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(wall_now)
    message["Message-ID"] = make_msgid(idstring=alert.id[:40].replace("@", "-"), domain="ledger")
    message["X-Ledger-Alert-Id"] = alert.id  # the same on every retry: mail filters may de-duplicate
    message.set_content(wording.email_body(alert), charset="utf-8")
    return message


def _send_blocking(settings: SmtpSettings, host: str, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    context = ssl.create_default_context()
    if settings.tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, settings.port, timeout=settings.timeout)
    with smtp:
        smtp.ehlo()
        if settings.tls != "ssl":
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif settings.tls == "require":
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        return smtp.send_message(message)  # the recipients refused, when some (not all) were


async def send(settings: SmtpSettings, alert: Alert, recipients: list[str], wall_now: datetime) -> Outcome:
    """One SMTP attempt: one message to every recipient. Every recipient refused is final; connection
    trouble is retried. Some refused: delivered to the others, and the log says how many were refused
    (never who: the delivery log is no place for addresses)."""
    if not settings.host:
        return Outcome(False, error="LEDGER_SMTP_HOST is not set")
    started = time.monotonic()
    try:
        refused = await asyncio.to_thread(_send_blocking, settings, settings.host,
                                          compose(alert, settings.sender, recipients, wall_now))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        final = all(500 <= c < 600 for c in codes)
        return Outcome(False, status_code=codes[0] if codes else None, error="recipient refused",
                       retry=not final, latency_ms=int((time.monotonic() - started) * 1000))
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, status_code=exc.smtp_code, error=f"SMTP {exc.smtp_code}",
                       latency_ms=int((time.monotonic() - started) * 1000))
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500],
                       latency_ms=int((time.monotonic() - started) * 1000))
    error = f"{len(refused)} of {len(recipients)} recipients refused" if refused else None
    return Outcome(True, status_code=250, latency_ms=int((time.monotonic() - started) * 1000), retry=False,
                   error=error)

"""Settings from the environment, so two stacks can run side by side on one machine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ledger_kernel.bus_keys import password_of, url_for
from ledger_kernel.connection import split_servers

DEFAULT_NATS_PORT = 4333
DEFAULT_HTTP_PORT = 8000
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_NATS_USER = "cli"


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use."""


DEFAULT_IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_TTL_HOURS = 8760  # a year: longer is a table that never shrinks, which is what the window bounds


def idempotency_ttl(raw: str | None) -> timedelta:
    """``LEDGER_IDEMPOTENCY_TTL_HOURS``: how long an Idempotency-Key is remembered from its first use.

    One reading for the gateway (facts) and the notifier (subscriptions), so every key of the API
    expires alike. Whole hours, 1-8760; empty or unset is 24 (like Stripe).
    """
    text = (raw or "").strip()
    if not text:
        return DEFAULT_IDEMPOTENCY_TTL
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_IDEMPOTENCY_TTL_HOURS:
        raise SettingsError(f"LEDGER_IDEMPOTENCY_TTL_HOURS must be whole hours from 1 to "
                            f"{MAX_IDEMPOTENCY_TTL_HOURS}, got {raw!r} "
                            f"LEDGER_IDEMPOTENCY_TTL_HOURS 必须是 1 到 {MAX_IDEMPOTENCY_TTL_HOURS} 之间的整数小时")
    return timedelta(hours=int(text))


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not 0 < value < 65536 and name.endswith("PORT"):
        raise SettingsError(f"{name} must be a TCP port (1-65535), got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where the stack keeps its data and how its parts find each other.

    ``LEDGER_HOME``         data directory (NATS store, SQLite, logs); default ``./var``
    ``LEDGER_NATS_URL``     an external NATS server; unset means the embedded one
    ``LEDGER_NATS_PORT``    port of the embedded nats-server (default 4333, not 4222)
    ``LEDGER_NATS_USER``    the embedded server's user this process connects as (default: a service's
                            own name, ``cli`` for the command line); its password is read from
                            ``LEDGER_HOME/keys/nats/<user>.password``
    ``LEDGER_DATABASE_URL`` read-model database; default SQLite under ``LEDGER_HOME``
    ``LEDGER_HTTP_PORT``    gateway port (default 8000)
    ``LEDGER_HTTP_HOST``    the address the gateway listens on (default 127.0.0.1: this machine only;
                            compose sets 0.0.0.0 so the container's published port reaches it)
    ``LEDGER_REPLICAS``     stream replicas (1 on one machine, 3 in a cluster)
    ``LEDGER_ENV``          development | test | production (a fixed clock is refused in production)
    ``LEDGER_CLOCK``        a fixed instant (ISO 8601) for development and tests only
    """

    home: Path
    nats_url: str | None
    nats_port: int
    database_url: str
    http_port: int
    replicas: int
    environment: str
    clock: str | None
    http_host: str = DEFAULT_HTTP_HOST
    nats_user: str = DEFAULT_NATS_USER

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, service: str | None = None) -> Settings:
        """``service``: the bus user a service started alone connects as on the embedded server."""
        env = os.environ if env is None else env
        home = Path(env.get("LEDGER_HOME") or "./var").expanduser().resolve()
        environment = env.get("LEDGER_ENV", "development")
        if environment not in ("development", "test", "production"):
            raise SettingsError(f"LEDGER_ENV must be development, test or production, got {environment!r}")
        clock = env.get("LEDGER_CLOCK") or None
        if clock and environment == "production":
            raise SettingsError("LEDGER_CLOCK (a fixed clock) is refused when LEDGER_ENV=production")
        replicas = _int(env, "LEDGER_REPLICAS", 1)
        if replicas not in (1, 3, 5):
            raise SettingsError(f"LEDGER_REPLICAS must be 1, 3 or 5, got {replicas}")
        http_host = (env.get("LEDGER_HTTP_HOST") or DEFAULT_HTTP_HOST).strip()
        if not http_host or any(c.isspace() or c in "/@?#" for c in http_host):
            raise SettingsError(f"LEDGER_HTTP_HOST must be an address or host name, got {http_host!r}")
        return cls(
            home=home,
            nats_url=env.get("LEDGER_NATS_URL") or None,
            nats_port=_int(env, "LEDGER_NATS_PORT", DEFAULT_NATS_PORT),
            database_url=env.get("LEDGER_DATABASE_URL") or f"sqlite:///{home / 'ledger.db'}",
            http_port=_int(env, "LEDGER_HTTP_PORT", DEFAULT_HTTP_PORT),
            replicas=replicas,
            environment=environment,
            clock=clock,
            http_host=http_host,
            nats_user=(env.get("LEDGER_NATS_USER") or service or DEFAULT_NATS_USER).strip(),
        )

    @property
    def embedded(self) -> bool:
        """True when this stack runs its own nats-server."""
        return self.nats_url is None

    @property
    def effective_nats_url(self) -> str:
        """``LEDGER_NATS_URL`` as given, or the embedded server with this process's user and password."""
        if self.nats_url:
            return self.nats_url
        return self.embedded_url_as(self.nats_user)

    def embedded_url_as(self, user: str) -> str:
        address = f"127.0.0.1:{self.nats_port}"
        password = password_of(self.home, user)
        return url_for(address, user, password) if password else f"nats://{address}"

    @property
    def display_nats_url(self) -> str:
        """The server's address for messages and logs: never a password."""
        return ",".join(split_servers(self.effective_nats_url)[0])

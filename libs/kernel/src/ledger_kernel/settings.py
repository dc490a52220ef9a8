"""Settings from the environment, so two stacks can run side by side on one machine.

Every ``LEDGER_*`` variable a process reads is a field of one pydantic-settings model: :class:`Settings`
holds the ones every process shares, and each process extends it with its own (the gateway's
``GatewaySettings``, the notifier's ``NotifierSettings``, the projector's ``ProjectorSettings``, the
command line's ``CliSettings``). A model is read once at start; a bad value is one :class:`SettingsError`
naming the variable, what it must be and what it was, before anything connects. Each field carries an
:class:`Expect` (the constraint in words) and a description: the table in docs/operations.md is made
from them (``infra/settings_table.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from ledger_kernel.bus_keys import password_of, url_for

DEFAULT_NATS_PORT = 4333
DEFAULT_HTTP_PORT = 8000
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_NATS_USER = "cli"
PREFIX = "LEDGER_"


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use."""


@dataclass(frozen=True)
class Expect:
    """What a variable's value must be, in words: said in the error and in the documented table."""

    text: str


def _whole(value: Any) -> Any:
    """ASCII digits only: ``int()`` would take ``1_000``, ``+5`` or other scripts' digits."""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise ValueError("not a whole number (digits 0-9 only)")
        return int(value)
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip() not in ("0", "1"):
            raise ValueError("not 0 or 1")
        return value.strip() == "1"
    return value


Whole = BeforeValidator(_whole)
Flag = Annotated[bool, BeforeValidator(_flag), Expect("0 or 1")]
Port = Annotated[int, Whole, Field(ge=1, le=65535), Expect("a TCP port, 1-65535")]
DEFAULT_IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_TTL_HOURS = 8760  # a year: longer is a table that never shrinks, which is what the window bounds
IdempotencyHours = Annotated[int, Whole, Field(ge=1, le=MAX_IDEMPOTENCY_TTL_HOURS),
                             Expect(f"whole hours, 1-{MAX_IDEMPOTENCY_TTL_HOURS}")]


def _fixed_instant(value: str | None) -> str | None:
    if value is None:
        return None
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError("needs an offset, e.g. 2026-10-20T09:00:00+08:00")
    return value


_given: ContextVar[Mapping[str, str] | None] = ContextVar("ledger_settings_env", default=None)


class _GivenEnvironment(EnvSettingsSource):
    """The environment source reading a given mapping (tests, ``ledger up`` children) instead of os.environ."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        given = _given.get()
        if given is None:
            return super()._load_env_vars()
        return parse_env_vars(dict(given), self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


S = TypeVar("S", bound="Settings")


def _sqlite_at_home(validated: dict[str, Any]) -> str:
    """The default read model: SQLite in LEDGER_HOME (``home`` is validated before ``database_url``)."""
    return f"sqlite:///{validated['home'] / 'ledger.db'}"


class Settings(BaseSettings):
    """Where the stack keeps its data and how its parts find each other: read by every process."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, case_sensitive=False, env_ignore_empty=True,
                                      extra="ignore", frozen=True, populate_by_name=True)
    process: ClassVar[str] = "every process"

    home: Annotated[Path, Expect("a directory path")] = Field(
        Path("./var"), description="data directory (NATS store, SQLite, logs, keys)")
    nats_url: Annotated[str | None, Expect("nats:// URL(s), comma-separated")] = Field(
        None, description="an external NATS server or cluster; unset means the embedded one")
    nats_port: Port = Field(DEFAULT_NATS_PORT, description="port of the embedded nats-server (4333, not 4222)")
    nats_user: Annotated[str, Expect("a bus user name")] = Field(
        DEFAULT_NATS_USER, description="the embedded server's user this process connects as (default: a "
                                       "service's own name, cli for the command line); its password is read "
                                       "from LEDGER_HOME/keys/nats/<user>.password")
    database_url: Annotated[str, Expect("an SQLAlchemy URL (sqlite:///..., postgresql://...)")] = Field(
        default_factory=_sqlite_at_home, description="the read-model database; default SQLite at LEDGER_HOME/ledger.db")
    http_port: Port = Field(DEFAULT_HTTP_PORT, description="the gateway's port (the command line calls it there)")
    http_host: Annotated[str, Expect("an address or host name")] = Field(
        DEFAULT_HTTP_HOST, description="the address the gateway listens on: this machine only unless told "
                                       "(compose sets 0.0.0.0 so the container's published port reaches it)")
    replicas: Annotated[Literal[1, 3, 5], Whole, Expect("1, 3 or 5")] = Field(
        1, description="stream replicas (1 on one machine, 3 or 5 in a cluster)")
    environment: Annotated[Literal["development", "test", "production"],
                           Expect("development, test or production")] = Field(
        "development", validation_alias="LEDGER_ENV",
        description="a fixed clock and loopback webhooks are refused in production; production keys are required")
    clock: Annotated[str | None, AfterValidator(_fixed_instant), Expect("an ISO 8601 instant with an offset")] = Field(
        None, description="a fixed instant for development and tests only (refused in production)")
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                         Expect("DEBUG, INFO, WARNING, ERROR or CRITICAL")] = Field(
        "INFO", description="the level of the process's log (JSON lines on stderr)")
    otel_console: Flag = Field(
        False, description="print trace spans on stderr (debugging; OTLP export is OTEL_EXPORTER_OTLP_ENDPOINT)")
    checkpoint_key: Annotated[SecretStr | None, Expect("base64 of 32 random bytes")] = Field(
        None, description="the projector's checkpoint signing key (Ed25519 seed); unset: the key file under "
                          "LEDGER_HOME/keys, made once outside production. The command line shows its public key")
    supervision_file: Annotated[Path | None, Expect("a file path")] = Field(
        None, description="set by `ledger up` for every service it starts: where it writes which services run "
                          "and how often each restarted (the gateway's /readyz shows it)")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _GivenEnvironment(settings_cls)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("http_host", "nats_user", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("http_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value or any(c.isspace() or c in "/@?#" for c in value):
            raise ValueError("not an address or host name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.clock and self.environment == "production":
            raise ValueError("LEDGER_CLOCK (a fixed clock) is refused when LEDGER_ENV=production "
                             "生产环境不允许固定时钟")
        return self

    @classmethod
    def from_env(cls: type[S], env: Mapping[str, str] | None = None, *, service: str | None = None) -> S:
        """The settings of this process from ``env`` (default: the environment), or one SettingsError.

        ``service``: the bus user a service started alone connects as on the embedded server.
        """
        token = _given.set(env)
        try:
            settings = cls()
        except ValidationError as exc:
            raise SettingsError(describe(cls, exc)) from None
        finally:
            _given.reset(token)
        if service and "nats_user" not in settings.model_fields_set:
            settings = settings.model_copy(update={"nats_user": service})
        return settings

    @classmethod
    def at_start(cls: type[S], program: str, *, service: str | None = None) -> S:
        """The process's settings, or one line naming the bad variable on stderr and exit status 2."""
        try:
            return cls.from_env(service=service)
        except SettingsError as exc:
            print(f"{program}: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

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
        from ledger_kernel.connection import split_servers  # the NATS client only where it is used

        return ",".join(split_servers(self.effective_nats_url)[0])


def variable(model: type[BaseSettings], name: str) -> str:
    """The environment variable of a field."""
    alias = model.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def expectation(field: FieldInfo) -> str:
    """The constraint of a field in words (from its :class:`Expect`)."""
    return next((m.text for m in field.metadata if isinstance(m, Expect)), "")


def is_secret(field: FieldInfo) -> bool:
    return field.annotation in (SecretStr, SecretStr | None)


def fields(model: type[BaseSettings]) -> Iterator[tuple[str, str, FieldInfo]]:
    """(field name, variable, field) of every variable a model reads."""
    for name, field in model.model_fields.items():
        yield name, variable(model, name), field


def describe(model: type[BaseSettings], exc: ValidationError) -> str:
    """One line per refused variable: its name, what it must be, and what it was (never a secret's value)."""
    by_key: dict[str, tuple[str, FieldInfo]] = {}
    for name, var, field in fields(model):
        by_key[name] = by_key[var] = by_key[var.lower()] = (var, field)
    lines = []
    for error in exc.errors(include_url=False):
        if error["type"] == "default_factory_not_called":
            continue  # a default made from a refused variable (LEDGER_HOME): that variable's line says it
        reason = error["msg"].removeprefix("Value error, ")
        found = by_key.get(str(error["loc"][0])) if error["loc"] else None
        if found is None:
            lines.append(reason)
            continue
        var, field = found
        got = "" if is_secret(field) else f", got {error.get('input')!r}"
        lines.append(f"{var} must be {expectation(field) or 'valid'}{got} ({reason}); "
                     f"环境变量 {var} 的值无效")
    return "; ".join(dict.fromkeys(lines))


def idempotency_ttl(hours: int) -> timedelta:
    """``LEDGER_IDEMPOTENCY_TTL_HOURS`` as a window: one reading for the gateway (facts) and the notifier
    (subscriptions), so every key of the API expires alike."""
    return timedelta(hours=hours)
